/*
 * The repeat, frequency and presence penalties of a plain generation, as node-llama-cpp
 * applies them, so requests with `presence_penalty` / `frequency_penalty` run natively.
 *
 * node-llama-cpp (LlamaCompletion, LlamaChat) penalises the tokens of the last `lastTokens`
 * (64) it generated, the newline token left out, with llama.cpp's penalties sampler: before
 * each step it gives the sampler that list, whose counts then hold how often each token
 * occurs in it. This sampler keeps the generation's last `last_n` tokens itself (its
 * `accept`, which the chain calls with every token it samples, on either path) and applies
 * llama.cpp's arithmetic to the logits of the tokens counted: the same operations on the
 * same values, so the same tokens. llama.cpp's sampler looks every candidate up in a hash
 * map (the whole vocabulary, each step); here only the at most `last_n` counted tokens are
 * touched, at their index, which is their id while the candidates are in vocabulary order
 * (as llama_sampler_sample fills them, and the logit bias before this keeps them).
 */
#include <stdlib.h>
#include "penalty-sampler.h"

struct penalties {
  int32_t last_n;
  float repeat, freq, present;
  /* Not penalised (node-llama-cpp's penalizeNewLine is off); LLAMA_TOKEN_NULL when the vocabulary has none. */
  llama_token newline;
  /* The last `last_n` tokens sampled, a ring: `seen` so far, the oldest at `seen % last_n` once full. */
  llama_token *ring;
  int64_t seen;
  /* The distinct tokens of the window and how often each occurs. */
  llama_token *tokens;
  int32_t *counts;
};

static void penalties_accept(struct llama_sampler *smpl, llama_token token) {
  struct penalties *p = smpl->ctx;
  p->ring[p->seen++ % p->last_n] = token;
}

/* Where token `t` stands in `cur`: its id while the candidates are in vocabulary order, else found by a scan. */
static int64_t index_of(const llama_token_data_array *cur, llama_token t) {
  if (t >= 0 && (size_t)t < cur->size && cur->data[t].id == t) return t;
  for (size_t i = 0; i < cur->size; i++)
    if (cur->data[i].id == t) return (int64_t)i;
  return -1;
}

static void penalties_apply(struct llama_sampler *smpl, llama_token_data_array *cur) {
  struct penalties *p = smpl->ctx;
  int32_t distinct = 0;
  int64_t window = p->seen < p->last_n ? p->seen : p->last_n;
  for (int64_t k = p->seen - window; k < p->seen; k++) {
    llama_token t = p->ring[k % p->last_n];
    if (t == p->newline) continue;
    int32_t j = 0;
    while (j < distinct && p->tokens[j] != t) j++;
    if (j == distinct) {
      p->tokens[distinct] = t;
      p->counts[distinct++] = 0;
    }
    p->counts[j]++;
  }
  for (int32_t j = 0; j < distinct; j++) {
    int64_t i = index_of(cur, p->tokens[j]);
    if (i < 0) continue;
    /* llama_sampler_penalties_apply's arithmetic, operation for operation. */
    float *logit = &cur->data[i].logit;
    if (*logit <= 0) *logit *= p->repeat;
    else *logit /= p->repeat;
    *logit -= (float)p->counts[j] * p->freq + (float)(p->counts[j] > 0) * p->present;
  }
  cur->sorted = false;
}

static void penalties_reset(struct llama_sampler *smpl) {
  ((struct penalties *)smpl->ctx)->seen = 0;
}

static void destroy(struct penalties *p) {
  free(p->ring);
  free(p->tokens);
  free(p->counts);
  free(p);
}

static void penalties_free(struct llama_sampler *smpl) {
  destroy(smpl->ctx);
}

static const char *penalties_name(const struct llama_sampler *smpl) {
  (void)smpl;
  return "inferd-penalties";
}

/* Not cloned: inferd's chains live in generate.c, which never clones them. */
static struct llama_sampler_i penalties_i = {.name = penalties_name, .accept = penalties_accept, .apply = penalties_apply, .reset = penalties_reset, .free = penalties_free};

struct llama_sampler *penalty_sampler_init(int32_t last_n, float repeat, float freq, float present, llama_token newline) {
  struct penalties *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  *p = (struct penalties){.last_n = last_n, .repeat = repeat, .freq = freq, .present = present, .newline = newline};
  p->ring = malloc((size_t)last_n * sizeof *p->ring);
  p->tokens = malloc((size_t)last_n * sizeof *p->tokens);
  p->counts = malloc((size_t)last_n * sizeof *p->counts);
  if (!p->ring || !p->tokens || !p->counts) {
    destroy(p);
    return NULL;
  }
  return llama_sampler_init(&penalties_i, p);
}

/*
 * Sampling over the whole vocabulary (top_k disabled: vLLM's default, `top_k: -1`) without
 * llama.cpp's comparison sort, and with its tokens.
 *
 * node-llama-cpp resolves a disabled top-k to top_k(n_vocab), and llama.cpp's top-k then
 * sorts every candidate: 1.3-1.7 ms a token for a 32k vocabulary, on the thread that decodes
 * next, where llama-server (top_k <= 0: no sort) spends nothing. The distribution sampler
 * after it draws from the cumulative sum in sorted order, so which token a seed picks
 * depends on that order; inferd keeps it, so a seeded request's text is the same where
 * this library is not built or is switched off (node-llama-cpp's sampler alone).
 *
 * `sorter` sorts descending by logit with a stable radix sort into its own buffer: every
 * position holds the same value as after llama.cpp's sort, and only tokens of equal logit
 * may stand in another order (std::sort is not stable). Every sampler after it (top-p,
 * min-p, temperature, distribution) reads values only, so the selected position is the
 * same. `tie_fix`, last in the chain, looks at that position: if its logit equals a
 * neighbour's, it sorts the untouched input with llama.cpp's own top-k and takes the token
 * at that position from there.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sort-sampler.h"

#define RADIX_BITS 11
#define RADIX (1u << RADIX_BITS)
#define PASSES 3

struct sorter {
  int32_t n_vocab;
  /* Capacity of the buffers below, in candidates. */
  size_t cap;
  llama_token_data *sorted;
  uint32_t *keys, *keys_tmp, *index, *index_tmp;
  /* The candidates as they came in (the caller's buffer, left unsorted), and how many. */
  llama_token_data *input;
  size_t n;
  /* index[i]: the input position of sorted position i; valid for the last apply. */
  int valid;
  /* llama.cpp's top_k(n_vocab), made on the first tie that matters. */
  struct llama_sampler *reference;
  uint32_t counts[PASSES][RADIX];
};

static int reserve(struct sorter *s, size_t n) {
  if (n <= s->cap) return 0;
  llama_token_data *sorted = realloc(s->sorted, n * sizeof *sorted);
  if (sorted) s->sorted = sorted;
  uint32_t **bufs[] = {&s->keys, &s->keys_tmp, &s->index, &s->index_tmp};
  int ok = sorted != NULL;
  for (size_t b = 0; ok && b < 4; b++) {
    uint32_t *p = realloc(*bufs[b], n * sizeof *p);
    if (p) *bufs[b] = p;
    ok = p != NULL;
  }
  if (ok) s->cap = n;
  return ok ? 0 : -1;
}

/* A key whose ascending unsigned order is descending float order. */
static uint32_t descending_key(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  uint32_t ascending = (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
  return ~ascending;
}

/* Stable LSD radix sort of (keys, index) by keys; the result ends in s->keys / s->index. */
static void radix_sort(struct sorter *s, size_t n) {
  uint32_t (*counts)[RADIX] = s->counts;
  memset(s->counts, 0, sizeof s->counts);
  for (size_t i = 0; i < n; i++)
    for (int p = 0; p < PASSES; p++) counts[p][(s->keys[i] >> (p * RADIX_BITS)) & (RADIX - 1)]++;
  for (int p = 0; p < PASSES; p++) {
    uint32_t *c = counts[p];
    /* A digit every key shares moves nothing (the high bits of logits in a narrow range). */
    if (c[(s->keys[0] >> (p * RADIX_BITS)) & (RADIX - 1)] == n) continue;
    uint32_t sum = 0;
    for (uint32_t d = 0; d < RADIX; d++) {
      uint32_t k = c[d];
      c[d] = sum;
      sum += k;
    }
    for (size_t i = 0; i < n; i++) {
      uint32_t at = c[(s->keys[i] >> (p * RADIX_BITS)) & (RADIX - 1)]++;
      s->keys_tmp[at] = s->keys[i];
      s->index_tmp[at] = s->index[i];
    }
    uint32_t *t = s->keys;
    s->keys = s->keys_tmp;
    s->keys_tmp = t;
    t = s->index;
    s->index = s->index_tmp;
    s->index_tmp = t;
  }
}

static void sorter_apply(struct llama_sampler *smpl, llama_token_data_array *cur) {
  struct sorter *s = smpl->ctx;
  s->valid = 0;
  if (cur->sorted || cur->size < 2) return;
  size_t n = cur->size;
  int nan = 0;
  if (reserve(s, n) == 0) {
    for (size_t i = 0; i < n; i++) {
      nan |= isnan(cur->data[i].logit);
      s->keys[i] = descending_key(cur->data[i].logit);
      s->index[i] = (uint32_t)i;
    }
  }
  if (s->cap < n || nan) {
    /* Out of memory, or a NaN logit (no order to keep): llama.cpp's own sort. */
    if (!s->reference) s->reference = llama_sampler_init_top_k(s->n_vocab);
    llama_sampler_apply(s->reference, cur);
    return;
  }
  radix_sort(s, n);
  for (size_t i = 0; i < n; i++) s->sorted[i] = cur->data[s->index[i]];
  s->input = cur->data;
  s->n = n;
  s->valid = 1;
  cur->data = s->sorted;
  cur->sorted = true;
}

static void sorter_free(struct llama_sampler *smpl) {
  struct sorter *s = smpl->ctx;
  free(s->sorted);
  free(s->keys);
  free(s->keys_tmp);
  free(s->index);
  free(s->index_tmp);
  if (s->reference) llama_sampler_free(s->reference);
  free(s);
}

static const char *sorter_name(const struct llama_sampler *smpl) {
  (void)smpl;
  return "inferd-sort-all";
}

/* Neither sampler is cloned: inferd's chains live in generate.c, which never clones them. */
static struct llama_sampler_i sorter_i = {.name = sorter_name, .apply = sorter_apply, .free = sorter_free};

struct llama_sampler *sort_sampler_init(int32_t n_vocab) {
  struct sorter *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->n_vocab = n_vocab;
  return llama_sampler_init(&sorter_i, s);
}

/* The input logit at sorted position i. */
static float input_logit(const struct sorter *s, size_t i) {
  return s->input[s->index[i]].logit;
}

static void tie_fix_apply(struct llama_sampler *smpl, llama_token_data_array *cur) {
  struct sorter *s = smpl->ctx;
  if (!s->valid || cur->data != s->sorted || cur->selected < 0) return;
  size_t at = (size_t)cur->selected;
  float v = input_logit(s, at);
  int tied = (at > 0 && input_logit(s, at - 1) == v) || (at + 1 < s->n && input_logit(s, at + 1) == v);
  if (!tied) return;
  if (!s->reference) s->reference = llama_sampler_init_top_k(s->n_vocab);
  llama_token_data_array ref = {s->input, s->n, -1, false};
  llama_sampler_apply(s->reference, &ref);
  cur->data[at].id = ref.data[at].id;
}

static const char *tie_fix_name(const struct llama_sampler *smpl) {
  (void)smpl;
  return "inferd-sort-all-ties";
}

/* Its context is the sorter's, which the chain frees. */
static struct llama_sampler_i tie_fix_i = {.name = tie_fix_name, .apply = tie_fix_apply};

struct llama_sampler *sort_sampler_tie_fix(struct llama_sampler *sorter) {
  return llama_sampler_init(&tie_fix_i, sorter->ctx);
}

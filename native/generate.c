/*
 * Token generation off the event loop: decode, sample, repeat, for one sequence or for
 * several in one batch a step.
 *
 * node-llama-cpp runs each step as two libuv jobs (decode, then sampling), with its
 * JavaScript in between on the event loop. Each hand-over wakes a thread on the other core;
 * on a small VM that costs 50-200 us, four times a token (docs/llm.md). Here one thread
 * decodes a token, samples the next and posts it to JavaScript without waiting for it, so
 * the event loop's work on a token (stop strings, streaming) overlaps the next decode, as
 * in llama-server's own loop. The JavaScript side (src/runtimes/llm/native-generation.ts)
 * holds node-llama-cpp's context lock for the run and keeps its token bookkeeping.
 *
 * The sampler chain mirrors node-llama-cpp's (AddonSampler::rebuildChainIfNeeded): logit
 * bias, penalties (penalty-sampler.c), then greedy, or top-k (of the whole vocabulary:
 * sort-sampler.c), top-p, min-p, temperature and a seeded distribution. A generation uses
 * one chain for all its tokens, on either path, so its random stream does not depend on
 * which path ran a step.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <node_api.h>
#include "contexts.h"
#include "generate.h"
#include "penalty-sampler.h"
#include "sort-sampler.h"

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) return throw_last(env);   \
  } while (0)

static napi_value throw_last(napi_env env) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, info && info->error_message ? info->error_message : "N-API call failed");
  return NULL;
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static int32_t int_arg(napi_env env, napi_value v, int32_t fallback) {
  int32_t out;
  return napi_get_value_int32(env, v, &out) == napi_ok ? out : fallback;
}

static napi_value number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

/* A named number property of `obj`; 0 when it is one, -1 when absent or not a number. */
static int prop(napi_env env, napi_value obj, const char *name, double *out) {
  napi_value v;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return -1;
  return napi_get_value_double(env, v, out) == napi_ok ? 0 : -1;
}

/*
 * The `n` arguments of a call whose first is a context id, and a use of that context: 0, or
 * -1 with a JavaScript error thrown (the caller returns NULL).
 */
static int context_call(napi_env env, napi_callback_info info, size_t n, napi_value *argv, struct context_use *use) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_last(env);
    return -1;
  }
  if (argc < n || context_use(int_arg(env, argv[0], 0), use) != 0) {
    napi_throw_error(env, NULL, "context is gone");
    return -1;
  }
  return 0;
}

/* Queues `job` on a libuv thread (execute, then complete on the event loop); its promise. */
static napi_value queue_job(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete, void *job, napi_deferred *deferred, napi_async_work *work) {
  napi_value promise, label;
  napi_create_promise(env, deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &label);
  napi_create_async_work(env, NULL, label, execute, complete, job, work);
  napi_queue_async_work(env, *work);
  return promise;
}

static void reject(napi_env env, napi_deferred deferred, const char *message) {
  napi_value msg, err;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_reject_deferred(env, deferred, err);
}

/* ---- samplers ---- */

static void sampler_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  llama_sampler_free((struct llama_sampler *)data);
}

/* sampler(ctxId, {temperature, topK, topP, minP, seed?, biasTokens?, biasValues?}) */
napi_value generate_sampler(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct context_use use;
  if (context_call(env, info, 2, argv, &use) != 0) return NULL;
  const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(use.ctx));
  int32_t n_vocab = llama_vocab_n_tokens(vocab);
  llama_token newline = llama_vocab_nl(vocab);
  context_unuse(&use);
  napi_value cfg = argv[1];
  /* The caller resolves node-llama-cpp's defaults (native-generation.ts); none are kept here. */
  double temperature, top_k, top_p, min_p, seed = -1;
  if (prop(env, cfg, "temperature", &temperature) || prop(env, cfg, "topK", &top_k) ||
      prop(env, cfg, "topP", &top_p) || prop(env, cfg, "minP", &min_p))
    return fail(env, "sampler config needs numbers temperature, topK, topP and minP");
  prop(env, cfg, "seed", &seed);

  struct llama_sampler *chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
  napi_value keys, values;
  bool has_keys = false;
  napi_has_named_property(env, cfg, "biasTokens", &has_keys);
  if (has_keys && napi_get_named_property(env, cfg, "biasTokens", &keys) == napi_ok &&
      napi_get_named_property(env, cfg, "biasValues", &values) == napi_ok) {
    void *k = NULL, *v = NULL;
    size_t nk = 0, nv = 0;
    napi_typedarray_type tk, tv;
    if (napi_get_typedarray_info(env, keys, &tk, &nk, &k, NULL, NULL) != napi_ok ||
        napi_get_typedarray_info(env, values, &tv, &nv, &v, NULL, NULL) != napi_ok ||
        tk != napi_uint32_array || tv != napi_float32_array || nk != nv) {
      llama_sampler_free(chain);
      return fail(env, "biasTokens must be a Uint32Array and biasValues a Float32Array of the same length");
    }
    if (nk > 0) {
      llama_logit_bias *bias = malloc(nk * sizeof *bias);
      if (!bias) {
        llama_sampler_free(chain);
        return fail(env, "out of memory");
      }
      for (size_t i = 0; i < nk; i++) bias[i] = (llama_logit_bias){(llama_token)((uint32_t *)k)[i], ((float *)v)[i]};
      llama_sampler_chain_add(chain, llama_sampler_init_logit_bias(n_vocab, (int32_t)nk, bias));
      free(bias);
    }
  }
  double last_n = 0, repeat = 1, freq = 0, present = 0;
  prop(env, cfg, "penaltyLastN", &last_n);
  prop(env, cfg, "penaltyRepeat", &repeat);
  prop(env, cfg, "penaltyFrequency", &freq);
  prop(env, cfg, "penaltyPresence", &present);
  /* node-llama-cpp adds its penalty sampler only when it changes something (AddonSampler). */
  if (last_n >= 1 && last_n <= 1 << 20 && ((float)repeat != 1.0f || (float)freq != 0.0f || (float)present != 0.0f)) {
    struct llama_sampler *penalties = penalty_sampler_init((int32_t)last_n, (float)repeat, (float)freq, (float)present, newline);
    if (!penalties) {
      llama_sampler_free(chain);
      return fail(env, "out of memory");
    }
    llama_sampler_chain_add(chain, penalties);
  }
  if (temperature <= 0) {
    llama_sampler_chain_add(chain, llama_sampler_init_greedy());
  } else {
    /* node-llama-cpp's top-k of the whole vocabulary, as a sort that gives the same tokens faster. */
    int32_t k = top_k <= 0 || top_k > n_vocab ? n_vocab : (int32_t)top_k;
    struct llama_sampler *sort_all = k == n_vocab ? sort_sampler_init(n_vocab) : NULL;
    llama_sampler_chain_add(chain, sort_all ? sort_all : llama_sampler_init_top_k(k));
    if (top_p >= 0 && top_p <= 1) llama_sampler_chain_add(chain, llama_sampler_init_top_p((float)top_p, 1));
    if (min_p > 0) llama_sampler_chain_add(chain, llama_sampler_init_min_p((float)min_p, 1));
    llama_sampler_chain_add(chain, llama_sampler_init_temp((float)temperature));
    llama_sampler_chain_add(chain, llama_sampler_init_dist(seed >= 0 ? (uint32_t)seed : LLAMA_DEFAULT_SEED));
    if (sort_all) llama_sampler_chain_add(chain, sort_sampler_tie_fix(sort_all));
  }
  napi_value out;
  if (napi_create_external(env, chain, sampler_finalize, NULL, &out) != napi_ok) {
    llama_sampler_free(chain);
    return throw_last(env);
  }
  return out;
}

/* The chain of sampler handle `v`, referenced in `ref` so it outlives the job using it; NULL when `v` is none. */
static struct llama_sampler *hold_sampler(napi_env env, napi_value v, napi_ref *ref) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) return NULL;
  return napi_create_reference(env, v, 1, ref) == napi_ok ? data : NULL;
}

/* ---- one sample on a libuv thread (a step node-llama-cpp decoded in a batch) ---- */

struct sample_job {
  int ctx_id;
  int32_t index;
  struct llama_sampler *chain;
  napi_ref chain_ref;
  llama_token token;
  int gone;
  napi_deferred deferred;
  napi_async_work work;
};

static void sample_execute(napi_env env, void *data) {
  (void)env;
  struct sample_job *job = data;
  struct context_use use;
  if (context_use(job->ctx_id, &use) != 0) {
    job->gone = 1;
    return;
  }
  job->token = llama_sampler_sample(job->chain, use.ctx, job->index);
  context_unuse(&use);
}

static void sample_complete(napi_env env, napi_status status, void *data) {
  struct sample_job *job = data;
  if (status == napi_ok && !job->gone) {
    napi_resolve_deferred(env, job->deferred, number(env, job->token));
  } else {
    reject(env, job->deferred, job->gone ? "context is gone" : "sampling was cancelled");
  }
  napi_delete_reference(env, job->chain_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

/* sample(ctxId, batchIndex, sampler) -> Promise<token> */
napi_value generate_sample(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct sample_job *job = calloc(1, sizeof *job);
  if (!job) return fail(env, "out of memory");
  job->chain = argc == 3 ? hold_sampler(env, argv[2], &job->chain_ref) : NULL;
  if (!job->chain) {
    free(job);
    return fail(env, "sample(ctxId, batchIndex, sampler)");
  }
  job->ctx_id = int_arg(env, argv[0], 0);
  job->index = int_arg(env, argv[1], -1);
  return queue_job(env, "inferd.sample", sample_execute, sample_complete, job, &job->deferred, &job->work);
}

/* ---- a generation run on its own thread ---- */

/* MSG_EOG_TOKEN: an end-of-generation token, with which its sequence leaves the run. */
enum { MSG_TOKEN = 0, MSG_DONE = 1, MSG_EOG_TOKEN = 2 };

struct message {
  int kind;
  int32_t index;
  int32_t value;
};

/* One sequence of a run: its next input, where it goes, and where it must stop. */
struct member {
  struct llama_sampler *chain;
  napi_ref chain_ref;
  llama_seq_id seq;
  llama_pos pos;
  llama_pos limit;
  llama_token token;
  int active;
};

struct run {
  struct context_use use;
  napi_threadsafe_function tsfn;
  pthread_t thread;
  int started;
  int n;
  struct member *members;
  /* Per step, the member of each batch row. */
  int *order;
  int max_ahead;
  int32_t one_token_threads;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int produced;
  int consumed;
  int stop;
  int refs;
};

/* Releases the members' samplers and the arrays read_members allocated. */
static void drop_members(napi_env env, struct run *r) {
  for (int i = 0; i < r->n; i++) napi_delete_reference(env, r->members[i].chain_ref);
  free(r->members);
  free(r->order);
  r->members = NULL;
  r->order = NULL;
  r->n = 0;
}

static void run_unref(struct run *r) {
  pthread_mutex_lock(&r->lock);
  int left = --r->refs;
  pthread_mutex_unlock(&r->lock);
  if (left) return;
  pthread_mutex_destroy(&r->lock);
  pthread_cond_destroy(&r->wake);
  free(r);
}

static void post(struct run *r, int kind, int32_t index, int32_t value) {
  struct message *m = malloc(sizeof *m);
  if (!m) return;
  m->kind = kind;
  m->index = index;
  m->value = value;
  if (napi_call_threadsafe_function(r->tsfn, m, napi_tsfn_nonblocking) != napi_ok) free(m);
}

/* Waits until fewer than max_ahead posted tokens are unacked; 0 when it should stop instead. */
static int may_continue(struct run *r) {
  pthread_mutex_lock(&r->lock);
  while (!r->stop && !*r->use.closing && r->produced - r->consumed >= r->max_ahead) {
    /* Timed: llama_free sets `closing` without knowing this run's condition variable. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 20 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&r->wake, &r->lock, &until);
  }
  int go = !r->stop && !*r->use.closing;
  pthread_mutex_unlock(&r->lock);
  return go;
}

/* Row `row` of `batch`: `token` of sequence `seq` at `pos`, its logits wanted (llama.cpp's common_batch_add is not in llama.h). */
static void put_token(struct llama_batch *batch, int row, llama_token token, llama_pos pos, llama_seq_id seq) {
  batch->token[row] = token;
  batch->pos[row] = pos;
  batch->n_seq_id[row] = 1;
  batch->seq_id[row][0] = seq;
  batch->logits[row] = 1;
}

/* The active members' next inputs as one batch; `r->order[j]` is the member of batch row j. */
static int fill_batch(struct run *r, struct llama_batch *batch) {
  int n = 0;
  pthread_mutex_lock(&r->lock);
  for (int i = 0; i < r->n; i++) {
    struct member *m = &r->members[i];
    if (!m->active) continue;
    put_token(batch, n, m->token, m->pos, m->seq);
    r->order[n++] = i;
  }
  pthread_mutex_unlock(&r->lock);
  batch->n_tokens = n;
  return n;
}

static void *run_thread(void *arg) {
  struct run *r = arg;
  struct llama_context *ctx = r->use.ctx;
  const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(ctx));
  struct llama_batch batch = llama_batch_init(r->n, 0, 1);
  int32_t threads = llama_n_threads(ctx), threads_batch = llama_n_threads_batch(ctx);
  /* Steps of one token run on the threads the load's probe chose (probeThreads). */
  llama_set_n_threads(ctx, r->one_token_threads, threads_batch);
  int32_t status = 0;
  while (may_continue(r) && fill_batch(r, &batch) > 0) {
    status = llama_decode(ctx, batch);
    if (status != 0) break;
    for (int j = 0; j < batch.n_tokens; j++) {
      struct member *m = &r->members[r->order[j]];
      llama_token token = llama_sampler_sample(m->chain, ctx, j);
      int eog = llama_vocab_is_eog(vocab, token);
      pthread_mutex_lock(&r->lock);
      r->produced++;
      m->token = token;
      m->pos++;
      if (m->pos >= m->limit || eog) m->active = 0;
      pthread_mutex_unlock(&r->lock);
      post(r, eog ? MSG_EOG_TOKEN : MSG_TOKEN, r->order[j], token);
    }
  }
  llama_set_n_threads(ctx, threads, threads_batch);
  llama_batch_free(batch);
  context_unuse(&r->use);
  post(r, MSG_DONE, -1, status);
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  return NULL;
}

static void call_js(napi_env env, napi_value fn, void *context, void *data) {
  (void)context;
  struct message *m = data;
  if (env && fn) {
    napi_value argv[3], undefined;
    napi_create_int32(env, m->kind, &argv[0]);
    napi_create_int32(env, m->index, &argv[1]);
    napi_create_int32(env, m->value, &argv[2]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, fn, 3, argv, NULL);
  }
  free(m);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  struct run *r = data;
  /* The thread released the function as its last step: joining it here waits microseconds. */
  if (r->started) pthread_join(r->thread, NULL);
  drop_members(env, r);
  run_unref(r);
}

static void run_external_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  run_unref(data);
}

/* The elements of Int32Array `v`: 0, or -1 when `v` is not one. */
static int int32_array(napi_env env, napi_value v, int32_t **data, size_t *length) {
  napi_typedarray_type type;
  return napi_get_typedarray_info(env, v, &type, length, (void **)data, NULL, NULL) == napi_ok && type == napi_int32_array ? 0 : -1;
}

/* Fills r->members from the arrays of run(); -1 (nothing held) when they do not agree. */
static int read_members(napi_env env, struct run *r, napi_value *argv) {
  int32_t *seqs, *positions, *tokens, *limits;
  size_t n, n2, n3, n4;
  uint32_t n5 = 0;
  bool is_array = false;
  if (int32_array(env, argv[1], &seqs, &n) || int32_array(env, argv[2], &positions, &n2) ||
      int32_array(env, argv[3], &tokens, &n3) || int32_array(env, argv[5], &limits, &n4) ||
      napi_is_array(env, argv[4], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[4], &n5) != napi_ok)
    return -1;
  if (n == 0 || n > 4096 || n2 != n || n3 != n || n4 != n || n5 != n) return -1;
  r->members = calloc(n, sizeof *r->members);
  r->order = calloc(n, sizeof *r->order);
  if (!r->members || !r->order) {
    drop_members(env, r);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    napi_value sampler;
    struct member *m = &r->members[i];
    if (napi_get_element(env, argv[4], (uint32_t)i, &sampler) != napi_ok || !(m->chain = hold_sampler(env, sampler, &m->chain_ref))) {
      drop_members(env, r);
      return -1;
    }
    r->n = (int)i + 1;
    m->seq = seqs[i];
    m->pos = positions[i];
    m->token = tokens[i];
    m->limit = limits[i];
    m->active = m->pos < m->limit;
  }
  return 0;
}

/*
 * run(ctxId, seqIds, positions, tokens, samplers, limits, maxAhead, onMessage, oneTokenThreads)
 * -> handle, the four arrays Int32Arrays and `samplers` an array, one entry per sequence.
 * Each step decodes every active sequence's token at its position in one batch, samples each
 * sequence's next token with its sampler and posts it as onMessage(0, index, token), or
 * onMessage(2, index, token) for an end-of-generation token. A
 * sequence leaves the run at an end-of-generation token, at position `limit`, or on
 * leave(handle, index). The run ends at stop(), a failed decode or when no sequence is left:
 * onMessage(1, -1, llama_decode's status). No step starts while maxAhead posted tokens are
 * not yet acked (1: each step waits for the consumers of the last). Every posted token but
 * each sequence's last has been decoded. A step of one token runs on `oneTokenThreads` ggml
 * threads (default 1), a step of several on the context's batch threads.
 */
napi_value generate_run(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct run *r = calloc(1, sizeof *r);
  if (!r) return fail(env, "out of memory");
  if (argc < 8 || read_members(env, r, argv) != 0) {
    free(r);
    return fail(env, "run(ctxId, seqIds, positions, tokens, samplers, limits, maxAhead, onMessage): Int32Arrays and samplers, one per sequence");
  }
  if (context_use(int_arg(env, argv[0], 0), &r->use) != 0) {
    drop_members(env, r);
    free(r);
    return fail(env, "context is gone");
  }
  r->max_ahead = int_arg(env, argv[6], 1);
  if (r->max_ahead < 1) r->max_ahead = 1;
  r->one_token_threads = int_arg(env, argv[8], 1);
  if (r->one_token_threads < 1 || r->one_token_threads > llama_n_threads_batch(r->use.ctx)) r->one_token_threads = 1;
  r->refs = 2; /* the threadsafe function (which outlives the thread), the JavaScript handle */
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->wake, NULL);
  napi_value name, handle;
  napi_create_string_utf8(env, "inferd.generate", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[7], NULL, name, 0, 1, r, tsfn_finalize, NULL, call_js, &r->tsfn) != napi_ok) {
    drop_members(env, r);
    context_unuse(&r->use);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    free(r);
    return throw_last(env);
  }
  napi_create_external(env, r, run_external_finalize, NULL, &handle);
  if (pthread_create(&r->thread, NULL, run_thread, r) != 0) {
    context_unuse(&r->use);
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    return fail(env, "cannot start a generation thread");
  }
  r->started = 1;
  return handle;
}

static struct run *run_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  return napi_get_value_external(env, argv[0], &data) == napi_ok ? data : NULL;
}

/* ack(handle): the consumer took one posted token. */
napi_value generate_ack(napi_env env, napi_callback_info info) {
  struct run *r = run_arg(env, info);
  if (!r) return fail(env, "ack(handle)");
  pthread_mutex_lock(&r->lock);
  r->consumed++;
  /* Only the ack that lets the next step start wakes the thread (a run of several sequences waits for every one). */
  if (r->produced - r->consumed < r->max_ahead) pthread_cond_signal(&r->wake);
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

/* stop(handle): no decode starts after this; the run ends with onMessage(1, status). */
napi_value generate_stop(napi_env env, napi_callback_info info) {
  struct run *r = run_arg(env, info);
  if (!r) return fail(env, "stop(handle)");
  pthread_mutex_lock(&r->lock);
  r->stop = 1;
  pthread_cond_signal(&r->wake);
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

/* leave(handle, index): sequence `index` of the run is in no step that starts after this. */
napi_value generate_leave(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_external(env, argv[0], &data) != napi_ok || !data)
    return fail(env, "leave(handle, index)");
  struct run *r = data;
  int32_t i = int_arg(env, argv[1], -1);
  if (i < 0 || i >= r->n) return fail(env, "leave(handle, index): no such sequence in the run");
  pthread_mutex_lock(&r->lock);
  r->members[i].active = 0;
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/*
 * Rounds of the probe: per round, BLOCK decodes at one thread, then BLOCK at all threads; at
 * most PROBE_ROUNDS, and no new round after PROBE_MS once PROBE_MIN_ROUNDS are done (a
 * large model's decode takes 100 ms or more).
 */
#define PROBE_ROUNDS 8
#define PROBE_MIN_ROUNDS 2
#define PROBE_MS 500
#define PROBE_BLOCK 3

struct probe_job {
  struct context_use use;
  llama_seq_id seq;
  int32_t status;
  double best[2];
  napi_deferred deferred;
  napi_async_work work;
};

static void probe_execute(napi_env env, void *data) {
  (void)env;
  struct probe_job *job = data;
  struct llama_context *ctx = job->use.ctx;
  const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(ctx));
  llama_token token = llama_vocab_bos(vocab) >= 0 ? llama_vocab_bos(vocab) : 0;
  int32_t threads = llama_n_threads(ctx), threads_batch = llama_n_threads_batch(ctx);
  int32_t counts[2] = {1, threads_batch};
  struct llama_batch batch = llama_batch_init(1, 0, 1);
  llama_pos pos = 0;
  job->best[0] = job->best[1] = 1e30;
  /* One round of warm-up (graph building). In serving the thread count stays the same from
   * one decode to the next, so each block's first decode (after a switch) is not counted. */
  double start = 0;
  for (int round = -1; round < PROBE_ROUNDS && job->status == 0; round++) {
    if (round == 0) start = now_ms();
    if (round >= PROBE_MIN_ROUNDS && now_ms() - start > PROBE_MS) break;
    for (int k = 0; k < 2 && job->status == 0; k++) {
      llama_set_n_threads(ctx, counts[k], threads_batch);
      for (int b = 0; b < PROBE_BLOCK && job->status == 0; b++) {
        batch.n_tokens = 1;
        put_token(&batch, 0, token, pos++, job->seq);
        double t0 = now_ms();
        job->status = llama_decode(ctx, batch);
        double ms = now_ms() - t0;
        /* The fastest decode: anything else running only ever slows one down. */
        if (round >= 0 && b > 0 && ms < job->best[k]) job->best[k] = ms;
      }
    }
  }
  llama_batch_free(batch);
  llama_set_n_threads(ctx, threads, threads_batch);
  llama_memory_seq_rm(llama_get_memory(ctx), job->seq, 0, -1);
  context_unuse(&job->use);
}

static void probe_complete(napi_env env, napi_status status, void *data) {
  struct probe_job *job = data;
  if (status == napi_ok && job->status == 0) {
    napi_value out;
    napi_create_array_with_length(env, 2, &out);
    for (int k = 0; k < 2; k++) napi_set_element(env, out, (uint32_t)k, number(env, job->best[k]));
    napi_resolve_deferred(env, job->deferred, out);
  } else {
    reject(env, job->deferred, "a probe decode failed");
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

/*
 * probeThreads(ctxId, seqId) -> Promise<[ms at 1 thread, ms at the context's batch threads]>:
 * the fastest one-token decode at each, in alternating blocks, on sequence `seqId` (which
 * must be empty and unused meanwhile; its cells are dropped after), on a libuv thread: up
 * to 54 decodes, 18 for a model too large for more within PROBE_MS. Which is faster depends on the CPU
 * (src/runtimes/llm/llm-threads.ts, oneTokenThreads).
 */
napi_value generate_probe_threads(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct probe_job *job = calloc(1, sizeof *job);
  if (!job) return fail(env, "out of memory");
  if (context_call(env, info, 2, argv, &job->use) != 0) {
    free(job);
    return NULL;
  }
  job->seq = int_arg(env, argv[1], 0);
  return queue_job(env, "inferd.probeThreads", probe_execute, probe_complete, job, &job->deferred, &job->work);
}

/* forget(ctxId, seqId, from): drops the sequence's cells from position `from` on. */
napi_value generate_forget(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct context_use use;
  if (context_call(env, info, 3, argv, &use) != 0) return NULL;
  bool ok = llama_memory_seq_rm(llama_get_memory(use.ctx), int_arg(env, argv[1], 0), int_arg(env, argv[2], 0), -1);
  context_unuse(&use);
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

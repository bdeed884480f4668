/*
 * Gives every llama.cpp context a persistent ggml CPU threadpool.
 *
 * node-llama-cpp attaches none, so each decode runs on a "disposable" pool: ggml creates
 * the extra compute threads for that one graph and joins them at the end. On a small
 * machine Linux often starts the new thread on its creator's core while another core is
 * idle, and the two then spin at ggml's barriers for each other in scheduler slices
 * (docs/llm.md: two threads fell to a fifth of one thread's speed). llama.cpp's own
 * servers attach a pool with llama_attach_threadpool; node-llama-cpp does not expose it.
 *
 * Loaded with RTLD_GLOBAL before node-llama-cpp's addon (src/runtimes/llm/ggml-threadpool.ts),
 * this library's llama_init_from_model and llama_free come first in symbol lookup: they call
 * llama.cpp's own, then attach a pool to the new context or free the context's pool.
 * Built at install against the headers of the llama.cpp release node-llama-cpp ships
 * (scripts/build-ggml-threadpool.mjs).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <node_api.h>
#include "llama.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"

typedef struct llama_context *(*init_fn)(struct llama_model *, struct llama_context_params);
typedef void (*free_fn)(struct llama_context *);
typedef struct ggml_threadpool *(*tp_new_fn)(struct ggml_threadpool_params *);
typedef void (*tp_free_fn)(struct ggml_threadpool *);

struct attached {
  struct llama_context *ctx;
  struct ggml_threadpool *pool;
  tp_free_fn release;
  struct attached *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct attached *contexts = NULL;

struct llama_context *llama_init_from_model(struct llama_model *model, struct llama_context_params params) {
  init_fn real = (init_fn)dlsym(RTLD_NEXT, "llama_init_from_model");
  if (!real) return NULL;
  struct llama_context *ctx = real(model, params);
  int threads = params.n_threads > params.n_threads_batch ? params.n_threads : params.n_threads_batch;
  ggml_backend_reg_t cpu = ctx && threads > 1 ? ggml_backend_reg_by_name("CPU") : NULL;
  if (!cpu) return ctx;
  tp_new_fn make = (tp_new_fn)ggml_backend_reg_get_proc_address(cpu, "ggml_threadpool_new");
  tp_free_fn release = (tp_free_fn)ggml_backend_reg_get_proc_address(cpu, "ggml_threadpool_free");
  struct attached *a = malloc(sizeof *a);
  if (!make || !release || !a) {
    free(a);
    return ctx;
  }
  struct ggml_threadpool_params tpp = ggml_threadpool_params_default(threads);
  /* Idle workers sleep between graphs instead of spinning: the event loop shares these cores. */
  tpp.poll = 0;
  a->pool = make(&tpp);
  if (!a->pool) {
    free(a);
    return ctx;
  }
  a->ctx = ctx;
  a->release = release;
  llama_attach_threadpool(ctx, a->pool, a->pool);
  pthread_mutex_lock(&lock);
  a->next = contexts;
  contexts = a;
  pthread_mutex_unlock(&lock);
  return ctx;
}

void llama_free(struct llama_context *ctx) {
  free_fn real = (free_fn)dlsym(RTLD_NEXT, "llama_free");
  struct attached *found = NULL;
  pthread_mutex_lock(&lock);
  for (struct attached **p = &contexts; *p; p = &(*p)->next) {
    if ((*p)->ctx == ctx) {
      found = *p;
      *p = found->next;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  if (real) real(ctx);
  if (found) {
    found->release(found->pool);
    free(found);
  }
}

/* attached(): how many live contexts hold a pool from this library. */
static napi_value attached(napi_env env, napi_callback_info info) {
  (void)info;
  int n = 0;
  pthread_mutex_lock(&lock);
  for (struct attached *a = contexts; a; a = a->next) n++;
  pthread_mutex_unlock(&lock);
  napi_value out;
  napi_create_int32(env, n, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "attached", NAPI_AUTO_LENGTH, attached, NULL, &fn);
  napi_set_named_property(env, exports, "attached", fn);
  return exports;
}

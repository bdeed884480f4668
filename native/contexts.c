/*
 * Tracks every llama.cpp context node-llama-cpp creates and gives each a persistent ggml
 * CPU threadpool.
 *
 * node-llama-cpp attaches no threadpool, so each decode runs on a "disposable" pool: ggml
 * creates the extra compute threads for that one graph and joins them at the end. On a small
 * machine Linux often starts the new thread on its creator's core while another core is
 * idle, and the two then spin at ggml's barriers for each other in scheduler slices
 * (docs/llm.md: two threads fell to a fifth of one thread's speed). llama.cpp's own
 * servers attach a pool with llama_attach_threadpool; node-llama-cpp does not expose it.
 *
 * The pool's extra threads are pinned to the last CPUs the process may use, and a decode
 * that runs more than one thread keeps its calling thread (ggml's thread 0) off them. ggml's
 * barriers spin without yielding: when the scheduler woke a sleeping pool thread on the
 * calling thread's core, the two took turns there for whole scheduler slices. Measured on
 * 2 vCPUs: a third of the 2-token decodes after one-thread steps took 13-20 ms instead of
 * 4-5 ms, and 4 streams ran 12% slower (docs/llm.md). Not where CPUs share cores (SMT):
 * there fixed CPUs could put two ggml threads on one core, which the scheduler avoids.
 *
 * Loaded with RTLD_GLOBAL before node-llama-cpp's addon (src/runtimes/llm/native-llama.ts),
 * this library's llama_init_from_model, llama_free and llama_decode come first in symbol
 * lookup: they call llama.cpp's own, then register the new context (with a pool when it runs
 * more than one thread), wait for the context's users (generate.c) and free its pool, or
 * place the decoding thread and settle the batch's output order before anyone samples.
 * Built at install against the headers of the llama.cpp release node-llama-cpp ships
 * (scripts/build-native-llama.mjs).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include "contexts.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"

typedef struct llama_context *(*init_fn)(struct llama_model *, struct llama_context_params);
typedef void (*free_fn)(struct llama_context *);
typedef int32_t (*decode_fn)(struct llama_context *, struct llama_batch);
typedef struct ggml_threadpool *(*tp_new_fn)(struct ggml_threadpool_params *);
typedef void (*tp_free_fn)(struct ggml_threadpool *);

struct entry {
  int id;
  struct llama_context *ctx;
  struct ggml_threadpool *pool;
  tp_free_fn release;
  /* Where the thread calling a multi-thread decode may run: off the pool's pinned CPUs. */
  cpu_set_t spare;
  int pinned;
  int users;
  volatile int closing;
  struct entry *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t unused = PTHREAD_COND_INITIALIZER;
static struct entry *contexts = NULL;
static int next_id = 1;

/*
 * Whether CPU `cpu` shares its core with another CPU of `mask` (SMT), or its topology cannot
 * be read: then the scheduler, which knows the cores, places the pool's threads instead.
 */
static int shares_core(int cpu, const cpu_set_t *mask) {
  char path[96], list[256];
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu);
  FILE *f = fopen(path, "r");
  if (!f) return 1;
  size_t n = fread(list, 1, sizeof list - 1, f);
  fclose(f);
  list[n] = 0;
  /* A list such as "3", "3,11" or "2-3". */
  for (char *p = list; *p && *p != '\n';) {
    char *end;
    long a = strtol(p, &end, 10), b = a;
    if (end == p) return 1;
    if (*end == '-') b = strtol(end + 1, &end, 10);
    for (long c = a; c <= b && c < CPU_SETSIZE; c++)
      if (c != cpu && CPU_ISSET(c, mask)) return 1;
    p = *end == ',' ? end + 1 : end;
  }
  return 0;
}

/*
 * A pool of the context's thread count, or NULL (one thread, or the CPU backend lacks the
 * calls). When the calling thread may use more CPUs than the pool has extra threads, and
 * none of them shares a core, those threads are pinned to the last of them and `e->spare`
 * holds the rest.
 */
static struct ggml_threadpool *pool_for(struct llama_context_params params, struct entry *e) {
  tp_free_fn *release = &e->release;
  int threads = params.n_threads > params.n_threads_batch ? params.n_threads : params.n_threads_batch;
  ggml_backend_reg_t cpu = threads > 1 ? ggml_backend_reg_by_name("CPU") : NULL;
  if (!cpu) return NULL;
  tp_new_fn make = (tp_new_fn)ggml_backend_reg_get_proc_address(cpu, "ggml_threadpool_new");
  *release = (tp_free_fn)ggml_backend_reg_get_proc_address(cpu, "ggml_threadpool_free");
  if (!make || !*release) return NULL;
  struct ggml_threadpool_params tpp = ggml_threadpool_params_default(threads);
  /* Idle workers sleep between graphs instead of spinning: the event loop shares these cores. */
  tpp.poll = 0;
  cpu_set_t mine;
  e->pinned = sched_getaffinity(0, sizeof mine, &mine) == 0 && CPU_COUNT(&mine) > threads - 1;
  for (int c = 0; e->pinned && c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &mine) && shares_core(c, &mine)) e->pinned = 0;
  if (e->pinned) {
    e->spare = mine;
    for (int c = CPU_SETSIZE - 1, left = threads - 1; c >= 0 && left > 0; c--) {
      if (!CPU_ISSET(c, &mine)) continue;
      tpp.cpumask[c] = true;
      CPU_CLR(c, &e->spare);
      left--;
    }
    tpp.strict_cpu = true;
  }
  struct ggml_threadpool *pool = make(&tpp);
  /* ggml pins the creating thread too, as the pool's thread 0: this thread is not the decodes'. */
  if (e->pinned) sched_setaffinity(0, sizeof mine, &mine);
  if (!pool) e->pinned = 0;
  return pool;
}

/*
 * The caller's own `name`: the one in the library its object links to. Symbols bind to this
 * library first in every object loaded after it, a GPU build of node-llama-cpp's addon too,
 * and that build's contexts and models belong to its own llama.cpp, not to the CPU one this
 * library links (which RTLD_NEXT finds).
 */
static void *callers(const char *name, const void *return_address) {
  Dl_info info;
  void *fn = NULL;
  if (dladdr(return_address, &info) && info.dli_fname) {
    void *caller = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (caller) {
      fn = dlsym(caller, name);
      dlclose(caller);
    }
  }
  return fn ? fn : dlsym(RTLD_NEXT, name);
}

struct llama_context *llama_init_from_model(struct llama_model *model, struct llama_context_params params) {
  init_fn real = (init_fn)callers("llama_init_from_model", __builtin_return_address(0));
  if (!real) return NULL;
  struct llama_context *ctx = real(model, params);
  /* Another build's context (a GPU addon's): not this library's to pool or generate on. */
  if (real != (init_fn)dlsym(RTLD_NEXT, "llama_init_from_model")) return ctx;
  struct entry *e = ctx ? calloc(1, sizeof *e) : NULL;
  if (!e) return ctx;
  e->ctx = ctx;
  e->pool = pool_for(params, e);
  if (e->pool) llama_attach_threadpool(ctx, e->pool, e->pool);
  pthread_mutex_lock(&lock);
  e->id = next_id++;
  e->next = contexts;
  contexts = e;
  pthread_mutex_unlock(&lock);
  return ctx;
}

void llama_free(struct llama_context *ctx) {
  free_fn real = (free_fn)callers("llama_free", __builtin_return_address(0));
  struct entry *found = NULL;
  pthread_mutex_lock(&lock);
  for (struct entry **p = &contexts; *p; p = &(*p)->next) {
    if ((*p)->ctx == ctx) {
      found = *p;
      found->closing = 1;
      while (found->users > 0) pthread_cond_wait(&unused, &lock);
      *p = found->next;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  if (real) real(ctx);
  if (found) {
    if (found->pool) found->release(found->pool);
    free(found);
  }
}

int contexts_mark(void) {
  pthread_mutex_lock(&lock);
  int id = next_id;
  pthread_mutex_unlock(&lock);
  return id;
}

int contexts_since(int mark, int *ids, int max) {
  int n = 0;
  pthread_mutex_lock(&lock);
  for (struct entry *e = contexts; e; e = e->next) {
    if (e->id < mark) continue;
    if (n < max) ids[n] = e->id;
    n++;
  }
  pthread_mutex_unlock(&lock);
  return n;
}

int contexts_pooled(void) {
  int n = 0;
  pthread_mutex_lock(&lock);
  for (struct entry *e = contexts; e; e = e->next) n += e->pool != NULL;
  pthread_mutex_unlock(&lock);
  return n;
}

int context_use(int id, struct context_use *use) {
  int found = -1;
  pthread_mutex_lock(&lock);
  for (struct entry *e = contexts; e; e = e->next) {
    if (e->id != id || e->closing) continue;
    e->users++;
    use->id = id;
    use->ctx = e->ctx;
    use->closing = &e->closing;
    found = 0;
    break;
  }
  pthread_mutex_unlock(&lock);
  return found;
}

void context_unuse(const struct context_use *use) {
  pthread_mutex_lock(&lock);
  for (struct entry *e = contexts; e; e = e->next) {
    if (e->id == use->id) {
      e->users--;
      break;
    }
  }
  pthread_cond_broadcast(&unused);
  pthread_mutex_unlock(&lock);
}

/* llama.cpp's decode, with the calling thread kept off the pinned CPUs while it runs more than one
   thread, and the batch's outputs in the batch's order when it returns. */
int32_t llama_decode(struct llama_context *ctx, struct llama_batch batch) {
  static decode_fn own = NULL;
  if (!own) own = (decode_fn)dlsym(RTLD_NEXT, "llama_decode");
  cpu_set_t spare, before;
  int ours = 0, pin = 0;
  pthread_mutex_lock(&lock);
  for (struct entry *e = contexts; e; e = e->next) {
    if (e->ctx != ctx) continue;
    ours = 1;
    pin = e->pinned;
    if (pin) spare = e->spare;
    break;
  }
  pthread_mutex_unlock(&lock);
  /* Another build's context (a GPU addon's) goes to its own llama.cpp, untouched. */
  decode_fn real = ours ? own : (decode_fn)callers("llama_decode", __builtin_return_address(0));
  if (!real) return -1;
  /* llama.cpp runs n_threads_batch threads for a batch of several tokens, n_threads for one. */
  pin = pin && (batch.n_tokens > 1 ? llama_n_threads_batch(ctx) : llama_n_threads(ctx)) > 1;
  pin = pin && sched_getaffinity(0, sizeof before, &before) == 0 && sched_setaffinity(0, sizeof spare, &spare) == 0;
  int32_t status = real(ctx, batch);
  if (pin) sched_setaffinity(0, sizeof before, &before);
  /* llama.cpp puts a batch's outputs back in the batch's order lazily, on the first read of
     any of them (llama_context::output_reorder), without a lock: sample jobs reading their rows
     at once on libuv threads could swap rows twice and sample another sequence's logits.
     Reading them here, before the decode returns, leaves every later read a plain one. */
  if (ours && status == 0) llama_get_logits(ctx);
  return status;
}

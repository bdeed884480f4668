/* The N-API face of build/inferd-llama.node: context tracking (contexts.c) and generation (generate.c). */
#include <node_api.h>
#include "contexts.h"
#include "generate.h"

/* pooled(): live contexts holding a persistent ggml threadpool. */
static napi_value pooled(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_int32(env, contexts_pooled(), &out);
  return out;
}

/* contextMark(): the id the next context will get. */
static napi_value mark(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_int32(env, contexts_mark(), &out);
  return out;
}

/* contextsSince(mark): ids of the live contexts created since `mark`. */
static napi_value since(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, id;
  int32_t from = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc > 0) napi_get_value_int32(env, argv[0], &from);
  int ids[16];
  int n = contexts_since(from, ids, 16);
  napi_create_array(env, &out);
  for (int i = 0; i < n && i < 16; i++) {
    napi_create_int32(env, ids[i], &id);
    napi_set_element(env, out, (uint32_t)i, id);
  }
  return out;
}

NAPI_MODULE_INIT() {
  const struct { const char *name; napi_callback fn; } fns[] = {
    {"pooled", pooled}, {"contextMark", mark}, {"contextsSince", since},
    {"sampler", generate_sampler}, {"sample", generate_sample}, {"run", generate_run},
    {"ack", generate_ack}, {"stop", generate_stop}, {"leave", generate_leave}, {"forget", generate_forget}, {"probeThreads", generate_probe_threads},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

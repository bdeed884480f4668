/* N-API functions of generate.c, registered by addon.c. */
#ifndef INFERD_GENERATE_H
#define INFERD_GENERATE_H
#include <node_api.h>

napi_value generate_sampler(napi_env env, napi_callback_info info);
napi_value generate_sample(napi_env env, napi_callback_info info);
napi_value generate_run(napi_env env, napi_callback_info info);
napi_value generate_ack(napi_env env, napi_callback_info info);
napi_value generate_stop(napi_env env, napi_callback_info info);
napi_value generate_leave(napi_env env, napi_callback_info info);
napi_value generate_forget(napi_env env, napi_callback_info info);
napi_value generate_probe_threads(napi_env env, napi_callback_info info);

#endif

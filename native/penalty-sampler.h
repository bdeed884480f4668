/* Repeat, frequency and presence penalties for sampler chains (penalty-sampler.c), used by generate.c. */
#ifndef INFERD_PENALTY_SAMPLER_H
#define INFERD_PENALTY_SAMPLER_H
#include "llama.h"

/* Penalises the tokens among the last `last_n` sampled (`newline` excepted); NULL when out of memory. */
struct llama_sampler *penalty_sampler_init(int32_t last_n, float repeat, float freq, float present, llama_token newline);

#endif

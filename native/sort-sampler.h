/* Whole-vocabulary sorting for sampler chains (sort-sampler.c), used by generate.c. */
#ifndef INFERD_SORT_SAMPLER_H
#define INFERD_SORT_SAMPLER_H
#include "llama.h"

/* Stands for llama_sampler_init_top_k(n_vocab) at the head of a chain; NULL when out of memory. */
struct llama_sampler *sort_sampler_init(int32_t n_vocab);
/* Goes last in the same chain: gives the selected position llama.cpp's token where logits tie. */
struct llama_sampler *sort_sampler_tie_fix(struct llama_sampler *sorter);

#endif

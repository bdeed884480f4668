/*
 * The llama.cpp contexts node-llama-cpp creates, as seen by this library's interposed
 * llama_init_from_model and llama_free (contexts.c). Each gets an id; code that works on a
 * context outside node-llama-cpp (generate.c) holds a use of it, and llama_free waits until
 * every use has ended.
 */
#ifndef INFERD_CONTEXTS_H
#define INFERD_CONTEXTS_H
#include "llama.h"

struct context_use {
  int id;
  struct llama_context *ctx;
  /* Set once llama_free waits for this context: a loop holding a use stops at its next step. */
  const volatile int *closing;
};

/* The id the next context will get. */
int contexts_mark(void);
/* Ids of live contexts created since `mark`, at most `max`; returns how many there are. */
int contexts_since(int mark, int *ids, int max);
/* Live contexts holding a persistent ggml threadpool. */
int contexts_pooled(void);
/* 0 and a use of context `id`, or -1 when it is gone or being freed. */
int context_use(int id, struct context_use *use);
void context_unuse(const struct context_use *use);

#endif

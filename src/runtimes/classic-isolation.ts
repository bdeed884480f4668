/**
 * Where the classic (sklearn, XGBoost, LightGBM) runtimes compute. Their calls are synchronous
 * JS, so a slow model on the main thread stalls every request and health probe. They load in a
 * worker thread first; a model whose probed one-row call is faster than this moves to the main
 * thread (the thread hop would cost more than the model), any slower one stays in its worker.
 */
export const CLASSIC_INLINE_BELOW_MICROS = 200;

/**
 * What one main-thread call may cost: a fast model's batch of more rows than this over its
 * probed one-row cost (an overestimate of the per-row cost) goes to its worker instead.
 */
export const INLINE_BATCH_MICROS = 2000;

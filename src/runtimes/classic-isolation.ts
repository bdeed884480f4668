/**
 * Where the classic (sklearn, XGBoost, LightGBM) runtimes compute. Their calls are synchronous
 * JS, so a slow model on the main thread stalls every request and health probe. They load in a
 * worker thread first; a model whose probed one-row call is faster than this moves to the main
 * thread (the thread hop would cost more than the model), any slower one stays in its worker.
 */
export const CLASSIC_INLINE_BELOW_MICROS = 200;

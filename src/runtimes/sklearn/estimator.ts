/** What every compiled estimator offers the runtime. Inputs are batches; outputs are row-major. */
import type { Labels } from './state.js';
import type { Matrix } from './matrix.js';

/** A 2-D float result: `cols` values per row (cols 1 and `flat` means a 1-D result). */
export interface Block {
  data: Float64Array;
  cols: number;
  flat: boolean;
}

interface Base {
  /** sklearn class name, or `Pipeline(A → B)`. */
  readonly name: string;
  /** Features per input row (`n_features_in_`), -1 when unknown. */
  readonly nIn: number;
  /** True when the first stage reads strings (object-dtype categories or statistics). */
  readonly wantsStrings: boolean;
}

export interface Classifier extends Base {
  readonly kind: 'classifier';
  readonly classes: Labels;
  /** Class indices into `classes`. */
  predictIndex(x: Matrix): Int32Array;
  predictProba?(x: Matrix): Float64Array;
  decisionFunction?(x: Matrix): Block;
}

export interface Regressor extends Base {
  readonly kind: 'regressor';
  /** Targets per row; 1 gives a 1-D prediction. */
  readonly nTargets: number;
  predict(x: Matrix): Float64Array;
}

export interface Transformer extends Base {
  readonly kind: 'transformer';
  /** Output columns. */
  readonly nOut: number;
  transform(x: Matrix): Matrix;
}

export type Estimator = Classifier | Regressor | Transformer;
export type Predictor = Classifier | Regressor;

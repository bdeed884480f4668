/**
 * Numeric inputs of another datatype than a classic model declares, converted the way its
 * reference library converts a numpy array of that dtype before predicting, so a Python
 * client's default FP64 (or INT64) gives the output the library itself gives:
 *
 * - XGBoost (DMatrix / inplace_predict): every element `static_cast<float>`, numpy's
 *   `astype(float32)`: one round-to-nearest-even step from the exact value.
 * - LightGBM (`Booster.predict` on a numpy array): float32 and float64 kept as they are;
 *   any other dtype becomes float32 first (`_np2d_to_np1d`), then widens exactly to the
 *   doubles LightGBM computes in.
 * - scikit-learn (`check_array(dtype="numeric")`): integer and boolean arrays stay
 *   integer, so they reach the runtime as sent; it casts them to float64 as numpy does and
 *   remembers they were integers (brute-force k-NN takes another path for them). FP32/FP16
 *   are not accepted: several estimators (the scalers, for one) then compute in float32,
 *   which the TypeScript ports do not replicate.
 *
 * ONNX and TensorFlow models stay strictly typed, as in Triton and TF Serving.
 */
import { halfToFloat, type Datatype, type NumericArray } from '../api/datatype.js';
import type { Tensor } from '../api/inference.js';

/** `via`: the rounding step between (`runtime`: accepted as sent, the runtime converts). */
type Rule = { readonly target: 'FP32' | 'FP64'; readonly via: 'float32' | 'float64' | 'runtime'; readonly from: readonly Datatype[] };

const INTEGERS: readonly Datatype[] = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64'];

/** By model platform: the datatype the runtime declares and what it accepts besides. */
const RULES: Readonly<Record<string, Rule>> = {
  xgboost: { target: 'FP32', via: 'float32', from: [...INTEGERS, 'FP16', 'FP64'] },
  lightgbm: { target: 'FP64', via: 'float32', from: [...INTEGERS, 'FP16', 'FP32'] },
  sklearn: { target: 'FP64', via: 'runtime', from: INTEGERS },
};

/** The datatypes a model of `platform` accepts for an input declared as `declared`. */
export function acceptedDatatypes(platform: string | undefined, declared: Datatype): readonly Datatype[] {
  const rule = platform === undefined ? undefined : RULES[platform];
  return rule && rule.target === declared ? [declared, ...rule.from] : [declared];
}

/**
 * `t` converted to `declared` as the reference library of `platform` would (or `t` itself
 * where the runtime converts), or undefined when the library does not take it.
 */
export function castToDeclared(t: Tensor, declared: Datatype, platform: string | undefined): Tensor | undefined {
  const rule = platform === undefined ? undefined : RULES[platform];
  if (!rule || rule.target !== declared || !rule.from.includes(t.datatype) || Array.isArray(t.data)) return undefined;
  if (rule.via === 'runtime') return t;
  const src = t.data as NumericArray;
  const n = src.length;
  const out = declared === 'FP32' ? new Float32Array(n) : new Float64Array(n);
  // A float32 or float64 source is already one of the library's own dtypes: widening is exact.
  const direct = t.datatype === 'FP32' || t.datatype === 'FP64';
  const toF32 = rule.via === 'float32' && !direct;
  for (let i = 0; i < n; i++) {
    const v = src[i]!;
    if (typeof v === 'bigint') out[i] = toF32 ? bigintToFloat32(v) : Number(v);
    else {
      const x = t.datatype === 'FP16' ? halfToFloat(v) : v;
      out[i] = toF32 ? Math.fround(x) : x;
    }
  }
  // Float32Array stores round to nearest even, as astype(float32) does.
  const cast: Tensor = { name: t.name, datatype: declared, shape: t.shape, data: out };
  if (t.parameters) cast.parameters = t.parameters;
  return cast;
}

const F32_KEEP = 26n;

/**
 * A 64-bit integer rounded once to float32, as C's integer-to-float conversion does.
 * Number(v) first would round twice above 2^53; instead the bits below float32's 24-bit
 * mantissa plus a guard and a round bit are folded into a sticky bit, which leaves a value
 * exact as a double that rounds to float32 exactly like `v`.
 */
export function bigintToFloat32(v: bigint): number {
  const neg = v < 0n;
  let m = neg ? -v : v;
  const bits = BigInt(m.toString(2).length);
  if (bits <= 53n) return Math.fround(Number(v));
  const shift = bits - F32_KEEP;
  const sticky = (m & ((1n << shift) - 1n)) !== 0n ? 1n : 0n;
  m = ((m >> shift) | sticky) << shift;
  return Math.fround(neg ? -Number(m) : Number(m));
}

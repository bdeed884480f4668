#!/usr/bin/env python3
"""Generates test/fixtures/lightgbm/input-compat/ (model.txt, reference.json): a LightGBM model and the outputs
Booster.predict gives for the same kind of rows sent as float64, float32 and int64.

LightGBM keeps float32 and float64 arrays as they are and converts every other dtype to
float32 (basic._np2d_to_np1d) before it widens to the doubles it computes in, so int64
values past 2^24 round, and an inferd INT64 request must round the same way. Column 0
spans 1e7..3e7 for that; rows with NaN are the missing value.

Run with a python that has lightgbm (4.x) and numpy:  python3 scripts/gen-lightgbm-fixtures.py
The other LightGBM fixtures came from the LightGBM command-line program (see the README there).
"""
import json
import os

import lightgbm as lgb
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'lightgbm', 'input-compat')


def rows(X):
    return [[None if np.isnan(v) else (int(v) if X.dtype.kind == 'i' else float(v)) for v in r] for r in X]


def main():
    rng = np.random.default_rng(5)
    n = 400
    X = np.column_stack([rng.integers(10_000_000, 30_000_000, n), rng.normal(size=n), rng.normal(size=n)]).astype(np.float64)
    y = X[:, 0] / 1e7 + np.where(X[:, 1] > 0.2, 2.0, -1.0) + rng.normal(scale=0.1, size=n)
    X[rng.random(n) < 0.1, 2] = np.nan
    params = {'objective': 'regression', 'num_leaves': 8, 'learning_rate': 0.3, 'min_data_in_leaf': 5,
              'seed': 1, 'num_threads': 1, 'verbose': -1, 'deterministic': True}
    booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=10)
    thresholds = []
    for tree in booster.dump_model()['tree_info']:
        stack = [tree['tree_structure']]
        while stack:
            node = stack.pop()
            if 'threshold' in node:
                thresholds.append((node['split_feature'], float(node['threshold'])))
                stack += [node['left_child'], node['right_child']]
    ints = np.array([[16_777_217, 0, 1], [20_000_001, -1, 0], [29_999_999, 2, -3], [19_999_999, 0, 2],
                     [12_345_678, 3, -1], [24_680_135, -2, 1]], dtype=np.int64)
    # Integers right next to column-0 thresholds: float32 rounding moves them across.
    thresholds = sorted(set(thresholds))
    # Only above 2^24 does float32 round integers.
    for f, t in [(f, t) for f, t in thresholds if f == 0 and t > 2 ** 24][:10]:
        if f == 0:
            ints = np.vstack([ints, [[int(t) + dv, dv % 2, 0] for dv in range(-3, 4)]])
    f64 = np.array([[float(t) if f == 0 else 2e7, float(t) if f == 1 else 0.1, float(t) if f == 2 else 0.0]
                    for f, t in thresholds[:20]], dtype=np.float64)
    f32 = np.array([[2.1e7, 0.5, np.nan], [1.5e7, np.nan, 0.2], [np.nan, np.nan, np.nan], [2.5e7, 0.25, 1.0]], dtype=np.float32)
    # The fixture only tests the float32 step if some integer row lands elsewhere without it.
    assert not np.array_equal(booster.predict(ints), booster.predict(ints.astype(np.float64))), 'no int row is sensitive'
    os.makedirs(ROOT, exist_ok=True)
    booster.save_model(os.path.join(ROOT, 'model.txt'))
    doc = {
        'lightgbm_version': lgb.__version__,
        'fp64': {'inputs': rows(f64), 'predict': booster.predict(f64).tolist()},
        'int64': {'inputs': rows(ints), 'predict': booster.predict(ints).tolist()},
        'fp32_missing': {'inputs': rows(f32), 'predict': booster.predict(f32).tolist()},
    }
    with open(os.path.join(ROOT, 'reference.json'), 'w') as f:
        json.dump(doc, f)
    print('input-compat ok: %d int rows, %d float64 rows' % (len(ints), len(f64)))


if __name__ == '__main__':
    main()

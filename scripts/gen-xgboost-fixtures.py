#!/usr/bin/python3
"""Generates XGBoost reference fixtures for inferd's XGBoost runtime tests, and the
bench model.

Run with the Debian python that has python3-xgboost (the pyenv `python3` on PATH
lacks it):

    /usr/bin/python3 scripts/gen-xgboost-fixtures.py            # test/fixtures/xgboost/<case>/
    /usr/bin/python3 scripts/gen-xgboost-fixtures.py --bench DIR # 500 trees x depth 6, then timings on request

Each fixture folder holds model.json, model.ubj, model.bst (XGBoost's legacy binary
format; not for categorical models, which it cannot hold) and expected.json:
  inputs:   rows of float32 features, null for a missing value (NaN)
  outputs:  predict (inplace_predict), margin (inplace_predict output_margin=True),
            and for the early-stopping case predict_best/margin_best
            (iteration_range=(0, best_iteration + 1)).
Every float is a float32 value written as float(np.float32(v)), so it parses back to
the exact float32 XGBoost produced.
"""
import json
import os
import sys
import time

import numpy as np
import xgboost as xgb

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'xgboost')


def f32list(a):
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 1:
        return [float(v) for v in a]
    return [f32list(r) for r in a]


def rows_json(X):
    out = []
    for r in np.asarray(X, dtype=np.float32):
        out.append([None if np.isnan(v) else float(v) for v in r])
    return out


def with_nans(rng, X, frac=0.1):
    X = X.copy()
    mask = rng.random(X.shape) < frac
    X[mask] = np.nan
    return X


def write_case(name, booster, X_test, extra_outputs=None, binary=True, meta=None, dmatrix_kw=None):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    booster.save_model(os.path.join(d, 'model.json'))
    booster.save_model(os.path.join(d, 'model.ubj'))
    if binary:
        booster.save_model(os.path.join(d, 'model.bst'))
    X_test = np.asarray(X_test, dtype=np.float32)
    if dmatrix_kw:
        # Categorical models: predict through a DMatrix carrying the feature types.
        dm = xgb.DMatrix(X_test, missing=np.nan, **dmatrix_kw)
        pred = booster.predict(dm)
        margin = booster.predict(dm, output_margin=True)
    else:
        pred = booster.inplace_predict(X_test)
        margin = booster.inplace_predict(X_test, predict_type='margin')
    # DMatrix predict must agree with inplace_predict bit for bit.
    dm_pred = booster.predict(xgb.DMatrix(X_test, missing=np.nan, **(dmatrix_kw or {})))
    assert np.array_equal(np.asarray(dm_pred, np.float32), np.asarray(pred, np.float32)), name
    outputs = {'predict': f32list(pred), 'margin': f32list(margin)}
    if extra_outputs:
        outputs.update(extra_outputs)
    doc = {
        'format': 'xgboost',
        'xgboost_version': xgb.__version__,
        'objective': json.loads(booster.save_config())['learner']['objective']['name'],
        'inputs': rows_json(X_test),
        'outputs': outputs,
    }
    if meta:
        doc.update(meta)
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump(doc, f)
    print(name, 'ok')


def fixtures():
    rng = np.random.default_rng(7)
    n, nf = 400, 6
    X = rng.normal(size=(n, nf)).astype(np.float32)
    lin = X[:, 0] * 1.5 - X[:, 1] + 0.5 * X[:, 2] * X[:, 3]
    Xn = with_nans(rng, X)
    Xt = with_nans(rng, rng.normal(size=(24, nf)).astype(np.float32), 0.15)
    Xt[0, :] = np.nan  # all missing
    Xt[1, :] = 0.0
    base = {'max_depth': 4, 'eta': 0.3, 'seed': 1, 'nthread': 1, 'tree_method': 'hist'}
    rounds = 12

    def train(params, y, rounds=rounds, Xtr=Xn, **kw):
        dm = xgb.DMatrix(Xtr, label=y, missing=np.nan, **kw)
        return xgb.train({**base, **params}, dm, rounds)

    write_case('reg_squarederror', train({'objective': 'reg:squarederror'}, lin + rng.normal(size=n) * 0.1), Xt)
    write_case('reg_squarederror_exact', train({'objective': 'reg:squarederror', 'tree_method': 'exact', 'max_depth': 5, 'base_score': 1.7},
                                               lin), Xt)
    p = 1 / (1 + np.exp(-lin))
    write_case('reg_logistic', train({'objective': 'reg:logistic'}, p), Xt)
    yb = (rng.random(n) < p).astype(np.float32)
    write_case('binary_logistic', train({'objective': 'binary:logistic', 'base_score': 0.3}, yb), Xt)
    write_case('binary_logistic_default', train({'objective': 'binary:logistic'}, yb), Xt)
    write_case('binary_logitraw', train({'objective': 'binary:logitraw', 'base_score': 0.3}, yb), Xt)
    ym = np.digitize(lin, [-1.0, 1.0]).astype(np.float32)
    write_case('multi_softprob', train({'objective': 'multi:softprob', 'num_class': 3}, ym), Xt)
    write_case('multi_softmax', train({'objective': 'multi:softmax', 'num_class': 3}, ym), Xt)
    write_case('multi_softprob_forest', train({'objective': 'multi:softprob', 'num_class': 3, 'num_parallel_tree': 2,
                                                'subsample': 0.8, 'colsample_bynode': 0.8}, ym, rounds=4), Xt)
    counts = rng.poisson(np.exp(0.5 * lin.clip(-3, 3))).astype(np.float32)
    write_case('count_poisson', train({'objective': 'count:poisson', 'base_score': 2.0}, counts), Xt)
    write_case('reg_tweedie', train({'objective': 'reg:tweedie', 'tweedie_variance_power': 1.3}, counts), Xt)
    pos = np.exp(0.3 * lin.clip(-3, 3)).astype(np.float32) + rng.random(n).astype(np.float32) * 0.1
    write_case('reg_gamma', train({'objective': 'reg:gamma', 'base_score': 1.5}, pos), Xt)
    yr = np.digitize(lin, [-1.0, 0.0, 1.0]).astype(np.float32)
    dm = xgb.DMatrix(Xn, label=yr, missing=np.nan)
    dm.set_group([20] * (n // 20))
    write_case('rank_pairwise', xgb.train({**base, 'objective': 'rank:pairwise'}, dm, rounds), Xt)

    # Early stopping: best_iteration < last iteration.
    Xv = with_nans(rng, rng.normal(size=(200, nf)).astype(np.float32))
    yv = (rng.random(200) < 1 / (1 + np.exp(-(Xv[:, 0] * 1.5 - Xv[:, 1])))).astype(np.float32)
    dtr = xgb.DMatrix(Xn, label=yb, missing=np.nan)
    dva = xgb.DMatrix(Xv, label=yv, missing=np.nan)
    es = xgb.train({**base, 'objective': 'binary:logistic', 'eta': 0.8, 'max_depth': 6}, dtr, 60,
                   evals=[(dva, 'valid')], early_stopping_rounds=3, verbose_eval=False)
    best = int(es.attr('best_iteration'))
    assert best + 1 < es.num_boosted_rounds(), 'early stopping did not stop early'
    rng_best = (0, best + 1)
    write_case('early_stopping', es, Xt, {
        'predict_best': f32list(es.inplace_predict(Xt, iteration_range=rng_best)),
        'margin_best': f32list(es.inplace_predict(Xt, iteration_range=rng_best, predict_type='margin')),
    }, meta={'best_iteration': best, 'num_boosted_rounds': es.num_boosted_rounds()})

    # Categorical features (partition-based and one-hot splits).
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    nc = 500
    c1 = rng.integers(0, 12, size=nc)
    c2 = rng.integers(0, 3, size=nc)
    num = rng.normal(size=(nc, 2)).astype(np.float32)
    effect = np.array([3, -2, 0.5, 1, -1, 2.5, 0, -3, 1.5, -0.5, 2, -2.5])
    yc = effect[c1] + np.array([0.0, 1.0, -1.0])[c2] + num[:, 0]
    Xc = np.column_stack([c1, num[:, 0], c2, num[:, 1]]).astype(np.float32)
    Xc = with_nans(rng, Xc, 0.05)
    Xct = np.column_stack([rng.integers(0, 14, size=24), rng.normal(size=24), rng.integers(0, 3, size=24),
                           rng.normal(size=24)]).astype(np.float32)
    Xct = with_nans(rng, Xct, 0.15)
    Xct[2, 0] = -1.0   # negative category
    Xct[3, 0] = 13.0   # category never seen in training
    Xct[4, 0] = 100.0  # far beyond the bitset
    Xct[5, 0] = 2.7    # fractional: XGBoost truncates
    params = {**base, 'objective': 'reg:squarederror', 'max_cat_to_onehot': 4, 'max_depth': 4}
    if pd is not None:
        df = pd.DataFrame({'c1': pd.Categorical(Xc[:, 0]), 'n1': Xc[:, 1], 'c2': pd.Categorical(Xc[:, 2]), 'n2': Xc[:, 3]})
        # Code categories as their integer values so raw floats in Xct mean the same.
        df['c1'] = pd.Categorical.from_codes(np.where(np.isnan(Xc[:, 0]), -1, Xc[:, 0]).astype(int), categories=list(range(14)))
        df['c2'] = pd.Categorical.from_codes(np.where(np.isnan(Xc[:, 2]), -1, Xc[:, 2]).astype(int), categories=list(range(3)))
        dm = xgb.DMatrix(df, label=yc, enable_categorical=True)
    else:
        dm = xgb.DMatrix(Xc, label=yc, missing=np.nan, feature_types=['c', 'q', 'c', 'q'], enable_categorical=True)
    cat = xgb.train(params, dm, rounds)
    # inplace_predict with a raw float array needs the feature types to match the model.
    write_case('categorical', cat, Xct, binary=False, dmatrix_kw={
        'feature_names': ['c1', 'n1', 'c2', 'n2'], 'feature_types': ['c', 'q', 'c', 'q'], 'enable_categorical': True})


def input_compat():
    """test/fixtures/xgboost/input-compat/ (model.json, reference.json): one model and the outputs XGBoost gives for the
    same rows sent as float64 and as int64 (numpy's defaults for Python floats and ints),
    which it converts to float32 itself. Column 0 spans 1e7..3e7, past float32's exact
    integers (2^24), so int64 and float64 rows round there; float64 rows also sit between
    float32 neighbours of the split thresholds. Rows with NaN are the missing value."""
    rng = np.random.default_rng(11)
    n = 300
    X = np.column_stack([rng.integers(10_000_000, 30_000_000, n), rng.normal(size=n), rng.normal(size=n)]).astype(np.float64)
    y = ((X[:, 0] > 2e7) ^ (X[:, 1] > 0.3)).astype(np.float64)
    X[rng.random(n) < 0.1, 2] = np.nan
    b = xgb.train({'objective': 'binary:logistic', 'max_depth': 3, 'eta': 0.5, 'seed': 1, 'nthread': 1, 'tree_method': 'exact'},
                  xgb.DMatrix(X, label=y, missing=np.nan), 8)
    thresholds = []

    def walk(node):
        if 'split_condition' in node:
            thresholds.append(node['split_condition'])
            for child in node.get('children', []):
                walk(child)

    for tree in b.get_dump(dump_format='json'):
        walk(json.loads(tree))
    thresholds = sorted(set(thresholds))[:16]
    ints = np.array([[16_777_217, 0, 1], [20_000_001, -1, 0], [29_999_999, 2, -3], [2**53 + 1, 0, 0],
                     [-(2**40) - 3, 1, 1], [19_999_999, 0, 2], [12_345_678, 3, -1], [24_680_135, -2, 1]], dtype=np.int64)
    f64 = []
    for i in range(8):
        row = [float(rng.integers(10_000_000, 30_000_000)) + 0.5, float(rng.normal()), float(rng.normal())]
        f64.append(row)
    for t in thresholds + [2e7, 0.3]:
        t32 = np.float32(t)
        up = np.nextafter(t32, np.float32(np.inf))
        # Exactly between two float32 values: round-to-nearest-even decides the side.
        mid = (float(t32) + float(up)) / 2
        f64.append([mid, mid if abs(t) < 1e3 else 0.1, 0.0])
        f64.append([float(t32) + 1e-9 * max(1.0, abs(float(t32))), float(t32) - 1e-12, 0.5])
    f64 = np.array(f64, dtype=np.float64)
    with_missing = np.array([[2.1e7, 0.5, np.nan], [1.5e7, np.nan, 0.2], [np.nan, np.nan, np.nan]], dtype=np.float32)
    d = os.path.join(ROOT, 'input-compat')
    os.makedirs(d, exist_ok=True)
    b.save_model(os.path.join(d, 'model.json'))
    doc = {
        'xgboost_version': xgb.__version__,
        'fp64': {'inputs': [[float(v) for v in r] for r in f64], 'predict': f32list(b.inplace_predict(f64))},
        'int64': {'inputs': [[int(v) for v in r] for r in ints], 'predict': f32list(b.inplace_predict(ints))},
        'fp32_missing': {'inputs': rows_json(with_missing), 'predict': f32list(b.inplace_predict(with_missing))},
    }
    with open(os.path.join(d, 'reference.json'), 'w') as f:
        json.dump(doc, f)
    print('input-compat ok')


def bench(out_dir):
    """Trains the 500-tree depth-6 model (once), writes it with 1000 float32 rows and
    XGBoost's predictions, prints a header line, then times XGBoost's own inplace_predict
    single-threaded at batch 1 and batch 1000 each time a line arrives on stdin (one JSON
    line per request), so the bench can alternate XGBoost and inferd in the same seconds."""
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(11)
    nf = 32
    X = rng.normal(size=(20000, nf)).astype(np.float32)
    y = X[:, 0] * 2 + np.sin(X[:, 1] * 3) + X[:, 2] * X[:, 3] + rng.normal(size=20000) * 0.3
    model_path = os.path.join(out_dir, 'model.json')
    if not os.path.exists(model_path):
        b = xgb.train({'max_depth': 6, 'eta': 0.05, 'tree_method': 'hist', 'nthread': 4, 'seed': 3,
                       'objective': 'reg:squarederror'}, xgb.DMatrix(X, label=y), 500)
        b.save_model(model_path)
    b = xgb.Booster(model_file=model_path)
    b.set_param({'nthread': 1})
    Xb = rng.normal(size=(1000, nf)).astype(np.float32)
    Xb[rng.random(Xb.shape) < 0.02] = np.nan
    Xb.tofile(os.path.join(out_dir, 'rows.f32'))
    pred = b.inplace_predict(Xb).astype(np.float32)
    pred.tofile(os.path.join(out_dir, 'expected.f32'))
    print(json.dumps({'xgboost_version': xgb.__version__, 'num_feature': nf, 'rows': 1000}), flush=True)

    def timeit(fn, min_time):
        fn()
        n = 0
        t0 = time.perf_counter()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t0
            if el >= min_time:
                return el / n

    one = Xb[:1]
    for line in sys.stdin:
        window = float(line)
        print(json.dumps({'batch1_s': timeit(lambda: b.inplace_predict(one), window),
                          'batch1000_s': timeit(lambda: b.inplace_predict(Xb), window)}), flush=True)


if __name__ == '__main__':
    if len(sys.argv) >= 3 and sys.argv[1] == '--bench':
        bench(sys.argv[2])
    elif sys.argv[1:] == ['--input-compat']:
        input_compat()
    else:
        fixtures()
        input_compat()

#!/usr/bin/python3
"""Generates test/fixtures/sklearn/: small scikit-learn models saved with joblib
and pickle, each with expected.json holding inputs and sklearn's own outputs, plus
hostile files the inferd sklearn runtime must refuse.

Run with the Debian python that has sklearn:  /usr/bin/python3 scripts/gen-sklearn-fixtures.py
Deterministic: fixed seeds, small estimators. The tests only read the output.
"""
import json
import os
import pickle
import shutil
import sys
import zlib

import joblib
import numpy as np
import sklearn
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingClassifier,
                              GradientBoostingRegressor, HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge,
                                  SGDClassifier, SGDRegressor)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'sklearn')
MARKER_DIR = '/tmp'

# ---------------------------------------------------------------- data sets
rng = np.random.RandomState(0)
iris = datasets.load_iris()
X_iris, y_iris = iris.data, iris.target
iris_names = np.array(['setosa', 'versicolor', 'virginica'], dtype=object)[y_iris]
# Test rows: a spread of iris rows with a little noise, so no distance ties.
iris_test = X_iris[::8] + rng.normal(scale=0.05, size=X_iris[::8].shape)

X_reg, y_reg = datasets.make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
reg_test = X_reg[:15] + rng.normal(scale=0.1, size=(15, 5))

X_bin, y_bin = datasets.make_classification(n_samples=150, n_features=6, n_informative=4, random_state=1)
bin_test = X_bin[:15] + rng.normal(scale=0.1, size=(15, 6))

# Regression / binary sets with missing values for HistGradientBoosting.
X_nan = X_reg.copy()
X_nan[rng.rand(*X_nan.shape) < 0.15] = np.nan
nan_test = reg_test.copy()
nan_test[rng.rand(*nan_test.shape) < 0.25] = np.nan
nan_test[0, :] = np.nan
Xb_nan = X_bin.copy()
Xb_nan[rng.rand(*Xb_nan.shape) < 0.15] = np.nan
binnan_test = bin_test.copy()
binnan_test[rng.rand(*binnan_test.shape) < 0.25] = np.nan

# Mixed table: 3 numeric columns (with NaN), 2 string columns (with missing).
n_mix = 160
colors = np.array(['red', 'green', 'blue', 'black'], dtype=object)
sizes = np.array(['S', 'M', 'L'], dtype=object)
mix_num = rng.normal(size=(n_mix, 3))
mix_c1 = colors[rng.randint(0, 4, n_mix)]
mix_c2 = sizes[rng.randint(0, 3, n_mix)]
y_mix = np.where(mix_num[:, 0] + (mix_c1 == 'red') * 1.5 - (mix_c2 == 'L') > 0.3, 'yes', 'no').astype(object)
mix_num[rng.rand(n_mix, 3) < 0.1] = np.nan
X_mix = np.empty((n_mix, 5), dtype=object)
X_mix[:, :3] = mix_num
X_mix[:, 3] = mix_c1
X_mix[:, 4] = mix_c2
X_mix[rng.rand(n_mix) < 0.1, 3] = np.nan
mix_test = X_mix[:16].copy()
mix_test[1, 3] = 'purple'  # unknown category: handle_unknown='ignore'
mix_test[2, 4] = np.nan
mix_test[3, 0] = np.nan


# ---------------------------------------------------------------- helpers
def clean(v):
    """JSON-able copy with NaN as null; floats keep repr (round-trip) precision."""
    if isinstance(v, np.ndarray):
        return [clean(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


def case_dir(name):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    return d


def expected_for(est, X, input_kind):
    out = {'estimator': type(est).__name__, 'sklearn_version': sklearn.__version__,
           'input_kind': input_kind, 'X': clean(X)}
    if hasattr(est, 'predict'):
        out['predict'] = clean(est.predict(X))
    else:
        out['transform'] = clean(np.asarray(est.transform(X), dtype=np.float64))
    for method in ('predict_proba', 'decision_function'):
        try:
            fn = getattr(est, method)
        except AttributeError:
            continue
        try:
            out[method] = clean(fn(X))
        except (AttributeError, NotImplementedError):
            pass
    return out


def save(name, est, X, input_kind='numeric', how=('joblib',)):
    d = case_dir(name)
    for h in how:
        if h == 'joblib':
            joblib.dump(est, os.path.join(d, 'model.joblib'))
        elif h == 'joblib-zlib':
            joblib.dump(est, os.path.join(d, 'model.joblib'), compress=('zlib', 3))
        elif h == 'joblib-gzip':
            joblib.dump(est, os.path.join(d, 'model.joblib'), compress=('gzip', 3))
        elif h.startswith('pkl'):
            with open(os.path.join(d, 'model.pkl'), 'wb') as f:
                pickle.dump(est, f, protocol=int(h[3:]))
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump(expected_for(est, X, input_kind), f)


# ---------------------------------------------------------------- models
def linear_models():
    save('linear_regression', LinearRegression().fit(X_reg, y_reg), reg_test)
    save('linear_regression_p2', LinearRegression().fit(X_reg, y_reg), reg_test, how=('pkl2',))
    save('linear_regression_p5', LinearRegression().fit(X_reg, y_reg), reg_test, how=('pkl5',))
    save('ridge', Ridge(alpha=0.7).fit(X_reg, y_reg), reg_test)
    save('lasso', Lasso(alpha=0.3).fit(X_reg, y_reg), reg_test)
    save('elastic_net', ElasticNet(alpha=0.3, l1_ratio=0.4).fit(X_reg, y_reg), reg_test)
    save('logreg_binary', LogisticRegression(max_iter=1000).fit(X_bin, y_bin), bin_test)
    save('logreg_multinomial', LogisticRegression(max_iter=1000).fit(X_iris, y_iris), iris_test)
    save('logreg_multinomial_p2', LogisticRegression(max_iter=1000).fit(X_iris, y_iris), iris_test, how=('pkl2',))
    save('logreg_multinomial_p5', LogisticRegression(max_iter=1000).fit(X_iris, y_iris), iris_test, how=('pkl5',))
    save('logreg_ovr', LogisticRegression(multi_class='ovr', max_iter=1000).fit(X_iris, iris_names), iris_test)
    save('logreg_liblinear_binary', LogisticRegression(solver='liblinear').fit(X_bin, y_bin), bin_test)
    save('sgd_classifier_hinge', SGDClassifier(random_state=0).fit(X_iris, y_iris), iris_test)
    save('sgd_classifier_log', SGDClassifier(loss='log_loss', random_state=0).fit(X_bin, y_bin), bin_test)
    save('sgd_classifier_huber_multi', SGDClassifier(loss='modified_huber', random_state=0).fit(X_iris, y_iris), iris_test)
    save('sgd_regressor', SGDRegressor(random_state=0).fit(X_reg, y_reg), reg_test)
    save('linear_svc', LinearSVC(random_state=0, max_iter=5000).fit(X_iris, y_iris), iris_test)
    save('linear_svc_binary', LinearSVC(random_state=0, max_iter=5000).fit(X_bin, y_bin), bin_test)
    save('linear_svr', LinearSVR(random_state=0, max_iter=5000).fit(X_reg, y_reg), reg_test)


def svm_models():
    save('svc_linear', SVC(kernel='linear').fit(X_iris, y_iris), iris_test)
    save('svc_rbf_proba', SVC(kernel='rbf', probability=True, random_state=0).fit(X_iris, iris_names), iris_test)
    save('svc_rbf_ovo', SVC(kernel='rbf', gamma=0.5, decision_function_shape='ovo').fit(X_iris, y_iris), iris_test)
    save('svc_poly_binary', SVC(kernel='poly', degree=3, coef0=1.0, probability=True, random_state=0).fit(X_bin, y_bin), bin_test)
    save('svc_sigmoid_binary', SVC(kernel='sigmoid', gamma=0.05).fit(X_bin, y_bin), bin_test)
    save('svr_rbf', SVR(kernel='rbf', C=50.0).fit(X_reg, y_reg), reg_test)
    save('svr_poly', SVR(kernel='poly', degree=2, C=10.0).fit(X_reg, y_reg), reg_test)
    save('svr_linear', SVR(kernel='linear').fit(X_reg, y_reg), reg_test)


def tree_models():
    save('decision_tree_classifier', DecisionTreeClassifier(max_depth=5, random_state=0).fit(X_iris, iris_names), iris_test)
    save('decision_tree_classifier_p5', DecisionTreeClassifier(max_depth=5, random_state=0).fit(X_iris, y_iris), iris_test, how=('pkl5',))
    save('decision_tree_regressor', DecisionTreeRegressor(max_depth=6, random_state=0).fit(X_reg, y_reg), reg_test)
    # Inputs exactly at split thresholds (and 1 ulp either side): sklearn compares float32-cast
    # inputs with float64 thresholds, so these rows catch any other rounding.
    edge_tree = DecisionTreeRegressor(max_depth=6, random_state=0).fit(X_reg, y_reg)
    t = edge_tree.tree_
    edge_rows = []
    for node in range(t.node_count):
        if t.children_left[node] >= 0:
            for v in (t.threshold[node], np.nextafter(t.threshold[node], np.inf), np.nextafter(t.threshold[node], -np.inf)):
                row = X_reg[node % len(X_reg)].copy()
                row[t.feature[node]] = v
                edge_rows.append(row)
    save('decision_tree_threshold_edges', edge_tree, np.array(edge_rows[:60]))
    save('random_forest_classifier', RandomForestClassifier(n_estimators=8, max_depth=6, random_state=0).fit(X_iris, y_iris), iris_test)
    save('random_forest_classifier_zlib', RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X_bin, y_bin), bin_test, how=('joblib-zlib',))
    save('random_forest_regressor', RandomForestRegressor(n_estimators=8, max_depth=6, random_state=0).fit(X_reg, y_reg), reg_test)
    save('extra_trees_classifier', ExtraTreesClassifier(n_estimators=8, max_depth=6, random_state=0).fit(X_iris, iris_names), iris_test, how=('joblib-gzip',))
    save('extra_trees_regressor', ExtraTreesRegressor(n_estimators=8, max_depth=6, random_state=0).fit(X_reg, y_reg), reg_test)
    save('gradient_boosting_classifier_binary', GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0).fit(X_bin, y_bin), bin_test)
    save('gradient_boosting_classifier_multi', GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=0).fit(X_iris, iris_names), iris_test)
    save('gradient_boosting_regressor', GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X_reg, y_reg), reg_test)
    save('hist_gradient_boosting_classifier_binary', HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(Xb_nan, y_bin), binnan_test)
    save('hist_gradient_boosting_classifier_multi', HistGradientBoostingClassifier(max_iter=10, max_depth=3, random_state=0).fit(X_iris, iris_names), iris_test)
    save('hist_gradient_boosting_regressor', HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X_nan, y_reg), nan_test)
    save('hist_gradient_boosting_regressor_p5', HistGradientBoostingRegressor(max_iter=10, random_state=0).fit(X_nan, y_reg), nan_test, how=('pkl5',))


def other_models():
    save('knn_classifier', KNeighborsClassifier(n_neighbors=5).fit(X_iris, y_iris), iris_test)
    save('knn_classifier_distance', KNeighborsClassifier(n_neighbors=7, weights='distance').fit(X_iris, iris_names), iris_test)
    save('knn_regressor', KNeighborsRegressor(n_neighbors=4, weights='distance').fit(X_reg, y_reg), reg_test)
    save('knn_regressor_manhattan', KNeighborsRegressor(n_neighbors=3, p=1, algorithm='brute').fit(X_reg, y_reg), reg_test)
    save('gaussian_nb', GaussianNB().fit(X_iris, y_iris), iris_test)
    save('standard_scaler', StandardScaler().fit(X_reg), reg_test)
    save('minmax_scaler', MinMaxScaler(feature_range=(-1, 2)).fit(X_reg), reg_test)
    save('robust_scaler', RobustScaler().fit(X_reg), reg_test)
    save('simple_imputer', SimpleImputer(strategy='median').fit(X_nan), nan_test)
    cat = np.array([[0, 1], [1, 2], [2, 1], [0, 3], [1, 1]], dtype=np.float64)
    save('onehot_numeric', OneHotEncoder(sparse_output=False, drop='first').fit(cat),
         np.array([[0, 1], [2, 3], [1, 2]], dtype=np.float64))
    save('pipeline_scaler_logreg', Pipeline([('scale', StandardScaler()), ('clf', LogisticRegression(max_iter=1000))]).fit(X_iris, y_iris), iris_test)
    num = Pipeline([('impute', SimpleImputer(strategy='median')), ('scale', StandardScaler())])
    catp = Pipeline([('impute', SimpleImputer(strategy='most_frequent')),
                     ('onehot', OneHotEncoder(handle_unknown='ignore', sparse_output=False))])
    ct = ColumnTransformer([('num', num, [0, 1, 2]), ('cat', catp, [3, 4])])
    save('pipeline_column_transformer', Pipeline([('prep', ct), ('clf', LogisticRegression(max_iter=1000))]).fit(X_mix, y_mix),
         mix_test, input_kind='strings')
    ct2 = ColumnTransformer([('cat', OneHotEncoder(handle_unknown='ignore', sparse_output=False), [3]),
                             ('imp', SimpleImputer(strategy='mean'), [0, 1])], remainder='drop')
    save('pipeline_column_transformer_forest',
         Pipeline([('prep', ct2), ('rf', RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0))]).fit(
             X_mix_no_missing_cat(), y_mix),
         X_mix_no_missing_cat()[:16], input_kind='strings')


def pd_isnull(a):
    return np.array([[x is None or (isinstance(x, float) and np.isnan(x)) for x in row] for row in a])


def X_mix_no_missing_cat():
    X = X_mix[:, :4].copy()
    miss = pd_isnull(X[:, 3:4])[:, 0]
    X[miss, 3] = 'none'
    return X


# ---------------------------------------------------------------- hostile files
class Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def hostile():
    import subprocess
    import builtins
    base = os.path.join(ROOT, 'hostile')
    shutil.rmtree(base, ignore_errors=True)

    def put(name, data, file='model.joblib'):
        d = os.path.join(base, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, file), 'wb') as f:
            f.write(data)

    m = lambda n: os.path.join(MARKER_DIR, 'inferd-sklearn-pwned-' + n)
    put('os_system', pickle.dumps(Reduce(os.system, ('touch ' + m('os-system'),)), protocol=4), 'model.pkl')
    put('builtins_eval', pickle.dumps(Reduce(builtins.eval, ("__import__('os').system('touch %s')" % m('eval'),)), protocol=2))
    put('subprocess', pickle.dumps(Reduce(subprocess.check_call, (['touch', m('subprocess')],)), protocol=5))
    # A real model with a payload hidden in one attribute: refused before serving.
    lr = LogisticRegression(max_iter=1000).fit(X_bin, y_bin)
    lr.payload = Reduce(os.system, ('touch ' + m('hidden'),))
    buf = os.path.join(base, 'hidden_in_model')
    os.makedirs(buf, exist_ok=True)
    joblib.dump(lr, os.path.join(buf, 'model.joblib'))
    good = open(os.path.join(ROOT, 'random_forest_classifier', 'model.joblib'), 'rb').read()
    put('truncated', good[: len(good) // 2])
    put('truncated_pickle', pickle.dumps(LogisticRegression().fit(X_bin, y_bin), protocol=4)[:300], 'model.pkl')
    put('deep_nesting_marks', b'\x80\x04' + b'(' * 200000 + b'.')
    put('deep_nesting_lists', b'\x80\x02' + b']' * 5000 + b'a' * 4999 + b'.')
    put('deep_nesting_memo', b'\x80\x02' + b''.join(b']r' + i.to_bytes(4, 'little') for i in range(3000))
        + b''.join(b'j' + i.to_bytes(4, 'little') + b'j' + (i + 1).to_bytes(4, 'little') + b'a0' for i in range(2999))
        + b'j' + (0).to_bytes(4, 'little') + b'.')
    put('huge_length', b'\x80\x04\x8d' + (2 ** 62).to_bytes(8, 'little') + b'abc.')
    put('huge_bytes_length', b'\x80\x05\x96' + (2 ** 40).to_bytes(8, 'little') + b'\x00' * 16 + b'.')
    put('huge_memo_index', b'\x80\x02]r\xff\xff\xff\xffj\x00\x00\x00\x00.')
    put('wrong_format', b'PK\x03\x04 this is a zip file, not a pickle' + bytes(range(64)))
    put('text_file', b'hello, I am not a model\n')
    put('xz_compressed', b'')
    joblib.dump(LinearRegression().fit(X_reg, y_reg), os.path.join(base, 'xz_compressed', 'model.joblib'), compress=('xz', 3))
    put('bz2_compressed', b'')
    joblib.dump(LinearRegression().fit(X_reg, y_reg), os.path.join(base, 'bz2_compressed', 'model.joblib'), compress=('bz2', 3))
    # zlib bomb: 64 MiB of zeros after a valid pickle header.
    put('zlib_bomb', zlib.compress(b'\x80\x04' + b'N' * (64 << 20), 9))
    put('unknown_class', pickle.dumps(Reduce(collections_counter(), ([1, 2],)), protocol=4))
    put('not_an_estimator', pickle.dumps({'a': [1, 2, 3]}, protocol=4))


def neighbour_ties():
    """k-NN on an integer grid, so many neighbours are at exactly equal distances: which of
    them sklearn keeps at the k-th place, and in what order, depends on its search
    (_fit_method). Each expected.json also holds kneighbors (indices, nearest first) and,
    for integer queries, the outputs sklearn gives for the same rows as int64."""
    gx, gy = np.meshgrid(np.arange(6), np.arange(6))
    X = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float64)
    X = np.vstack([X, X[[3, 14, 20, 27]]])  # duplicates: ties at distance 0 too
    y = np.arange(len(X)) % 3
    y_reg = (np.arange(len(X)) * 0.37) % 2.9
    q_int = np.array([[2, 2], [0, 0], [5, 5], [3, 1], [1, 4], [4, 3], [2, 5], [0, 3]], dtype=np.int64)
    q_half = np.array([[2.5, 2.5], [0.5, 1], [3, 3.5], [4.5, 0.5], [1.5, 1.5], [5, 2.5]])
    queries = np.vstack([q_int.astype(np.float64), q_half])
    cases = [
        ('knn_ties_kd', KNeighborsClassifier(n_neighbors=4, leaf_size=2)),
        ('knn_ties_kd_distance', KNeighborsClassifier(n_neighbors=6, weights='distance', leaf_size=3)),
        ('knn_ties_ball', KNeighborsClassifier(n_neighbors=4, algorithm='ball_tree', leaf_size=2)),
        ('knn_ties_ball_manhattan', KNeighborsClassifier(n_neighbors=5, algorithm='ball_tree', p=1, leaf_size=3)),
        ('knn_ties_brute', KNeighborsClassifier(n_neighbors=4, algorithm='brute')),
        ('knn_ties_brute_distance', KNeighborsClassifier(n_neighbors=5, algorithm='brute', weights='distance')),
        ('knn_ties_kd_chebyshev', KNeighborsClassifier(n_neighbors=5, metric='chebyshev', leaf_size=2)),
        ('knn_ties_regressor_kd', KNeighborsRegressor(n_neighbors=5, leaf_size=2)),
        ('knn_ties_regressor_brute', KNeighborsRegressor(n_neighbors=7, algorithm='brute')),
    ]
    for name, est in cases:
        est.fit(X, y_reg if isinstance(est, KNeighborsRegressor) else y)
        save(name, est, queries)
        path = os.path.join(case_dir(name), 'expected.json')
        with open(path) as f:
            out = json.load(f)
        out['fit_method'] = est._fit_method
        out['kneighbors'] = clean(est.kneighbors(queries, return_distance=False))
        out['int_rows'] = len(q_int)
        out['predict_int'] = clean(est.predict(q_int))
        if hasattr(est, 'predict_proba'):
            out['predict_proba_int'] = clean(est.predict_proba(q_int))
        with open(path, 'w') as f:
            json.dump(out, f)
    # Non-integer data through brute force: Euclidean ranked as sklearn computes it (‖y‖² − 2x·y).
    frng = np.random.RandomState(7)
    Xf = frng.normal(size=(40, 3))
    save('knn_brute_euclidean_float', KNeighborsRegressor(n_neighbors=5, algorithm='brute', weights='distance').fit(Xf, Xf[:, 0] * 2 + 1),
         frng.normal(size=(12, 3)))


def numpy_selection():
    """numpy-select.json: np.argpartition and np.argsort (float64) on small arrays full of
    equal values, for the port of numpy's introselect/introsort that brute-force k-NN uses."""
    srng = np.random.RandomState(1)
    cases = []
    for t in range(600):
        n = int(srng.choice([2, 3, 4, 5, 8, 16, 17, 18, 33, 64, 129]))
        a = srng.randint(0, int(srng.choice([1, 2, 3, 10, 1000])), n).astype(np.float64)
        if t % 7 == 0:
            a = np.sort(a)
        if t % 11 == 0:
            a = np.sort(a)[::-1].copy()
        kth = int(srng.randint(0, n))
        cases.append({'a': a.tolist(), 'kth': kth, 'argpartition': np.argpartition(a, kth).tolist(), 'argsort': np.argsort(a).tolist()})
    with open(os.path.join(ROOT, 'numpy-select.json'), 'w') as f:
        json.dump({'numpy_version': np.__version__, 'cases': cases}, f)


def collections_counter():
    import collections
    return collections.Counter


def main():
    if sys.argv[1:] == ['--neighbour-ties']:
        # Adds the tie cases without rewriting the other fixtures.
        neighbour_ties()
        numpy_selection()
        return 0
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    linear_models()
    svm_models()
    tree_models()
    other_models()
    neighbour_ties()
    numpy_selection()
    hostile()
    total = 0
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    print('sklearn %s, numpy %s, joblib %s: %d bytes of fixtures' % (sklearn.__version__, np.__version__, joblib.__version__, total))


if __name__ == '__main__':
    sys.exit(main())

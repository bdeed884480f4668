#!/usr/bin/env python3
"""Generates test/fixtures/hostile-models/: small model files (KB) that try to exhaust the
server's memory or time when decoded. Each must fail its load with a clear error while the
server keeps serving. Written with raw pickle opcodes and plain text, so it needs neither
numpy nor scikit-learn:  python3 scripts/gen-hostile-models.py
"""
import json
import os
import shutil
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'hostile-models')


def glob(module, name):
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def s(text):
    b = text.encode()
    return b'\x8c' + bytes([len(b)]) + b


def i(n):
    if 0 <= n < 2 ** 31:
        return b'J' + struct.pack('<i', n)
    raw = n.to_bytes((n.bit_length() + 8) // 8, 'little', signed=True)
    return b'\x8a' + bytes([len(raw)]) + raw


def data(b):
    return b'B' + struct.pack('<I', len(b)) + b  # BINBYTES


def tup(*items):
    return b'(' + b''.join(items) + b't'


def dtype(typestr):
    # numpy.dtype(typestr, False, True) then BUILD (3, '<', None, None, None, -1, -1, 0)
    return (glob('numpy', 'dtype') + s(typestr) + b'\x89\x88\x87R'
            + tup(i(3), s('<'), b'N', b'N', b'N', b'J\xff\xff\xff\xff', b'J\xff\xff\xff\xff', i(0)) + b'b')


def ndarray(typestr, shape, raw):
    return (glob('numpy.core.multiarray', '_reconstruct') + glob('numpy', 'ndarray') + tup(i(0)) + b'C\x01b\x87R'
            + tup(i(1), tup(*[i(d) for d in shape]), dtype(typestr), b'\x89', data(raw)) + b'b')


def estimator(module, cls, attrs):
    """cls.__new__(cls) then BUILD with an attribute dict."""
    body = b''.join(s(k) + v for k, v in attrs)
    return glob(module, cls) + b')\x81' + b'}(' + body + b'ub'


def pickle(body):
    return b'\x80\x04' + body + b'.'


LR = ('sklearn.linear_model._logistic', 'LogisticRegression')
f8 = lambda *vals: struct.pack('<%dd' % len(vals), *vals)


def chain_tree(internal):
    """A sklearn Tree that is one long chain: every row walks `internal` nodes (a zero goes left)."""
    n = 2 * internal + 1
    rows = []
    for k in range(n):
        if k < internal:
            left = k + 1 if k < internal - 1 else n - 1
            rows.append(struct.pack('<qqqddqd', left, internal + k, 0, 1.0, 0.0, 2, 2.0))
        else:
            rows.append(struct.pack('<qqqddqd', -1, -1, -2, -2.0, 0.0, 1, 1.0))
    names = ['left_child', 'right_child', 'feature', 'threshold', 'impurity', 'n_node_samples', 'weighted_n_node_samples']
    kinds = ['<i8', '<i8', '<i8', '<f8', '<f8', '<i8', '<f8']
    fields = b'}(' + b''.join(s(nm) + tup(dtype(kd), i(8 * j)) for j, (nm, kd) in enumerate(zip(names, kinds))) + b'u'
    node_dtype = (glob('numpy', 'dtype') + s('V56') + b'\x89\x88\x87R'
                  + tup(i(3), s('|'), b'N', tup(*[s(nm) for nm in names]), fields, i(56), i(8), i(16)) + b'b')
    nodes = (glob('numpy.core.multiarray', '_reconstruct') + glob('numpy', 'ndarray') + tup(i(0)) + b'C\x01b\x87R'
             + tup(i(1), tup(i(n)), node_dtype, b'\x89', data(b''.join(rows))) + b'b')
    values = ndarray('<f8', [n, 1, 2], b''.join(f8(1.0, 0.0) if k >= internal else f8(1.0, 1.0) for k in range(n)))
    tree = (glob('sklearn.tree._tree', 'Tree') + tup(i(1), ndarray('<i8', [1], struct.pack('<q', 2)), i(1)) + b'R'
            + b'}(' + s('max_depth') + i(internal) + s('node_count') + i(n) + s('nodes') + nodes + s('values') + values + b'ub')
    return estimator('sklearn.tree._classes', 'DecisionTreeClassifier', [('tree_', tree)])


def chain_forest(internal, copies):
    """A RandomForestClassifier whose estimators_ references one chain tree `copies` times (pickle memo)."""
    refs = chain_tree(internal) + b'r\x00\x00\x00\x00' + b'j\x00\x00\x00\x00' * (copies - 1)
    return pickle(estimator('sklearn.ensemble._forest', 'RandomForestClassifier', [
        ('estimators_', b'(' + refs + b'l'), ('classes_', ndarray('<i8', [2], struct.pack('<2q', 0, 1))),
        ('n_classes_', i(2)), ('n_outputs_', i(1))]))


def put(name, file, content):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, file), 'wb') as f:
        f.write(content if isinstance(content, bytes) else content.encode())


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    # Not hostile: valid but slow (60 copies of a 10,000-deep chain, a few ms per row), for the
    # test that a heavy request never blocks the health probes.
    put('slow-valid-forest', 'model.joblib', zlib.compress(chain_forest(10000, 60), 9))
    # The reported crash: zero-size dtype U0 with 2^28 elements holds no bytes, yet expanding
    # it builds 2^28 strings (V8 "invalid size" abort of the whole process).
    put('sklearn-u0-huge-shape', 'model.pkl', pickle(estimator(*LR, [
        ('coef_', ndarray('<f8', [1, 2], f8(1, 2))), ('intercept_', ndarray('<f8', [1], f8(0))),
        ('classes_', ndarray('<U0', [2 ** 28], b''))])))
    # A normal dtype with a huge shape and 8 bytes of data.
    put('sklearn-f8-huge-shape-tiny-data', 'model.pkl', pickle(estimator(*LR, [
        ('coef_', ndarray('<f8', [1, 2 ** 27], f8(1))), ('intercept_', ndarray('<f8', [1], f8(0))),
        ('classes_', ndarray('<i8', [2], struct.pack('<2q', 0, 1)))])))
    # A shape whose product passes 2^53 (doubles lose exactness) and 2^64 (wraps in C).
    put('sklearn-shape-overflow', 'model.pkl', pickle(estimator(*LR, [
        ('coef_', ndarray('<f8', [2 ** 33, 2 ** 33, 2 ** 33], b'')), ('intercept_', ndarray('<f8', [1], f8(0))),
        ('classes_', ndarray('<i8', [2], struct.pack('<2q', 0, 1)))])))
    # Memo bomb: one 1 M-element coefficient array (zlib makes it a few KB) referenced 2,000
    # times by a list: each reference expanded is charged, so the budget runs out.
    big = ndarray('<f8', [1, 1 << 20], bytes(8 << 20))
    put('sklearn-memo-repeated-arrays', 'model.joblib', zlib.compress(pickle(glob('sklearn.pipeline', 'Pipeline') + b')\x81}(' + s('steps') + b'(' + b''.join(
        tup(s('s%d' % k), estimator(*LR, [('coef_', b'j\x00\x00\x00\x00'), ('intercept_', ndarray('<f8', [1], f8(0))),
                                          ('classes_', ndarray('<i8', [2], struct.pack('<2q', 0, 1)))]))
        for k in range(2000)) .replace(b'j\x00\x00\x00\x00', big + b'r\x00\x00\x00\x00', 1) + b'l' + b'ub'), 9))
    # The reported tree bomb: one 20,001-node tree referenced by 5,000 estimators; each copy is
    # charged when the forest is flattened, so the load fails before the arrays are allocated.
    put('sklearn-tree-bomb', 'model.joblib', zlib.compress(chain_forest(10000, 5000), 9))
    # Nested lists whose declared lengths are huge: the reader must not trust a length it has not read.
    put('sklearn-nested-huge-lists', 'model.pkl', b'\x80\x04]' + b'(' + b'\x8d' + (2 ** 40).to_bytes(8, 'little') + b'e.')
    # XGBoost JSON that claims absurd tree and node counts without the arrays to match.
    tree = {'base_weights': [0.0], 'categories': [], 'categories_nodes': [], 'categories_segments': [], 'categories_sizes': [],
            'default_left': [0], 'id': 0, 'left_children': [-1], 'loss_changes': [0.0], 'parents': [2147483647],
            'right_children': [-1], 'split_conditions': [0.5], 'split_indices': [0], 'split_type': [0], 'sum_hessian': [1.0],
            'tree_param': {'num_deleted': '0', 'num_feature': '2', 'num_nodes': '4000000000', 'size_leaf_vector': '1'}}
    doc = {'learner': {'attributes': {}, 'feature_names': [], 'feature_types': [],
                       'gradient_booster': {'model': {'gbtree_model_param': {'num_parallel_tree': '1', 'num_trees': '1000000000'},
                                                      'iteration_indptr': [0, 1], 'tree_info': [0], 'trees': [tree]}, 'name': 'gbtree'},
                       'learner_model_param': {'base_score': '5E-1', 'boost_from_average': '1', 'num_class': '0', 'num_feature': '2', 'num_target': '1'},
                       'objective': {'name': 'reg:squarederror', 'reg_loss_param': {'scale_pos_weight': '1'}}},
           'version': [2, 0, 3]}
    put('xgboost-absurd-counts', 'model.json', json.dumps(doc))
    # LightGBM text that declares a tree with 2^24 leaves and a handful of values.
    put('lightgbm-absurd-leaves', 'model.txt', 'tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=1\n'
        'objective=regression\nfeature_names=a b\nfeature_infos=[0:1] [0:1]\ntree_sizes=100\n\n'
        'Tree=0\nnum_leaves=16777216\nnum_cat=0\nsplit_feature=0\nsplit_gain=0\nthreshold=0.5\ndecision_type=2\n'
        'left_child=-1\nright_child=-2\nleaf_value=0 1\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\n'
        'internal_weight=1\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n')


if __name__ == '__main__':
    main()

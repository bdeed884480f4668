/**
 * The only `module.name` references a pickle may name. Nothing on this list is
 * ever called: special entries are interpreted by the reader (numpy array and
 * dtype reconstruction, bytes, sets), every other one just labels a data object.
 */

/** Names the reader interprets itself. */
export const SPECIAL: ReadonlyMap<string, string> = new Map([
  ['numpy.core.multiarray._reconstruct', 'ndarray'],
  ['numpy._core.multiarray._reconstruct', 'ndarray'],
  ['numpy.core.numeric._frombuffer', 'frombuffer'],
  ['numpy._core.numeric._frombuffer', 'frombuffer'],
  ['numpy.core.multiarray.scalar', 'scalar'],
  ['numpy._core.multiarray.scalar', 'scalar'],
  ['numpy.dtype', 'dtype'],
  ['_codecs.encode', 'encode'],
  ['copyreg._reconstructor', 'reconstructor'],
  ['builtins.bytes', 'bytes'],
  ['builtins.bytearray', 'bytearray'],
  ['builtins.set', 'set'],
  ['builtins.frozenset', 'frozenset'],
  ['builtins.slice', 'slice'],
  ['builtins.object', 'type'],
  ['numpy.ndarray', 'type'],
  ['numpy.memmap', 'type'],
]);

/** The estimator classes the runtime computes with (module paths of sklearn 1.0 – 1.6). */
export const ESTIMATOR_CLASSES: readonly string[] = [
  'sklearn.linear_model._base.LinearRegression',
  'sklearn.linear_model._ridge.Ridge',
  'sklearn.linear_model._ridge.RidgeClassifier',
  'sklearn.linear_model._coordinate_descent.Lasso',
  'sklearn.linear_model._coordinate_descent.ElasticNet',
  'sklearn.linear_model._logistic.LogisticRegression',
  'sklearn.linear_model._stochastic_gradient.SGDClassifier',
  'sklearn.linear_model._stochastic_gradient.SGDRegressor',
  'sklearn.svm._classes.LinearSVC',
  'sklearn.svm._classes.LinearSVR',
  'sklearn.svm._classes.SVC',
  'sklearn.svm._classes.SVR',
  'sklearn.tree._classes.DecisionTreeClassifier',
  'sklearn.tree._classes.DecisionTreeRegressor',
  'sklearn.tree._classes.ExtraTreeClassifier',
  'sklearn.tree._classes.ExtraTreeRegressor',
  'sklearn.ensemble._forest.RandomForestClassifier',
  'sklearn.ensemble._forest.RandomForestRegressor',
  'sklearn.ensemble._forest.ExtraTreesClassifier',
  'sklearn.ensemble._forest.ExtraTreesRegressor',
  'sklearn.ensemble._gb.GradientBoostingClassifier',
  'sklearn.ensemble._gb.GradientBoostingRegressor',
  'sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier',
  'sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor',
  'sklearn.neighbors._classification.KNeighborsClassifier',
  'sklearn.neighbors._regression.KNeighborsRegressor',
  'sklearn.naive_bayes.GaussianNB',
  'sklearn.preprocessing._data.StandardScaler',
  'sklearn.preprocessing._data.MinMaxScaler',
  'sklearn.preprocessing._data.RobustScaler',
  'sklearn.impute._base.SimpleImputer',
  'sklearn.preprocessing._encoders.OneHotEncoder',
  'sklearn.pipeline.Pipeline',
  'sklearn.compose._column_transformer.ColumnTransformer',
];

/** Helper objects those estimators hold; kept as inert data. */
const AUXILIARY: readonly string[] = [
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.tree._tree.Tree',
  'sklearn.dummy.DummyClassifier',
  'sklearn.dummy.DummyRegressor',
  'sklearn.ensemble._gb_losses.LeastSquaresError',
  'sklearn.ensemble._gb_losses.LeastAbsoluteError',
  'sklearn.ensemble._gb_losses.HuberLossFunction',
  'sklearn.ensemble._gb_losses.QuantileLossFunction',
  'sklearn.ensemble._gb_losses.BinomialDeviance',
  'sklearn.ensemble._gb_losses.MultinomialDeviance',
  'sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor',
  'sklearn.ensemble._hist_gradient_boosting.binning._BinMapper',
  'sklearn.linear_model._sgd_fast.Hinge',
  'sklearn.linear_model._sgd_fast.Log',
  'sklearn.linear_model._sgd_fast.ModifiedHuber',
  'sklearn.linear_model._sgd_fast.SquaredHinge',
  'sklearn.linear_model._sgd_fast.SquaredLoss',
  'sklearn.linear_model._sgd_fast.Huber',
  'sklearn.linear_model._sgd_fast.EpsilonInsensitive',
  'sklearn.linear_model._sgd_fast.SquaredEpsilonInsensitive',
  'sklearn.neighbors._kd_tree.KDTree',
  'sklearn.neighbors._kd_tree.newObj',
  'sklearn.neighbors._ball_tree.BallTree',
  'sklearn.neighbors._ball_tree.newObj',
  'sklearn.metrics._dist_metrics.newObj',
  'sklearn.metrics._dist_metrics.EuclideanDistance',
  'sklearn.metrics._dist_metrics.ManhattanDistance',
  'sklearn.metrics._dist_metrics.MinkowskiDistance',
  'sklearn.metrics._dist_metrics.ChebyshevDistance',
  'sklearn.metrics._dist_metrics.EuclideanDistance64',
  'sklearn.metrics._dist_metrics.ManhattanDistance64',
  'sklearn.metrics._dist_metrics.MinkowskiDistance64',
  'sklearn.metrics._dist_metrics.ChebyshevDistance64',
  'numpy.random._pickle.__randomstate_ctor',
  'numpy.random._pickle.__bit_generator_ctor',
  'numpy.random._pickle.__generator_ctor',
  'numpy.random.mtrand.RandomState',
  'numpy.random._mt19937.MT19937',
  'numpy.float64', 'numpy.float32', 'numpy.int64', 'numpy.int32', 'numpy.uint8', 'numpy.bool_', 'numpy.object_',
  'builtins.float', 'builtins.int', 'builtins.str', 'builtins.bool',
];

const LOSS_MODULES = ['sklearn._loss.loss.', 'sklearn._loss.link.', 'sklearn._loss._loss.'];
const LOSS_NAME = /^(Half\w+|Absolute\w*|Pinball\w*|Huber\w*|Identity\w*|Log\w*|Multinomial\w*|Interval|Cy\w+|__pyx_unpickle_Cy\w+|ExponentialLoss)$/;

const DATA = new Set([...ESTIMATOR_CLASSES, ...AUXILIARY]);

/** True when `module.name` may appear in a pickle the runtime loads. */
export function isAllowed(module: string, name: string): boolean {
  const full = `${module}.${name}`;
  if (SPECIAL.has(full) || DATA.has(full)) return true;
  return LOSS_MODULES.some((m) => full.startsWith(m)) && LOSS_NAME.test(name);
}

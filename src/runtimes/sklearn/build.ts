/** Turns a loaded pickle (plain data) into a computable estimator, by class name. */
import { columnTransformer, pipeline } from './compose.js';
import type { Estimator } from './estimator.js';
import { gradientBoosting, histGradientBoosting } from './boosting.js';
import { treeClassifier, treeRegressor } from './forest.js';
import { linearClassifier, linearRegressor } from './linear.js';
import { gaussianNB } from './naive-bayes.js';
import { kNeighborsClassifier, kNeighborsRegressor } from './neighbors.js';
import { oneHotEncoder } from './onehot.js';
import { minMaxScaler, robustScaler, simpleImputer, standardScaler } from './preprocessing.js';
import { bad, PyObject, typeName, type PyVal } from './py-values.js';
import { svc, svr } from './svm.js';

const MAX_DEPTH = 32;

type Builder = (o: PyObject, depth: number) => Estimator;

const BUILDERS: Record<string, Builder> = {
  LinearRegression: linearRegressor, Ridge: linearRegressor, Lasso: linearRegressor, ElasticNet: linearRegressor,
  SGDRegressor: linearRegressor, LinearSVR: linearRegressor,
  LogisticRegression: linearClassifier, SGDClassifier: linearClassifier, LinearSVC: linearClassifier, RidgeClassifier: linearClassifier,
  SVC: svc, SVR: svr,
  DecisionTreeClassifier: treeClassifier, ExtraTreeClassifier: treeClassifier, RandomForestClassifier: treeClassifier, ExtraTreesClassifier: treeClassifier,
  DecisionTreeRegressor: treeRegressor, ExtraTreeRegressor: treeRegressor, RandomForestRegressor: treeRegressor, ExtraTreesRegressor: treeRegressor,
  GradientBoostingClassifier: (o) => gradientBoosting(o, true),
  GradientBoostingRegressor: (o) => gradientBoosting(o, false),
  HistGradientBoostingClassifier: (o) => histGradientBoosting(o, true),
  HistGradientBoostingRegressor: (o) => histGradientBoosting(o, false),
  KNeighborsClassifier: kNeighborsClassifier, KNeighborsRegressor: kNeighborsRegressor,
  GaussianNB: gaussianNB,
  StandardScaler: standardScaler, MinMaxScaler: minMaxScaler, RobustScaler: robustScaler,
  SimpleImputer: simpleImputer, OneHotEncoder: oneHotEncoder,
  Pipeline: (o, d) => pipeline(o, buildAt, d),
  ColumnTransformer: (o, d) => columnTransformer(o, buildAt, d),
};

function buildAt(v: PyVal, where: string, depth: number): Estimator {
  if (depth > MAX_DEPTH) throw bad(`${where}: estimators nest deeper than ${MAX_DEPTH} levels`);
  if (!(v instanceof PyObject)) throw bad(`${where} is ${typeName(v)}, not a scikit-learn estimator`);
  const b = Object.hasOwn(BUILDERS, v.shortName) && v.cls.startsWith('sklearn.') ? BUILDERS[v.shortName] : undefined;
  if (!b) throw bad(`${where}: ${v.cls} is not an estimator the sklearn runtime can serve`);
  return b(v, depth);
}

/** Compiles the top-level object of a model file. */
export function buildEstimator(v: PyVal): Estimator {
  return buildAt(v, 'model', 0);
}

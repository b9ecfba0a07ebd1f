"""Fitting the kernel forests with scikit-learn (a well-kept regressor), exported as costmodel.forest arrays."""
from __future__ import annotations

import numpy as np

from ..costmodel.forest import Forest, Tree
from ..errors import ControllerError

TREES = 64
MIN_LEAF = 2


def fit_forest(x: np.ndarray, y: np.ndarray, seed: int = 0, trees: int = TREES) -> Forest:
    """A scikit-learn RandomForestRegressor on (x, y), exported."""
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError as exc:  # a host without scikit-learn can apply a stored fit, not make one
        raise ControllerError("fitting the kernel cost model needs scikit-learn: pip install 'edgebench[host]'") from exc
    x = np.asarray(x, dtype=np.float64)
    model = RandomForestRegressor(n_estimators=trees, min_samples_leaf=MIN_LEAF, max_features=0.6,
                                  random_state=seed, n_jobs=-1)  # after the board is done: all host cores
    model.fit(x, np.asarray(y, dtype=np.float64))
    out = []
    for est in model.estimators_:
        t = est.tree_
        out.append(Tree(t.feature.astype(np.int64).copy(), t.threshold.astype(np.float64).copy(),
                        t.children_left.astype(np.int64).copy(), t.children_right.astype(np.int64).copy(),
                        t.value[:, 0, 0].astype(np.float64).copy()))
    return Forest(out, x.shape[1])


def cross_validated(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions of y (each sample predicted by a forest that never saw it)."""
    n = len(y)
    pred = np.zeros(n)
    order = np.random.default_rng(seed).permutation(n)
    folds = max(2, min(folds, n))
    for f in range(folds):
        test = order[f::folds]
        train = np.setdiff1d(order, test)
        if len(train) == 0:
            continue
        forest = fit_forest(x[train], y[train], seed=seed + f, trees=max(16, TREES // 2))
        pred[test] = forest.predict(x[test])[0]
    return pred

"""A random forest fitted with scikit-learn, kept as plain arrays so a stored profile needs no pickle.

scikit-learn fits the trees (a well-kept regressor, as the issue asks); the fitted trees are then exported
to JSON-able lists (per node: feature, threshold, left, right, value) and evaluated here with numpy. A profile
written on one machine therefore loads on any other, whatever scikit-learn version it has or lacks
(`controller predict` on a laptop without scikit-learn still applies a stored fit).

The spread of the trees' predictions is the fit's own uncertainty for one input: it is what `calibrate`
uses to decide where to measure more, and what `predict` reports beside the figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

TREES = 64
MIN_LEAF = 2


@dataclass
class Tree:
    feature: np.ndarray  # int, -1 at leaves
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        node = np.zeros(len(x), dtype=np.int64)
        for _ in range(64):  # depth bound: sklearn trees on a few thousand samples stay far below it
            feat = self.feature[node]
            inner = feat >= 0
            if not inner.any():
                break
            rows = np.nonzero(inner)[0]
            go_left = x[rows, feat[rows]] <= self.threshold[node[rows]]
            node[rows] = np.where(go_left, self.left[node[rows]], self.right[node[rows]])
        return self.value[node]

    def to_dict(self) -> dict[str, list]:
        return {"feature": self.feature.tolist(), "threshold": [round(float(t), 6) for t in self.threshold],
                "left": self.left.tolist(), "right": self.right.tolist(),
                "value": [round(float(v), 6) for v in self.value]}

    @staticmethod
    def from_dict(d: dict[str, list]) -> Tree:
        return Tree(np.asarray(d["feature"], dtype=np.int64), np.asarray(d["threshold"], dtype=np.float64),
                    np.asarray(d["left"], dtype=np.int64), np.asarray(d["right"], dtype=np.int64),
                    np.asarray(d["value"], dtype=np.float64))


@dataclass
class Forest:
    trees: list[Tree]
    n_features: int

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation over the trees, per row of x."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.n_features)
        per_tree = np.stack([t.predict(x) for t in self.trees])
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def to_dict(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "trees": [t.to_dict() for t in self.trees]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Forest:
        return Forest([Tree.from_dict(t) for t in d["trees"]], int(d["n_features"]))


def fit_forest(x: np.ndarray, y: np.ndarray, seed: int = 0, trees: int = TREES) -> Forest:
    """A scikit-learn RandomForestRegressor on (x, y), exported."""
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError as exc:  # a host without scikit-learn can apply a stored fit, not make one
        raise RuntimeError("fitting the kernel cost model needs scikit-learn: pip install 'edgebench[host]'") from exc
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

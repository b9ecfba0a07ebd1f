"""A random forest kept as plain arrays, evaluated with numpy: how a stored kernel fit is applied.

scikit-learn fits the trees at calibration (calibration/forest_fit.py); the fitted trees are exported to
JSON-able lists (per node: feature, threshold, left, right, value). A profile written on one machine therefore
loads on any other, whatever scikit-learn version it has or lacks (`controller predict` on a laptop without
scikit-learn still applies a stored fit).

The spread of the trees' predictions is the fit's own uncertainty for one input: what `calibrate` uses to
decide where to measure more, and what `predict` reports beside the figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


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

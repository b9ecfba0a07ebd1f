"""Calibration: measure a board through its agent, fit the cost model to it, and store its profile.

Modules: `store` (where calibrated profiles live), `choose` (which profile a bench run is predicted with),
`predicted` (the `predicted` object of bench runs), `microbench` (generated ONNX microbenchmarks),
`opjoin` (onnxruntime profile → graph nodes through its fusions), `fit` (per-op-type efficiencies),
`run` (`controller calibrate`).
"""

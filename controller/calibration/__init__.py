"""Calibration: measure a board through its agent, fit the cost model to it, and store its profile.

Modules: `microbench` (generated ONNX microbenchmarks), `opjoin` (onnxruntime profile → graph nodes through
its fusions), `fit` (per-op-type efficiencies), `run` (`controller calibrate`), `suite` (the kernel suite's
vocabulary). Where calibrated profiles are stored and how bench picks one is prediction/'s.
"""

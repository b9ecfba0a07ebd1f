"""The kernel benchmark suite: single-kernel models generated on the host and run on the board as agent jobs.

`spec` says what a kernel is (the vocabulary both runtimes' generators and the fitted models share);
the generators turn a `KernelSpec` into an ONNX or TFLite model of that one kernel.
"""

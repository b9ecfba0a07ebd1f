"""The evaluation corpus: models made by real exporters (torch.onnx, the TFLite converter, tf2onnx, onnxruntime's
quantizer, ...), never by edgebench's own zoo builder, and never used to fit or tune the cost model.

`scripts/make_eval_corpus.py` builds it; `eval_corpus.manifest` reads and validates what it wrote. Every module
here but the exporters (`export_torch`, `export_tf`, run inside their own virtualenvs) uses the standard library
only, so the manifest can be read from any environment.
"""

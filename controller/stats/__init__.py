"""Statistics under both `compare` and `regress`: the rank test on raw latency samples and the verdict it
supports. Imports nothing of the controller."""

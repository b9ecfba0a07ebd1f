"""Prediction as the measuring commands need it: which device profile a board is predicted with (`choose`),
the calibrated profiles stored per board (`calibrated`), the `predicted` object of a run (`predicted`), and
`controller predict`'s offline core (`offline`). Imports the cost model, never the calibration runner."""

"""One module per sensor source, each with `discover(config) -> Discovery` (see `..base`).

A source imports the plug-in interface (`..base`, `..throttle`), the plumbing (`..io`) and, for a rule
two readers of the same chip share, a sibling source; never `..registry`, which lists them all.
"""

"""The plumbing every source shares: sysfs files, board commands, the sampler and the window summary.

Nothing here knows a particular board: these modules import only the plug-in interface (`..base`,
`..throttle`) and each other, never `..sources` or `..registry`.
"""

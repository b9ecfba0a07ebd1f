"""`python -m edgebench.controller.cli`: the `controller` console script (schedules and tests run it so)."""
import sys

from . import main

sys.exit(main())

"""Nightly regressions: fleet and suite files (`config`), what a run is compared against (`baseline`), the run
across boards (`run`). The statistics are stats/'s; the summary, JSON and JUnit are output/'s."""

"""Nightly regressions: fleet and suite files, the statistical verdict, the run across boards, JUnit."""

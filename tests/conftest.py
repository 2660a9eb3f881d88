"""Setup of the harness' own tests (not shipped)."""

import os

# The commands these tests run must not append to a CI job summary: that summary is the job's own commands'.
os.environ.pop("GITHUB_STEP_SUMMARY", None)

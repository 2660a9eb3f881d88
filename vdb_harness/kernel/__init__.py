"""The kernel every step imports: the harness' errors and exit codes (``errors``), result files (``results``), the
console (``console``), progress bars (``progress``) and the CI job summary (``step_summary``)."""

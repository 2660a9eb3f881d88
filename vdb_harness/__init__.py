"""The tool itself: the ``vdb-harness`` command line, the jobs that chain the steps of the flow, and the kernel
every step shares.

``vdb_harness.kernel`` (errors and exit codes, result files, console, progress, CI job summary) imports nothing
else of the project (one exception: ``step_summary.append_results`` renders result files with ``reports.markdown``
when a job summary is asked for, so ``run`` and ``load`` can append theirs); the steps (``scenarios`` -> ``conformance`` / ``loadtests`` -> ``reports``) import it;
``vdb_harness.cli`` and ``vdb_harness.jobs`` (demo, certify, capacity) sit on top and may import every step.
"""

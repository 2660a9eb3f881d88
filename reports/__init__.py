"""Step 3 of the flow: result files in, reports, gates, capacity verdicts and certification bundles out.

It also hosts the ``vdb-harness`` command line, the one place that may import every step before it.
"""

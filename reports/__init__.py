"""Step 3 of the flow: result files in, reports (HTML, Markdown, JUnit), gate verdicts and certification bundles
out. The jobs that produce results across several steps (demo, certify, capacity) live in ``vdb_harness.jobs``.
"""

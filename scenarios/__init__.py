"""Step 1 of the flow: scenario files, targets (where traffic goes), datasets and exact ground truth.

Nothing here imports from ``conformance``, ``loadtests`` or ``reports`` (only the shared ``vdb_harness.kernel``):
imports point down the flow only.
"""

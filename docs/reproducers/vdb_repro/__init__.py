"""The reproducer kit of vdb-harness: its own set-up, call, probe and comparison code (standard library and
pymilvus only). The reproduce_*.py scripts beside this package run on it."""

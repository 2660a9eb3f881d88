"""What the ground-truth benchmarks' command lines share."""

from __future__ import annotations

import argparse


def size_parser(doc: str | None, *, rows: int, dim: int, queries: int, k: int) -> argparse.ArgumentParser:
    """A parser with ``doc`` as its help and the dataset-size flags (--rows, --dim, --queries, --k) at these defaults."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=rows)
    ap.add_argument("--dim", type=int, default=dim)
    ap.add_argument("--queries", type=int, default=queries)
    ap.add_argument("--k", type=int, default=k)
    return ap

"""Ground truth and recall, one concept in three modules:

- ``exact``: the exact answers. Brute-force top-k per query (dense or sparse, optionally filtered), hybrid fusion
  as Milvus ranks it, and a disk cache keyed by the dataset fingerprint so a dataset's truth is computed once.
- ``recall``: scoring an answer against them, tie-fair as ann-benchmarks does (a returned row is a hit when its
  true score is as good as the k-th true score).
- ``scorers``: one scorer per search task of a scenario, built from ``exact`` and ``recall``; what the load users
  and the flow call.
"""

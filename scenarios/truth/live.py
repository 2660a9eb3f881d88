"""Recall while the collection is written: every search scored against the exact truth over the rows that must be
visible to it.

What must be visible to a search sent at ``s`` and answered at ``e`` (the *cut* ``C`` is ``s`` for Strong and
Session, ``s - BOUNDED_STALENESS_S`` for Bounded, the start of the run for Eventually):

* the dataset's rows (the base: load writers only ever write and delete their own rows, past the dataset's ids);
* plus each row whose last insert/upsert was acknowledged at or before ``C``, minus each row whose last delete was
  acknowledged at or before ``C`` (Session: only the searching writer's own rows; every other writer's are
  neutral).

A row with a write in flight while the search was (sent before ``e``, not acknowledged by ``C``) is *neutral*:
returned, it is neither a hit nor a miss (the answer is scored over the other ``k - n`` places); not returned, it is
not missed (it is left out of the truth). A write that failed may or may not have been applied: its row stays
neutral. Rows written by another process (another Locust worker) are neutral too: each process knows only its own
writes.

Ties stay fair as in :mod:`scenarios.truth.recall`: a returned row is a hit when its true score is within tolerance of
the k-th best true score of the visible rows. Written rows carry the vectors of dataset rows (the load writers copy
dataset rows as templates; a runbook inserts ranges of the dataset's pool), so a written row's true score is the
score of its source row and nothing but the source-row index is kept per written row.

The truth for written rows is maintained incrementally: when a write is sent, its rows are scored against every
query in chunks of bounded size, and per query only the rows that could enter the top-k (at least as good as the
base's k-th score) are kept as candidates. Base rows are never deleted, so no other row can ever be in a top-k.
History older than ``horizon_s`` (longer than any search can take) is compacted away, so memory follows the rows
alive and the writes of the last seconds, not the length of the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from scenarios.calls import LANE_WIDTH

#: Milvus' default graceful time (``common.gracefulTime``, 5000 ms): Bounded reads see writes older than this.
BOUNDED_STALENESS_S = 5.0
#: Bytes of the temporaries when scoring written rows against every query.
WORKING_BYTES = 16 << 20
#: Write kinds.
INSERT, UPSERT, DELETE = "insert", "upsert", "delete"


def cut_offset(consistency: str) -> float:
    """Seconds before a search's send time up to which acknowledged writes must be visible (inf: none must)."""
    return {"Strong": 0.0, "Session": 0.0, "Bounded": BOUNDED_STALENESS_S}.get(consistency, math.inf)


def describe(consistency: str, processes: int = 1) -> str:
    """The note a live-scored task carries in the result: what its recall is measured against."""
    if consistency == "Strong":
        what = "every write acknowledged before the search was sent"
    elif consistency == "Session":
        what = "the searching user's own writes acknowledged before the search was sent (others' rows neutral)"
    elif consistency == "Bounded":
        what = (f"the last guaranteed-visible state: writes acknowledged at least {BOUNDED_STALENESS_S:g} s "
                "(Milvus' default graceful time) before the search was sent; later writes are neutral")
    else:
        what = ("the last guaranteed-visible state, which under Eventually is the dataset's rows only: every "
                "written row is neutral")
    note = (f"recall scored live while the collection is written ({consistency}): against the dataset's rows plus "
            f"{what}; rows with writes in flight are neutral (neither hit nor miss)")
    if processes > 1:
        note += "; each Locust worker knows only its own writes, other workers' rows are neutral"
    return note


#: One write of one row, a plain tuple (tuples of atomic values are left alone by the garbage collector, which a
#: dataclass per written row is not: with 10^5 rows alive that doubled the cost of scoring):
#: (kind, source row or -1, writer lane, sent, acknowledged (None: in flight; inf: failed, the row stays neutral), seq)
_KIND, _ROW, _LANE, _SENT, _ACKED, _SEQ = range(6)


@dataclass
class WriteLog:
    """Per written id, its recent writes (a tuple of event tuples, oldest first). Compacted so memory follows the
    rows alive and the recent writes."""

    horizon_s: float = 60.0
    events: dict[Any, tuple] = field(default_factory=dict)
    _compact_at: float = 0.0
    _seq: int = 0

    def sent(self, kind: str, ids: Sequence[Any], rows: Optional[Sequence[int]], lane: int, at: float
             ) -> tuple[int, list[Any]]:
        """Register a write being sent; returns its token (to acknowledge it later)."""
        self._seq += 1
        seq = self._seq
        events = self.events
        get = events.get
        for i, pk in enumerate(ids):
            events[pk] = get(pk, ()) + ((kind, -1 if rows is None else int(rows[i]), lane, at, None, seq),)
        return seq, list(ids)

    def acked(self, token: tuple[int, list[Any]], at: float, ok: bool) -> None:
        """A write's answer arrived at ``at``: acknowledged (``ok``) or failed (state unknown: neutral for good)."""
        seq, ids = token
        when = at if ok else math.inf
        events = self.events
        for pk in ids:
            evs = events.get(pk)
            if evs is None:
                continue
            events[pk] = tuple(ev if ev[_SEQ] != seq else ev[:_ACKED] + (when, seq) for ev in evs)

    def state(self, pk: Any, cut: float, end: float, lane: Optional[int]) -> tuple[bool, int]:
        """``(neutral, row)`` of ``pk`` for a search with cut ``cut`` answered at ``end``: neutral, or the source row
        visible at the cut (-1: not visible). ``lane`` (Session) limits what must be visible to one writer's rows."""
        evs = self.events.get(pk)
        if evs is None:
            return False, -1
        row = -1
        for kind, src, ev_lane, sent, acked, _seq in evs:
            if lane is not None and ev_lane != lane:
                return True, -1
            if sent >= end:
                continue
            if acked is None or acked > cut:
                return True, -1
            row = src if kind != DELETE else -1
        return False, row

    def compact(self, now: float) -> list[Any]:
        """Forget history older than the horizon; returns the ids whose row is gone for good (deleted)."""
        if now < self._compact_at:
            return []
        self._compact_at = now + min(self.horizon_s / 4.0, 5.0)
        old = now - self.horizon_s
        gone = []
        for pk, evs in list(self.events.items()):
            keep = len(evs)
            while keep and not (evs[keep - 1][_ACKED] is not None and evs[keep - 1][_ACKED] < old):
                keep -= 1
            if keep == 0:
                continue
            if keep == len(evs) and evs[-1][_KIND] == DELETE and evs[-1][_ACKED] != math.inf:
                del self.events[pk]
                gone.append(pk)
            elif keep > 1:
                self.events[pk] = evs[keep - 1:]
        return gone


class LiveTaskTruth:
    """One search task's live truth: the base top-k scores per query and, per query, the written rows that could
    enter its top-k (candidates, kept incrementally)."""

    def __init__(self, scorer: Any, base_scores: np.ndarray, base_valid: np.ndarray, k: int,
                 mask: Optional[np.ndarray] = None) -> None:
        """``scorer``: the task's static :class:`scenarios.truth.recall.RecallScorer`; ``base_scores`` (nq, k): the exact
        base top-k scores; ``base_valid``: real neighbours per query; ``mask``: rows a filter admits."""
        self.scorer = scorer
        self.k = k
        self.higher = scorer.metric.higher_is_better
        self.eps = scorer.eps
        self.mask = mask
        nq = base_scores.shape[0]
        self.base: list[list[float]] = [base_scores[q, : int(base_valid[q])].astype(np.float64).tolist()
                                        for q in range(nq)]
        # a written row matters to query q only when at least as good as the base's k-th score (+ tolerance)
        from scenarios.truth.recall import _limit

        worst = -math.inf if self.higher else math.inf
        self.threshold = np.array([_limit(b[-1], self.eps, self.higher) if len(b) >= k else worst for b in self.base])
        self.candidates: list[dict[tuple[Any, int], float]] = [{} for _ in range(nq)]
        #: Per query, the candidates best first (rebuilt lazily after a change): a search checks only as many as
        #: it takes to find k visible ones.
        self._ordered: list[Optional[list[tuple[float, Any, int]]]] = [None] * nq

    def add_rows(self, ids: Sequence[Any], rows: Sequence[int]) -> None:
        """Score written rows (their source rows) against every query, in chunks whose score matrix stays within
        :data:`WORKING_BYTES`; keep the ones that could matter."""
        chunk = max(1, WORKING_BYTES // (8 * max(1, len(self.base)) * 3))
        for a in range(0, len(rows), chunk):
            self._add_chunk(ids[a:a + chunk], rows[a:a + chunk])

    def _add_chunk(self, ids: Sequence[Any], rows: Sequence[int]) -> None:
        rows_arr = np.asarray(rows, dtype=np.int64)
        keep = np.ones(len(rows_arr), dtype=bool) if self.mask is None else self.mask[rows_arr]
        ids = [pk for pk, k in zip(ids, keep) if k]
        rows_arr = rows_arr[keep]
        if not len(rows_arr):
            return
        scores = self._screen(rows_arr)  # (nq, n), fast and approximate: screened with a margin
        margin = 1e-4 * np.maximum(1.0, np.abs(self.threshold))
        ok = scores >= (self.threshold - margin)[:, None] if self.higher else \
            scores <= (self.threshold + margin)[:, None]
        qs, js = np.nonzero(ok)
        for q in np.unique(qs).tolist():  # the survivors' exact scores, as returned rows are scored
            sel = js[qs == q]
            exact = self.scorer.true_scores(q, rows_arr[sel])
            keep_q = exact >= self.threshold[q] if self.higher else exact <= self.threshold[q]
            cands = self.candidates[q]
            for j, value in zip(sel[keep_q].tolist(), exact[keep_q].tolist()):
                cands[(ids[j], int(rows_arr[j]))] = float(value)
            self._ordered[q] = None

    def _screen(self, rows: np.ndarray) -> np.ndarray:
        """Scores of ``rows`` against every query, chunked; dense L2 in the fast ``|x|^2 + |q|^2 - 2 q.x`` form (only
        used to screen: the survivors are rescored exactly)."""
        s = self.scorer
        nq = len(self.base)
        if s._sparse:
            return np.stack([s.true_scores(q, rows) for q in range(nq)]) if nq else np.zeros((0, len(rows)))
        queries = s._queries
        dim = queries.shape[1]
        chunk = max(1, WORKING_BYTES // max(1, (nq + dim) * 8))
        out = np.empty((nq, len(rows)), dtype=np.float64)
        for a in range(0, len(rows), chunk):
            vecs = np.asarray(s._train[rows[a:a + chunk]], dtype=np.float32)
            # einsum, not BLAS: for these small products OpenBLAS' threads cost more than the work on a busy host
            dot = np.einsum("qd,rd->qr", queries, vecs).astype(np.float64)
            if s.metric.value == "IP":
                out[:, a:a + chunk] = dot
                continue
            row_sq = np.einsum("rd,rd->r", vecs, vecs).astype(np.float64)
            if s.metric.value == "L2":
                out[:, a:a + chunk] = np.maximum(row_sq[None, :] + s._query_sq[:, None] - 2.0 * dot, 0.0)
            else:
                denom = np.sqrt(row_sq[None, :] * s._query_sq[:, None])
                out[:, a:a + chunk] = np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
        return out

    def forget(self, pks: set) -> None:
        """Drop every candidate of the ids ``pks`` (their rows are gone for good), in one pass."""
        for q, cands in enumerate(self.candidates):
            gone = [key for key in cands if key[0] in pks]
            for key in gone:
                del cands[key]
            if gone:
                self._ordered[q] = None

    def score(self, log: WriteLog, q: int, returned: Sequence[Any], cut: float, end: float,
              lane: Optional[int], row_state: Any) -> Optional[float]:
        """Recall@k of one answer to query ``q`` (None: every place neutral, nothing to score). ``row_state(pk)``:
        None for a base row, else ``(neutral, source row or -1)`` of a written row for this search."""
        s = self.scorer
        seen: set = set()
        neutral = 0
        base_ids: list[Any] = []
        written_rows: list[int] = []
        for pk in returned[: self.k]:
            if pk in seen:
                continue
            seen.add(pk)
            state = row_state(pk)
            if state is not None:
                is_neutral, row = state
                if is_neutral:
                    neutral += 1
                elif row >= 0 and (self.mask is None or self.mask[row]):
                    written_rows.append(row)
                # a row that must not be visible (deleted, not yet written): a miss
            else:
                base_ids.append(pk)
        ordered = self._ordered[q]
        if ordered is None:
            ordered = self._ordered[q] = sorted(((v, pk, r) for (pk, r), v in self.candidates[q].items()),
                                                key=lambda c: c[0], reverse=self.higher)
        visible = []
        k = self.k
        for value, pk, cand_row in ordered:  # best first: k visible ones are all the truth can use
            is_neutral, row = log.state(pk, cut, end, lane)
            if not is_neutral and row == cand_row:
                visible.append(value)
                if len(visible) >= k:
                    break
        truth = sorted(self.base[q] + visible, reverse=self.higher)
        k_eff = min(self.k, len(truth)) - neutral
        if k_eff <= 0:
            return None if neutral else 1.0
        from scenarios.truth.recall import _limit

        limit = _limit(truth[k_eff - 1], self.eps, self.higher)
        rows = s.index.unique_rows(base_ids) if base_ids else np.zeros(0, dtype=np.int64)
        if self.mask is not None and rows.size:
            rows = rows[self.mask[rows]]
        if written_rows:  # a written row is scored as the dataset row it copies
            rows = np.concatenate([rows, np.asarray(written_rows, dtype=np.int64)])
        if not rows.size:
            return 0.0
        scores = s.true_scores(q, rows)
        hits = int(np.count_nonzero(scores >= limit if self.higher else scores <= limit))
        return min(hits, k_eff) / k_eff


class LiveTruth:
    """The live truth of one process: the write log and a :class:`LiveTaskTruth` per search task with recall."""

    def __init__(self, tasks: dict[str, LiveTaskTruth], consistency: str, write_base: Optional[int],
                 horizon_s: float = 60.0) -> None:
        """``write_base``: the first id past the dataset's (None: VARCHAR keys, written ids start with ``w``)."""
        self.tasks = tasks
        self.consistency = consistency
        self.offset = cut_offset(consistency)
        self.session = consistency == "Session"
        self.log = WriteLog(horizon_s=horizon_s)
        self.write_base = write_base
        #: Lanes written by this process (an id of another lane was written by another process: neutral).
        self.lanes: set[int] = set()

    def lane_of(self, pk: Any) -> Optional[int]:
        """The writer lane of a written id, or None for an id of the dataset's (see ``TaskRequests.fresh_ids``)."""
        if self.write_base is None:
            if isinstance(pk, str) and pk.startswith("w") and "-" in pk:
                try:
                    return int(pk[1:pk.index("-")])
                except ValueError:
                    return None
            return None
        if isinstance(pk, (int, np.integer)) and pk >= self.write_base:
            return int((pk - self.write_base) // LANE_WIDTH)
        return None

    def is_written(self, pk: Any) -> bool:
        """Whether ``pk`` is in the writers' id space (past the dataset's ids)."""
        return self.lane_of(pk) is not None

    def sent(self, kind: str, ids: Sequence[Any], rows: Optional[Sequence[int]], lane: int, at: float) -> Any:
        """A write is about to be sent; returns a token for :meth:`acked`. Inserted rows are scored here."""
        self.lanes.add(lane)
        if kind != DELETE and rows is not None:
            for task in self.tasks.values():
                task.add_rows(ids, rows)
        return self.log.sent(kind, ids, rows, lane, at)

    def acked(self, token: Any, at: float, ok: bool) -> None:
        """The write's answer came at ``at`` (``ok``: acknowledged; else failed, its rows stay neutral)."""
        self.log.acked(token, at, ok)
        gone = self.log.compact(at)
        if gone:
            pks = set(gone)
            for task in self.tasks.values():
                task.forget(pks)

    def score(self, label: str, q: int, returned: Sequence[Any], started: float, end: float, lane: int
              ) -> Optional[float]:
        """Recall of one answer of task ``label`` to query ``q``, sent at ``started``, answered at ``end``, by the
        user writing ``lane``; None when the task has no live truth or every returned place is neutral."""
        task = self.tasks.get(label)
        if task is None:
            return None
        cut, own = started - self.offset, (lane if self.session else None)
        log = self.log

        def row_state(pk: Any) -> Optional[tuple[bool, int]]:
            written = self.lane_of(pk)
            if written is None:
                return None
            if pk in log.events:
                return log.state(pk, cut, end, own)
            # not in the log: another process' row, or one of ours deleted and compacted long ago
            foreign = written not in self.lanes or (own is not None and written != own) or math.isinf(cut)
            return (True, -1) if foreign else (False, -1)

        return task.score(log, q, returned, cut, end, own, row_state)

    def static_possible(self, label: str, q: int, returned: Sequence[Any]) -> bool:
        """True when no written row is involved (none returned, none a candidate): the static score is exact."""
        task = self.tasks.get(label)
        if task is None or task.candidates[q]:
            return False
        is_written = self.is_written
        return not any(is_written(pk) for pk in returned)

    def entries(self) -> int:
        """Write-log entries plus candidates held (the memory the live truth uses)."""
        return sum(len(e) for e in self.log.events.values()) + sum(
            len(c) for t in self.tasks.values() for c in t.candidates)


def build_live_truth(scenario: Any, dataset: Any, scorers: dict[str, Any], *, horizon_s: float = 60.0
                     ) -> LiveTruth:
    """A :class:`LiveTruth` for every single-route search task with a static scorer (hybrid: none)."""
    from scenarios.truth.recall import RecallScorer

    tasks: dict[str, LiveTaskTruth] = {}
    for label, scorer in scorers.items():
        if not isinstance(scorer, RecallScorer):
            continue
        truth = getattr(scorer, "truth", None)
        if truth is None:
            continue
        k = scorer.k
        valid = (truth.indices[:, :k] >= 0).sum(axis=1)
        tasks[label] = LiveTaskTruth(scorer, truth.scores[:, :k], valid, k, scorer.mask)
    integer = dataset.ids.dtype.kind in "iu"
    write_base = (int(np.max(dataset.ids)) + 1 if len(dataset) else 0) if integer else None
    return LiveTruth(tasks, scenario.workload.consistency_level, write_base, horizon_s=horizon_s)


"""The regression gate as a pure function: baseline and candidate results + policy in, verdict lines out.

Load results are compared per task label and metric (QPS, p50, p99, recall, error rate). With ``min_runs`` runs on
both sides, each side's runs are the samples: a metric regresses when it is worse than the policy's threshold *and*
the one-sided Mann-Whitney test says the worsening is not noise (p < alpha). With fewer runs (one per side is the
common CI use), QPS, p50, p99 and error rate use the variability inside each run instead: a circular block
bootstrap over the per-window series (``load.intervals``, see ``reports/blockboot.py``) gives a confidence interval
of the change, and the metric regresses only when that whole interval is beyond the threshold (policy
``intervals``/``min_intervals``). Recall, and runs without interval series, fall back to thresholds only.
Conformance results fail the gate on any (method, server, pymilvus) row that diverges in the candidate and never
in the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from reports.blockboot import INTERVAL_METRICS, interval_change
from reports.inputs import LoadedResult, conformance_key, task_metrics
from reports.intervals import TaskIntervals, task_intervals
from vdb_harness.kernel.errors import BadInputError
from reports.metrics import GATED, Metric, fmt
from reports.policy import Policy
from reports.stats import Comparison, compare
from reports.summary import conformance_failures

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class Line:
    """One verdict line: a task's metric (or a conformance check) and why it passed or failed."""

    status: Status
    task: str
    metric: str
    text: str
    comparison: Optional[Comparison] = None
    limit: Optional[float] = None

    def render(self) -> str:
        """``PASS  task  metric: explanation``, fit for a terminal or a CI log."""
        return f"{self.status.upper():4}  {self.task}  {self.metric}: {self.text}"


@dataclass
class Verdict:
    """Every line of a gate run, plus notes about its inputs."""

    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when any line regressed."""
        return any(line.status == "fail" for line in self.lines)

    @property
    def compared(self) -> int:
        """How many lines actually compared something."""
        return sum(1 for line in self.lines if line.status != "skip")


def _pct(metric: Metric, value: float) -> str:
    if metric.relative:
        return f"{value * 100:+.1f}%"
    return f"{value * 100:+.2f} pp" if metric.key == "error_rate" else f"{value:+.4f}"


def _describe(c: Comparison, limit: float, status: Status, why: str) -> str:
    m = c.metric
    change = -c.worse_by if m.higher_is_better else c.worse_by  # signed change in the metric's own direction
    text = f"{fmt(m, c.baseline)} -> {fmt(m, c.candidate)} ({_pct(m, change)}"
    if c.ci is not None:
        lo, hi = c.ci
        lo_c, hi_c = ((-hi, -lo) if m.higher_is_better else (lo, hi))
        text += f", CI {_pct(m, lo_c)}..{_pct(m, hi_c)}"
        text += f", p={c.p_value:.3f}" if c.p_value is not None else ""
    if c.method == "intervals":
        text += f", {c.n_baseline}/{c.n_candidate} windows, block {'/'.join(map(str, c.blocks or ()))}"
    else:
        text += f", n={c.n_baseline}/{c.n_candidate}"
    text += f"; limit {_pct(m, -limit if m.higher_is_better else limit)})"
    return f"{text} {why}"


def judge(c: Comparison, limit: float, alpha: float) -> tuple[Status, str]:
    """Pass or fail one comparison against ``limit`` (a worsening), with the one-phrase reason."""
    beyond = c.worse_by > limit
    if c.method == "intervals" and c.ci is not None:
        low, high = c.ci
        if low > limit:
            return "fail", "regression: the whole interval is beyond the limit"
        if beyond:
            return "pass", "beyond the limit but the interval includes it (within the runs' own noise)"
        if high > limit:
            return "pass", "within the limit (the interval reaches beyond it)"
        return "pass", "within the limit"
    if c.p_value is None:
        return ("fail", "worse than the limit (too few runs for a noise test)") if beyond else \
               ("pass", "within the limit (too few runs for a noise test)")
    if beyond and c.p_value < alpha:
        return "fail", "regression: worse than the limit and not noise"
    if beyond:
        return "pass", f"beyond the limit but within noise (p >= {alpha})"
    if c.worse_by > 0 and c.p_value < alpha:
        return "pass", "significantly worse but within the limit"
    return "pass", "within the limit"


def _interval_runs(results: list[LoadedResult], label: str, policy: Policy) -> tuple[Optional[list[TaskIntervals]],
                                                                                       Optional[str]]:
    """Every run's interval series of ``label``, or None and why not (a missing or too short series)."""
    out = []
    for r in results:
        series = task_intervals(r, label)
        if series is None:
            return None, f"{r.path} has no interval series for {label!r} (load.intervals; written since " \
                         "the single-run gate)"
        if series.n < policy.min_intervals:
            return None, f"{r.path} has {series.n} full windows for {label!r}, fewer than min_intervals = " \
                         f"{policy.min_intervals}"
        out.append(series)
    return out, None


def _use_intervals(base: list[LoadedResult], cand: list[LoadedResult], label: str, policy: Policy,
                   verdict: Verdict) -> Optional[tuple[list[TaskIntervals], list[TaskIntervals]]]:
    """Both sides' interval series of ``label`` when the policy says to use them (else None, with a note)."""
    if policy.intervals == "off":
        return None
    few = min(len(base), len(cand)) < policy.min_runs
    if policy.intervals == "auto" and not few:
        return None
    b, why_b = _interval_runs(base, label, policy)
    c, why_c = _interval_runs(cand, label, policy)
    why = why_b or why_c
    if why is not None:
        if policy.intervals == "on":
            raise BadInputError(f"the policy requires interval series (intervals = \"on\"): {why}")
        verdict.notes.append(f"{label}: thresholds only for QPS and latency: {why}")
        return None
    return b, c


def _gate_load(base: list[LoadedResult], cand: list[LoadedResult], policy: Policy, verdict: Verdict) -> None:
    base_tasks = [task_metrics(r) for r in base]
    cand_tasks = [task_metrics(r) for r in cand]
    labels_b = {label for run in base_tasks for label in run}
    labels_c = {label for run in cand_tasks for label in run}
    for label in sorted(labels_b - labels_c):
        verdict.lines.append(Line("fail", label, "task", "in the baseline but missing from the candidate"))
    for label in sorted(labels_c - labels_b):
        verdict.notes.append(f"task {label!r} is new in the candidate (nothing to compare it with)")
    for label in sorted(labels_b & labels_c):
        series = None
        if any(policy.limit(label, m.key) is not None for m in GATED if m.key in INTERVAL_METRICS):
            series = _use_intervals([r for r, t in zip(base, base_tasks) if label in t],
                                    [r for r, t in zip(cand, cand_tasks) if label in t], label, policy, verdict)
        for seed, metric in enumerate(GATED):
            limit = policy.limit(label, metric.key)
            bvals = [v for run in base_tasks if label in run and (v := run[label].get(metric.key)) is not None]
            cvals = [v for run in cand_tasks if label in run and (v := run[label].get(metric.key)) is not None]
            if limit is None:
                continue
            if not bvals or not cvals:
                if bvals and not cvals:
                    verdict.lines.append(Line("fail", label, metric.label,
                                              "measured in the baseline, not in the candidate"))
                continue
            if series is not None and metric.key in INTERVAL_METRICS:
                b_val, c_val, est, ci, blocks = interval_change(
                    metric, series[0], series[1], confidence=policy.confidence,
                    resamples=policy.bootstrap_resamples, seed=seed)
                c = Comparison(metric=metric, n_baseline=sum(s.n for s in series[0]),
                               n_candidate=sum(s.n for s in series[1]), baseline=b_val, candidate=c_val,
                               worse_by=est, ci=ci, p_value=None, method="intervals", blocks=tuple(blocks))
            else:
                c = compare(metric, bvals, cvals, min_runs=policy.min_runs, confidence=policy.confidence,
                            resamples=policy.bootstrap_resamples, seed=seed)
            status, why = judge(c, limit, policy.alpha)
            verdict.lines.append(Line(status, label, metric.label, _describe(c, limit, status, why), c, limit))


def _gate_conformance(base: list[LoadedResult], cand: list[LoadedResult], policy: Policy,
                      verdict: Verdict) -> None:
    known = {conformance_key(r) for res in base for r in conformance_failures(res)}
    seen: dict[tuple[str, str, str], dict] = {}
    for res in cand:
        for row in conformance_failures(res):
            if conformance_key(row) not in known:
                seen.setdefault(conformance_key(row), row)
    if not policy.new_divergence:
        verdict.lines.append(Line("skip", "conformance", "divergences", "not gated (new_divergence = false)"))
        return
    if not seen:
        verdict.lines.append(Line("pass", "conformance", "divergences",
                                  f"no new divergence ({len(known)} already in the baseline)"))
    for (method, server, client), row in sorted(seen.items()):
        where = ", ".join(x for x in (f"server {server}" if server else "", f"pymilvus {client}" if client else "")
                          if x)
        detail = row.get("detail") or "no detail"
        verdict.lines.append(Line("fail", "conformance", method,
                                  f"new {row['status']} ({where}): {detail}" if where else
                                  f"new {row['status']}: {detail}"))


def run_gate(baseline: list[LoadedResult], candidate: list[LoadedResult], policy: Policy) -> Verdict:
    """Compare every load task and the conformance matrix; ignored inputs are listed in ``notes``."""
    verdict = Verdict()
    for side, results in (("baseline", baseline), ("candidate", candidate)):
        for r in results:
            if r.kind not in ("load", "conformance"):
                verdict.notes.append(f"{r.path}: kind {r.kind!r} is not gated (only load and conformance)")
            elif r.status not in ("pass", "fail"):
                verdict.notes.append(f"{r.path}: {side} run has status {r.status!r}; its numbers are used as they are")
    by_kind = {k: ([r for r in baseline if r.kind == k], [r for r in candidate if r.kind == k])
               for k in ("load", "conformance")}
    scen = {side: {(r.data.get("scenario") or {}).get("sha256") for r in rs if r.kind == "load"}
            for side, rs in (("b", baseline), ("c", candidate))}
    if scen["b"] and scen["c"] and scen["b"] != scen["c"]:
        verdict.notes.append("baseline and candidate ran different scenario files (sha256 differ)")
    b, c = by_kind["load"]
    if b and c:
        _gate_load(b, c, policy, verdict)
    elif b or c:
        verdict.notes.append(f"load results on one side only ({len(b)} baseline, {len(c)} candidate): not compared")
    b, c = by_kind["conformance"]
    if c:
        _gate_conformance(b, c, policy, verdict)
    elif b:
        verdict.notes.append("conformance results in the baseline only: not compared")
    return verdict

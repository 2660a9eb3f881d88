"""Build what a phase needs from a scenario: dataset, recall scorers (once), and a fresh run context per phase."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from loadtests.context import RunContext
from loadtests.recall_tracker import RecallTracker, Scorer
from loadtests.recorder import Recorder
from loadtests.tasks import build_plans
from scenarios.truth.scorers import task_scorers, writes_in_mix
from scenarios.datasets.base import Dataset
from scenarios.model import Scenario
from scenarios.targets import Connection


@dataclass
class LoadPlan:
    """A scenario with its dataset and recall scorers, ready to make contexts for phases."""

    scenario: Scenario
    dataset: Dataset
    fingerprint: str
    scorers: dict[str, Scorer] = field(default_factory=dict)
    recall_notes: dict[str, str] = field(default_factory=dict)

    def context(self, conn: Connection, *, search_params: Optional[dict[str, Any]] = None,
                score_recall: bool = True, max_requests: Optional[int] = None, processes: int = 1) -> RunContext:
        """A fresh context (empty recorder and recall counts; a fresh live truth when the run writes) for one
        phase. ``processes``: Locust worker processes of the phase (each knows only its own writes)."""
        plans = build_plans(self.scenario, self.dataset, search_params=search_params, min_hits=self.min_hits())
        live, notes = None, dict(self.recall_notes)
        if score_recall and writes_in_mix(self.scenario) and self.scorers:
            from scenarios.truth.live import build_live_truth, cut_offset, describe

            offset = cut_offset(self.scenario.workload.consistency_level)
            horizon = conn.timeout + (offset if offset != float("inf") else 0.0) + 10.0
            live = build_live_truth(self.scenario, self.dataset, self.scorers, horizon_s=horizon)
            if processes > 1:
                for label in live.tasks:
                    notes[label] = notes.get(label, "").replace(
                        describe(self.scenario.workload.consistency_level),
                        describe(self.scenario.workload.consistency_level, processes))
        return RunContext(plans=plans, conn=conn, recorder=Recorder(),
                          recall=RecallTracker(self.scorers, notes, live=live),
                          score_recall=score_recall, max_requests=max_requests)


    def min_hits(self) -> dict[str, Any]:
        """Per search task with exact ground truth, the hits each query's correct answer has: an empty answer is
        then a failure only where the truth is not empty (a filter that leaves no row makes it correct)."""
        return {label: scorer.expected_hits() for label, scorer in self.scorers.items()}


def load_plan(scenario: Scenario, base_dir: Path, progress: Optional[Callable[[int, int], None]] = None,
              log: Callable[[str], None] = lambda _m: None, with_recall: bool = True) -> LoadPlan:
    """Build the dataset and (unless ``with_recall`` is false) the exact-recall scorers of every search task."""
    from scenarios.datasets.build import build_dataset

    dataset = build_dataset(scenario, base_dir, progress=progress)
    fingerprint = dataset.fingerprint()
    plan = LoadPlan(scenario, dataset, fingerprint)
    if with_recall:
        plan.scorers, plan.recall_notes = task_scorers(scenario, dataset, fingerprint=fingerprint, log=log)
    return plan

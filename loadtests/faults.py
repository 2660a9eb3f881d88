"""Faults during a load phase: a server that dies, a Locust worker that dies, and Ctrl-C.

- :class:`ServerWatch` tells the phase supervisor when the server is gone: the embedded server's process has
  exited (seen at once), or the target's port refuses TCP connections. With ``on_server_loss = "stop"`` the phase
  stops at once; with ``"continue"`` it goes on for up to ``server_loss_grace`` waiting for the server to come
  back, and stops if it does not. Every down-span it saw is kept (:attr:`ServerWatch.spans`).
- :class:`InterruptFlag` turns the first SIGINT of a phase into a flag the supervisor checks, so the phase stops
  in order and its data is kept; a second SIGINT interrupts at once.
- :func:`merge_spans` unions the watch's spans with the request-level outages of the recorder.

Only the supervising process watches (the local runner, or the master of a distributed run): it is the one that
can stop the phase, and it runs whatever the workers do.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from vdb_harness.kernel.errors import InfrastructureError
from scenarios.targets import port_answers
from vdb_harness.kernel.processes import pid_alive

#: Seconds between two checks of the server (a dead embedded process is seen on the next check).
CHECK_INTERVAL_S = 0.5
#: Seconds a TCP connect may take before the port counts as not answering.
CONNECT_TIMEOUT_S = 2.0


class ServerLostError(InfrastructureError):
    """The server went away during a load run and did not come back (exit code 2; the partial result is kept)."""


@dataclass
class ServerWatch:
    """Watches one target during one phase; :meth:`check` returns why the phase must stop, or None."""

    conn: Any
    policy: str = "stop"
    grace_s: float = 10.0
    #: Down-spans seen, as epoch ``(down_since, back_at or None)``.
    spans: list[list[Optional[float]]] = field(default_factory=list)
    #: Why the server was given up (None while it is not).
    lost: Optional[dict[str, Any]] = None
    _last_check: float = 0.0

    @property
    def embedded_pid(self) -> Optional[int]:
        """The embedded server's pid (None for a URI target)."""
        info = getattr(self.conn, "embedded", None)
        return getattr(info, "pid", None)

    def _probe(self) -> Optional[str]:
        """None when the server is there, else what is wrong with it."""
        pid = self.embedded_pid
        if pid is not None and not pid_alive(pid):
            return f"the embedded server process (pid {pid}) exited"
        if not port_answers(self.conn.uri, timeout=CONNECT_TIMEOUT_S):
            return f"{self.conn.uri} refuses connections"
        return None

    def check(self, now: Optional[float] = None) -> Optional[str]:
        """Probe the server (at most every :data:`CHECK_INTERVAL_S`); the reason to stop the phase, or None."""
        if self.lost is not None:
            return self.lost["reason"]
        now = time.time() if now is None else now
        if now - self._last_check < CHECK_INTERVAL_S:
            return None
        self._last_check = now
        problem = self._probe()
        now = time.time()
        down = self.spans[-1] if self.spans and self.spans[-1][1] is None else None
        if problem is None:
            if down is not None:
                down[1] = now  # it came back
            return None
        if down is None:
            down = [now, None]
            self.spans.append(down)
        since = float(down[0] or now)
        final = self.embedded_pid is not None and "exited" in problem  # nobody restarts our embedded server
        if self.policy == "stop" or final or now - since >= self.grace_s:
            waited = "" if self.policy == "stop" or final else f" and did not come back within {self.grace_s:g} s"
            self.lost = {"at": since, "reason": f"server lost: {problem}{waited}", "problem": problem,
                         "policy": self.policy}
            return self.lost["reason"]
        return None

    def relative_spans(self, start_ts: float) -> list[dict[str, Optional[float]]]:
        """The down-spans as ``{start, end}`` seconds since ``start_ts``."""
        return [{"start": round(max(0.0, float(a or 0.0) - start_ts), 3),
                 "end": None if b is None else round(float(b) - start_ts, 3)} for a, b in self.spans]


def merge_spans(*groups: list[dict[str, Optional[float]]]) -> list[dict[str, Optional[float]]]:
    """The union of outage spans ``{start, end}`` (``end`` None = open), sorted, overlapping ones merged."""
    spans = sorted((s for g in groups for s in g), key=lambda s: float(s["start"] or 0.0))
    out: list[dict[str, Optional[float]]] = []
    for s in spans:
        start, end = float(s["start"] or 0.0), s.get("end")
        if out:
            last = out[-1]
            if last["end"] is None or start <= float(last["end"]):
                if last["end"] is not None:
                    last["end"] = None if end is None else max(float(last["end"]), float(end))
                continue
        out.append({"start": start, "end": None if end is None else float(end)})
    return out


class InterruptFlag:
    """While active, the first SIGINT only sets :attr:`set` (the supervisor stops the phase in order and the
    command keeps its data); a second one raises ``KeyboardInterrupt`` at once. Restores the old handler."""

    def __init__(self) -> None:
        self.set = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        if self.set:
            raise KeyboardInterrupt
        self.set = True

    def __enter__(self) -> "InterruptFlag":
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: leave Ctrl-C as it is
            self._previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

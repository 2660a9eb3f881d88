"""The HTML report in a real headless Chromium: it renders, every plot is drawn, no console error, no network.

Chromium is driven over its DevTools pipe (``--remote-debugging-pipe``: JSON messages on fds 3/4), so no Python
package is needed. Needs the Debian package ``chromium`` (``apt-get install -y chromium``; or set CHROMIUM to a
binary); the test is skipped with that reason when it is absent.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

import pytest

from vdb_harness.cli import main
from reports.synthetic import conformance_result, load_result
from vdb_harness.kernel.results import write_result

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="needs a headless Chromium: apt-get install -y chromium "
                                                     "(Debian package 'chromium'), or set CHROMIUM=/path/to/binary")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe", "--window-size=1280,2000"]
DEADLINE_S = 90.0  # a safety net against a hung browser, not a performance assertion


def _high(fd: int) -> int:
    """``fd`` moved to a number >= 10, so placing the pipe on fds 3 and 4 in the child cannot clobber it."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """A minimal DevTools client over Chromium's pipe: commands, and the events that arrive meanwhile."""

    def __init__(self, user_data_dir: Path) -> None:
        self._to_r, self._to_w = (_high(fd) for fd in os.pipe())
        self._from_r, self._from_w = (_high(fd) for fd in os.pipe())
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=self._dup_fds)
        os.close(self._to_r)
        os.close(self._from_w)
        self._buf, self._next_id, self.events = b"", 0, []  # type: list[dict[str, Any]]
        self._deadline = time.monotonic() + DEADLINE_S

    def _dup_fds(self) -> None:  # in the child: the pipe must be fds 3 (commands) and 4 (replies)
        os.dup2(self._to_r, 3)
        os.dup2(self._from_w, 4)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = self._deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_r], [], [], left)[0]:
                raise TimeoutError("headless Chromium did not answer in time")
            chunk = os.read(self._from_r, 1 << 16)
            if not chunk:
                raise RuntimeError("headless Chromium closed its DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, session: Optional[str] = None, **params: Any) -> dict[str, Any]:
        """Send a command and return its result (events seen meanwhile go to ``events``)."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        """Wait for the event ``method``."""
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self) -> None:
        """Ask the browser to quit; kill it if it does not."""
        try:
            self.send("Browser.close")
        except Exception:  # noqa: BLE001 - it may already be gone
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)


def _started_browser(profile: Path, attempts: int = 2) -> Browser:
    """A browser that answered its first DevTools command. Headless Chromium sometimes dies while starting on a
    loaded machine (its pipe then breaks on the first write): that is the tool failing, not the report, so it is
    started once more in a fresh profile before the test gives up."""
    for attempt in range(1, attempts + 1):
        browser = Browser(profile.with_name(f"{profile.name}-{attempt}"))
        try:
            browser.send("Browser.getVersion")
            return browser
        except (BrokenPipeError, RuntimeError) as exc:
            browser.close()
            if attempt == attempts:
                raise RuntimeError(f"headless Chromium did not start ({attempts} tries; last: {exc!r}, exit code "
                                   f"{browser.proc.poll()})") from exc
    raise AssertionError("unreachable")


def load_page(path: Path, profile: Path) -> dict[str, Any]:
    """Open ``path`` and return its console errors, non-file requests and a few facts about the DOM."""
    browser = _started_browser(profile)
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            browser.send(f"{domain}.enable", session)
        browser.send("Page.navigate", session, url=path.resolve().as_uri())
        browser.wait_for("Page.loadEventFired")
        facts = browser.send("Runtime.evaluate", session, returnByValue=True, expression="""({
            title: document.title,
            verdict: (document.getElementById('verdict') || {}).textContent,
            plots: [...document.querySelectorAll('figure.plot')].map(f => {
                const svg = f.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : null;
                return {caption: f.querySelector('figcaption').textContent, width: box ? box.width : 0,
                        height: box ? box.height : 0, shapes: svg ? svg.querySelectorAll('path').length : 0};
            }),
            conformance_cells: document.querySelectorAll('table.conformance td.diverges').length,
            height: document.body.scrollHeight,
        })""")["result"]["value"]
        browser.send("Runtime.evaluate", session, expression="1")  # flush late events
        errors = [e for e in browser.events if
                  (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
                  or e.get("method") == "Runtime.exceptionThrown"
                  or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
        requests = [e["params"]["request"]["url"] for e in browser.events
                    if e.get("method") == "Network.requestWillBeSent"
                    and not e["params"]["request"]["url"].startswith(("file:", "data:", "about:"))]
        return {"facts": facts, "errors": errors, "requests": requests}
    finally:
        browser.close()


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    paths = [str(write_result(load_result(1), tmp_path / "load")),
             str(write_result(load_result(2, qps_factor=0.9, scenario="other"), tmp_path / "load2")),
             str(write_result(conformance_result(["search"]), tmp_path / "conf"))]
    assert main(["report", *paths, "--out", str(tmp_path / "report"), "--title", "browser check"]) == 0
    page = load_page(tmp_path / "report" / "report.html", tmp_path / "profile")
    facts = page["facts"]
    print(f"\nchromium: {len(facts['plots'])} plots, page height {facts['height']} px, "
          f"{len(page['errors'])} console errors")
    assert page["errors"] == [] and page["requests"] == []
    assert facts["title"] == "browser check" and "1 of 3 results not passed" in facts["verdict"]
    captions = [p["caption"] for p in facts["plots"]]
    assert captions == ["Latency over time", "QPS and p99 vs concurrency", "Recall vs QPS",
                        "Recall distribution", "Error rate"]
    for plot in facts["plots"]:
        assert plot["width"] > 200 and plot["height"] > 100 and plot["shapes"] > 10, plot
    assert facts["conformance_cells"] == 1


def test_the_browser_check_does_catch_errors(tmp_path: Path) -> None:
    """The check itself: a page with a script error, a missing image and a network URL is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><head><title>bad</title></head><body><img src="missing.png">'
                   '<img src="http://192.0.2.1/x.png"><script>console.error("boom"); nope();</script></body></html>')
    page = load_page(bad, tmp_path / "profile")
    assert len(page["errors"]) >= 2
    assert page["requests"] == ["http://192.0.2.1/x.png"]

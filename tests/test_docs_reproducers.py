"""The proven reproducer scripts in docs/reproducers (the README lists them): each still shows its divergence with
the installed pymilvus where its stamped version range applies (a stale script fails), and its header is
well-formed. They share the session's embedded server."""

from __future__ import annotations

from pathlib import Path

import pymilvus
import pytest

from conformance import known
from conformance.servers import server_family
from conformance.docs_reproducers import DIVERGES, Stamp, header, read_stamp, run_script
from vdb_harness.kernel.errors import BadInputError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reproducers"
SCRIPTS = sorted(DOCS.glob("reproduce_*.py"))


def test_there_are_proven_scripts_and_every_header_is_well_formed() -> None:
    """Every script states its divergence, a valid pymilvus range and the exit code it was proven with (1)."""
    assert SCRIPTS, f"no reproducer scripts in {DOCS}"
    for path in SCRIPTS:
        stamp = read_stamp(path)
        assert stamp.exit_code == DIVERGES, f"{path.name}: proven with exit {stamp.exit_code}"


def test_every_script_belongs_to_a_registry_entry_with_the_same_range() -> None:
    """A script's divergence is a known-divergence entry (by method) whose server glob and pymilvus range are the
    script's: the README's list and the registry cannot drift apart."""
    entries = known.load()
    for path in SCRIPTS:
        stamp = read_stamp(path)
        scopes = {(e.server, e.pymilvus) for e in entries if e.method == stamp.divergence}
        assert (stamp.server, stamp.pymilvus) in scopes, \
            f"{path.name}: {stamp.divergence} on {stamp.server} {stamp.pymilvus!r} not in {scopes}"


def test_a_malformed_header_is_a_clear_error(tmp_path: Path) -> None:
    """A missing field or a bad range names the file."""
    bad = tmp_path / "reproduce_x.py"
    bad.write_text("# divergence: x\n# pymilvus: >=2.6\nprint()\n")
    with pytest.raises(BadInputError, match="reproduce_x.py: header lacks"):
        read_stamp(bad)
    bad.write_text(header(Stamp("x", "not a range", "pymilvus 2.6.5: exit 1")))
    with pytest.raises(BadInputError, match="not a version specifier"):
        read_stamp(bad)


@pytest.mark.server
@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script_still_shows_its_divergence(milvus, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Run outside the checkout against the session's server: exit 1 (the clients still diverge) wherever the
    stamped range covers the installed pymilvus."""
    stamp = read_stamp(path)
    family = server_family(milvus)
    if not stamp.applies(pymilvus.__version__, family):
        pytest.skip(f"{stamp.divergence} applies to pymilvus {stamp.pymilvus} on {stamp.server}, here pymilvus "
                    f"{pymilvus.__version__} on {family}")
    if milvus.token or milvus.db_name != "default":
        pytest.skip("reproducer scripts take a URI only (no token, default database)")
    proc = run_script(path, milvus.uri)
    assert proc.returncode == DIVERGES, (
        f"{path.name} exited {proc.returncode} on pymilvus {pymilvus.__version__}: the divergence is gone or looks "
        f"different (update the registry entry's range and the script)\n{proc.stdout[-2500:]}\n{proc.stderr[-2500:]}")


def test_the_docs_kit_is_the_harness_s_own_modules() -> None:
    """docs/reproducers/vdb_repro/ holds every kit module as a link to the module the suite itself runs, so the
    proven scripts judge with the current code (a new kit module without its link fails here)."""
    from conformance import repro_kit

    kit = DOCS / repro_kit.KIT
    harness = Path(repro_kit.__file__).resolve().parent
    assert sorted(p.name for p in kit.glob("*.py")) == sorted([f"{m}.py" for m in repro_kit.KIT_MODULES]
                                                              + ["__init__.py"])
    for name in repro_kit.KIT_MODULES:
        assert (kit / f"{name}.py").is_symlink() and (kit / f"{name}.py").resolve() == harness / f"{name}.py"


def test_a_written_reproducer_folder_carries_the_kit(tmp_path: Path) -> None:
    """A folder the harness writes holds copies of the kit modules, byte for byte, written once (the next
    reproducer written into the folder leaves them alone)."""
    from conformance import repro_kit

    package = repro_kit.write_kit(tmp_path)
    harness = Path(repro_kit.__file__).resolve().parent
    for name in repro_kit.KIT_MODULES:
        assert not (package / f"{name}.py").is_symlink()
        assert (package / f"{name}.py").read_bytes() == (harness / f"{name}.py").read_bytes()
    written = {p.name: p.stat().st_mtime_ns for p in package.glob("*.py")}
    repro_kit.write_kit(tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in package.glob("*.py")} == written

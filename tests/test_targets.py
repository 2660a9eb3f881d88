"""Targets: flags over scenario, tokens only from the environment, clear errors for dead or wrong servers."""

from __future__ import annotations

import socket
import pytest

from vdb_harness.kernel.errors import BadInputError, InfrastructureError
from scenarios.model import TargetSpec
from scenarios.targets import Connection, apply_overrides, open_target, read_token, redact_uri
from tests.processes import free_port




def test_flags_override_the_scenario() -> None:
    spec = apply_overrides(TargetSpec(), target="http://127.0.0.1:19530", db_name="bench", token_env="TOK")
    assert (spec.target, spec.db_name, spec.token_env) == ("http://127.0.0.1:19530", "bench", "TOK")
    with pytest.raises(BadInputError, match="--target"):
        apply_overrides(TargetSpec(), target="127.0.0.1:19530")
    with pytest.raises(BadInputError, match="^--db: "):
        apply_overrides(TargetSpec(), db_name="no spaces allowed")
    with pytest.raises(BadInputError, match="^--token-env: "):
        apply_overrides(TargetSpec(), token_env="")
    with pytest.raises(BadInputError, match="^--timeout: "):
        apply_overrides(TargetSpec(), timeout=-1.0)


def test_load_flags_are_named_as_typed() -> None:
    from scenarios.model import LoadSpec, with_flags

    load = with_flags(LoadSpec(), {"users": 3, "serial_phase": None})
    assert load.users == 3 and load.serial_phase == LoadSpec().serial_phase
    with pytest.raises(BadInputError, match="^--spawn-rate: "):
        with_flags(LoadSpec(), {"spawn_rate": 0})
    with pytest.raises(BadInputError, match="^--serial-time: "):
        with_flags(LoadSpec(), {"serial_phase": ["not", "a", "duration"]}, {"serial_phase": "--serial-time"})


def test_token_comes_only_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VDBH_TEST_TOKEN", "root:s3cret")
    assert read_token("VDBH_TEST_TOKEN") == "root:s3cret"
    with pytest.raises(BadInputError, match="VDBH_UNSET_TOKEN is not set"):
        read_token("VDBH_UNSET_TOKEN")
    conn = Connection(uri="http://127.0.0.1:1", token="root:s3cret")
    assert "s3cret" not in repr(conn) and "s3cret" not in str(conn.describe())
    assert conn.client_kwargs()["token"] == "root:s3cret"
    assert redact_uri("http://user:pw@127.0.0.1:19530") == "http://127.0.0.1:19530"


@pytest.mark.timeout(30)  # the CLI contract: one clear message, not minutes of client retries
def test_unreachable_uri_fails_fast_with_one_message() -> None:
    port = free_port()
    with pytest.raises(InfrastructureError, match=rf"127\.0\.0\.1:{port}: nothing answers"):
        with open_target(TargetSpec(target=f"http://127.0.0.1:{port}", timeout=5)):
            pass


@pytest.mark.timeout(60)
def test_a_port_that_is_not_milvus_is_reported(milvus: Connection) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        with pytest.raises(InfrastructureError, match="127.0.0.1"):
            with open_target(TargetSpec(target=f"http://127.0.0.1:{port}", timeout=3)):
                pass
    finally:
        listener.close()


def test_embedded_refuses_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VDBH_TEST_TOKEN", "x")
    with pytest.raises(BadInputError, match="embedded server takes no token"):
        with open_target(TargetSpec(token_env="VDBH_TEST_TOKEN")):
            pass


def test_uri_target_reaches_a_running_server(milvus: Connection) -> None:
    with open_target(TargetSpec(target=milvus.uri, timeout=10)) as conn:
        assert conn.kind == "uri"
        client = conn.sync_client()
        assert isinstance(client.list_collections(timeout=10), list)
        client.close()


def test_embedded_with_a_named_database() -> None:
    with open_target(TargetSpec(db_name="bench_db", timeout=10)) as conn:
        assert conn.db_name == "bench_db"
        client = conn.sync_client()
        assert client.list_collections(timeout=10) == []
        client.close()

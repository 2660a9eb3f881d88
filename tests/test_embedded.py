"""The embedded target's lifecycle, on real Milvus Lite servers (each test owns its own server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from scenarios.embedded import EmbeddedMilvus
from vdb_harness.kernel.errors import InfrastructureError
from tests.processes import alive, free_port, gone_within, port_free


def test_start_serves_both_clients_then_stop_frees_port_and_temp_dir() -> None:
    server = EmbeddedMilvus()
    info = server.start()
    try:
        assert info.uri == f"http://127.0.0.1:{info.port}"
        from pymilvus import MilvusClient

        client = MilvusClient(uri=info.uri, timeout=10)
        assert client.list_collections(timeout=10) == []
        client.close()
        assert server.alive()
    finally:
        server.stop()
    assert not server.alive()
    assert gone_within(info.pid)
    assert port_free(info.port)
    assert not os.path.exists(info.data_dir)


def test_named_data_dir_keeps_data_across_restart(tmp_path) -> None:
    from pymilvus import DataType, MilvusClient

    with EmbeddedMilvus(data_dir=tmp_path / "data") as server:
        client = MilvusClient(uri=server.uri, timeout=10)
        schema = client.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
        client.create_collection("kept", schema=schema, timeout=10)
        client.close()
        server.restart()
        client = MilvusClient(uri=server.uri, timeout=10)
        assert "kept" in client.list_collections(timeout=10)
        client.close()
    assert (tmp_path / "data").exists()


def test_fixed_port_can_be_reused_after_stop() -> None:
    port = free_port()
    for _ in range(2):
        with EmbeddedMilvus(port=port) as server:
            assert server.info is not None and server.info.port == port


def test_crash_of_the_child_is_detected() -> None:
    server = EmbeddedMilvus()
    info = server.start()
    try:
        assert not server.gone_within(0.2)
        os.kill(info.pid, signal.SIGKILL)
        assert server.gone_within(15)  # a multi-threaded process is reaped only once every thread is gone
        assert not server.alive()
        assert server.exit_code() == -signal.SIGKILL
    finally:
        server.stop()


def test_a_missing_backend_gives_one_clear_error(tmp_path) -> None:
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named milvus_lite' >&2\nexit 1\n")
    fake_python.chmod(0o755)
    with pytest.raises(InfrastructureError, match="did not start"):
        EmbeddedMilvus(python=str(fake_python), start_timeout=20).start()


def test_server_dies_with_its_parent_no_orphan(tmp_path) -> None:
    """A parent killed with SIGKILL (no cleanup code runs) still takes its server with it."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        from scenarios.embedded import EmbeddedMilvus
        info = EmbeddedMilvus().start()
        print(info.pid, info.port, flush=True)
        time.sleep(600)
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pid, port = map(int, parent.stdout.readline().split())
        assert alive(pid)
        parent.kill()
        parent.wait(10)
        assert gone_within(pid), "the embedded server outlived its parent"
        deadline = time.monotonic() + 10
        while not port_free(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert port_free(port)
    finally:
        parent.kill()


def test_ctrl_c_in_the_parent_stops_the_server(tmp_path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import signal, time
        from scenarios.embedded import EmbeddedMilvus
        # Ctrl-C as in a terminal, also when this test runs under a launcher that ignores SIGINT (a shell's
        # background job does, and the ignored disposition is inherited).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with EmbeddedMilvus() as server:
            try:
                print(server.info.pid, server.info.port, flush=True)
                time.sleep(600)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                raise
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
    try:
        pid, port = map(int, parent.stdout.readline().split())
        parent.send_signal(signal.SIGINT)
        assert parent.stdout.readline().strip() == "interrupted"
        parent.wait(30)
        assert gone_within(pid)
        assert port_free(port)
    finally:
        parent.kill()

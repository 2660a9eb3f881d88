"""The embedded server keeps clients that send keepalive pings without calls (pymilvus does, every 10 s).

gRPC's default server policy answers such pings with GOAWAY "too_many_pings" after a few strikes, which failed the
next call of an idle pymilvus client with UNAVAILABLE "Too many pings". A client pinging as often as gRPC lets it
(once a second) with no limit of pings between data frames shows in seconds what pymilvus' 10-s pings show later.
"""

from __future__ import annotations

import threading
import time

import grpc
import pytest

pytestmark = pytest.mark.server

# pymilvus' own keepalive options (client/grpc_handler.py), with the interval shortened and no cap on pings sent
# between data frames, so the server's ping policy is exercised within seconds.
FAST_PINGS = [
    ("grpc.keepalive_time_ms", 100),
    ("grpc.keepalive_timeout_ms", 5000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]
IDLE_SECONDS = 6.0  # gRPC clients ping at most once a second: ~6 pings; the default policy closed after the 4th


def _show_collections(stub, milvus_pb2) -> None:  # type: ignore[no-untyped-def]
    status = stub.ShowCollections(milvus_pb2.ShowCollectionsRequest(), timeout=10).status
    assert status.code == 0 and status.error_code == 0, status


def test_idle_client_with_keepalive_pings_keeps_its_connection(milvus) -> None:  # type: ignore[no-untyped-def]
    if milvus.embedded is None or milvus.embedded.engine != "milvus-lite-python":
        pytest.skip("the keepalive policy is set on our embedded Milvus Lite 3 server only "
                    f"(this session's target: {milvus.describe().get('engine', milvus.kind)})")
    from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

    states: list[grpc.ChannelConnectivity] = []
    lock = threading.Lock()
    channel = grpc.insecure_channel(f"127.0.0.1:{milvus.embedded.port}", options=FAST_PINGS)
    try:
        channel.subscribe(lambda s: (lock.acquire(), states.append(s), lock.release()), try_to_connect=True)
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        _show_collections(stub, milvus_pb2)
        # connectivity callbacks arrive on gRPC's own thread, late on a loaded machine: wait for READY to be seen
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with lock:
                if grpc.ChannelConnectivity.READY in states:
                    connected = len(states)
                    break
            time.sleep(0.05)
        else:
            pytest.fail(f"the channel never reported READY after a successful call (states: {states})")
        time.sleep(IDLE_SECONDS)  # idle on purpose: only pings cross the connection now
        with lock:
            after_idle = states[connected:]
        assert after_idle == [], f"the server dropped an idle pinging client: channel went {after_idle}"
        _show_collections(stub, milvus_pb2)  # was: UNAVAILABLE "Too many pings"
    finally:
        channel.close()

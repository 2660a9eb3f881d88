"""Child process that serves Milvus Lite on a loopback TCP port. Run as a *file*, never imported by the harness.

It imports nothing from vdb-harness, so any interpreter that has ``milvus-lite`` installed can run it
(that is how another milvus-lite version in another virtualenv is selected with ``backend_python``).

Protocol: it prints exactly one JSON line on stdout once the port is bound (or an ``error`` line), then serves
until SIGTERM/SIGINT or until its stdin reaches EOF (the parent died or closed it), and exits cleanly.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time


def _announce(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _milvus_lite_version():
    try:
        from importlib.metadata import version

        return version("milvus-lite")
    except Exception:  # noqa: BLE001 - metadata can be missing in odd installs; the version is informative only
        return "unknown"


def _die_with_parent():
    """Linux: ask the kernel to SIGTERM this process when its parent dies, so no server is ever orphaned."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# gRPC's default server policy answers a client's keepalive pings with GOAWAY "too_many_pings" once it has seen a
# few without data in between (pings without calls are not permitted; 5 min minimum interval, 2 strikes). pymilvus
# pings every 10 s even without calls, so an idle client, or one waiting on a slow call, lost its connection
# (UNAVAILABLE "Too many pings"). This loopback server is ours alone: accept pings without calls, at pymilvus'
# rate and faster, and never close a connection over pings.
KEEPALIVE_SERVER_OPTIONS = (
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 1000),
    ("grpc.http2.max_ping_strikes", 0),  # 0 = unlimited strikes: no GOAWAY for pings
)


def _with_keepalive_policy(grpc_server):
    """``grpc.server`` with :data:`KEEPALIVE_SERVER_OPTIONS` added to (and overriding) the caller's options."""

    def server(*args, **kwargs):
        ours = dict(KEEPALIVE_SERVER_OPTIONS)
        given = [(k, v) for k, v in (kwargs.pop("options", None) or ()) if k not in ours]
        return grpc_server(*args, options=given + list(KEEPALIVE_SERVER_OPTIONS), **kwargs)

    return server


def _serve_v3(data_dir, host, port, stop):
    import grpc
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    # milvus-lite 3 builds its grpc.server(...) with fixed options and no way to pass more; this process only serves,
    # so its grpc.server is the one with our keepalive policy.
    grpc.server = _with_keepalive_policy(grpc.server)
    server, db, bound = start_server_in_thread(data_dir=data_dir, host=host, port=port)
    _announce(port=bound, version=_milvus_lite_version(), engine="milvus-lite-python", pid=os.getpid())
    stop.wait()
    server.stop(grace=2).wait(5)
    db.close()


def _serve_v2(data_dir, host, port, stop):
    import milvus_lite
    from milvus_lite.server import Server

    os.makedirs(data_dir, exist_ok=True)
    lib = os.path.join(os.path.dirname(milvus_lite.__file__), "lib")
    binary = os.path.join(lib, "milvus")
    db_file = os.path.join(data_dir, "milvus.db")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = lib + ":" + env.get("LD_LIBRARY_PATH", "")
    del Server  # imported only to fail early with a clear ImportError on a non-2.x milvus-lite
    bound = port or _free_port(host)
    proc = subprocess.Popen([binary, db_file, f"{host}:{bound}", os.environ.get("LOG_LEVEL", "ERROR")],
                            env=env, cwd=data_dir, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"milvus-lite binary exited with code {proc.returncode} while starting")
        try:
            with socket.create_connection((host, bound), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("milvus-lite binary did not open its port within 60 s")
    _announce(port=bound, version=_milvus_lite_version(), engine="milvus-lite-cpp", pid=os.getpid())
    while not stop.wait(0.2):
        if proc.poll() is not None:
            sys.stderr.write(f"milvus-lite binary exited with code {proc.returncode}\n")
            os._exit(3)
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _serve_standalone(data_dir, host, port, stop):
    """Milvus standalone from the PyPI ``milvus`` package (embedded etcd + local storage): slower, fuller."""
    from milvus import MilvusServer

    server = MilvusServer(wait_for_started=False)
    server.set_base_dir(data_dir)
    server.listen_port = port or _free_port(host)
    server.start()
    try:
        server.wait_started(timeout=170_000)
        from importlib.metadata import version

        _announce(port=server.listen_port, version=version("milvus"), engine="milvus-standalone", pid=os.getpid())
        while not stop.wait(0.5):
            if not server.running:
                sys.stderr.write("milvus standalone exited on its own\n")
                os._exit(3)
    finally:
        server.stop()


def _watch_stdin(stop):
    try:
        while sys.stdin.buffer.read(1):
            pass
    except (OSError, ValueError):
        pass
    stop.set()


def main(argv):
    data_dir, host, port = argv[1], argv[2], int(argv[3])
    backend = argv[4] if len(argv) > 4 else "lite"
    if not host.startswith("127.") and host not in ("localhost", "::1"):
        _announce(error=f"refusing to bind {host}: the embedded server only listens on loopback")
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()
    version = _milvus_lite_version()
    if backend == "standalone":
        serve = _serve_standalone
    else:
        serve = _serve_v2 if version.startswith(("2.", "0.", "1.")) else _serve_v3
    try:
        serve(data_dir, host, port, stop)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line, which raises a clear error
        _announce(error=f"{type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""A throwaway Redis on a free loopback port, for the tests that run jobs through Celery workers.

Uses Debian's ``redis-server`` (package ``redis-server``, installed by scripts/system-packages.sh group
``redis``): no persistence, no config file, its data gone with it. One per test session (per xdist
worker), stopped at the session's end, and at the interpreter's exit should the session end otherwise.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def _binary() -> str:
    found = shutil.which("redis-server", path=f"{os.environ.get('PATH', '')}:/usr/bin:/usr/sbin")
    if not found:
        raise RuntimeError("redis-server not found: run scripts/system-packages.sh redis")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self) -> None:
        self.binary = _binary()
        self.dir = tempfile.mkdtemp(prefix="jixiao-redis-")
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        log = open(os.path.join(self.dir, "log"), "w")  # noqa: SIM115 - the server's whole life
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--protected-mode", "yes", "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        atexit.register(self.stop)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server ended at start:\n{self.log()}")
            if self._ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start:\n{self.log()}")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def flush(self) -> None:
        """Forget every key (the next test's queues start empty)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"FLUSHALL\r\n")
            assert s.recv(16).startswith(b"+OK")

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "log")) as fh:
                return fh.read()
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        try:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

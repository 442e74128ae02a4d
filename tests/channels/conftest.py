"""Fixtures for the channels: a real SMTP server (aiosmtpd) and a robot listener that checks each
signature the way the vendor documents it (DingTalk from the query, Feishu from the body, WeCom's key)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 OK"


class SmtpServer:
    """An SMTP server on ``port`` that keeps what it receives; started and stopped by the test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = _Inbox()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return [message_from_bytes(e.original_content, policy=policy.default) for e in self.inbox.envelopes]

    @property
    def recipients(self) -> list[list[str]]:
        return [list(e.rcpt_tos) for e in self.inbox.envelopes]


@pytest.fixture
def smtp_server():
    """A running SMTP server on a free port."""
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down():
    """A free port with no server yet: ``.start()`` brings it up on the same port."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


@dataclass
class Received:
    kind: str
    path: str
    query: dict
    body: dict
    verified: bool


@dataclass
class RobotListener:
    """Answers like the vendors: 200 with their JSON code; a bad sign is refused with the vendor's code."""

    base: str = ""
    secrets: dict = field(default_factory=lambda: {"dingtalk": "SECdingtalk-test", "feishu": "feishu-test",
                                                   "wecom": "wecom-key-1234"})
    now: object = None  # a callable: the time the vendor checks timestamps against (the test's clock)
    fail_with: int | None = None  # answer this HTTP status instead
    received: list = field(default_factory=list)

    def url(self, kind: str) -> str:
        if kind == "dingtalk":
            return f"{self.base}/dingtalk/robot/send?access_token=token-abc"
        if kind == "wecom":
            return f"{self.base}/wecom/cgi-bin/webhook/send?key={self.secrets['wecom']}"
        return f"{self.base}/feishu/open-apis/bot/v2/hook/hook-id"

    def _moment(self) -> dt.datetime:
        return self.now() if self.now else dt.datetime.now(dt.UTC)

    def check(self, kind: str, query: dict, body: dict) -> tuple[bool, dict]:
        at = self._moment()
        if kind == "dingtalk":  # the query's timestamp (ms) and sign, an hour's tolerance
            secret = self.secrets["dingtalk"]
            ts, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            wanted = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(),
                                               hashlib.sha256).digest()).decode()
            fresh = ts.isdigit() and abs(int(ts) / 1000 - at.timestamp()) < 3600
            ok = fresh and hmac.compare_digest(sign, wanted) and body.get("msgtype") == "markdown"
            return ok, ({"errcode": 0, "errmsg": "ok"} if ok else
                        {"errcode": 310000, "errmsg": "sign not match"})
        if kind == "feishu":  # the body's timestamp (s) and sign: key "ts\nsecret", empty message
            secret = self.secrets["feishu"]
            ts, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            digest = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
            wanted = base64.b64encode(digest).decode()
            fresh = ts.isdigit() and abs(int(ts) - at.timestamp()) < 3600
            ok = fresh and hmac.compare_digest(sign, wanted) and body.get("msg_type") == "text"
            return ok, ({"code": 0, "msg": "success"} if ok else
                        {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})
        ok = query.get("key", [""])[0] == self.secrets["wecom"] and body.get("msgtype") == "markdown" \
            and len(body["markdown"]["content"].encode()) <= 4096
        return ok, {"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 93000, "errmsg": "invalid webhook"}

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        kind = parts.path.split("/")[1]
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = {}
        query = parse_qs(parts.query)
        verified, answer = self.check(kind, query, body)
        self.received.append(Received(kind, parts.path, query, body, verified))
        status = self.fail_with or 200
        data = json.dumps(answer if status == 200 else {"error": "server"}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


@pytest.fixture
def robot_listener():
    listener = RobotListener()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            listener.handle(self)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    listener.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield listener
    server.shutdown()
    server.server_close()

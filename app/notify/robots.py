"""Group robots: DingTalk, WeCom (企业微信) and Feishu (飞书) custom-robot webhooks.

``build`` is pure: the URL to post to and the JSON body, signed the way each vendor documents it.
``post`` sends it with ``urllib.request`` and reads the vendor's answer: HTTP 200 *and* a JSON code 0,
anything else is a failure (the outbox retries it, app/notify/outbox.py).

The vendors' pages, and the samples they publish, as checked for this module:

- **DingTalk** 自定义机器人 · 安全设置 · 加签 (open.dingtalk.com/document/group/custom-robot-access, as
  cited by the samples; the official Python sample is reproduced at
  blog.csdn.net/weixin_31560545/article/details/116255918 and
  blog.csdn.net/weixin_38367535/article/details/123850940): ``timestamp`` in *milliseconds*; the string to
  sign is ``timestamp + "\\n" + secret``, HMAC-SHA256 keyed with the secret, Base64, then URL-encoded
  (``quote_plus``) into ``&timestamp=…&sign=…`` after the webhook's ``access_token``. The server refuses a
  timestamp more than an hour off. Body ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; the
  answer is ``{"errcode": 0, "errmsg": "ok"}`` (a bad sign: ``310000``). At most 20 messages a minute
  per robot. Known answer: secret ``secret`` at ``1700000000000`` signs
  ``OuzzJR5+xZ4/EYwqtNt6sMYZQMTa/HEGvc9miJe7XzY=`` (the ``dingding`` crate's test,
  docs.rs/crate/dingding/latest/source/src/signature.rs).
- **WeCom** 群机器人配置说明 (developer.work.weixin.qq.com/document/path/91770; reproduced at
  cnblogs.com/tiandi/p/17768525.html and docs.zhuonian.xyz/api/wecom-webhook.html): no signature — the
  ``key`` in ``…/cgi-bin/webhook/send?key=…`` is the secret, which is why the whole URL is stored sealed.
  Body ``{"msgtype": "markdown", "markdown": {"content"}}``, content at most 4096 bytes of UTF-8 (longer
  is refused with ``errcode`` 40058); the answer is ``{"errcode": 0}``. At most 20 messages a minute.
- **Feishu** 自定义机器人使用指南 · 签名校验 (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot;
  its Python sample is reproduced at createh5.com/post/277.html): ``timestamp`` in *seconds*; the string
  ``timestamp + "\\n" + secret`` is the HMAC-SHA256 **key** and the message is empty; Base64. The
  timestamp and sign travel in the body: ``{"timestamp", "sign", "msg_type": "text", "content": {"text"}}``;
  the answer is ``{"code": 0}`` (a bad sign: ``19021``; a timestamp more than an hour off is refused).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from urllib.parse import quote_plus, urlsplit

DINGTALK, WECOM, FEISHU = "dingtalk", "wecom", "feishu"
KINDS = (DINGTALK, WECOM, FEISHU)
SIGNED = frozenset({DINGTALK, FEISHU})  # the kinds that take a signing secret
WECOM_MAX_BYTES = 4096
_ANSWER_BYTES = 64 * 1024


class RobotError(Exception):
    """The robot did not take the message; the text says why (kept as the outbox row's last_error)."""


def sign_dingtalk(secret: str, timestamp_ms: int) -> str:
    """DingTalk's sign, Base64 *before* URL-encoding."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_feishu(secret: str, timestamp_s: int) -> str:
    """Feishu's sign: the timestamp and secret are the key, the message is empty."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _cut_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def build(kind: str, url: str, secret: str | None, text: str, title: str,
          ts: dt.datetime) -> tuple[str, bytes]:
    """The URL to post to and the UTF-8 JSON body of one message; ``ts`` is the signing time (aware)."""
    if kind == DINGTALK:
        if secret:
            ms = int(ts.timestamp() * 1000)
            joiner = "&" if urlsplit(url).query else "?"
            url = f"{url}{joiner}timestamp={ms}&sign={quote_plus(sign_dingtalk(secret, ms))}"
        body: dict = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    elif kind == WECOM:
        body = {"msgtype": "markdown", "markdown": {"content": _cut_utf8(text, WECOM_MAX_BYTES)}}
    elif kind == FEISHU:
        body = {"msg_type": "text", "content": {"text": text}}
        if secret:
            seconds = int(ts.timestamp())
            body = {"timestamp": str(seconds), "sign": sign_feishu(secret, seconds), **body}
    else:
        raise ValueError(f"unknown robot kind {kind!r}")
    return url, json.dumps(body, ensure_ascii=False).encode("utf-8")


def answer_ok(kind: str, answer: dict) -> bool:
    """The vendor's own success code: ``errcode`` for DingTalk and WeCom, ``code`` for Feishu."""
    code = answer.get("code", answer.get("StatusCode")) if kind == FEISHU else answer.get("errcode")
    return code == 0


def post(kind: str, url: str, body: bytes, *, timeout: float) -> None:
    """Send one built message; :class:`RobotError` unless HTTP 200 with the vendor's code 0."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked scheme
            status, raw = response.status, response.read(_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        raise RobotError(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise RobotError(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from exc
    if status != 200:
        raise RobotError(f"HTTP {status}")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeError, ValueError) as exc:
        raise RobotError("the answer is not JSON") from exc
    if not isinstance(answer, dict) or not answer_ok(kind, answer):
        raise RobotError(f"refused: {json.dumps(answer, ensure_ascii=False)[:300]}")


def url_problem(url: str, *, allow_http: bool) -> str | None:
    """Why a webhook address cannot be used, in plain English for the form (None: usable)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in (("https", "http") if allow_http else ("https",)) or not parts.hostname:
        return "https"
    if parts.username or parts.password:
        return "https"
    return None


def masked(url: str) -> str:
    """What the screen shows of a stored address: the host and the last 4 characters."""
    host = urlsplit(url).hostname or "?"
    return f"{host} …{url[-4:]}" if len(url) > 4 else host

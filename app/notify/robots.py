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

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from .. import clock
from ..locales import default_locale, is_english
from ..models import Appraisal, Cycle, CycleDeadline, Employee, Outbox, OutboxState, RobotWebhook, Station

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


# --- what the robots say: station summaries, built when sent from the current counts ---------------

# The steps a summary counts, in order; "to sign" counts published results only.
STEPS = (("pending_review", _l("To review")), ("pending_second_review", _l("Second review")),
         ("approved", _l("To sign")), ("disputed", _l("Disputed")))
_MARKDOWN = str.maketrans({c: " " for c in "*_`#[]()<>|~\n"})


def queue_summaries(session, station_ids, at: dt.datetime) -> int:
    """Queue one summary per enabled robot of these stations, plus the network-wide robots, for the
    current window (``JIXIAO_ROBOT_WINDOW_SECONDS``): however many events a window holds, a robot posts
    once, at its end (the vendors allow 20 messages a minute). In the caller's transaction; how many
    rows were new."""
    stations = sorted({int(s) for s in station_ids if s is not None})
    if not stations:
        return 0
    length = float(current_app.config["JIXIAO_ROBOT_WINDOW_SECONDS"])
    start = dt.datetime.fromtimestamp(at.timestamp() // length * length, dt.UTC)
    end = start + dt.timedelta(seconds=length)
    hooks = session.execute(select(RobotWebhook.id, RobotWebhook.kind, RobotWebhook.station_id).where(
        RobotWebhook.enabled.is_(True),
        RobotWebhook.station_id.in_(stations) | RobotWebhook.station_id.is_(None))).all()
    rows = [{"channel": kind, "recipient": f"robot:{hook_id}", "webhook_id": hook_id,
             "idempotency_key": f"robot:{hook_id}:{station or 'all'}:{start:%Y-%m-%dT%H:%M:%S}",
             "payload": {"station_id": station}, "state": OutboxState.PENDING, "attempts": 0,
             "next_attempt_at": end, "created_at": at}
            for hook_id, kind, station in hooks]
    if not rows:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    added = session.execute(insert(Outbox.__table__).values(rows)
                            .on_conflict_do_nothing(index_elements=["idempotency_key"])).rowcount
    session.info["jixiao_outbox"] = True
    return max(added or 0, 0)


def message_text(session, kind: str, payload: dict) -> tuple[str, str | None]:
    """The title and text of a robot message, in the configured language; text None: nothing waits."""
    base = current_app.config["JIXIAO_BASE_URL"]
    with force_locale(default_locale()):
        title = gettext("Jixiao")
        if payload.get("test"):
            lines, url = [gettext("Test message: this robot is set up.")], base + "/"
        else:
            station = payload.get("station_id")
            lines = summary_lines(session, station)
            if not lines:
                return title, None
            url = base + "/appraisal/inbox/" + (f"?station={station}" if station else "")
        return title, _format(kind, title, lines, url, gettext("Open the to-do list"))


def _format(kind: str, title: str, lines: list[str], url: str, open_label: str) -> str:
    if kind == FEISHU:  # plain text
        return "\n".join([title, *lines, url])
    link = f"[{open_label}]({url})"
    if kind == DINGTALK:
        return "\n".join([f"#### {title}", "", *(f"- {line}" for line in lines), "", link])
    return "\n".join([f"**{title}**", *(f"> {line}" for line in lines), link])


def summary_lines(session, station_id: int | None) -> list[str]:
    """One line per station with work waiting ("S01: To review 5 (supervisor 张三), To sign 3, due
    12-10"). Counts, supervisors' names and due dates only: no employee, no result."""
    current = Appraisal.is_current.is_(True)
    published = Appraisal.cycle_id.in_(select(Cycle.id).where(Cycle.published_at.is_not(None)))
    waiting = current & (Appraisal.state.in_(["pending_review", "pending_second_review", "disputed"])
                         | ((Appraisal.state == "approved") & published))
    if station_id is not None:
        waiting &= Appraisal.station_id == station_id
    counts = session.execute(select(Appraisal.station_id, Appraisal.state, func.count())
                             .where(waiting).group_by(Appraisal.station_id, Appraisal.state)).all()
    if not counts:
        return []
    subject, reviewer = aliased(Employee), aliased(Employee)
    reviewers = session.execute(
        select(Appraisal.station_id, reviewer.name).distinct()
        .join(subject, subject.id == Appraisal.employee_id)
        .join(reviewer, reviewer.id == func.coalesce(Appraisal.reviewer_id, subject.supervisor_id))
        .where(waiting, Appraisal.state == "pending_review").order_by(reviewer.name)).all()
    dues = session.execute(
        select(Appraisal.station_id, func.min(CycleDeadline.due_at))
        .join(CycleDeadline, (CycleDeadline.cycle_id == Appraisal.cycle_id)
              & (CycleDeadline.state == Appraisal.state))
        .where(waiting).group_by(Appraisal.station_id)).all()
    codes = dict(session.execute(select(Station.id, Station.code)).all())
    by_station: dict[int, dict[str, int]] = {}
    for station, state, n in counts:
        by_station.setdefault(station, {})[str(state)] = n
    names: dict[int, list[str]] = {}
    for station, name in reviewers:
        names.setdefault(station, []).append(name.translate(_MARKDOWN))  # names are not markup
    due = {station: moment for station, moment in dues}
    sep = ", " if is_english(default_locale()) else "、"
    lines = []
    for station in sorted(by_station, key=lambda s: codes.get(s, "")):
        parts = []
        for state, label in STEPS:
            if state in by_station[station]:
                part = gettext("%(step)s %(n)s", step=label, n=by_station[station][state])
                if state == "pending_review" and names.get(station):
                    part += gettext(" (supervisor %(names)s)", names=sep.join(names[station][:3]))
                parts.append(part)
        code = codes.get(station, "?").translate(_MARKDOWN)
        line = gettext("%(station)s: %(counts)s", station=code, counts=sep.join(parts))
        if due.get(station) is not None:
            day = clock.to_local(due[station]).strftime("%m-%d")
            line += gettext(", due %(date)s", date=day)
        lines.append(line)
    return lines

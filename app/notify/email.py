"""E-mail through SMTP (the standard library's smtplib): one multipart message per recipient and send.

A message is text and HTML (``set_content`` then ``add_alternative``), rendered from
``templates/notify/email.txt`` and ``email.html`` (autoescaped) in the recipient's language, with absolute
links (``JIXIAO_BASE_URL``: a worker has no request). Its ``Message-ID`` is derived from the outbox rows'
idempotency keys, so that a mail sent again after a worker died between SMTP ``DATA`` and its fenced
UPDATE is recognisably the same message to the receiving side.

Settings: ``MAIL_SERVER`` (unset: no mail), ``MAIL_PORT``, ``MAIL_USE_SSL`` (SMTPS), ``MAIL_USE_TLS``
(STARTTLS), ``MAIL_USERNAME``/``MAIL_PASSWORD``, ``MAIL_DEFAULT_SENDER``, ``MAIL_TIMEOUT``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import smtplib
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from flask import render_template
from flask_babel import force_locale, gettext
from markupsafe import Markup


@dataclass(frozen=True)
class Item:
    """One notification as a mail shows it: already rendered in the reader's language."""

    title: str
    text: str
    html: str  # an HTML fragment, escaped by whoever rendered it (app/notify/messages.py)
    url: str  # absolute


class MailError(Exception):
    """The mail server could not be reached, or it refused the message."""


def message_id(keys: Sequence[str]) -> str:
    """The same rows always give the same Message-ID."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()
    return f"<{digest[:32]}@jixiao>"


def absolute(base_url: str, link: str | None) -> str:
    """``JIXIAO_BASE_URL`` + a stored path (only paths are stored); the notification list without one."""
    path = link if link and link.startswith("/") and not link.startswith("//") else "/notifications/"
    return base_url.rstrip("/") + path


def subject_for(items: Sequence[Item]) -> str:
    """One item: its title; several: how many (in the active language)."""
    if len(items) == 1:
        return items[0].title
    return gettext("%(n)s new notifications", n=len(items))


def compose(*, sender: str, to: str, items: Sequence[Item], locale: str, keys: Sequence[str],
            base_url: str, at: dt.datetime) -> EmailMessage:
    """One mail of ``items`` to ``to``, in ``locale``: text, then the HTML alternative."""
    with force_locale(locale):
        subject = subject_for(items)
        context = {"items": items, "subject": subject, "locale": locale,
                   "settings_url": absolute(base_url, "/notifications/settings")}
        text = render_template("notify/email.txt", **context)
        # the fragments messages.render escaped are markup for the autoescaped HTML template
        html_items = [Item(i.title, i.text, Markup(i.html), i.url) for i in items]
        html = render_template("notify/email.html", **{**context, "items": html_items})
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(at.astimezone(dt.UTC))
    message["Message-ID"] = message_id(keys)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


@contextmanager
def connection(config: Mapping) -> Iterator[smtplib.SMTP]:
    """An SMTP session per the ``MAIL_*`` settings; :class:`MailError` when it cannot be opened."""
    server, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25)
    timeout = float(config.get("MAIL_TIMEOUT") or 10)
    try:
        if config.get("MAIL_USE_SSL"):
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(server, port, timeout=timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(server, port, timeout=timeout)
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(_describe(exc)) from exc
    try:
        yield smtp
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def send(smtp: smtplib.SMTP, message: EmailMessage) -> None:
    """Hand one message to the server; :class:`MailError` when it is refused."""
    try:
        smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(_describe(exc)) from exc


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]

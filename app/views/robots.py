"""HR's group robots (/robots/: DingTalk, WeCom, Feishu) and the deliveries of mails and robot messages
(/robots/deliveries: pending and failed ones, each with its error, and a retry).

A robot's address and secret are sealed when saved (app/notify/crypto.py) and never shown back: the
list shows the host and the last four characters; an edit leaves them unchanged unless new ones are
typed. A test message is queued like any other (nothing is sent inside a request).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from .. import clock
from .. import permissions as p
from ..clock import local_text
from ..extensions import db
from ..models import Outbox, OutboxState, RobotWebhook, Station
from ..notify import robots
from ..notify.crypto import SecretUnreadable, seal, unseal
from ..web.context import current_username

KIND_LABELS = {robots.DINGTALK: _l("DingTalk"), robots.WECOM: _l("WeCom"),
               robots.FEISHU: _l("Feishu")}
SHOWN_STATES = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.FAILED)
MAX_URL = 2000
MAX_SECRET = 500
DELIVERIES_SHOWN = 200


@dataclass
class RobotForm:
    """What the add and edit forms hold; the address and secret are only ever typed, never filled in."""

    kind: str = robots.DINGTALK
    station_id: int | None = None
    name: str = ""
    url: str = ""
    secret: str = ""
    remove_secret: bool = False
    enabled: bool = True

    @classmethod
    def posted(cls) -> RobotForm:
        form = request.form
        station = form.get("station_id", "")
        return cls(kind=form.get("kind", ""), name=form.get("name", "").strip(),
                   station_id=int(station) if station.isascii() and station.isdigit() else None,
                   url=form.get("url", "").strip(), secret=form.get("secret", "").strip(),
                   remove_secret=form.get("remove_secret") == "1", enabled=form.get("enabled") == "1")

    def problems(self, *, new: bool, station_ids: set[int]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.kind not in robots.KINDS:
            errors["kind"] = _("Choose DingTalk, WeCom or Feishu.")
        if not self.name or len(self.name) > 100:
            errors["name"] = _("A name of 1 to 100 characters is required.")
        if self.station_id is not None and self.station_id not in station_ids:
            errors["station_id"] = _("There is no such station.")
        if self.url or new:
            allow_http = bool(current_app.config["JIXIAO_ROBOT_ALLOW_HTTP"])
            if not self.url:
                errors["url"] = _("The webhook address is required.")
            elif len(self.url) > MAX_URL or robots.url_problem(self.url, allow_http=allow_http):
                errors["url"] = _("The webhook address must be an https:// address, as the robot's "
                                  "settings show it.")
        if len(self.secret) > MAX_SECRET:
            errors["secret"] = _("The secret is too long.")
        elif self.secret and self.kind == robots.WECOM:
            errors["secret"] = _("WeCom robots have no signing secret: leave it empty.")
        return errors


def _shown_address(hook: RobotWebhook) -> tuple[str, bool]:
    """The host and last four characters of the stored address; False when it cannot be read."""
    try:
        return robots.masked(unseal(hook.url_encrypted)), True
    except SecretUnreadable:
        return "", False


class RobotView(BaseView):
    route_base = "/robots"
    class_permission_name = p.ROBOT
    method_permission_name = {"index": p.READ, "deliveries": p.READ, "add": p.WRITE, "edit": p.READ,
                              "save": p.WRITE, "toggle": p.WRITE, "test": p.WRITE, "retry": p.WRITE}
    default_view = "index"
    show_in_menu = True

    def _stations(self) -> list[Station]:
        return list(db.session.scalars(select(Station).order_by(Station.code)))

    def _page(self, form: RobotForm | None = None, errors: dict | None = None,
              editing: RobotWebhook | None = None, status: int = 200):
        hooks = db.session.scalars(select(RobotWebhook).order_by(RobotWebhook.station_id.is_(None).desc(),
                                                                 RobotWebhook.name, RobotWebhook.id)).all()
        stations = self._stations()
        codes = {s.id: f"{s.code} {s.name}" for s in stations}
        rows = []
        for hook in hooks:
            shown, readable = _shown_address(hook)
            rows.append({"hook": hook, "address": shown, "readable": readable,
                         "station": codes.get(hook.station_id, ""),
                         "last_sent": local_text(hook.last_sent_at) if hook.last_sent_at else ""})
        editing_address = _shown_address(editing) if editing is not None else ("", True)
        return self.render_template(
            "notify/robots.html", rows=rows, stations=stations, kinds=KIND_LABELS, form=form or RobotForm(),
            errors=errors or {}, editing=editing, editing_address=editing_address,
            signed=robots.SIGNED), status

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        return self._page()

    @expose("/", methods=["POST"])
    @has_access
    def add(self):
        form = RobotForm.posted()
        errors = form.problems(new=True, station_ids={s.id for s in self._stations()})
        if errors:
            return self._page(form, errors, status=422)
        at = clock.now()
        db.session.add(RobotWebhook(
            kind=form.kind, name=form.name, station_id=form.station_id, url_encrypted=seal(form.url),
            secret_encrypted=seal(form.secret) if form.secret else None, enabled=True,
            created_by=current_username(), created_at=at, updated_at=at))
        db.session.commit()
        flash(_("The robot “%(name)s” was added.", name=form.name), "success")
        return redirect(url_for("RobotView.index"))

    def _hook(self, hook_id: int) -> RobotWebhook:
        hook = db.session.get(RobotWebhook, hook_id)
        if hook is None:
            abort(404)
        return hook

    @expose("/<int:hook_id>/edit", methods=["GET"])
    @has_access
    def edit(self, hook_id: int):
        hook = self._hook(hook_id)
        form = RobotForm(kind=hook.kind, station_id=hook.station_id, name=hook.name, enabled=hook.enabled)
        return self._page(form, editing=hook)

    @expose("/<int:hook_id>/edit", methods=["POST"])
    @has_access
    def save(self, hook_id: int):
        hook = self._hook(hook_id)
        form = RobotForm.posted()
        errors = form.problems(new=False, station_ids={s.id for s in self._stations()})
        readable = _shown_address(hook)[1]
        if not form.url and (form.kind != hook.kind or not readable):
            errors.setdefault("url", _("Type the webhook address again (a new kind, or a changed SECRET_KEY "
                                       "made the stored one unreadable)."))
        if errors:
            return self._page(form, errors, editing=hook, status=422)
        hook.kind, hook.name, hook.station_id = form.kind, form.name, form.station_id
        hook.enabled = form.enabled
        if form.url:
            hook.url_encrypted = seal(form.url)
        if form.secret:
            hook.secret_encrypted = seal(form.secret)
        elif form.remove_secret or form.kind == robots.WECOM:
            hook.secret_encrypted = None
        hook.updated_at, hook.last_error = clock.now(), None
        db.session.commit()
        flash(_("The robot “%(name)s” was saved.", name=hook.name), "success")
        return redirect(url_for("RobotView.index"))

    @expose("/<int:hook_id>/toggle", methods=["POST"])
    @has_access
    def toggle(self, hook_id: int):
        hook = self._hook(hook_id)
        hook.enabled, hook.updated_at = not hook.enabled, clock.now()
        db.session.commit()
        flash(_("The robot “%(name)s” is on.", name=hook.name) if hook.enabled else
              _("The robot “%(name)s” is off: it posts nothing until it is turned on again.", name=hook.name),
              "success")
        return redirect(url_for("RobotView.index"))

    @expose("/<int:hook_id>/test", methods=["POST"])
    @has_access
    def test(self, hook_id: int):
        hook = self._hook(hook_id)
        if not hook.enabled:
            flash(_("Turn the robot on before sending it a test message."), "danger")
            return redirect(url_for("RobotView.index"))
        at = clock.now()
        db.session.add(Outbox(channel=hook.kind, recipient=f"robot:{hook.id}", webhook_id=hook.id,
                              idempotency_key=f"robot-test:{hook.id}:{uuid.uuid4().hex}",
                              payload={"test": True},
                              state=OutboxState.PENDING, attempts=0, next_attempt_at=at, created_at=at))
        db.session.info["jixiao_outbox"] = True  # the job layer sends it after the commit
        db.session.commit()
        flash(_("A test message to “%(name)s” is queued; its delivery is listed under Deliveries until it "
                "is sent.", name=hook.name), "success")
        return redirect(url_for("RobotView.deliveries"))

    @expose("/deliveries", methods=["GET"])
    @has_access
    def deliveries(self):
        failed_only = request.args.get("state") == OutboxState.FAILED
        states = (OutboxState.FAILED,) if failed_only else SHOWN_STATES
        rows = db.session.scalars(select(Outbox).where(Outbox.state.in_(states))
                                  .order_by(Outbox.id.desc()).limit(DELIVERIES_SHOWN)).all()
        names = dict(db.session.execute(select(RobotWebhook.id, RobotWebhook.name)).all())
        shown = [{"row": row, "to": names.get(row.webhook_id, "") if row.webhook_id else row.recipient,
                  "created": local_text(row.created_at), "next": local_text(row.next_attempt_at)}
                 for row in rows]
        return self.render_template("notify/deliveries.html", rows=shown, failed_only=failed_only,
                                    kinds=KIND_LABELS, limit=DELIVERIES_SHOWN)

    @expose("/deliveries/<int:row_id>/retry", methods=["POST"])
    @has_access
    def retry(self, row_id: int):
        table = Outbox.__table__
        retried = db.session.execute(update(table).where(
            table.c.id == row_id, table.c.state == OutboxState.FAILED,
        ).values(state=OutboxState.PENDING, attempts=0, next_attempt_at=clock.now(), claim=None)).rowcount
        if retried:
            db.session.info["jixiao_outbox"] = True
        db.session.commit()
        if retried:
            flash(_("The delivery is queued again."), "success")
        else:
            flash(_("This delivery is not failed (any more): nothing to retry."), "warning")
        return redirect(url_for("RobotView.deliveries", state=request.args.get("state") or None))


"""The rule-set versions: the list, one version with its problems, drafts, export and publishing."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...locales import current_locale
from ...models import (
    PublishedVersionLocked,
    Station,
)
from ...rules import CATEGORIES
from ...services import rules as service
from ...web.context import current_username
from ...web.labels import category_name, segment_label
from ...web.verify import content_disposition
from .screen import (
    version_or_404,
)


def _draft_contents(version) -> dict[str, int]:
    """What a draft holds, counted (the discard button says what would be lost)."""
    return {"indicators": len(version.indicators), "templates": len(version.templates),
            "swot": len(version.swot_items)}


class VersionScreens:
    @expose("/")
    @has_access
    def index(self):
        current = service.current_version(db.session)
        return self.render("rules/index.html", versions=service.versions(db.session), current=current,
                           discarded=service.discarded_drafts(db.session),
                           restore_until=service.restore_until)

    @expose("/draft", methods=["POST"])
    @has_access
    def new_draft(self):
        based_on = request.form.get("based_on", type=int)
        if based_on is not None:
            version_or_404(based_on)
        try:
            version = service.new_draft(db.session, based_on_id=based_on, user=current_username())
        except service.NoRuleSet:  # here a base that is no published version is a missing page (the API: 422)
            abort(404)
        flash(_("Draft v%(number)s created: edit it, then publish it.", number=version.number), "success")
        return redirect(url_for("RulesView.version", vid=version.id))

    @expose("/v/<int:vid>/")
    @has_access
    def version(self, vid: int):
        version = version_or_404(vid, discarded=True)
        ruleset = service.ruleset_from_version(version)
        problems = service.check_ruleset(ruleset, db.session)
        by_item: dict[str, list] = {}
        for pr in problems:
            by_item.setdefault(pr.item.split(" test ")[0].split(" line ")[0], []).append(pr)
        stations = list(db.session.scalars(select(Station).order_by(Station.code)))
        return self.render("rules/version.html", version=version, ruleset=ruleset, problems=problems,
                           by_item=by_item, stations=stations, has_errors=service.has_errors(problems),
                           categories=CATEGORIES, category_name=category_name,
                           current=service.current_version(db.session),
                           restore_until=service.restore_until(version), lost=_draft_contents(version))

    @expose("/v/<int:vid>/discard", methods=["POST"])
    @has_access
    def discard(self, vid: int):
        version = version_or_404(vid)
        try:
            service.discard_draft(db.session, version.id, user=current_username())
        except PublishedVersionLocked:
            flash(_("A published version cannot be discarded."), "danger")
            return redirect(url_for("RulesView.version", vid=vid))
        flash(_("Draft v%(number)s discarded. It can be restored from the rule sets page for %(days)s days.",
                number=version.number, days=service.DISCARD_KEEP_DAYS), "info")
        return redirect(url_for("RulesView.index"))

    @expose("/v/<int:vid>/restore", methods=["POST"])
    @has_access
    def restore(self, vid: int):
        version = version_or_404(vid, discarded=True)
        try:
            service.restore_draft(db.session, version.id)
        except service.NoRuleSet:
            flash(_("This draft can no longer be restored."), "warning")
            return redirect(url_for("RulesView.index"))
        flash(_("Draft v%(number)s restored: edit it, then publish it.", number=version.number), "success")
        return redirect(url_for("RulesView.version", vid=vid))

    @expose("/v/<int:vid>/export")
    @has_access
    def export(self, vid: int):
        version = version_or_404(vid)
        return self.render("rules/export.html", version=version, files=service.export_files(db.session, vid))

    @expose("/v/<int:vid>/rules-v<int:number>.zip")
    @has_access
    def export_zip(self, vid: int, number: int):
        version = version_or_404(vid)
        if number != version.number:
            abort(404)
        name = f"rules-v{version.number}.zip"
        response = Response(service.export_zip(db.session, vid), mimetype="application/zip")
        response.headers["Content-Disposition"] = content_disposition(name, name)
        return response

    @expose("/v/<int:vid>/files/<name>")
    @has_access
    def export_file(self, vid: int, name: str):
        version_or_404(vid)
        files = service.export_files(db.session, vid)
        if name not in files:
            abort(404)
        response = Response(files[name], mimetype="application/toml; charset=utf-8")
        response.headers["Content-Disposition"] = content_disposition(name, name)
        return response

    def _publish_page(self, version, note: str | None = None, status: int = 200):
        ruleset, problems, previous, diff = service.publish_preview(db.session, version.id)
        old = service.ruleset_for_version(db.session, previous.id) if previous is not None else None
        changes = service.readable_changes(diff, old, ruleset, current_locale(), segment_label)
        return self.render("rules/publish.html", version=version, problems=problems, previous=previous,
                           changes=changes, has_errors=service.has_errors(problems),
                           note=version.note if note is None else note), status

    @expose("/v/<int:vid>/publish")
    @has_access
    def publish_page(self, vid: int):
        version = version_or_404(vid)
        if version.is_published:
            return redirect(url_for("RulesView.version", vid=vid))
        return self._publish_page(version)

    @expose("/v/<int:vid>/publish", methods=["POST"])
    @has_access
    def publish(self, vid: int):
        version = version_or_404(vid)
        note = request.form.get("note", "")[:2000]
        if not request.form.get("confirm") and not version.is_published:  # the page again, the note kept
            flash(_("Tick the box to confirm that you want to publish this version."), "warning")
            return self._publish_page(version, note, 422)
        try:
            result = service.publish(db.session, vid, user=current_username(), note=note)
        except service.NotADraft:
            flash(_("This version is published already."), "warning")
            return redirect(url_for("RulesView.version", vid=vid))
        except service.RuleSetInvalid:
            message = _("The rule set has errors (a failing test case, a broken formula…); fix them first.")
            flash(message, "danger")
            return redirect(url_for("RulesView.publish_page", vid=vid))
        flash(_("Version v%(number)s published: new cycles use it.", number=result.version.number), "success")
        return redirect(url_for("RulesView.version", vid=version.id))

"""The rule-set versions: the list, one version with its problems, drafts, export and publishing."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...models import (
    PublishedVersionLocked,
    Station,
)
from ...rules import CATEGORIES
from ...services import rules as service
from ...web.context import current_username
from .screen import (
    version_or_404,
)


class VersionScreens:
    @expose("/")
    @has_access
    def index(self):
        current = service.current_version(db.session)
        return self.render("rules/index.html", versions=service.versions(db.session), current=current)

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
        version = version_or_404(vid)
        ruleset = service.ruleset_from_version(version)
        problems = service.check_ruleset(ruleset, db.session)
        by_item: dict[str, list] = {}
        for pr in problems:
            by_item.setdefault(pr.item.split(" test ")[0].split(" line ")[0], []).append(pr)
        stations = list(db.session.scalars(select(Station).order_by(Station.code)))
        return self.render("rules/version.html", version=version, ruleset=ruleset, problems=problems,
                           by_item=by_item, stations=stations, has_errors=service.has_errors(problems),
                           categories=CATEGORIES, current=service.current_version(db.session))

    @expose("/v/<int:vid>/discard", methods=["POST"])
    @has_access
    def discard(self, vid: int):
        version = version_or_404(vid)
        try:
            service.delete_draft(db.session, version.id)
        except PublishedVersionLocked:
            flash(_("A published version cannot be discarded."), "danger")
            return redirect(url_for("RulesView.version", vid=vid))
        flash(_("Draft discarded."), "info")
        return redirect(url_for("RulesView.index"))

    @expose("/v/<int:vid>/export")
    @has_access
    def export(self, vid: int):
        version = version_or_404(vid)
        return self.render("rules/export.html", version=version, files=service.export_files(db.session, vid))

    @expose("/v/<int:vid>/publish")
    @has_access
    def publish_page(self, vid: int):
        version = version_or_404(vid)
        if version.is_published:
            return redirect(url_for("RulesView.version", vid=vid))
        _, problems, previous, diff = service.publish_preview(db.session, vid)
        return self.render("rules/publish.html", version=version, problems=problems, previous=previous,
                           diff=diff, has_errors=service.has_errors(problems))

    @expose("/v/<int:vid>/publish", methods=["POST"])
    @has_access
    def publish(self, vid: int):
        version = version_or_404(vid)
        try:
            note = request.form.get("note", "")[:2000]
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

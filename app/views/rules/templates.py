"""A template's form: positions, stations and segments it applies to, weighted lines, weights per station."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...locales import current_locale
from ...models import (
    PublishedVersionLocked,
    RuleTemplate,
    Station,
)
from ...rules import SEGMENTS, forms
from ...rules.model import expr_text
from ...services import rules as service
from .screen import (
    formula_names,
    period,
    row_or_404,
    version_or_404,
)


class TemplateScreens:
    def _template_page(self, version, row, form: dict, lines: list[dict], errors: dict, status: int = 200):
        ruleset = service.ruleset_from_version(version)
        start, end = period(request.args)
        table = None
        template = next((t for t in ruleset.templates if row is not None and t.code == row.code), None)
        if template is not None and status == 200:
            table = service.weight_table(db.session, ruleset, template, start, end, locale=current_locale())
        stations = list(db.session.scalars(select(Station).order_by(Station.code)))
        return self.render(
            "rules/template.html", version=version, row=row, form=form, lines=lines, errors=errors,
            indicators=ruleset.indicators, stations=stations, segments=SEGMENTS, table=table,
            start=start, end=end, names=formula_names(version),
        ), status

    @expose("/v/<int:vid>/template/new")
    @expose("/v/<int:vid>/template/<int:tid>")
    @has_access
    def template_form(self, vid: int, tid: int | None = None):
        version = version_or_404(vid)
        row = row_or_404(RuleTemplate, version, tid) if tid else None
        if row is None:
            form, lines = {"positions": "", "stations": [], "segments": []}, []
        else:
            t = service.template_dict(row)
            form = {**t, "positions": ", ".join(t["positions"])}
            lines = [{"indicator": ln["indicator"], "weight": expr_text(ln["weight"])} for ln in t["line"]]
        return self._template_page(version, row, form, lines, {})

    @expose("/v/<int:vid>/template/new", methods=["POST"])
    @expose("/v/<int:vid>/template/<int:tid>", methods=["POST"])
    @has_access
    def template_save(self, vid: int, tid: int | None = None):
        version = version_or_404(vid)
        if version.is_published:
            abort(409)
        row = row_or_404(RuleTemplate, version, tid) if tid else None
        form, lines = forms.template_fields(request.form)
        try:
            row = service.save_template(db.session, version, row, form, lines)
        except service.RuleRefused as exc:
            errors = forms.field_errors(exc.problems, current_locale())
            return self._template_page(version, row, form, lines, errors, 422)
        flash(_("Template %(code)s saved.", code=row.code), "success")
        for warning in service.weight_warnings(row):
            flash(warning.message(current_locale()), "warning")
        return redirect(url_for("RulesView.template_form", vid=vid, tid=row.id))

    @expose("/v/<int:vid>/template/<int:tid>/delete", methods=["POST"])
    @has_access
    def template_delete(self, vid: int, tid: int):
        version = version_or_404(vid)
        row = row_or_404(RuleTemplate, version, tid)
        try:
            service.delete_row(db.session, row)
        except PublishedVersionLocked:
            abort(409)
        flash(_("Template deleted."), "info")
        return redirect(url_for("RulesView.version", vid=vid))

"""A station's SWOT analysis: four quadrants of items, each with weighted indicators."""

from __future__ import annotations

import datetime as dt
import json

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...locales import current_locale
from ...models import (
    PublishedVersionLocked,
    RuleSwotItem,
    Station,
)
from ...rules import CATEGORIES, SWOT_KINDS, forms
from ...rules.model import CATEGORY_EN
from ...services import rules as service
from .screen import (
    formula_names,
    row_or_404,
    version_or_404,
)


class SwotScreens:
    @expose("/v/<int:vid>/swot/<code>")
    @has_access
    def swot(self, vid: int, code: str, errors: dict | None = None, failed: dict | None = None,
             status: int = 200):
        version = version_or_404(vid)
        station = db.session.scalar(select(Station).where(Station.code == code))
        if station is None:
            abort(404)
        items = [s for s in version.swot_items if s.station_code == code]
        years = sorted({s.year for s in items}, reverse=True)
        year = request.args.get("year", type=int) or (years[0] if years else dt.date.today().year)
        quadrants = {
            k: [(s, [(ln.indicator_code, ln.weight) for ln in s.lines],
                 ", ".join(json.loads(s.positions or "[]")))
                for s in items if s.kind == k and s.year == year]
            for k in SWOT_KINDS
        }
        ruleset = service.ruleset_from_version(version)
        # SWOT custom indicators first in the pickers: they are what a SWOT item is for.
        groups = [(c, [i for i in ruleset.indicators if i.category == c])
                  for c in ("SWOT自定义", *[c for c in CATEGORIES if c != "SWOT自定义"])]
        row_ids = {r.code: r.id for r in version.indicators}
        custom = [(i, row_ids.get(i.code)) for i in ruleset.indicators if i.category == "SWOT自定义"]
        return self.render(
            "rules/swot.html", version=version, station=station, quadrants=quadrants, year=year, years=years,
            indicators=ruleset.indicators, groups=[g for g in groups if g[1]], custom=custom,
            category_labels=CATEGORY_EN, errors=errors or {}, failed=failed or {},
            names=formula_names(version),
        ), status

    @expose("/v/<int:vid>/swot/<code>/item/new", methods=["POST"])
    @expose("/v/<int:vid>/swot/<code>/item/<int:sid>", methods=["POST"])
    @has_access
    def swot_save(self, vid: int, code: str, sid: int | None = None):
        version = version_or_404(vid)
        if version.is_published:
            abort(409)
        row = row_or_404(RuleSwotItem, version, sid) if sid else None
        if row is not None and row.station_code != code:
            abort(404)
        f = request.form
        fields, lines = forms.swot_fields(f)
        try:
            row = service.save_swot_item(db.session, version, row, code, fields, lines)
        except service.RuleRefused as exc:
            failed = {"id": sid or "new", "kind": f.get("kind", ""), "title": f.get("title", ""),
                      "positions": f.get("positions", ""), "description": f.get("description", ""),
                      "lines": lines}
            errors = forms.field_errors(exc.problems, current_locale())
            return self.swot(vid, code, errors=errors, failed=failed, status=422)
        flash(_("SWOT item saved."), "success")
        for warning in service.weight_warnings(row):
            flash(warning.message(current_locale()), "warning")
        return redirect(url_for("RulesView.swot", vid=vid, code=code, year=fields["year"]))

    @expose("/v/<int:vid>/swot/<code>/item/<int:sid>/delete", methods=["POST"])
    @has_access
    def swot_delete(self, vid: int, code: str, sid: int):
        version = version_or_404(vid)
        row = row_or_404(RuleSwotItem, version, sid)
        year = row.year
        try:
            service.delete_row(db.session, row)
        except PublishedVersionLocked:
            abort(409)
        flash(_("SWOT item deleted."), "info")
        return redirect(url_for("RulesView.swot", vid=vid, code=code, year=year))

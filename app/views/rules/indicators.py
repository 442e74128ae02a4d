"""An indicator's form: formulas with a live check, test cases, and a preview on real data."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...locales import current_locale
from ...models import (
    Employee,
    PublishedVersionLocked,
    RuleIndicator,
    Station,
)
from ...rules import CATEGORIES, DIRECTIONS, KINDS, Indicator, Problem, forms
from ...rules.cookbook import RECIPES
from ...rules.model import expr_text
from ...scoping import get_or_404
from ...services import rules as service
from .screen import (
    back_args,
    formula_names,
    period,
    row_or_404,
    swot_back,
    version_or_404,
)


class IndicatorScreens:
    def _indicator_page(self, version, row, form: dict, tests: list[dict], errors: dict, status: int = 200):
        employees = list(db.session.scalars(select(Employee).order_by(Employee.employee_no)))
        stations = list(db.session.scalars(select(Station).order_by(Station.code)))
        start, end = period({})
        return self.render(
            "rules/indicator.html", version=version, row=row, form=form, tests=tests, errors=errors,
            categories=CATEGORIES, kinds=KINDS, directions=DIRECTIONS, employees=employees, stations=stations,
            start=start, end=end, names=formula_names(version), back=swot_back(), recipes=RECIPES,
        ), status

    @expose("/v/<int:vid>/indicator/new")
    @expose("/v/<int:vid>/indicator/<int:iid>")
    @has_access
    def indicator_form(self, vid: int, iid: int | None = None):
        version = version_or_404(vid)
        row = row_or_404(RuleIndicator, version, iid) if iid else None
        if row is None:
            category = request.args.get("category", "")
            form = {"category": category if category in CATEGORIES else CATEGORIES[0], "kind": "formula",
                    "direction": "higher"}
            tests = []
        else:
            table = service.indicator_dict(row)
            form = {k: expr_text(v) if k in ("value", "target", "score") else v for k, v in table.items()}
            tests = forms.shown_tests(table["test"])
        return self._indicator_page(version, row, form, tests, {})

    @expose("/v/<int:vid>/indicator/new", methods=["POST"])
    @expose("/v/<int:vid>/indicator/<int:iid>", methods=["POST"])
    @has_access
    def indicator_save(self, vid: int, iid: int | None = None):
        version = version_or_404(vid)
        if version.is_published:
            abort(409)
        row = row_or_404(RuleIndicator, version, iid) if iid else None
        form = forms.indicator_fields(request.form)
        tables, problems, rows = forms.parse_tests(request.form)
        if problems:
            errors = forms.field_errors(problems, current_locale())
            return self._indicator_page(version, row, form, rows, errors, 422)
        try:
            row = service.save_indicator(db.session, version, row, form, tables)
        except service.RuleRefused as exc:
            errors = forms.field_errors(exc.problems, current_locale())
            return self._indicator_page(version, row, form, rows, errors, 422)
        back = swot_back()
        if back is not None and iid is None:
            message = _("Indicator %(code)s saved; its test cases pass. Now pick it in a SWOT item below "
                        "and give it a weight.", code=row.code)
            flash(message, "success")
            return redirect(url_for("RulesView.swot", vid=vid, code=back["code"], year=back["year"]))
        flash(_("Indicator %(code)s saved; its test cases pass.", code=row.code), "success")
        return redirect(url_for("RulesView.indicator_form", vid=vid, iid=row.id, **back_args(back)))

    @expose("/v/<int:vid>/indicator/<int:iid>/delete", methods=["POST"])
    @has_access
    def indicator_delete(self, vid: int, iid: int):
        version = version_or_404(vid)
        row = row_or_404(RuleIndicator, version, iid)
        try:
            service.delete_row(db.session, row)
        except service.RuleRefused as exc:
            flash(exc.problems[0].message(current_locale()), "danger")
            return redirect(url_for("RulesView.indicator_form", vid=vid, iid=iid))
        except PublishedVersionLocked:
            abort(409)
        flash(_("Indicator deleted."), "info")
        return redirect(url_for("RulesView.version", vid=vid))

    @expose("/v/<int:vid>/preview", methods=["POST"])
    @has_access
    def preview(self, vid: int):
        """JSON: the value, target and score of the indicator in the form, as the appraisal shows them, for
        an employee (with the explanation) or over a station (lowest, median, highest), and a period."""
        version = version_or_404(vid)
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return jsonify(message=_("The request could not be understood.")), 400
        if data.get("station_id") is not None:
            subject = get_or_404(Station, data.get("station_id"))
        else:
            subject = get_or_404(Employee, data.get("employee_id"))
        start, end = period(data)
        fields = {k: data.get(k) if isinstance(data.get(k), str) else "" for k in
                  ("code", "name", "category", "kind", "value", "unit", "target", "score")}
        problems: list[Problem] = []
        indicator = Indicator.from_dict({
            "code": fields["code"] or "preview", "name": fields["name"] or "preview",
            "category": fields["category"] if fields["category"] in CATEGORIES else CATEGORIES[-1],
            "kind": fields["kind"] if fields["kind"] in KINDS else "formula",
            "value": fields["value"], "unit": fields["unit"][:32], "target": fields["target"],
            "score": fields["score"] or "value",
        }, "", 0, problems)
        station = isinstance(subject, Station)
        preview = service.preview_station if station else service.preview_indicator
        result = preview(db.session, service.ruleset_from_version(version), indicator, subject, start, end,
                         locale=current_locale())
        if station:
            result.update(station=f"{subject.code} {subject.name}")
        else:
            result.update(employee=f"{subject.employee_no} {subject.name}")
        result.update(start=start.isoformat(), end=end.isoformat())
        return jsonify(result)

"""The no-code rules editor (SPEC §5, issue 6 item 4): versions, indicators with live formula checks,
test cases and a preview on real data, templates with weights per station, SWOT quadrants, grades and
outcomes, publishing with a diff, and the what-if.

Thin: each handler parses the form, calls ``app.services.rules`` and renders. Pages read with
Rules/read (HR, station managers, supervisors); every POST needs Rules/write (HR, Admin); the what-if
rescored everybody's results and is HR's (Rules/write) too. The JavaScript is in
``app/static/js/formula-editor.js`` (no inline scripts).
"""

from __future__ import annotations

import datetime as dt
import json
import re

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from .. import permissions as p
from ..extensions import db
from ..models import (
    Employee,
    PublishedVersionLocked,
    RuleIndicator,
    RuleSetVersion,
    RuleSwotItem,
    RuleSwotLine,
    RuleTemplate,
    RuleTemplateLine,
    Station,
    owning_version,
)
from ..rules import ACTIONS, CATEGORIES, DIRECTIONS, KINDS, SEGMENTS, SWOT_KINDS, Indicator, Problem
from ..rules.model import CATEGORY_EN, NA, expr_text, norm_expr, norm_number
from ..scoping import current_person, get_or_404
from ..services import rules as service
from .org import segment_label

READ_METHODS = ("index", "version", "indicator_form", "template_form", "swot", "grades", "publish_page",
                "preview", "export")
WRITE_METHODS = ("new_draft", "discard", "indicator_save", "indicator_delete", "template_save",
                 "template_delete", "swot_save", "swot_delete", "grades_save", "publish", "whatif")

SWOT_LABELS = {"S": ("优势", "Strengths"), "W": ("劣势", "Weaknesses"), "O": ("机会", "Opportunities"),
               "T": ("威胁", "Threats")}
ACTION_LABELS = {"bonus": ("奖金系数", "Bonus coefficient"), "training": ("培训", "Training"),
                 "promotion": ("晋升候选", "Promotion candidate"),
                 "improvement_plan": ("改进计划", "Improvement plan")}
_SPLIT = re.compile(r"[,;，；\n]+")


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _user() -> str:
    person = current_person()
    return person.username if person is not None else ""


def _version_or_404(vid: int) -> RuleSetVersion:
    version = db.session.get(RuleSetVersion, vid) if -(2**31) < vid < 2**31 else None
    if version is None:
        abort(404)
    return version


def _row_or_404(model, version: RuleSetVersion, rid: int):
    row = db.session.get(model, rid) if -(2**31) < rid < 2**31 else None
    if row is None or owning_version(db.session, row) is not version:
        abort(404)
    return row


def _pairs(text: str, *, integers: bool = False) -> tuple[dict, list[str]]:
    """``"first_fix_rate=0.9, orders=20"`` → ({"first_fix_rate": 0.9, "orders": 20}, errors)."""
    out, bad = {}, []
    for part in _SPLIT.split(text or ""):
        part = part.strip()
        if not part:
            continue
        name, sep, raw = part.replace("：", "=").replace(":", "=").partition("=")
        name, raw = name.strip().strip('"'), raw.strip()
        if not sep or not name:
            bad.append(part)
            continue
        if raw.upper() == NA:
            if integers:
                bad.append(part)
            else:
                out[name] = NA
            continue
        try:
            number = norm_number(float(raw))
        except ValueError:
            number = None
        if number is None or (integers and (not isinstance(number, int) or number < 0)):
            bad.append(part)
            continue
        out[name] = number
    return out, bad


def _show_pairs(mapping: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in mapping.items())


def _expected(raw: str):
    raw = (raw or "").strip()
    if not raw:
        return None, False
    if raw.upper() == NA:
        return NA, False
    try:
        number = norm_number(float(raw))
    except ValueError:
        return None, True
    return number, number is None


def _parse_tests(form) -> tuple[list[dict], list[Problem], list[dict]]:
    """Test-case rows of the indicator form → (TOML tables, problems, rows to show again)."""
    tables, problems, rows = [], [], []
    columns = [form.getlist(k) for k in ("test_inputs", "test_tags", "test_value", "test_score", "test_note")]
    for inputs, tags, value, score, note in zip(*columns, strict=False):
        rows.append({"inputs": inputs, "tags": tags, "value": value, "score": score, "note": note})
        if not any(x.strip() for x in (inputs, tags, value, score, note)):
            rows.pop()
            continue
        table: dict = {}
        inputs_map, bad = _pairs(inputs)
        tags_map, bad_tags = _pairs(tags, integers=True)
        expected_value, bad_value = _expected(value)
        expected_score, bad_score = _expected(score)
        for what in bad + bad_tags:
            problems.append(Problem("", "", f"test {len(tables) + 1}", "BAD_VALUE",
                                    f"无法识别“{what}”，请写成 名称=数值", f"cannot read “{what}”; write name=number"))
        if bad_value or bad_score:
            problems.append(Problem("", "", f"test {len(tables) + 1}", "BAD_VALUE", "期望值应为数字或 N/A",
                                    "an expected value must be a number or N/A"))
        table["inputs"] = inputs_map
        if tags_map:
            table["tags"] = tags_map
        for key, val in (("value", expected_value), ("score", expected_score)):
            if val is not None:
                table[key] = val
        if note.strip():
            table["note"] = note.strip()
        tables.append(table)
    return tables, problems, rows


def _field_errors(problems: list[Problem]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for pr in problems:
        out.setdefault(pr.field.split(" weight")[0] if pr.field.startswith("line") else pr.field, []).append(
            pr.to_dict(_locale()))
    return out


def _period(args) -> tuple[dt.date, dt.date]:
    today = dt.date.today()
    try:
        end = dt.date.fromisoformat(args.get("end", ""))
    except ValueError:
        end = today
    try:
        start = dt.date.fromisoformat(args.get("start", ""))
    except ValueError:
        start = end - dt.timedelta(days=89)
    if start > end or (end - start).days > 3660:
        start = end - dt.timedelta(days=89)
    return start, end


def _swot_back() -> dict | None:
    """The SWOT screen an indicator form was opened from (``?swot=S01&year=2026``, kept through the
    form's POST), to go back to once the indicator is saved; None for an unknown station."""
    code = request.values.get("swot", "").strip()
    if not code or db.session.scalar(select(Station.id).where(Station.code == code)) is None:
        return None
    year = request.values.get("year", type=int)
    return {"code": code, "year": year if year and 2000 <= year <= 2100 else None}


def _back_args(back: dict | None) -> dict:
    return {"swot": back["code"], "year": back["year"]} if back else {}


def _formula_names(version: RuleSetVersion) -> dict:
    """Extra names each formula role may use, for the live check (the catalogue has the rest)."""
    codes = [i.code for i in version.indicators]
    return {
        "indicator": codes,
        "score": [*codes, "value", "target"],
        "weight": [],
        "outcome": [*codes, "total", "subtotal", "adjustment", "grade"],
    }


class RulesView(BaseView):
    route_base = "/rules"
    default_view = "index"
    class_permission_name = p.RULES
    method_permission_name = {**{m: p.READ for m in READ_METHODS}, **{m: p.WRITE for m in WRITE_METHODS}}

    def render(self, template: str, **kwargs):
        kwargs.setdefault("locale", _locale())
        kwargs.setdefault("segment_labels", {code: segment_label(code) for code in SEGMENTS})
        kwargs.setdefault("swot_labels", SWOT_LABELS)
        kwargs.setdefault("can_write", self.appbuilder.sm.has_access(f"can_{p.WRITE}", p.RULES))
        return self.render_template(template, **kwargs)

    # -- versions -------------------------------------------------------------------------

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
            _version_or_404(based_on)
        try:
            version = service.new_draft(db.session, based_on_id=based_on, user=_user())
        except service.NoRuleSet:
            abort(404)
        flash(_("Draft v%(number)s created: edit it, then publish it.", number=version.number), "success")
        return redirect(url_for("RulesView.version", vid=version.id))

    @expose("/v/<int:vid>/")
    @has_access
    def version(self, vid: int):
        version = _version_or_404(vid)
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
        version = _version_or_404(vid)
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
        version = _version_or_404(vid)
        return self.render("rules/export.html", version=version, files=service.export_files(db.session, vid))

    # -- indicators -----------------------------------------------------------------------

    def _indicator_page(self, version, row, form: dict, tests: list[dict], errors: dict, status: int = 200):
        employees = list(db.session.scalars(select(Employee).order_by(Employee.employee_no)))
        start, end = _period({})
        return self.render(
            "rules/indicator.html", version=version, row=row, form=form, tests=tests, errors=errors,
            categories=CATEGORIES, kinds=KINDS, directions=DIRECTIONS, employees=employees,
            start=start, end=end, names=_formula_names(version), back=_swot_back(),
        ), status

    @expose("/v/<int:vid>/indicator/new")
    @expose("/v/<int:vid>/indicator/<int:iid>")
    @has_access
    def indicator_form(self, vid: int, iid: int | None = None):
        version = _version_or_404(vid)
        row = _row_or_404(RuleIndicator, version, iid) if iid else None
        if row is None:
            category = request.args.get("category", "")
            form = {"category": category if category in CATEGORIES else CATEGORIES[0], "kind": "formula",
                    "direction": "higher"}
            tests = []
        else:
            table = service.indicator_dict(row)
            form = {k: expr_text(v) if k in ("value", "target", "score") else v for k, v in table.items()}
            tests = [{"inputs": _show_pairs(t.get("inputs", {})), "tags": _show_pairs(t.get("tags", {})),
                      "value": "" if t.get("value") is None else str(t["value"]),
                      "score": "" if t.get("score") is None else str(t["score"]), "note": t.get("note", "")}
                     for t in table["test"]]
        return self._indicator_page(version, row, form, tests, {})

    @expose("/v/<int:vid>/indicator/new", methods=["POST"])
    @expose("/v/<int:vid>/indicator/<int:iid>", methods=["POST"])
    @has_access
    def indicator_save(self, vid: int, iid: int | None = None):
        version = _version_or_404(vid)
        if version.is_published:
            abort(409)
        row = _row_or_404(RuleIndicator, version, iid) if iid else None
        f = request.form
        form = {k: f.get(k, "").strip() for k in ("code", "name", "name_en", "category", "kind", "value", "unit",
                                                    "target", "score", "direction", "description")}
        tables, problems, rows = _parse_tests(f)
        if problems:
            return self._indicator_page(version, row, form, rows, _field_errors(problems), 422)
        if row is None:
            row = RuleIndicator(version_id=version.id, position=len(version.indicators))
        row.code, row.name, row.name_en = form["code"], form["name"], form["name_en"]
        row.category, row.kind, row.direction = form["category"], form["kind"], form["direction"]
        row.value_formula = form["value"] if form["kind"] != "manual" else ""
        row.unit, row.description = form["unit"], form["description"]
        row.target, row.score_formula = expr_text(norm_expr(form["target"]) or ""), form["score"]
        row.tests = json.dumps(tables, ensure_ascii=False)
        try:
            service.save_row(db.session, row)
        except service.RuleRefused as exc:
            return self._indicator_page(version, None if not iid else row, form, rows,
                                        _field_errors(exc.problems), 422)
        back = _swot_back()
        if back is not None and iid is None:
            flash(_("Indicator %(code)s saved; its test cases pass. Now pick it in a SWOT item below and give "
                    "it a weight.", code=row.code), "success")
            return redirect(url_for("RulesView.swot", vid=vid, code=back["code"], year=back["year"]))
        flash(_("Indicator %(code)s saved; its test cases pass.", code=row.code), "success")
        return redirect(url_for("RulesView.indicator_form", vid=vid, iid=row.id, **_back_args(back)))

    @expose("/v/<int:vid>/indicator/<int:iid>/delete", methods=["POST"])
    @has_access
    def indicator_delete(self, vid: int, iid: int):
        version = _version_or_404(vid)
        row = _row_or_404(RuleIndicator, version, iid)
        try:
            service.delete_row(db.session, row)
        except service.RuleRefused as exc:
            flash(exc.problems[0].message(_locale()), "danger")
            return redirect(url_for("RulesView.indicator_form", vid=vid, iid=iid))
        except PublishedVersionLocked:
            abort(409)
        flash(_("Indicator deleted."), "info")
        return redirect(url_for("RulesView.version", vid=vid))

    @expose("/v/<int:vid>/preview", methods=["POST"])
    @has_access
    def preview(self, vid: int):
        """JSON: the value, score and explanation of the indicator in the form, for an employee and a period."""
        version = _version_or_404(vid)
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return jsonify(message=_("The request could not be understood.")), 400
        employee = get_or_404(Employee, data.get("employee_id"))
        start, end = _period(data)
        fields = {k: data.get(k) if isinstance(data.get(k), str) else "" for k in
                  ("code", "name", "category", "kind", "value", "target", "score")}
        problems: list[Problem] = []
        indicator = Indicator.from_dict({
            "code": fields["code"] or "preview", "name": fields["name"] or "preview",
            "category": fields["category"] if fields["category"] in CATEGORIES else CATEGORIES[-1],
            "kind": fields["kind"] if fields["kind"] in KINDS else "formula",
            "value": fields["value"], "target": fields["target"], "score": fields["score"] or "value",
        }, "", 0, problems)
        result = service.preview_indicator(db.session, service.ruleset_from_version(version), indicator,
                                           employee, start, end, locale=_locale())
        result.update(employee=f"{employee.employee_no} {employee.name}", start=start.isoformat(),
                      end=end.isoformat())
        return jsonify(result)

    # -- templates ------------------------------------------------------------------------

    def _template_page(self, version, row, form: dict, lines: list[dict], errors: dict, status: int = 200):
        ruleset = service.ruleset_from_version(version)
        start, end = _period(request.args)
        table = None
        template = next((t for t in ruleset.templates if row is not None and t.code == row.code), None)
        if template is not None and status == 200:
            table = service.weight_table(db.session, ruleset, template, start, end, locale=_locale())
        stations = list(db.session.scalars(select(Station).order_by(Station.code)))
        return self.render(
            "rules/template.html", version=version, row=row, form=form, lines=lines, errors=errors,
            indicators=ruleset.indicators, stations=stations, segments=SEGMENTS, table=table,
            start=start, end=end, names=_formula_names(version),
        ), status

    @expose("/v/<int:vid>/template/new")
    @expose("/v/<int:vid>/template/<int:tid>")
    @has_access
    def template_form(self, vid: int, tid: int | None = None):
        version = _version_or_404(vid)
        row = _row_or_404(RuleTemplate, version, tid) if tid else None
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
        version = _version_or_404(vid)
        if version.is_published:
            abort(409)
        row = _row_or_404(RuleTemplate, version, tid) if tid else None
        f = request.form
        form = {k: f.get(k, "").strip() for k in ("code", "name", "name_en", "positions", "description")}
        form["stations"], form["segments"] = f.getlist("stations"), f.getlist("segments")
        lines = [{"indicator": i.strip(), "weight": w.strip()}
                 for i, w in zip(f.getlist("line_indicator"), f.getlist("line_weight"), strict=False)
                 if i.strip() or w.strip()]
        if row is None:
            row = RuleTemplate(version_id=version.id, position=len(version.templates))
        row.code, row.name, row.name_en, row.description = form["code"], form["name"], form["name_en"], form["description"]
        row.positions = json.dumps([x.strip() for x in _SPLIT.split(form["positions"]) if x.strip()], ensure_ascii=False)
        row.stations = json.dumps(form["stations"], ensure_ascii=False)
        row.segments = json.dumps(form["segments"], ensure_ascii=False)
        with db.session.no_autoflush:
            row.lines = [RuleTemplateLine(position=n, indicator_code=ln["indicator"], weight=ln["weight"])
                         for n, ln in enumerate(lines)]
        try:
            service.save_row(db.session, row)
        except service.RuleRefused as exc:
            return self._template_page(version, row if tid else None, form, lines, _field_errors(exc.problems), 422)
        flash(_("Template %(code)s saved.", code=row.code), "success")
        return redirect(url_for("RulesView.template_form", vid=vid, tid=row.id))

    @expose("/v/<int:vid>/template/<int:tid>/delete", methods=["POST"])
    @has_access
    def template_delete(self, vid: int, tid: int):
        version = _version_or_404(vid)
        row = _row_or_404(RuleTemplate, version, tid)
        try:
            service.delete_row(db.session, row)
        except PublishedVersionLocked:
            abort(409)
        flash(_("Template deleted."), "info")
        return redirect(url_for("RulesView.version", vid=vid))

    # -- SWOT -----------------------------------------------------------------------------

    @expose("/v/<int:vid>/swot/<code>")
    @has_access
    def swot(self, vid: int, code: str, errors: dict | None = None, failed: dict | None = None, status: int = 200):
        version = _version_or_404(vid)
        station = db.session.scalar(select(Station).where(Station.code == code))
        if station is None:
            abort(404)
        items = [s for s in version.swot_items if s.station_code == code]
        years = sorted({s.year for s in items}, reverse=True)
        year = request.args.get("year", type=int) or (years[0] if years else dt.date.today().year)
        quadrants = {
            k: [(s, [(ln.indicator_code, ln.weight) for ln in s.lines], ", ".join(json.loads(s.positions or "[]")))
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
            category_labels=CATEGORY_EN, errors=errors or {}, failed=failed or {}, names=_formula_names(version),
        ), status

    @expose("/v/<int:vid>/swot/<code>/item/new", methods=["POST"])
    @expose("/v/<int:vid>/swot/<code>/item/<int:sid>", methods=["POST"])
    @has_access
    def swot_save(self, vid: int, code: str, sid: int | None = None):
        version = _version_or_404(vid)
        if version.is_published:
            abort(409)
        row = _row_or_404(RuleSwotItem, version, sid) if sid else None
        if row is not None and row.station_code != code:
            abort(404)
        f = request.form
        year = f.get("year", type=int) or 0
        if row is None:
            row = RuleSwotItem(version_id=version.id, position=len(version.swot_items), station_code=code)
        row.year, row.kind = year, f.get("kind", "").strip()
        row.title, row.description = f.get("title", "").strip(), f.get("description", "").strip()
        row.positions = json.dumps([x.strip() for x in _SPLIT.split(f.get("positions", "")) if x.strip()],
                                   ensure_ascii=False)
        lines = [(i.strip(), w.strip()) for i, w in zip(f.getlist("line_indicator"), f.getlist("line_weight"),
                                                       strict=False) if i.strip() or w.strip()]
        with db.session.no_autoflush:
            row.lines = [RuleSwotLine(position=n, indicator_code=i, weight=w) for n, (i, w) in enumerate(lines)]
        try:
            service.save_row(db.session, row)
        except service.RuleRefused as exc:
            failed = {"id": sid or "new", "kind": f.get("kind", ""), "title": f.get("title", ""),
                      "positions": f.get("positions", ""), "description": f.get("description", ""),
                      "lines": lines}
            return self.swot(vid, code, errors=_field_errors(exc.problems), failed=failed, status=422)
        flash(_("SWOT item saved."), "success")
        return redirect(url_for("RulesView.swot", vid=vid, code=code, year=year))

    @expose("/v/<int:vid>/swot/<code>/item/<int:sid>/delete", methods=["POST"])
    @has_access
    def swot_delete(self, vid: int, code: str, sid: int):
        version = _version_or_404(vid)
        row = _row_or_404(RuleSwotItem, version, sid)
        year = row.year
        try:
            service.delete_row(db.session, row)
        except PublishedVersionLocked:
            abort(409)
        flash(_("SWOT item deleted."), "info")
        return redirect(url_for("RulesView.swot", vid=vid, code=code, year=year))

    # -- grades and outcomes --------------------------------------------------------------

    @expose("/v/<int:vid>/grades")
    @has_access
    def grades(self, vid: int, grades: list | None = None, outcomes: list | None = None,
               errors: list | None = None, status: int = 200):
        version = _version_or_404(vid)
        if grades is None:
            grades = [service.grade_dict(g) for g in version.grade_bands]
            outcomes = [{k: expr_text(v) if k in ("when", "coefficient") else v
                         for k, v in service.outcome_dict(o).items()} for o in version.outcome_rules]
        return self.render("rules/grades.html", version=version, grades=grades, outcomes=outcomes,
                           errors=errors or [], actions=ACTIONS, action_labels=ACTION_LABELS,
                           names=_formula_names(version)), status

    @expose("/v/<int:vid>/grades", methods=["POST"])
    @has_access
    def grades_save(self, vid: int):
        version = _version_or_404(vid)
        if version.is_published:
            abort(409)
        f = request.form
        grades = [{"grade": g.strip(), "label": lab.strip(), "label_en": le.strip(), "min": m.strip()}
                  for g, lab, le, m in zip(f.getlist("grade"), f.getlist("grade_label"), f.getlist("grade_label_en"),
                                           f.getlist("grade_min"), strict=False) if g.strip() or lab.strip()]
        outcomes = [{"code": c.strip(), "action": a.strip(), "when": w.strip(), "coefficient": k.strip(),
                     "label": lab.strip(), "label_en": le.strip()}
                    for c, a, w, k, lab, le in zip(f.getlist("outcome_code"), f.getlist("outcome_action"),
                                                   f.getlist("outcome_when"), f.getlist("outcome_coefficient"),
                                                   f.getlist("outcome_label"), f.getlist("outcome_label_en"),
                                                   strict=False) if c.strip() or w.strip()]
        try:
            service.replace_grades(db.session, version.id, grades, outcomes)
        except service.RuleRefused as exc:
            return self.grades(vid, grades, outcomes, [pr.to_dict(_locale()) for pr in exc.problems], 422)
        flash(_("Grades and outcome rules saved."), "success")
        return redirect(url_for("RulesView.grades", vid=vid))

    # -- publishing -----------------------------------------------------------------------

    @expose("/v/<int:vid>/publish")
    @has_access
    def publish_page(self, vid: int):
        version = _version_or_404(vid)
        if version.is_published:
            return redirect(url_for("RulesView.version", vid=vid))
        _, problems, previous, diff = service.publish_preview(db.session, vid)
        return self.render("rules/publish.html", version=version, problems=problems, previous=previous,
                           diff=diff, has_errors=service.has_errors(problems))

    @expose("/v/<int:vid>/publish", methods=["POST"])
    @has_access
    def publish(self, vid: int):
        version = _version_or_404(vid)
        try:
            result = service.publish(db.session, vid, user=_user(), note=request.form.get("note", "")[:2000])
        except service.NotADraft:
            flash(_("This version is published already."), "warning")
            return redirect(url_for("RulesView.version", vid=vid))
        except service.RuleSetInvalid:
            flash(_("The rule set has errors (a failing test case, a broken formula…); fix them first."), "danger")
            return redirect(url_for("RulesView.publish_page", vid=vid))
        flash(_("Version v%(number)s published: new cycles use it.", number=result.version.number), "success")
        return redirect(url_for("RulesView.version", vid=version.id))

    # -- what-if --------------------------------------------------------------------------

    @expose("/whatif")
    @has_access
    def whatif(self):
        from ..charts.svg import grade_distribution

        versions = service.versions(db.session)
        cycles = service.cycle_names(db.session)
        vid = request.args.get("version", type=int)
        cycle = request.args.get("cycle", "")
        result = error = None
        charts = {}
        if vid and cycle:
            _version_or_404(vid)
            try:
                result = service.whatif(db.session, vid, cycle, locale=_locale())
            except service.WhatIfError as exc:
                error = str(exc)
            finally:
                db.session.rollback()
        if result:
            before, after = result["distribution"]["before"], result["distribution"]["after"]
            charts = {"before": grade_distribution(before, _("Before")),
                      "after": grade_distribution(after, _("After"))}
        return self.render("rules/whatif.html", versions=versions, cycles=cycles, vid=vid, cycle=cycle,
                           result=result, error=error, charts=charts)

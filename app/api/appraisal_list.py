"""The appraisal list API's rows and its item: FAB's list, with its rows written out directly (FAB's
schema spends a fifth of a page on them) from one statement joining the relations, and of each snapshot
only the parts the list answers with, read in one statement (on SQLite without the parts it leaves out)
and relabelled, each indicator once per page; the relabelled parts are kept by the snapshot's hash, so a
page lists again without reading or decoding a snapshot. The relation columns are flattened (``cycle``,
``employee_no``, ``employee_name``, ``station``) and the snapshot's ``lines``, ``na_notes``, ``outcomes``,
``grade_label`` and ``incentive`` are in the reader's language. One appraisal is read with its relations
in one statement and written alike. A request that names its columns is answered by FAB's own list or
item, reshaped alike.
"""

from __future__ import annotations

from flask_appbuilder.const import API_SELECT_COLUMNS_RIS_KEY
from sqlalchemy import JSON, func, select
from sqlalchemy.orm import joinedload

from .. import clock
from ..extensions import db
from ..hardening import MAX_KEY
from ..kept import Kept
from ..locales import current_locale
from ..models import Appraisal, Cycle, Employee, Station
from ..rules.names import category_label, relabel, unit_label
from ..scoping import scope_clause
from ..services.rules import ruleset_and_hash, ruleset_for_version

# The parts of a snapshot the list answers with (``lines``, ``na_notes``, ``outcomes``, ``grade_label``,
# ``incentive``) and those that relabel them (``grade``, ``outcome_details``): the rest (the template, the
# category scores) is not relabelled for nothing.
LIST_SNAPSHOT_PARTS = ("lines", "na_notes", "outcomes", "outcome_details", "grade", "grade_label",
                       "incentive")


# The parts of a snapshot the list leaves out, dropped by SQLite before the snapshot is decoded (half of it).
UNLISTED_SNAPSHOT_PARTS = ("inputs", "variables", "template", "category_scores", "employee", "cycle",
                           "station", "company", "trail", "comments", "calibration", "signed")


def _list_parts(dialect: str):
    """The snapshot column as the list reads it: on SQLite without the parts it leaves out (the
    snapshot's other parts as stored, so a missing part stays missing)."""
    if dialect != "sqlite":
        return Appraisal.snapshot
    paths = [f"$.{key}" for key in UNLISTED_SNAPSHOT_PARTS]
    return func.json_remove(Appraisal.snapshot, *paths, type_=JSON)


class AppraisalList:
    """The list and the reshaping of a row, for the appraisal API (before FAB's ModelRestApi)."""

    @staticmethod
    def _reshape(item: dict) -> dict:
        """FAB's nested relation columns → the API's flat fields, and the snapshot's lines."""
        if isinstance(item.get("cycle"), dict):
            item["cycle"] = item["cycle"].get("name")
        employee = item.pop("employee", None)
        if isinstance(employee, dict):
            item["employee_no"] = employee.get("employee_no")
            item["employee_name"] = employee.get("name")
        if isinstance(item.get("station"), dict):
            item["station"] = item["station"].get("code")
        snapshot = item.pop("snapshot", None)
        if isinstance(snapshot, dict):
            item["lines"] = snapshot.get("lines", [])
            item["na_notes"] = snapshot.get("na_notes", [])
            item["outcomes"] = snapshot.get("outcomes", [])
            item["grade_label"] = snapshot.get("grade_label")
            item["incentive"] = (snapshot.get("incentive") or {}).get("amount")  # yuan as a string, or null
        return item

    # The list's rows are written as answered (reshaped and relabelled): FAB's ``pre_get_list`` is not theirs.
    _rows_answered = True

    def _writes_list(self) -> bool:
        return True

    def _rows_of(self, keys: list) -> dict:
        """The rows of these keys written by :meth:`_row`, with of each snapshot only
        :data:`LIST_SNAPSHOT_PARTS` relabelled."""
        query = (select(Appraisal.id, Appraisal.rule_set_version_id, Appraisal.snapshot_hash, Cycle.name,
                        Employee.employee_no, Employee.name, Station.code, Appraisal.state,
                        Appraisal.total, Appraisal.subtotal, Appraisal.adjustment, Appraisal.grade,
                        Appraisal.version, Appraisal.is_current)
                 .join(Cycle, Cycle.id == Appraisal.cycle_id)
                 .join(Employee, Employee.id == Appraisal.employee_id)
                 .join(Station, Station.id == Appraisal.station_id)
                 .where(Appraisal.id.in_(keys)))
        rows = {row[0]: row for row in db.session.execute(query)}
        keys = [key for key in keys if key in rows]
        parts = self._list_snapshots(rows, keys)
        return {key: self._reshape(self._row(rows[key], parts.get(key))) for key in keys}

    def get_headless(self, pk, **kwargs):
        """FAB's item, the appraisal read with its relations in one statement (within the caller's scope)
        and written as FAB's schema writes it, then :meth:`pre_get`; a request naming its columns is FAB's."""
        args = kwargs.get("rison", {})
        shown = list(self.show_select_columns or ()) == list(self.show_columns)
        if args.get(API_SELECT_COLUMNS_RIS_KEY) or not shown:
            return super().get_headless(pk, **kwargs)
        try:
            key = int(pk)
        except (TypeError, ValueError):
            return self.response_404()
        if not 0 < key <= MAX_KEY:
            return self.response_404()
        appraisal = db.session.scalar(
            select(Appraisal).where(Appraisal.id == key, scope_clause(Appraisal))
            .options(joinedload(Appraisal.cycle), joinedload(Appraisal.employee),
                     joinedload(Appraisal.station)))
        if appraisal is None:
            return self.response_404()
        response: dict = {}
        self.set_response_key_mappings(response, self.get, args, **{API_SELECT_COLUMNS_RIS_KEY: []})
        response["id"] = pk
        response["result"] = {
            "id": appraisal.id, "cycle": {"name": appraisal.cycle.name},
            "employee": {"employee_no": appraisal.employee.employee_no, "name": appraisal.employee.name},
            "station": {"code": appraisal.station.code},
            "state": appraisal.state.value if appraisal.state is not None else None,
            "total": appraisal.total, "subtotal": appraisal.subtotal, "adjustment": appraisal.adjustment,
            "grade": appraisal.grade, "version": appraisal.version, "is_current": appraisal.is_current,
            "snapshot": appraisal.snapshot, "adjustment_reason": appraisal.adjustment_reason,
            "manual": appraisal.manual, "snapshot_hash": appraisal.snapshot_hash,
            "computed_at": clock.local_iso(appraisal.computed_at),
        }
        self.pre_get(response)
        return self.response(200, **response)

    @staticmethod
    def _list_snapshots(rows: dict, keys: list[int]) -> dict[int, dict | None]:
        """Of each row's snapshot the list's parts in the reader's language: kept ones by the snapshot's
        hash, the rest read in one statement and relabelled (each indicator once per page)."""
        session = db.session
        locale = current_locale()
        rulesets, stamps = {}, {}
        for version_id in {rows[key][1] for key in keys}:
            rulesets[version_id], digest = ruleset_and_hash(session, version_id)
            stamps[version_id] = (version_id, digest) if digest else None
        found: dict[int, dict | None] = {}
        wanted: dict[int, tuple | None] = {}
        for key in keys:
            stamp = stamps[rows[key][1]]
            kept_as = (key, rows[key][2], stamp, locale) if stamp is not None else None
            kept = _kept_parts.get(kept_as) if kept_as is not None else None
            if kept is None:
                wanted[key] = kept_as
            else:
                found[key] = kept
        if not wanted:
            return found
        labels: dict[tuple[int, str], tuple | None] = {}
        query = select(Appraisal.id, _list_parts(session.get_bind().dialect.name)).where(
            Appraisal.id.in_(list(wanted)))
        for ident, snapshot in session.execute(query):
            if isinstance(snapshot, dict):
                snapshot = {key: snapshot[key] for key in LIST_SNAPSHOT_PARTS if key in snapshot}
                version_id = rows[ident][1]
                _relabel_parts(snapshot, version_id, rulesets[version_id], locale, labels)
            found[ident] = snapshot
            if wanted[ident] is not None:
                _kept_parts.put(wanted[ident], snapshot)
        return found

    @staticmethod
    def _row(row, snapshot: dict | None) -> dict:
        """A list row as FAB's schema writes it (relations nested), with the snapshot's parts."""
        (ident, _version, _hash, cycle, employee_no, employee_name, station, state, total, subtotal,
         adjustment, grade, version, is_current) = row
        return {
            "id": ident, "cycle": {"name": cycle},
            "employee": {"employee_no": employee_no, "name": employee_name},
            "station": {"code": station},
            "state": state.value if state is not None else None,
            "total": total, "subtotal": subtotal, "adjustment": adjustment, "grade": grade,
            "version": version, "is_current": is_current, "snapshot": snapshot,
        }

    def pre_get_list(self, data: dict) -> None:
        items = data.get("result", [])
        ids = [item.get("id") for item in items if isinstance(item.get("snapshot"), dict)]
        versions = dict(db.session.execute(select(Appraisal.id, Appraisal.rule_set_version_id)
                                           .where(Appraisal.id.in_(ids))).all()) if ids else {}
        data["result"] = self._relabelled(items, versions)

    def _relabelled(self, items: list[dict], versions: dict[int, int]) -> list[dict]:
        """The rows with what the rule set names in the reader's language (``versions``: appraisal id →
        rule-set version), reshaped to the API's flat fields."""
        rulesets = {v: ruleset_for_version(db.session, v) for v in set(versions.values())}  # once per page
        for item in items:
            version_id = versions.get(item.get("id"))
            if version_id is not None and isinstance(item.get("snapshot"), dict):
                relabel(item["snapshot"], rulesets[version_id], current_locale())
        return [self._reshape(item) for item in items]


# The list's parts of recently listed snapshots, relabelled: (appraisal id, snapshot hash, (published
# rule-set version, its content hash), language) → the parts. A snapshot's hash changes with its content
# and a published version never changes, so a kept entry is always the answer; the parts are shared by
# the answers that list them and never changed after being kept.
_KEPT_PARTS = 2_000
_kept_parts: Kept[tuple, dict | None] = Kept(_KEPT_PARTS)


def _relabel_parts(snapshot: dict, version_id: int, ruleset, locale: str, labels: dict) -> None:
    """:func:`app.rules.names.relabel` of a snapshot holding the list's parts only, each indicator's
    name, unit and category (``labels``: (version, code) → them) found once per page."""
    if "lines" not in snapshot:
        relabel(snapshot, ruleset, locale)
        return
    lines = snapshot.pop("lines")
    relabel(snapshot, ruleset, locale)  # the grade's label and the outcomes
    snapshot["lines"] = lines
    for line in lines or []:
        code = line.get("code", "")
        key = (version_id, code)
        found = labels.get(key, labels)
        if found is labels:
            indicator = ruleset.indicator(code)
            found = labels[key] = None if indicator is None else (
                indicator.label(locale), unit_label(indicator.unit, locale),
                category_label(indicator.category, locale))
        if found is not None:
            line["name"], line["unit"], line["category"] = found
        else:
            line["category"] = category_label(line.get("category"), locale)

"""The appraisal list API's rows: FAB's list, with its rows written out directly (FAB's schema spends a
fifth of a page on them) and of each snapshot only the parts the list answers with relabelled, the
snapshots read in one statement; the relation columns flattened (``cycle``, ``employee_no``,
``employee_name``, ``station``) and the snapshot's ``lines``, ``na_notes``, ``outcomes``, ``grade_label``
and ``incentive`` in the reader's language. A request that names its columns is answered by FAB's own
list, reshaped alike.
"""

from __future__ import annotations

from flask_appbuilder.const import API_SELECT_COLUMNS_RIS_KEY, API_SELECT_SEL_COLUMNS_RIS_KEY
from flask_appbuilder.exceptions import FABException, InvalidOrderByColumnFABException
from sqlalchemy import select

from ..extensions import db
from ..locales import current_locale
from ..models import Appraisal
from ..rules.names import relabel
from ..services.rules import ruleset_for_version

# The parts of a snapshot the list answers with (``lines``, ``na_notes``, ``outcomes``, ``grade_label``,
# ``incentive``) and those that relabel them (``grade``, ``outcome_details``): the rest (the template, the
# category scores) is not relabelled for nothing.
LIST_SNAPSHOT_PARTS = ("lines", "na_notes", "outcomes", "outcome_details", "grade", "grade_label",
                       "incentive")


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

    def get_list_headless(self, **kwargs):
        """FAB's list, its rows written by :meth:`_row` with of each snapshot only
        :data:`LIST_SNAPSHOT_PARTS` relabelled; a request naming its columns is FAB's
        (and :meth:`pre_get_list`)."""
        args = kwargs.get("rison", {})
        if args.get(API_SELECT_COLUMNS_RIS_KEY) or args.get(API_SELECT_SEL_COLUMNS_RIS_KEY):
            return super().get_list_headless(**kwargs)
        response: dict = {}
        self.set_response_key_mappings(response, self.get_list, args, **{API_SELECT_COLUMNS_RIS_KEY: []})
        try:
            joined_filters = self._handle_filters_args(args)
        except FABException as exc:
            return self.response_400(message=str(exc))
        try:
            order_column, order_direction = self._handle_order_args(args)
        except InvalidOrderByColumnFABException as exc:
            return self.response_400(message=str(exc))
        page_index, page_size = self._handle_page_args(args)
        count, rows = self.datamodel.query(
            joined_filters, order_column, order_direction, page=page_index, page_size=page_size,
            select_columns=[c for c in self.list_columns if c != "snapshot"],
            outer_default_load=self.list_outer_default_load)
        ids = [row.id for row in rows]
        parts: dict[int, tuple[int, dict]] = {}
        if ids:
            query = select(Appraisal.id, Appraisal.rule_set_version_id, Appraisal.snapshot)
            for ident, version_id, snapshot in db.session.execute(query.where(Appraisal.id.in_(ids))):
                if isinstance(snapshot, dict):
                    snapshot = {key: snapshot[key] for key in LIST_SNAPSHOT_PARTS if key in snapshot}
                parts[ident] = (version_id, snapshot)
        items = [self._row(row, parts.get(row.id, (None, None))[1]) for row in rows]
        response["result"] = self._relabelled(items, {ident: part[0] for ident, part in parts.items()})
        response["ids"] = ids
        response["count"] = count
        return self.response(200, **response)

    @staticmethod
    def _row(row: Appraisal, snapshot: dict | None) -> dict:
        """A list row as FAB's schema writes it (relations nested), with the snapshot's parts."""
        return {
            "id": row.id, "cycle": {"name": row.cycle.name},
            "employee": {"employee_no": row.employee.employee_no, "name": row.employee.name},
            "station": {"code": row.station.code},
            "state": row.state.value if row.state is not None else None,
            "total": row.total, "subtotal": row.subtotal, "adjustment": row.adjustment, "grade": row.grade,
            "version": row.version, "is_current": row.is_current, "snapshot": snapshot,
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

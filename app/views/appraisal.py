"""Screens of cycles and appraisals: cycle list and compute with progress, publication (HR), appraisal
list and page (lines with explanations, review form, actions with a shared or internal comment, trail),
the inbox with bulk approval, and the employee's own results (mobile first). Thin: parse the form, call
a service, flash the outcome."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import clock
from .. import permissions as p
from ..extensions import db
from ..jobs import JobKind, JobRunning, job_dict, latest_job
from ..jobs.compute import busy_cycles, start_compute
from ..jobs.queries import may_see
from ..locales import current_locale
from ..models import Appraisal, Cycle, Employee, Station
from ..pdf.numbers import measure
from ..scoping import scope_clause
from ..services import appraisals, publication, reassign, workflows
from ..services import transitions as tr
from ..services.caller import Caller
from ..services.compute import CycleError
from ..services.cycles import create_cycle, cycle_counts, off_version_counts, submit_drafts
from ..services.document import document_snapshot
from ..services.errors import NotFound, ServiceError
from ..services.inbox import SORTS, STATE_ORDER, BadInboxFilter, inbox_page, parse_filters
from ..services.inbox_groups import built
from ..services.review import review as review_appraisal
from ..services.transitions import amend_appraisal
from ..web.choices import cycle_choices, light_relation_filters, station_choices
from ..web.context import current_caller, page_number, row_or_none
from ..web.datamodel import interface
from ..web.labels import APPRAISAL_LABELS
from ..web.labels import default_state_label as _state_label
from ..web.periods import parse_date
from ..workflow import (
    CALIBRATE,
    INTERNAL,
    MAX_COMMENT,
    SHARED,
    CommentRequired,
    EditLimitReached,
    Refusal,
    State,
    TransitionRefused,
    allowed_actions,
    check_amend,
    check_review,
    decide,
)
from .base import JixiaoModelView, flash_error
from .lookup import employee_lookup_field

# Actions the inbox offers on many appraisals at once (HR submits drafts, reviewers approve).
BULK_ACTIONS = ("submit", "approve")
# The inbox shows this many appraisals a page.
INBOX_PAGE = 50
# At most this many refusals are listed one by one after a bulk action; the rest are counted.
LISTED_REFUSALS = 10

STATE_CSS = {"draft": "default", "pending_review": "warning", "pending_second_review": "warning",
             "approved": "success", "signed": "primary", "disputed": "danger"}


# The inbox's cycle choices: the newest cycles, for an employee the published ones only.
_INBOX_CYCLES = select(Cycle).order_by(Cycle.end.desc(), Cycle.id.desc()).limit(50)
_INBOX_PUBLISHED_CYCLES = _INBOX_CYCLES.where(Cycle.published_at.is_not(None))
# A stored UTC time (a datetime or its ISO text) in the wall time of JIXIAO_TIMEZONE, as the trail shows it.
local_time = clock.local_text


def flash_outcomes(outcomes: list[tr.BulkOutcome], action: str, person: Caller) -> None:
    """After a bulk action: how many succeeded, then each refusal with the appraisal's id, its
    employee (within the person's scope only) and the reason (the first few; the rest counted)."""
    done = [o for o in outcomes if o.ok]
    failed = [o for o in outcomes if not o.ok]
    label = workflows.default_table().action_label(action, current_locale())
    flash(_("“%(action)s” succeeded for %(done)s of %(count)s appraisals.", action=label, done=len(done),
            count=len(outcomes)), "success" if done and not failed else "warning")
    if not failed:
        return
    names = {ident: f"#{ident} {no} {name}" for ident, no, name in db.session.execute(
        select(Appraisal.id, Employee.employee_no, Employee.name)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .where(Appraisal.id.in_([int(o.id) for o in failed[:LISTED_REFUSALS]]),
               scope_clause(Appraisal, person.scope))
    )}
    for outcome in failed[:LISTED_REFUSALS]:
        reason = outcome.reason(current_locale())
        name = names.get(outcome.id, f"#{outcome.id}")
        flash(_("Appraisal %(id)s: %(reason)s", id=name, reason=reason), "danger")
    if len(failed) > LISTED_REFUSALS:
        flash(_("… and %(count)s more not done.", count=len(failed) - LISTED_REFUSALS), "danger")


def _reviewers() -> list[tuple[str, str]]:
    """Who may be named reviewer (supervisors and station managers with an account): number and name."""
    return db.session.execute(
        select(Employee.employee_no, Employee.name).join(User, User.id == Employee.user_id)
        .join(User.roles).where(Role.name.in_((p.SUPERVISOR, p.STATION_MANAGER)), User.active.is_(True))
        .distinct().order_by(Employee.employee_no)).all()


def _second_step_reason(table, facts, person: Caller, locale: str) -> str | None:
    """Why the person who took the earlier approval step sees no action now, if that is why."""
    for t in table.transitions_from(facts.state):
        try:
            decide(table, facts, person.actor, t.action, "-")
        except TransitionRefused as exc:
            if exc.code == "SEPARATION_OF_DUTIES":
                return exc.reason(locale)
        except CommentRequired:
            pass
    return None


class AppraisalView(JixiaoModelView):
    datamodel = interface(Appraisal)
    class_permission_name = p.APPRAISAL
    route_base = "/appraisal"
    method_permission_name = {
        **p.METHOD_PERMISSIONS,
        "transition": p.WRITE, "review": p.WRITE, "amend": p.WRITE, "bulk": p.WRITE, "reassign": p.WRITE,
        "inbox": p.READ, "mine": p.READ,
    }
    include_route_methods = {"list", "show", "transition", "review", "amend", "bulk", "inbox", "mine",
                             "reassign"}
    list_title = _l("Appraisals")
    show_title = _l("Appraisal")
    label_columns = {**APPRAISAL_LABELS, "rule_set_version": _l("Rule set")}
    list_columns = ["cycle", "employee", "station", "state", "total", "grade", "rule_set_version", "version",
                    "is_current"]
    search_columns = ["cycle", "employee", "station", "state", "grade", "is_current"]
    # thousands of employees: typed and looked up, not listed in the page
    search_form_extra_fields = {"employee": employee_lookup_field(APPRAISAL_LABELS["employee"])}
    order_columns = ["state", "total", "grade", "version"]
    base_order = ("id", "asc")
    formatters_columns = {"state": _state_label, "rule_set_version": lambda v: getattr(v, "label", "")}

    def _init_forms(self):
        super()._init_forms()
        light_relation_filters(self.search_form, {"cycle": cycle_choices, "station": station_choices})

    # -- one appraisal ---------------------------------------------------------------------

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        return self._page(pk)

    def _page(self, pk, typed: str | None = None, field_errors: dict | None = None, status: int = 200):
        """The appraisal's page; after a refused form (``typed`` names it: review, transition, amend,
        reassign) that form shows what was typed (``request.form``), answered with ``status``."""
        person = current_caller()
        try:
            appraisal, facts = appraisals.load(db.session, pk, person)
        except NotFound:
            abort(404)
        table = workflows.workflow_table(db.session, appraisal.rule_set_version_id)
        locale = current_locale()
        actions, can_review, can_amend = [], False, False
        review_closed = not_twice = review_for = None  # review_for: whom a substitute edits the review for
        internal = appraisals.sees_internal(person, appraisal)
        if appraisal.is_current:
            # calibrate is taken on the calibration screen (a new version), not by a plain transition
            actions = [t for t in allowed_actions(table, facts, person.actor) if t.action != CALIBRATE]
            not_twice = None if actions else _second_step_reason(table, facts, person, locale)
            try:
                principal = check_review(table, facts, person.actor)
                can_review, review_for = True, principal.name if principal else None
            except EditLimitReached as exc:
                review_closed = exc.reason(locale)
            except TransitionRefused:
                pass
            try:
                check_amend(table, facts, person.actor, "-")
                can_amend = True
            except TransitionRefused:
                pass
        versions = db.session.scalars(
            select(Appraisal).where(Appraisal.cycle_id == appraisal.cycle_id,
                                    Appraisal.employee_id == appraisal.employee_id,
                                    scope_clause(Appraisal, person.scope))
            .order_by(Appraisal.version)
        ).all()
        reassignable = (p.HR in person.actor.roles and appraisal.is_current
                        and facts.state in reassign.REASSIGNABLE)
        return self.render_template(
            "appraisal/show.html", appraisal=appraisal, reassignable=reassignable,
            reviewers=_reviewers() if reassignable else [],
            countersign=appraisals.countersign_status(table, facts),
            reviewer=db.session.get(Employee, appraisal.reviewer_id) if appraisal.reviewer_id else None,
            snapshot=document_snapshot(db.session, appraisal, locale, internal=internal),
            table=table, locale=locale, actions=actions, can_review=can_review, can_amend=can_amend,
            versions=versions, state_css=STATE_CSS, max_adjustment=table.max_adjustment, measure=measure,
            review_closed=review_closed, not_twice=not_twice, review_for=review_for,
            waiting=appraisals.expected_next(db.session, appraisal, facts, person),
            max_comment=MAX_COMMENT, internal=internal, visibilities=(SHARED, INTERNAL),
            final_states=table.final_states, typed=typed, typed_values=request.form if typed else {},
            field_errors=field_errors or {},
        ), status

    def _back(self, pk):
        return redirect(url_for(f"{self.__class__.__name__}.show", pk=pk))

    def _refused(self, pk, form: str, exc: Exception):
        """A refused form: its sentence flashed, and the page again with that form as it was typed."""
        db.session.rollback()  # the page reads the appraisal as stored
        status = flash_error(exc)
        errors = (getattr(exc, "payload", None) or {}).get("errors")
        return self._page(pk, typed=form, field_errors=errors if isinstance(errors, dict) else None,
                          status=status)

    @expose("/transition/<pk>", methods=["POST"])
    @has_access
    def transition(self, pk):
        person = current_caller()
        action = request.form.get("action", "")[:64]
        comment = request.form.get("comment", "")  # the service refuses one too long, storing nothing
        expected = request.form.get("state", "")[:64] or None
        visibility = request.form.get("visibility", "")[:32] or None
        try:
            state = tr.transition(db.session, pk, person, action, comment, expected_state=expected,
                                  visibility=visibility)
        except (ServiceError, Refusal) as exc:
            if request.form.get("next") != "inbox":
                return self._refused(pk, "transition", exc)
            flash_error(exc)
        else:
            table = workflows.workflow_table(db.session, db.session.get(Appraisal, pk).rule_set_version_id)
            label = table.state_label(state, current_locale())
            flash(_("Done: the appraisal is now “%(state)s”.", state=label), "success")
        if request.form.get("next") == "inbox":
            return redirect(url_for(f"{self.__class__.__name__}.inbox"))
        return self._back(pk)

    @expose("/reassign/<pk>", methods=["POST"])
    @has_access
    def reassign(self, pk):
        """HR names another reviewer (转交) with a reason."""
        reviewer = reassign.reviewer_by_number(db.session, request.form.get("reviewer_employee_no", "")[:64])
        try:
            appraisal = reassign.reassign_reviewer(db.session, pk, current_caller(), reviewer,
                                                   request.form.get("reason", ""))
        except (ServiceError, Refusal) as exc:
            return self._refused(pk, "reassign", exc)
        name = db.session.get(Employee, appraisal.reviewer_id).name
        flash(_("%(name)s reviews this appraisal from now on.", name=name), "success")
        return self._back(pk)

    @expose("/review/<pk>", methods=["POST"])
    @has_access
    def review(self, pk):
        person = current_caller()
        manual = {key[len("manual-"):]: value.strip() for key, value in request.form.items()
                  if key.startswith("manual-")}
        try:
            appraisal = review_appraisal(
                db.session, pk, person, manual=manual, adjustment=request.form.get("adjustment", "").strip(),
                reason=request.form.get("reason", ""), expected_hash=request.form.get("hash") or None,
            )
        except (ServiceError, Refusal) as exc:
            return self._refused(pk, "review", exc)
        total = "N/A" if appraisal.total is None else f"{appraisal.total:g}"
        flash(_("Saved. The total is now %(total)s.", total=total), "success")
        return self._back(pk)

    @expose("/amend/<pk>", methods=["POST"])
    @has_access
    def amend(self, pk):
        person = current_caller()
        try:
            new = amend_appraisal(db.session, pk, person, request.form.get("reason", ""))
        except (ServiceError, Refusal) as exc:
            return self._refused(pk, "amend", exc)
        flash(_("Version %(version)s created; it goes through review again.", version=new.version), "success")
        return self._back(new.id)

    # -- many appraisals ---------------------------------------------------------------------

    @expose("/inbox/", methods=["GET"])
    @has_access
    def inbox(self):
        """The inbox, searched, filtered and sorted by a GET form, a page of it at a time."""
        person = current_caller()
        page = page_number(request.args.get("page")) or 1
        try:
            filters = parse_filters(request.args)
            items, count, page = inbox_page(db.session, person, page=page, per_page=INBOX_PAGE, **filters)
        except BadInboxFilter as exc:
            flash_error(exc)
            filters = {}
            items, count, page = inbox_page(db.session, person, page=page, per_page=INBOX_PAGE)
        pages = max(1, -(-count // INBOX_PAGE))
        table = workflows.default_table()
        offered = [a for a in BULK_ACTIONS if any(t.action == a for i in items for t in i.actions)]
        picks = {i.id for i in items if any(t.action in offered for t in i.actions)}  # with a checkbox
        # the choices: the newest cycles (a reviewer's work spans them; an employee answers published
        # results only: an unpublished cycle is none of their business) and the stations of the employees
        # the person may see (a small table, where the appraisals are a large one)
        reviews = bool(person.actor.roles & {p.HR, p.ADMIN, p.STATION_MANAGER, p.SUPERVISOR})
        cycles = db.session.scalars(_INBOX_CYCLES if reviews else _INBOX_PUBLISHED_CYCLES).all()
        stations = db.session.scalars(built(("inbox stations", person.scope), lambda: select(Station).where(
            Station.id.in_(select(Employee.station_id).where(scope_clause(Employee, person.scope))))
            .order_by(Station.code))).all()
        return self.render_template(
            "appraisal/inbox.html", items=items, count=count,
            page=page, pages=pages, filters=filters, sorts=SORTS, states=STATE_ORDER, table=table,
            cycles=cycles, stations=stations, to_local=clock.to_local,
            locale=current_locale(), state_css=STATE_CSS, bulk_actions=offered, picks=picks,
            max_comment=MAX_COMMENT)

    @expose("/bulk/", methods=["POST"])
    @has_access
    def bulk(self):
        """A bulk action: without ``confirmed=1`` the page saying how many and which (nothing changes),
        with it the action on each."""
        person = current_caller()
        action = request.form.get("action", "approve")
        if action not in BULK_ACTIONS:
            abort(400)
        ids = [int(i) for i in request.form.getlist("ids") if i.isdigit() and len(i) < 10][:500]
        if not ids:
            flash(_("Select at least one appraisal."), "warning")
            return redirect(url_for(f"{self.__class__.__name__}.inbox"))
        comment = request.form.get("comment", "")
        if request.form.get("confirmed") != "1":
            rows = db.session.execute(
                select(Appraisal.id, Employee.employee_no, Employee.name, Cycle.name)
                .join(Employee, Employee.id == Appraisal.employee_id)
                .join(Cycle, Cycle.id == Appraisal.cycle_id)
                .where(Appraisal.id.in_(ids), scope_clause(Appraisal, person.scope))
                .order_by(Employee.employee_no, Appraisal.id)).all()
            return self.render_template(
                "appraisal/bulk_confirm.html", action=action, ids=ids, rows=rows, comment=comment,
                label=workflows.default_table().action_label(action, current_locale()))
        flash_outcomes(tr.bulk_transition(db.session, ids, person, action, comment), action, person)
        return redirect(url_for(f"{self.__class__.__name__}.inbox"))

    @expose("/mine/", methods=["GET"])
    @has_access
    def mine(self):
        person = current_caller()
        rows = []
        if person.actor.employee_id is not None:
            rows = db.session.execute(
                select(Appraisal, Cycle).join(Cycle, Cycle.id == Appraisal.cycle_id)
                .where(Appraisal.employee_id == person.actor.employee_id, Appraisal.is_current.is_(True),
                       scope_clause(Appraisal, person.scope))
                .order_by(Cycle.end.desc(), Cycle.start.desc(), Cycle.id.desc())
            ).all()
        return self.render_template("appraisal/mine.html", rows=rows, state_css=STATE_CSS,
                                    state_label=_state_label)


class CycleView(BaseView):
    """Cycles: list, create (HR), and a page per cycle with its compute, its progress and its
    publication (HR publishes; the policy's breaches listed with a field for the override reason)."""

    route_base = "/cycles"
    class_permission_name = p.CYCLE
    method_permission_name = {"list": p.READ, "show": p.READ, "create": p.WRITE, "compute": p.WRITE,
                              "submit": p.WRITE, "publish": p.WRITE}
    default_view = "list"

    @expose("/", methods=["GET"])
    @has_access
    def list(self):
        return self._list()

    def _list(self, typed: bool = False, status: int = 200):
        """The cycles and the form for a new one; after a refused creation the form as typed."""
        cycles = db.session.scalars(
            select(Cycle).order_by(Cycle.end.desc(), Cycle.start.desc(), Cycle.id.desc())).all()
        stations = db.session.scalars(select(Station).order_by(Station.code)).all()
        may_write = self.appbuilder.sm.has_access(p.permission(p.WRITE), p.CYCLE)
        return self.render_template("appraisal/cycles.html", cycles=cycles, stations=stations,
                                    may_write=may_write, computing=busy_cycles(db.session),
                                    off_version=off_version_counts(db.session, [c.id for c in cycles]),
                                    local_time=local_time, typed=request.form if typed else {}), status

    @expose("/create", methods=["POST"])
    @has_access
    def create(self):
        form = request.form
        try:
            start, end = parse_date(form.get("start", "")), parse_date(form.get("end", ""))
        except ValueError:
            flash(_("Dates are written YYYY-MM-DD."), "danger")
            return self._list(typed=True, status=422)
        try:
            cycle = create_cycle(db.session, form.get("name", ""), start, end, form.getlist("stations"))
        except CycleError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return self._list(typed=True, status=422)
        flash(_("Cycle “%(name)s” created.", name=cycle.name), "success")
        if form.get("compute"):
            return self._start(cycle)
        return redirect(url_for("CycleView.show", pk=cycle.id))

    @expose("/<int:pk>", methods=["GET"])
    @has_access
    def show(self, pk: int):
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            abort(404)
        return self.page(cycle)

    def page(self, cycle: Cycle, typed: str | None = None, status: int = 200):
        """The cycle's page; after a refused form on it (``typed`` names it: deadlines, publish) that form
        shows what was typed (``request.form``), answered with ``status``."""
        person = current_caller()
        counted = cycle_counts(db.session, cycle, person.scope)  # states, versions, grades: one query
        may_write = self.appbuilder.sm.has_access(p.permission(p.WRITE), p.CYCLE)
        hr = person.scope.everything
        return self.render_template(
            "appraisal/cycle.html", cycle=cycle, counts=counted.states, hr=hr,
            job=self._compute_job(cycle, person, may_write),
            preview=publication.preview(db.session, cycle, counted)
            if may_write and not cycle.published_at else None,
            window_end=publication.window_end(db.session, cycle),
            local_time=local_time, may_write=may_write,
            table=workflows.workflow_table(db.session, cycle.rule_set_version_id),
            locale=current_locale(), state_css=STATE_CSS, states=[s.value for s in State],
            versions=counted.versions,
            result=cycle.last_result if may_write else None, max_comment=MAX_COMMENT,
            typed=typed, typed_values=request.form if typed else {},
        ), status

    @staticmethod
    def _compute_job(cycle: Cycle, person: Caller, may_write: bool) -> dict | None:
        """The cycle's latest compute job for its bar, to those who may compute and see it: while it is
        unfinished, when it failed, and on the page it ends on (``?computed=1``) when done."""
        job = latest_job(db.session, JobKind.COMPUTE, cycle.id) if may_write else None
        if job is None or not may_see(job, person):
            return None
        shown = job_dict(job, current_locale())
        if shown["state"] == "done" and request.args.get("computed") != "1":
            return None
        return shown

    def _start(self, cycle: Cycle):
        try:
            start_compute(db.session, cycle, current_caller(), rebind=bool(request.form.get("rebind")))
        except JobRunning as exc:
            flash(str(exc.message), "warning")
        return redirect(url_for("CycleView.show", pk=cycle.id, computed=1))

    @expose("/<int:pk>/compute", methods=["POST"])
    @has_access
    def compute(self, pk: int):
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            abort(404)
        return self._start(cycle)

    @expose("/<int:pk>/submit", methods=["POST"])
    @has_access
    def submit(self, pk: int):
        """HR submits the cycle's drafts for review, all at once."""
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            abort(404)
        person = current_caller()
        outcomes, remaining = submit_drafts(db.session, cycle.id, person, request.form.get("comment", ""))
        if not outcomes:
            flash(_("There is no draft to submit in this cycle."), "warning")
        else:
            flash_outcomes(outcomes, "submit", person)
        if remaining:
            flash(_("%(count)s more drafts wait: submit again.", count=remaining), "warning")
        return redirect(url_for("CycleView.show", pk=cycle.id))

    @expose("/<int:pk>/publish", methods=["POST"])
    @has_access
    def publish(self, pk: int):
        """HR publishes the cycle's results (with an override reason over the policy's breaches)."""
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            abort(404)
        if request.form.get("confirm") != "1":
            flash(_("Tick the box to confirm that the results are published."), "warning")
            return redirect(url_for("CycleView.show", pk=cycle.id))
        try:
            published = publication.publish(db.session, cycle.id, current_caller(),
                                            request.form.get("override_reason", ""))
        except (ServiceError, Refusal) as exc:
            db.session.rollback()
            return self.page(cycle, "publish", flash_error(exc))
        flash(_("Published at %(when)s: employees see their approved results from now on.",
                when=local_time(published.published_at)), "success")
        return redirect(url_for("CycleView.show", pk=cycle.id))

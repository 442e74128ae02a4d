""""My jobs" (我的任务): the background jobs a person may see, newest first, with their progress bars,
sentences and downloads. Everyone has it; HR and administrators see everybody's jobs and who started
them, anyone else their own (app.jobs.visible_jobs). Thin: the rows come from app.web.job_rows.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from .. import permissions as p
from ..extensions import db
from ..locales import current_locale
from ..models import Cycle, Employee
from ..web.context import current_caller
from ..web.job_rows import count_visible, job_dicts, page_of_jobs
from ..web.labels import kind_labels
from .appraisal import local_time

PAGE_SIZE = 50
MAX_PAGE = 10**6
# The kinds whose subject is a cycle.
CYCLE_KINDS = ("compute", "export")


def _page_argument() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= MAX_PAGE else 0


def _upload_text(params: dict | None) -> str:
    """What an import job reads: the kind of data and the uploaded file's name."""
    params = params or {}
    kind = kind_labels().get(params.get("kind") or "", "")
    return " · ".join(part for part in (kind, str(params.get("name") or "")) if part)


class JobsView(BaseView):
    route_base = "/jobs"
    class_permission_name = p.JOB
    method_permission_name = {"index": p.READ}
    default_view = "index"

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        session, person, locale = db.session, current_caller(), current_locale()
        page = _page_argument()
        count = count_visible(session, person)
        jobs = page_of_jobs(session, person, page, PAGE_SIZE)
        cycle_ids = {job.subject_id for job in jobs if job.kind in CYCLE_KINDS and job.subject_id}
        cycles = {c.id: c for c in session.scalars(select(Cycle).where(Cycle.id.in_(cycle_ids)))} \
            if cycle_ids else {}
        everyone = person.scope.everything
        owners = self._owner_names({job.owner_id for job in jobs if job.owner_id}) if everyone else {}
        rows = [{"job": shown, "cycle": cycles.get(job.subject_id) if job.kind in CYCLE_KINDS else None,
                 "upload": _upload_text(job.params) if job.kind == "import" else "",
                 "owner": owners.get(job.owner_id, ""),
                 "expired": bool(job.result_path) and not shown["result_url"]}
                for job, shown in zip(jobs, job_dicts(session, jobs, locale), strict=True)]
        return self.render_template(
            "jobs/index.html", rows=rows, everyone=everyone, page=page, count=count,
            pages=max(1, -(-count // PAGE_SIZE)), local_time=local_time,
            cycle_links=self.appbuilder.sm.has_access(p.permission(p.READ), p.CYCLE))

    def _owner_names(self, user_ids: set[int]) -> dict[int, str]:
        """Who started each job: their employee name, else the account's name."""
        if not user_ids:
            return {}
        user_model = self.appbuilder.sm.user_model
        names = {user.id: (f"{user.first_name or ''} {user.last_name or ''}".strip() or user.username)
                 for user in db.session.scalars(select(user_model).where(user_model.id.in_(user_ids)))}
        for employee in db.session.scalars(select(Employee).where(Employee.user_id.in_(user_ids))):
            names[employee.user_id] = employee.name
        return names

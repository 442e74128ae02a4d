"""The what-if: rescore a past cycle with another version and compare the grades.

Scoring a whole cycle is a background job (``app.jobs.compute``): the form starts it (POST), the page
follows its bar and, once it is done, shows its answer (the job's ``result``)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from ...charts.svg import grade_distribution
from ...extensions import db
from ...jobs import job_dict
from ...jobs.compute import WHATIF, start_whatif, whatif_jobs
from ...jobs.queries import may_see
from ...locales import current_locale
from ...models import Job
from ...services import rules as service
from ...services.errors import ServiceError, message_of
from ...web.context import current_caller, row_or_none
from .screen import (
    version_or_404,
)


class WhatIfScreens:
    @expose("/whatif", methods=["GET", "POST"])
    @has_access
    def whatif(self):
        if request.method == "POST":
            return self._start_whatif()
        versions = service.versions(db.session)
        cycles = service.cycle_names(db.session)
        vid = request.args.get("version", type=int)
        cycle = request.args.get("cycle", "")
        job = self._whatif_job(vid, cycle) if vid and cycle else None
        result = error = None
        charts = {}
        if job is not None and job["state"] == "done":
            result = job["result"]
        elif job is not None and job["state"] == "failed":
            error = job["message"]
        if result:
            before, after = result["distribution"]["before"], result["distribution"]["after"]
            charts = {"before": grade_distribution(before, _("Before")),
                      "after": grade_distribution(after, _("After"))}
        return self.render("rules/whatif.html", versions=versions, cycles=cycles, vid=vid, cycle=cycle,
                           result=result, error=error, charts=charts, job=job)

    def _start_whatif(self):
        vid = request.form.get("version", type=int)
        cycle = request.form.get("cycle", "")
        if not vid or not cycle or len(cycle) > 100:
            flash(_("Choose a rule set and a cycle."), "warning")
            return redirect(url_for("RulesView.whatif"))
        version_or_404(vid)
        try:
            job = start_whatif(db.session, vid, cycle, current_caller(), current_locale())
        except ServiceError as exc:
            flash(message_of(exc, current_locale()), "danger")
            return redirect(url_for("RulesView.whatif", version=vid, cycle=cycle))
        return redirect(url_for("RulesView.whatif", version=vid, cycle=cycle, job=job.id))

    @staticmethod
    def _whatif_job(vid: int, cycle: str) -> dict | None:
        """The what-if asked for (``?job=``, the caller's or, for HR, anyone's), else the caller's latest of
        that version and cycle; as the job's bar shows it."""
        caller = current_caller()
        job = row_or_none(Job, request.args.get("job", type=int))
        params = (job.params or {}) if job is not None else {}
        if job is None or job.kind != WHATIF or not may_see(job, caller) or (
                params.get("version_id"), params.get("cycle")) != (vid, cycle):
            latest = whatif_jobs(db.session, caller, vid, cycle, limit=20)
            job = latest[0] if latest else None
        return job_dict(job, current_locale()) if job is not None else None

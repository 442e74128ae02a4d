"""The distribution policy and the incentives of a version (its policy.toml), edited as one form."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...locales import current_locale
from ...models import Station
from ...rules.policy import BOTH, NETWORK, STATION
from ...services import rules as service
from .screen import formula_names, version_or_404

SCOPE_LABELS = {BOTH: ("全网和各服务站", "Network and each station"), NETWORK: ("全网", "Network"),
                STATION: ("各服务站", "Each station")}


class PolicyScreens:
    @expose("/v/<int:vid>/policy")
    @has_access
    def policy(self, vid: int, form: dict | None = None, errors: dict | None = None, status: int = 200):
        version = version_or_404(vid)
        ruleset = service.ruleset_from_version(version)
        if form is None:
            form = service.policy_form(ruleset)
        if errors is None:
            errors = service.policy_errors([], form, current_locale())
        stations = list(db.session.scalars(select(Station).order_by(Station.code)))
        return self.render(
            "rules/policy.html", version=version, form=form, errors=errors,
            grades=[g.grade for g in sorted(ruleset.grades, key=lambda g: g.min, reverse=True)],
            stations=stations, scope_labels=SCOPE_LABELS, names=formula_names(version),
        ), status

    @expose("/v/<int:vid>/policy", methods=["POST"])
    @has_access
    def policy_save(self, vid: int):
        version = version_or_404(vid)
        if version.is_published:
            abort(409)
        form, document, problems = service.read_policy_form(request.form)
        locale = current_locale()
        try:
            warnings = service.save_policy(db.session, version.id, document, problems)
        except service.RuleRefused as exc:
            return self.policy(vid, form, service.policy_errors(exc.problems, form, locale), 422)
        flash(_("Distribution policy and incentives saved; the incentive's test cases pass.")
              if document else _("Distribution policy and incentives removed."), "success")
        for warning in warnings:
            flash(warning.message(locale), "warning")
        return redirect(url_for("RulesView.policy", vid=vid))

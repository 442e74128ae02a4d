"""Grade bands and outcome rules of a version, edited as one table."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from ...extensions import db
from ...locales import current_locale
from ...rules import ACTIONS, forms
from ...rules.model import expr_text
from ...services import rules as service
from .screen import (
    ACTION_LABELS,
    formula_names,
    version_or_404,
)


class GradeScreens:
    @expose("/v/<int:vid>/grades")
    @has_access
    def grades(self, vid: int, grades: list | None = None, outcomes: list | None = None,
               errors: list | None = None, status: int = 200):
        version = version_or_404(vid)
        if grades is None:
            grades = [service.grade_dict(g) for g in version.grade_bands]
            outcomes = [{k: expr_text(v) if k in ("when", "coefficient") else v
                         for k, v in service.outcome_dict(o).items()} for o in version.outcome_rules]
        return self.render("rules/grades.html", version=version, grades=grades, outcomes=outcomes,
                           errors=errors or [], actions=ACTIONS, action_labels=ACTION_LABELS,
                           names=formula_names(version)), status

    @expose("/v/<int:vid>/grades", methods=["POST"])
    @has_access
    def grades_save(self, vid: int):
        version = version_or_404(vid)
        if version.is_published:
            abort(409)
        grades, outcomes = forms.grade_tables(request.form)
        try:
            service.replace_grades(db.session, version.id, grades, outcomes)
        except service.RuleRefused as exc:
            errors = [pr.to_dict(current_locale()) for pr in exc.problems]
            return self.grades(vid, grades, outcomes, errors, 422)
        flash(_("Grades and outcome rules saved."), "success")
        return redirect(url_for("RulesView.grades", vid=vid))

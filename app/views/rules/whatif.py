"""The what-if: rescore a past cycle with another version and compare the grades."""

from __future__ import annotations

from flask import request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from ...charts.svg import grade_distribution
from ...extensions import db
from ...locales import current_locale
from ...services import rules as service
from .screen import (
    version_or_404,
)


class WhatIfScreens:
    @expose("/whatif")
    @has_access
    def whatif(self):
        versions = service.versions(db.session)
        cycles = service.cycle_names(db.session)
        vid = request.args.get("version", type=int)
        cycle = request.args.get("cycle", "")
        result = error = None
        charts = {}
        if vid and cycle:
            version_or_404(vid)
            try:
                result = service.whatif(db.session, vid, cycle, locale=current_locale())
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

"""The no-code rules editor: versions, indicators with live formula checks, test cases and a preview on
real data, templates with weights per station, SWOT quadrants, grades and outcomes, the distribution
policy and incentives (policy.toml), publishing with a diff, and the what-if.

Thin: each handler parses the form (``app.rules.forms``), calls ``app.services.rules`` and renders.
Pages read with Rules/read (HR, station managers, supervisors); every POST needs Rules/write (HR, Admin);
the what-if rescores everybody's results and is HR's (Rules/write) too. The JavaScript is in
``app/static/js/formula-editor.js`` (no inline scripts).

One screen class, ``RulesView``, put together from one mixin per sub-screen: FAB collects the
``@expose`` methods of the class and its bases, so the endpoints stay ``RulesView.*``.
"""

from __future__ import annotations

from flask_appbuilder import BaseView

from ... import permissions as p
from ...locales import current_locale
from ...rules import SEGMENTS
from ...rules.pools import money_text
from ...services import rules as service
from ...web.labels import segment_label
from .grades import GradeScreens
from .indicators import IndicatorScreens
from .policy import PolicyScreens
from .screen import SWOT_LABELS
from .swot import SwotScreens
from .templates import TemplateScreens
from .versions import VersionScreens
from .whatif import WhatIfScreens

READ_METHODS = ("index", "version", "indicator_form", "template_form", "swot", "grades", "policy",
                "publish_page", "preview", "export", "export_zip", "export_file")
WRITE_METHODS = ("new_draft", "discard", "indicator_save", "indicator_delete", "template_save",
                 "template_delete", "swot_save", "swot_delete", "grades_save", "policy_save", "publish",
                 "whatif", "restore")


class RulesView(VersionScreens, IndicatorScreens, TemplateScreens, SwotScreens, GradeScreens, PolicyScreens,
                WhatIfScreens, BaseView):
    route_base = "/rules"
    default_view = "index"
    class_permission_name = p.RULES
    method_permission_name = {**{m: p.READ for m in READ_METHODS}, **{m: p.WRITE for m in WRITE_METHODS}}

    def render(self, template: str, **kwargs):
        kwargs.setdefault("locale", current_locale())
        kwargs.setdefault("segment_labels", {code: segment_label(code) for code in SEGMENTS})
        kwargs.setdefault("swot_labels", SWOT_LABELS)
        kwargs.setdefault("money", money_text)
        kwargs.setdefault("discard_days", service.DISCARD_KEEP_DAYS)
        kwargs.setdefault("can_write", self.appbuilder.sm.has_access(f"can_{p.WRITE}", p.RULES))
        return self.render_template(template, **kwargs)

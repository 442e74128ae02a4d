"""The landing page: for a signed-in person their to-do list (what waits for them by step with links
into the inbox, their running jobs, the recent cycles' progress, their newest result); for a visitor the
sign-in and the public verify page."""

from flask_appbuilder import IndexView, expose
from flask_login import current_user

from .. import clock
from .. import permissions as p
from ..extensions import db
from ..locales import current_locale
from ..services import workflows
from ..services.todo import STEPS, todo
from ..web.context import current_caller
from .appraisal import STATE_CSS


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        employee, roles, items = None, [], None
        if current_user.is_authenticated:
            caller = current_caller()
            employee = caller.employee  # read once, with the caller
            roles = [str(p.ROLE_LABELS.get(r.name, r.name)) for r in current_user.roles]
            items = todo(db.session, caller, clock.now())
        return self.render_template(self.index_template, appbuilder=self.appbuilder, employee=employee,
                                    roles=roles, todo=items, steps=STEPS, table=workflows.default_table(),
                                    locale=current_locale(), state_css=STATE_CSS)

"""The landing page."""

from flask_appbuilder import IndexView, expose
from flask_login import current_user
from sqlalchemy import select

from .. import permissions as p
from ..extensions import db
from ..models import Employee


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        employee = None
        roles = []
        if current_user.is_authenticated:
            employee = db.session.scalar(select(Employee).where(Employee.user_id == current_user.id))
            roles = [str(p.ROLE_LABELS.get(r.name, r.name)) for r in current_user.roles]
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    employee=employee, roles=roles)

"""Extension objects, created unbound; create_app() binds them. No global AppBuilder here:
a module-level one breaks a second create_app() in the same process (tests do that)."""

from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate

db = SQLA()
migrate = Migrate()

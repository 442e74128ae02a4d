"""The base of every model screen: our permission vocabulary and row scoping."""

from flask_appbuilder import ModelView

from .. import permissions as p
from ..scoping import SCOPED


class JixiaoModelView(ModelView):
    method_permission_name = p.METHOD_PERMISSIONS
    base_filters = SCOPED
    page_size = 25

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datamodel.field_labels = self.label_columns

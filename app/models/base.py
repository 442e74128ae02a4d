"""The one declarative base of the project: FAB's, so our tables share metadata with FAB's security tables."""

from flask_appbuilder import Model

metadata = Model.metadata

__all__ = ["Model", "metadata"]

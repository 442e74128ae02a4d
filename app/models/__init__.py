"""SQLAlchemy models only. Importing this package registers every table on Model.metadata."""

from .base import Model, metadata
from .org import POSITIONS, Employee, Segment, Station
from .security import LoginFailure

__all__ = ["Model", "metadata", "Station", "Employee", "Segment", "POSITIONS", "LoginFailure"]

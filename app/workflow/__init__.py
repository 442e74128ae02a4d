"""The approval workflow as data (SPEC §6). Pure Python: see README.md."""

from .decide import (
    Actor,
    CommentRequired,
    Facts,
    Refusal,
    TransitionRefused,
    allowed_actions,
    check_amend,
    check_review,
    decide,
    relations,
)
from .guards import GUARD_VARIABLES, Guard
from .table import (
    HR,
    RECOMPUTABLE_STATES,
    RELATIONS,
    REVIEW_STATES,
    SELF,
    STATION_MANAGER,
    SUPERVISOR,
    Permission,
    State,
    Transition,
    Who,
    WorkflowTable,
    WorkflowTableError,
    load_table,
    parse_table,
)

__all__ = [
    "Actor", "CommentRequired", "Facts", "Refusal", "TransitionRefused", "allowed_actions", "check_amend",
    "check_review", "decide", "relations", "GUARD_VARIABLES", "Guard", "HR", "RECOMPUTABLE_STATES",
    "RELATIONS", "REVIEW_STATES", "SELF", "STATION_MANAGER", "SUPERVISOR", "Permission", "State",
    "Transition", "Who", "WorkflowTable", "WorkflowTableError", "load_table", "parse_table",
]

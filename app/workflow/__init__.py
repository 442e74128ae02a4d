"""The approval workflow as data. Pure Python: see README.md."""

from .decide import (
    MAX_COMMENT,
    Actor,
    CommentRequired,
    CommentTooLong,
    EditLimitReached,
    Facts,
    Party,
    Refusal,
    Step,
    TransitionRefused,
    acting_states,
    allowed_actions,
    check_amend,
    check_comment,
    check_review,
    decide,
    relations,
    round_approvals,
    supervisor_stand_in,
    waiting_for,
)
from .guards import GUARD_VARIABLES, Guard
from .table import (
    APPROVAL_STATES,
    HR,
    RECOMPUTABLE_STATES,
    RELATIONS,
    REVIEW_STATES,
    SELF,
    STATION_MANAGER,
    SUPERVISOR,
    SUPERVISOR_STAND_INS,
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
    "MAX_COMMENT", "Actor", "CommentRequired", "CommentTooLong", "EditLimitReached", "Facts", "Party",
    "Refusal", "Step", "TransitionRefused", "acting_states", "allowed_actions", "check_amend",
    "check_comment", "check_review", "decide", "relations", "round_approvals", "supervisor_stand_in",
    "waiting_for",
    "APPROVAL_STATES", "SUPERVISOR_STAND_INS", "GUARD_VARIABLES", "Guard", "HR", "RECOMPUTABLE_STATES",
    "RELATIONS", "REVIEW_STATES", "SELF", "STATION_MANAGER", "SUPERVISOR", "Permission", "State",
    "Transition", "Who", "WorkflowTable", "WorkflowTableError", "load_table", "parse_table",
]

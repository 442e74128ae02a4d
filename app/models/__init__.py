"""SQLAlchemy models only. Importing this package registers every table on Model.metadata."""

from .base import Model, metadata
from .org import POSITIONS, Employee, Segment, Station
from .security import AccountStamp, LoginFailure

__all__ = ["Model", "metadata", "Station", "Employee", "Segment", "POSITIONS", "LoginFailure", "AccountStamp"]

# --- rules ---
from .rules import (  # noqa: E402
    PublishedVersionLocked,
    RuleGradeBand,
    RuleIndicator,
    RuleOutcome,
    RuleSetStatus,
    RuleSetVersion,
    RuleSwotItem,
    RuleSwotLine,
    RuleTemplate,
    RuleTemplateLine,
    owning_version,
)

__all__ += [
    "PublishedVersionLocked", "RuleGradeBand", "RuleIndicator", "RuleOutcome", "RuleSetStatus",
    "RuleSetVersion", "RuleSwotItem", "RuleSwotLine", "RuleTemplate", "RuleTemplateLine", "owning_version",
]

# --- cycles, appraisals, audit ---
from .appraisal import (  # noqa: E402
    Appraisal,
    AuditEvent,
    Cycle,
    CycleDeadline,
    CycleStatus,
    cycle_station,
)

__all__ += ["Appraisal", "AuditEvent", "Cycle", "CycleDeadline", "CycleStatus", "cycle_station"]

# --- source data ---
from .source import CUSTOMER_TYPES, LaborCost, Survey, WorkOrder  # noqa: E402

__all__ += ["WorkOrder", "Survey", "LaborCost", "CUSTOMER_TYPES"]

# --- sign-off: stored PDFs, the hash chain, verify attempts ---
from .signoff import AppendOnly, HashChainRecord, SignedPdf, VerifyAttempt  # noqa: E402

__all__ += ["AppendOnly", "HashChainRecord", "SignedPdf", "VerifyAttempt"]

# --- background jobs and their table queue ---
from .jobs import UNFINISHED, Job, JobKind, JobMessage, JobPart, JobState  # noqa: E402

__all__ += ["Job", "JobKind", "JobMessage", "JobPart", "JobState", "UNFINISHED"]

# --- notifications, the outbox, group robots ---
from .notify import Notification, NotificationPreference, Outbox, OutboxState, RobotWebhook  # noqa: E402

__all__ += ["Notification", "NotificationPreference", "Outbox", "OutboxState", "RobotWebhook"]

# --- substitutes and countersigned steps ---
from .delegation import CountersignApproval, Substitute  # noqa: E402

__all__ += ["CountersignApproval", "Substitute"]

# --- stored dashboard figures ---
from .aggregates import DashboardFigures  # noqa: E402

__all__ += ["DashboardFigures"]

# --- the change counts behind the lists' kept counts ---
from .changes import COUNTED_TABLES, TableChange, version_of  # noqa: E402

__all__ += ["COUNTED_TABLES", "TableChange", "version_of"]

"""Rule sets: indicators, templates, grade bands, outcome rules and SWOT items, per version.

Storage choice: **normalised rows**, each owned by one ``RuleSetVersion``. Rows give the REST API and
the editor one record per indicator, template line or SWOT item to validate and refuse on its own, and
let a diff name exactly what changed. The canonical form of a version is not stored twice: it is
always rebuilt from the rows (``app.services.rules``), and its SHA-256 (``content_hash``) is taken of
the canonical TOML export, so "same content" means "same export, byte for byte".

A published version never changes: the services refuse edits, and a ``before_flush`` guard below
refuses any insert, update or delete that touches a published version's rows, whoever tries it.
"""

from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Model


class RuleSetStatus(enum.StrEnum):
    draft = "draft"
    published = "published"


LOCKED_MESSAGE = _l(
    "This rule set version is published and cannot be changed; create a new draft to edit it."
)


class PublishedVersionLocked(Exception):
    """Somebody tried to change a published rule-set version. Its ``kind`` is a service error's
    "conflict" (the version's state forbids the change), so screens and APIs map it like one."""

    kind = "conflict"

    def __init__(self, version_number: int | None = None) -> None:
        super().__init__(f"rule set version {version_number} is published and cannot change")
        self.version_number = version_number

    def message_for(self, locale: str | None = None) -> str:  # noqa: ARG002 - the reader's language
        return str(LOCKED_MESSAGE)


def _status_enum():
    return Enum(RuleSetStatus, native_enum=False, length=16, validate_strings=True)


class RuleSetVersion(Model):
    __tablename__ = "rule_set_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    status: Mapped[RuleSetStatus] = mapped_column(
        _status_enum(), nullable=False, default=RuleSetStatus.draft
    )
    # SHA-256 of the canonical export; set when published (a draft's content still moves).
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("rule_set_version.id"), nullable=True)
    based_on: Mapped[RuleSetVersion | None] = relationship(remote_side=[id])
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Other files of a rules/ directory (e.g. workflow.toml), passed through verbatim as JSON.
    extras: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # When this version became the one new cycles use; loading an older content again re-activates it.
    current_since: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    # A discarded draft is kept for a while (hidden, read-only) so that it can be restored.
    discarded_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    discarded_by: Mapped[str | None] = mapped_column(String(128), nullable=True)

    indicators: Mapped[list[RuleIndicator]] = relationship(
        back_populates="version", order_by="RuleIndicator.position", cascade="all, delete-orphan"
    )
    templates: Mapped[list[RuleTemplate]] = relationship(
        back_populates="version", order_by="RuleTemplate.position", cascade="all, delete-orphan"
    )
    grade_bands: Mapped[list[RuleGradeBand]] = relationship(
        back_populates="version", order_by="RuleGradeBand.position", cascade="all, delete-orphan"
    )
    outcome_rules: Mapped[list[RuleOutcome]] = relationship(
        back_populates="version", order_by="RuleOutcome.position", cascade="all, delete-orphan"
    )
    swot_items: Mapped[list[RuleSwotItem]] = relationship(
        back_populates="version", order_by="RuleSwotItem.position", cascade="all, delete-orphan"
    )

    @property
    def label(self) -> str:
        return f"v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == RuleSetStatus.published

    @property
    def is_discarded(self) -> bool:
        return self.discarded_at is not None

    def __repr__(self) -> str:
        return f"v{self.number} ({self.status.value if self.status else 'draft'})"


class RuleIndicator(Model):
    __tablename__ = "rule_indicator"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_rule_indicator_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("rule_set_version.id"), nullable=False, index=True)
    version: Mapped[RuleSetVersion] = relationship(back_populates="indicators")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="formula")
    value_formula: Mapped[str] = mapped_column(Text, nullable=False, default="")
    unit: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    target: Mapped[str] = mapped_column(Text, nullable=False, default="")
    score_formula: Mapped[str] = mapped_column(Text, nullable=False, default="")
    direction: Mapped[str] = mapped_column(String(16), nullable=False, default="higher")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tests: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list of test cases

    def __repr__(self) -> str:
        return f"{self.code} {self.name}"


class RuleTemplate(Model):
    __tablename__ = "rule_template"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_rule_template_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("rule_set_version.id"), nullable=False, index=True)
    version: Mapped[RuleSetVersion] = relationship(back_populates="templates")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    # Comma-free JSON lists; empty list = applies to every position / station / segment.
    positions: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    stations: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    segments: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    lines: Mapped[list[RuleTemplateLine]] = relationship(
        back_populates="template", order_by="RuleTemplateLine.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"{self.code} {self.name}"


class RuleTemplateLine(Model):
    __tablename__ = "rule_template_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("rule_template.id"), nullable=False, index=True)
    template: Mapped[RuleTemplate] = relationship(back_populates="lines")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    indicator_code: Mapped[str] = mapped_column(String(64), nullable=False)
    weight: Mapped[str] = mapped_column(Text, nullable=False)  # a number or a formula


class RuleGradeBand(Model):
    __tablename__ = "rule_grade_band"
    __table_args__ = (UniqueConstraint("version_id", "grade", name="uq_rule_grade"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("rule_set_version.id"), nullable=False, index=True)
    version: Mapped[RuleSetVersion] = relationship(back_populates="grade_bands")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    grade: Mapped[str] = mapped_column(String(16), nullable=False)
    label: Mapped[str] = mapped_column(String(64), nullable=False)
    label_en: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    min_total: Mapped[float] = mapped_column(Float, nullable=False)


class RuleOutcome(Model):
    __tablename__ = "rule_outcome"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_rule_outcome_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("rule_set_version.id"), nullable=False, index=True)
    version: Mapped[RuleSetVersion] = relationship(back_populates="outcome_rules")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    condition: Mapped[str] = mapped_column(Text, nullable=False)
    coefficient: Mapped[str] = mapped_column(Text, nullable=False, default="")
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    label_en: Mapped[str] = mapped_column(String(100), nullable=False, default="")


class RuleSwotItem(Model):
    __tablename__ = "rule_swot_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("rule_set_version.id"), nullable=False, index=True)
    version: Mapped[RuleSetVersion] = relationship(back_populates="swot_items")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # A station code rather than a key: a rule set is loaded before (or without) the stations.
    station_code: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(1), nullable=False)  # S, W, O or T
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    positions: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list; [] = everyone
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    lines: Mapped[list[RuleSwotLine]] = relationship(
        back_populates="item", order_by="RuleSwotLine.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"{self.station_code} {self.year} {self.kind} {self.title}"


class RuleSwotLine(Model):
    __tablename__ = "rule_swot_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    swot_item_id: Mapped[int] = mapped_column(ForeignKey("rule_swot_item.id"), nullable=False, index=True)
    item: Mapped[RuleSwotItem] = relationship(back_populates="lines")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    indicator_code: Mapped[str] = mapped_column(String(64), nullable=False)
    weight: Mapped[str] = mapped_column(Text, nullable=False)


RULE_ROWS = (
    RuleIndicator, RuleTemplate, RuleTemplateLine, RuleGradeBand, RuleOutcome, RuleSwotItem, RuleSwotLine,
)


def _key(value) -> int | None:
    """A usable primary key, or None (API input may hold anything)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def owning_version(session: Session, row) -> RuleSetVersion | None:
    """The version a rule row belongs to, whether it is linked by relationship or only by key."""
    with session.no_autoflush:
        if isinstance(row, RuleSetVersion):
            return row
        if isinstance(row, RuleTemplateLine):
            key = _key(row.template_id)
            parent = row.template or (session.get(RuleTemplate, key) if key else None)
            return parent.version if parent is not None else None
        if isinstance(row, RuleSwotLine):
            key = _key(row.swot_item_id)
            parent = row.item or (session.get(RuleSwotItem, key) if key else None)
            return parent.version if parent is not None else None
        key = _key(row.version_id)
        return row.version or (session.get(RuleSetVersion, key) if key else None)


def _was_published(version: RuleSetVersion) -> bool:
    """True when the version is published in the database already (not merely being published now)."""
    state = inspect(version)
    if state.pending or state.transient:
        return False
    history = state.attrs.status.history
    before = history.deleted[0] if history.deleted else version.status
    return before == RuleSetStatus.published


_RELATIONSHIPS = {"indicators", "templates", "grade_bands", "outcome_rules", "swot_items", "based_on"}


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_published(session: Session, flush_context, instances) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, RuleSetVersion):
            if obj in session.deleted and _was_published(obj):
                raise PublishedVersionLocked(obj.number)
            if obj in session.dirty and _was_published(obj) and session.is_modified(obj):
                changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
                if changed - {"current_since", *_RELATIONSHIPS}:
                    raise PublishedVersionLocked(obj.number)
        elif isinstance(obj, RULE_ROWS):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            version = owning_version(session, obj)
            if version is not None and _was_published(version):
                raise PublishedVersionLocked(version.number)

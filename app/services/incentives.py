"""Station pools of incentive amounts (绩效奖金): shared out at publication, kept at publication's terms
after it.

Until a cycle is published each appraisal's amount is its formula's amount, capped (the snapshot's
``incentive.amount``, worked out when it is scored). Publication calls :func:`allocate_cycle`: every
station with a pool in the cycle's rule set gets its pool shared out over the cycle's current
appraisals there (``app.rules.pools``), and those snapshots are rewritten with their amount, the
pool's factor and ``pool.allocated = true``. After publication a rescored snapshot (a review edit, an
amendment, a calibration) goes through :func:`settle`: its amount is its formula's amount times the
frozen factor, capped, and never more than what the others leave of the pool.

Neither commits: both run inside the caller's transaction.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from sqlalchemy import bindparam, select, update

from ..models import Appraisal, Cycle, Station
from ..rules.pools import allocate, factor_text, money_text, pool_left, scale_factor, settle_amount
from ..workflow import State
from .rules import ruleset_for_version
from .scoring import Scored
from .snapshot import RawJSON, canonical_json


def _money(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _raw(incentive: Mapping) -> Decimal | None:
    return _money(incentive.get("raw"))


def _positive_sum(values) -> Decimal:
    return sum((v for v in values if v is not None and v > 0), Decimal(0))


def _over_cap(raw: Decimal | None, scale: Decimal | None, cap: Decimal | None) -> bool:
    return raw is not None and scale is not None and cap is not None and raw * scale > cap


def _current(session, cycle_id: int, station_codes: Iterable[str]):
    """(id, state, station code, snapshot) of the cycle's current appraisals at these stations, one
    query."""
    return session.execute(
        select(Appraisal.id, Appraisal.state, Station.code, Appraisal.snapshot)
        .join(Station, Station.id == Appraisal.station_id)
        .where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True),
               Station.code.in_(sorted(station_codes)))
        .order_by(Appraisal.id)
    ).all()


def _pooled(snapshot) -> Mapping | None:
    incentive = (snapshot or {}).get("incentive") if isinstance(snapshot, Mapping) else None
    return incentive if isinstance(incentive, Mapping) else None


def _fixed(state, incentive: Mapping) -> Decimal | None:
    """A signed appraisal's amount already shared out may no longer change."""
    pool = incentive.get("pool") or {}
    if getattr(state, "value", state) == State.signed.value and pool.get("allocated"):
        return _money(incentive.get("amount")) or Decimal(0)
    return None


def allocate_cycle(session, cycle: Cycle) -> dict:
    """Share out every pooled station's pool over the cycle's current appraisals and rewrite their
    snapshots and hashes (no commit). Returns ``{"changed": {appraisal_id: new_hash}, "pools":
    {station_code: {"size", "raw_sum", "allocated", "factor"}}}`` (amounts as strings)."""
    out: dict = {"changed": {}, "pools": {}}
    if cycle.rule_set_version_id is None:
        return out
    incentive = ruleset_for_version(session, cycle.rule_set_version_id).incentive
    if incentive is None or not incentive.pools:
        return out
    cap = None if incentive.cap is None else Decimal(incentive.cap)
    by_station: dict[str, list] = {code: [] for code in incentive.pools}
    for ident, state, code, snapshot in _current(session, cycle.id, by_station):
        part = _pooled(snapshot)
        if part is not None:
            by_station[code].append((ident, state, snapshot, part))
    updates = []
    for code in sorted(by_station):
        size = Decimal(incentive.pools[code])
        rows = by_station[code]
        claims = [(ident, _raw(part), _fixed(state, part)) for ident, state, _snapshot, part in rows]
        amounts = allocate(claims, size, cap)
        left = pool_left(size, (fixed for _i, _r, fixed in claims))
        raw_sum = _positive_sum(raw for _i, raw, fixed in claims if fixed is None)
        factor = scale_factor(raw_sum, left)
        exact = left / raw_sum if raw_sum > 0 else None
        for (ident, raw, fixed), (_i, _state, snapshot, part) in zip(claims, rows, strict=True):
            if fixed is not None:
                continue
            new = copy.deepcopy(dict(snapshot))
            new["incentive"] = {
                **part,
                "amount": None if raw is None else money_text(amounts[ident]),
                "capped": _over_cap(raw, exact, cap),
                "pool": {"station": code, "size": money_text(size), "allocated": True,
                         "factor": factor_text(factor)},
            }
            text = canonical_json(new)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            updates.append({"b_id": ident, "snapshot_json": text, "snapshot_hash": digest})
            out["changed"][ident] = digest
        out["pools"][code] = {
            "size": money_text(size), "raw_sum": money_text(raw_sum),
            "allocated": money_text(sum(amounts.values(), Decimal(0))), "factor": factor_text(factor),
        }
    if updates:
        table = Appraisal.__table__
        session.execute(
            update(table).where(table.c.id == bindparam("b_id"))
            .values(snapshot=bindparam("snapshot_json", type_=RawJSON()),
                    snapshot_hash=bindparam("snapshot_hash")),
            updates,
        )
    return out


def settle(session, cycle: Cycle, appraisal_id, snapshot: dict) -> dict:
    """``snapshot`` with its amount fixed at publication's terms: in a published cycle, at a station
    whose pool was shared out, the formula's amount times the frozen factor, capped, never more than
    the pool less the other current appraisals' amounts there. Unchanged before publication or
    without a pool. ``appraisal_id`` is the appraisal the snapshot replaces (left out of the others)."""
    part = _pooled(snapshot)
    if cycle.published_at is None or part is None or not part.get("pool"):
        return snapshot
    code = snapshot.get("station", {}).get("code")
    frozen = ((cycle.publication or {}).get("pools") or {}).get(code)
    pool = part["pool"]
    size = _money((frozen or {}).get("size")) or _money(pool.get("size"))
    if size is None:
        return snapshot
    factor = _money((frozen or {}).get("factor")) if frozen is not None else _money(pool.get("factor"))
    # Nobody had an amount at publication (no factor): the pool is there to be had, capped.
    scale = Decimal(1) if factor is None else factor
    others = Decimal(0)
    for ident, _state, _code, other in _current(session, cycle.id, [code]):
        other_part = _pooled(other)
        if ident != appraisal_id and other_part is not None:
            others += _money(other_part.get("amount")) or Decimal(0)
    raw, cap = _raw(part), _money(part.get("cap"))
    amount = settle_amount(raw, scale, cap, size - others)
    settled = dict(snapshot)
    settled["incentive"] = {
        **part,
        "amount": None if raw is None else money_text(amount),
        "capped": _over_cap(raw, scale, cap),
        "pool": {**pool, "station": code, "size": money_text(size), "allocated": True,
                 "factor": factor_text(factor)},
    }
    return settled


def settle_scored(session, cycle: Cycle, appraisal_id, scored: Scored) -> Scored:
    """:func:`settle` for a snapshot already serialised for storing (its JSON text and hash redone
    when the amount changes)."""
    if cycle.published_at is None:
        return scored
    snapshot = json.loads(scored.json)
    settled = settle(session, cycle, appraisal_id, snapshot)
    if settled is snapshot:
        return scored
    text = canonical_json(settled)
    return scored._replace(json=text, digest=hashlib.sha256(text.encode("utf-8")).hexdigest())

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
from decimal import Decimal

from sqlalchemy import bindparam, select, update

from ..models import Appraisal, Cycle, Station
from ..rules.pools import (
    allocate,
    factor_text,
    money_text,
    pool_left,
    scale_factor,
    settle_amount,
    stored_money,
)
from ..workflow import State
from .rules import ruleset_for_version
from .scoring import Scored
from .snapshot import RawJSON, canonical_json


def _raw(incentive: Mapping) -> Decimal | None:
    return stored_money(incentive.get("raw"))


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
        return stored_money(incentive.get("amount")) or Decimal(0)
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
    the pool less the other current appraisals' amounts there (a formula's amount that did not change
    keeps the amount it had). Unchanged (the same object) before publication or without a pool.
    ``appraisal_id`` is the appraisal the snapshot replaces (None: a new one)."""
    return settle_all(session, cycle, [(appraisal_id, snapshot)])[0]


def settle_all(session, cycle: Cycle, items: list[tuple]) -> list[dict]:
    """:func:`settle` for several ``(replaced appraisal id or None, snapshot)`` at once, in order: each
    is bounded by the pool less the amounts of the current appraisals not replaced here and of the
    ones settled before it. One query."""
    if cycle.published_at is None or not any(_in_pool(snapshot) for _id, snapshot in items):
        return [snapshot for _id, snapshot in items]
    codes = {snapshot["station"]["code"] for _id, snapshot in items if _in_pool(snapshot)}
    replaced = {ident for ident, _snapshot in items if ident is not None}
    stored: dict = {}
    used = dict.fromkeys(codes, Decimal(0))
    for ident, _state, code, other in _current(session, cycle.id, codes):
        part = _pooled(other)
        if part is None:
            continue
        if ident in replaced:
            stored[ident] = part
        else:
            used[code] += stored_money(part.get("amount")) or Decimal(0)
    frozen_pools = (cycle.publication or {}).get("pools") or {}
    out = [snapshot for _id, snapshot in items]
    pooled = [i for i, (_id, snapshot) in enumerate(items) if _in_pool(snapshot)]
    # Amounts that stay what they were come first; the changed ones share what those leave.
    pooled.sort(key=lambda i: not _kept(items[i][1], stored.get(items[i][0])))
    for i in pooled:
        ident, snapshot = items[i]
        code = snapshot["station"]["code"]
        out[i] = _settled(snapshot, frozen_pools.get(code), stored.get(ident), used[code])
        used[code] += stored_money(out[i]["incentive"]["amount"]) or Decimal(0)
    return out


def _kept(snapshot: Mapping, before: Mapping | None) -> bool:
    """Whether a rescored snapshot keeps the amount it had: the one it replaces was shared out and its
    formula's amount is the same."""
    return (before is not None and bool((before.get("pool") or {}).get("allocated"))
            and stored_money(before.get("amount")) is not None and _raw(snapshot["incentive"]) is not None
            and _raw(before) == _raw(snapshot["incentive"]))


def _in_pool(snapshot) -> bool:
    part = _pooled(snapshot)
    return part is not None and bool(part.get("pool")) and bool((snapshot.get("station") or {}).get("code"))


def _settled(snapshot: dict, frozen: Mapping | None, before: Mapping | None, used: Decimal) -> dict:
    """One snapshot settled: ``frozen`` the pool's terms at publication, ``before`` the incentive of
    the snapshot it replaces, ``used`` what the station's other amounts take of the pool."""
    part, code = snapshot["incentive"], snapshot["station"]["code"]
    pool = part["pool"]
    size = stored_money((frozen or {}).get("size")) or stored_money(pool.get("size")) or Decimal(0)
    factor = stored_money((frozen if frozen is not None else pool).get("factor"))
    # Nobody had an amount at publication (no factor): the pool is there to be had, capped.
    scale = Decimal(1) if factor is None else factor
    raw, cap = _raw(part), stored_money(part.get("cap"))
    left = size - used
    if raw is None:
        amount = None
    elif _kept(snapshot, before):
        amount = min(stored_money(before["amount"]), pool_left(left, ()))
    else:
        amount = settle_amount(raw, scale, cap, left)
    settled = dict(snapshot)
    settled["incentive"] = {
        **part,
        "amount": money_text(amount),
        "capped": _over_cap(raw, scale, cap),
        "pool": {**pool, "station": code, "size": money_text(size), "allocated": True,
                 "factor": factor_text(factor)},
    }
    return settled


def settle_scored(session, cycle: Cycle, appraisal_id, scored: Scored) -> Scored:
    """:func:`settle` for a snapshot already serialised for storing (its JSON text and hash redone
    when the amount changes)."""
    return settle_scored_all(session, cycle, [(appraisal_id, scored)])[0]


def settle_scored_all(session, cycle: Cycle, items: list[tuple]) -> list[Scored]:
    """:func:`settle_all` for ``(replaced appraisal id or None, Scored)`` pairs; nothing is parsed
    before publication, and only the snapshots with a pool after it."""
    out = [scored for _id, scored in items]
    if cycle.published_at is None:
        return out
    # Only a snapshot at a pooled station has "pool": {...} (canonical JSON: no spaces); parse those.
    pooled = [i for i, (_id, scored) in enumerate(items) if '"pool":{' in scored.json]
    snapshots = [json.loads(items[i][1].json) for i in pooled]
    settled = settle_all(session, cycle, [(items[i][0], snapshot) for i, snapshot in zip(
        pooled, snapshots, strict=True)])
    for i, before, after in zip(pooled, snapshots, settled, strict=True):
        if after is not before:
            text = canonical_json(after)
            out[i] = out[i]._replace(json=text, digest=hashlib.sha256(text.encode("utf-8")).hexdigest())
    return out

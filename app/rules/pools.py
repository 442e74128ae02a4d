"""Incentive amounts in whole yuan: each person's amount alone, or a station's pool shared out.

Pure arithmetic on ``Decimal`` (exact fractions inside, never floats).

- Without a pool each amount is the formula's amount, capped and rounded half-up to whole yuan
  (a cap with cents allows the whole yuan below it).
- With a pool the amounts that may no longer change (``fixed``, e.g. a signed appraisal's) are
  taken off the pool first; the rest of the pool, in whole yuan, is shared in proportion to the
  formula's amounts. A share over the cap is cut to the cap and the excess goes to the others in
  proportion, again and again until no share is over the cap. The shares are then cut to whole
  yuan and the yuan left over go one each to the largest fractions (equal fractions: the smaller
  key first). So the amounts add up to the pool left exactly, unless every share is at the cap,
  and never to more than the pool.
- A claim without an amount (N/A) or with one below 0 counts as 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, NamedTuple

YUAN = Decimal("1")
FACTOR_PLACES = Decimal("0.0001")


class Claim(NamedTuple):
    """One person's claim: ``raw`` the formula's amount (None: N/A), ``fixed`` an amount that may no
    longer change (None: the amount is to be worked out)."""

    key: Hashable
    raw: Decimal | None
    fixed: Decimal | None = None


def whole(value: Decimal) -> Decimal:
    """``value`` rounded half-up to whole yuan."""
    return Decimal(value).quantize(YUAN, rounding=ROUND_HALF_UP)


def floor_yuan(value: Decimal | Fraction) -> Decimal:
    """The whole yuan at or below ``value``."""
    if isinstance(value, Fraction):
        return Decimal(value.numerator // value.denominator)
    return Decimal(value).quantize(YUAN, rounding=ROUND_FLOOR)


def _positive(raw: Decimal | None) -> Fraction:
    if raw is None or not Decimal(raw).is_finite() or raw <= 0:
        return Fraction(0)
    return Fraction(raw)


def capped(raw: Decimal | None, cap: Decimal | None) -> Decimal:
    """One amount without a pool: ``min(raw, cap)`` rounded half-up to whole yuan (0 for N/A)."""
    if raw is None or _positive(raw) == 0:
        return Decimal(0)
    amount = whole(raw)
    if cap is not None:
        amount = min(amount, floor_yuan(max(Decimal(cap), Decimal(0))))
    return amount


def pool_left(pool: Decimal, fixed: Iterable[Decimal | None]) -> Decimal:
    """What a pool still holds, in whole yuan, once the fixed amounts are taken off (never below 0)."""
    left = Decimal(pool) - sum((Decimal(f) for f in fixed if f is not None), Decimal(0))
    return max(floor_yuan(left), Decimal(0))


def allocate(claims: Iterable[tuple], pool: Decimal | None, cap: Decimal | None) -> dict:
    """Each claim's amount in whole yuan (``Decimal``), by key; a fixed claim keeps its amount.

    ``claims`` are ``(key, raw, fixed)`` triples (see :class:`Claim`); keys must be sortable
    (ties in the rounding go to the smaller key).
    """
    claims = [Claim(*claim) for claim in claims]
    out: dict = {}
    open_claims = []
    for claim in claims:
        if claim.fixed is not None:
            out[claim.key] = Decimal(claim.fixed)
        else:
            open_claims.append(claim)
    if pool is None:
        for claim in open_claims:
            out[claim.key] = capped(claim.raw, cap)
        return out
    budget = Fraction(pool_left(pool, (c.fixed for c in claims)))
    limit = None if cap is None else Fraction(floor_yuan(max(Decimal(cap), Decimal(0))))
    weights = {claim.key: _positive(claim.raw) for claim in open_claims}
    shares = _water_fill(weights, budget, limit)
    out.update(_largest_remainder(shares))
    return out


def _water_fill(weights: Mapping, budget: Fraction, limit: Fraction | None) -> dict:
    """Exact shares of ``budget`` in proportion to ``weights``, none over ``limit``: the shares over
    it are cut to it and the rest shared again among the others, until none is over."""
    shares = {key: Fraction(0) for key in weights}
    free = {key: weight for key, weight in weights.items() if weight > 0}
    while free:
        rate = budget / sum(free.values())
        over = [key for key, weight in free.items() if limit is not None and weight * rate > limit]
        if not over:
            for key, weight in free.items():
                shares[key] = weight * rate
            break
        for key in over:
            shares[key] = limit
            budget -= limit
            del free[key]
    return shares


def _largest_remainder(shares: Mapping) -> dict:
    """Whole-yuan amounts adding up to the (whole) sum of ``shares``: each share cut to whole yuan,
    the yuan left over one each to the largest fractions, equal fractions by key."""
    floors = {key: share.numerator // share.denominator for key, share in shares.items()}
    total = sum(shares.values(), Fraction(0))
    left = int(total) - sum(floors.values())  # total is whole: the budget or caps of whole yuan
    order = sorted(shares, key=lambda key: (-(shares[key] - floors[key]), key))
    for key in order[:max(left, 0)]:
        floors[key] += 1
    return {key: Decimal(amount) for key, amount in floors.items()}


def scale_factor(raw_sum: Decimal, left: Decimal) -> Decimal | None:
    """The pool's factor (what is left of the pool ÷ the formula's amounts), 4 places; None when
    there is nothing to scale."""
    if raw_sum is None or raw_sum <= 0:
        return None
    return (Decimal(left) / Decimal(raw_sum)).quantize(FACTOR_PLACES, rounding=ROUND_HALF_UP)


def settle_amount(raw: Decimal | None, factor: Decimal | None, cap: Decimal | None,
                  left: Decimal) -> Decimal:
    """One amount in a pool already shared out: the formula's amount times the pool's frozen factor,
    capped, rounded half-up to whole yuan, and never more than what is ``left`` of the pool."""
    if raw is None or factor is None:
        return Decimal(0)
    amount = capped(Decimal(raw) * Decimal(factor), cap)
    return max(min(amount, floor_yuan(Decimal(left))), Decimal(0))


def money_text(amount: Decimal | None) -> str | None:
    """How an amount is stored in a snapshot: whole yuan without decimals ("1235"), otherwise to the
    cent ("1234.56"); never an exponent."""
    if amount is None:
        return None
    amount = Decimal(amount)
    if amount == amount.to_integral_value():
        return format(amount.quantize(YUAN), "f")
    return format(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")


def stored_money(value: Any) -> Decimal | None:
    """A stored amount ("1235", "1234.56", a Decimal or a number) as a Decimal; None when there is none."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def factor_text(factor: Decimal | None) -> str | None:
    """A pool's factor as a snapshot stores it: 4 places ("0.9731")."""
    return None if factor is None else format(Decimal(factor).quantize(FACTOR_PLACES), "f")

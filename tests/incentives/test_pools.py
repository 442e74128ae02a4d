"""Incentive amounts in whole yuan: alone (capped, rounded half-up) and shared out of a station's pool
(scaled, capped with the excess spread, remainders to the largest fractions, never over the pool)."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.pools import allocate, capped, money_text, scale_factor, settle_amount


def test_without_a_pool_each_amount_is_capped_and_rounded_half_up():
    claims = [(1, D("1234.50"), None), (2, D("1234.49"), None), (3, D("9000"), None), (4, None, None),
              (5, D("-10"), None)]
    assert allocate(claims, None, D("5000")) == {1: D("1235"), 2: D("1234"), 3: D("5000"), 4: D("0"),
                                                5: D("0")}
    assert allocate(claims, None, None)[3] == D("9000")


def test_a_cap_with_cents_allows_the_whole_yuan_below_it():
    assert capped(D("2000"), D("1234.50")) == D("1234")
    assert capped(D("1234.4"), D("1234.50")) == D("1234")


def test_a_pool_is_shared_in_proportion_with_the_remainder_to_the_largest_fractions():
    # 10000 over 1 : 1 : 1 → 3333.33 each; the one yuan left goes to the smallest key (equal fractions)
    amounts = allocate([("b", D("100"), None), ("a", D("100"), None), ("c", D("100"), None)],
                       D("10000"), None)
    assert amounts == {"a": D("3334"), "b": D("3333"), "c": D("3333")}
    assert sum(amounts.values()) == D("10000")
    # 1000 over 1 : 2 : 4 → 142.857, 285.714, 571.428: floors 998, the two largest fractions get a yuan
    amounts = allocate([(1, D("1"), None), (2, D("2"), None), (3, D("4"), None)], D("1000"), None)
    assert amounts == {1: D("143"), 2: D("286"), 3: D("571")}


def test_a_pool_scales_up_as_well_as_down():
    amounts = allocate([(1, D("500"), None), (2, D("1500"), None)], D("4000"), None)
    assert amounts == {1: D("1000"), 2: D("3000")}


def test_capped_shares_spread_their_excess_over_the_others_until_none_is_over():
    # 9000 over 6 : 2 : 1 → 6000, 2000, 1000; cap 3000: 3000, then 6000 over 2 : 1 → 4000 (capped), 2000
    amounts = allocate([(1, D("6"), None), (2, D("2"), None), (3, D("1"), None)], D("9000"), D("3000"))
    assert amounts == {1: D("3000"), 2: D("3000"), 3: D("3000")}
    amounts = allocate([(1, D("6"), None), (2, D("2"), None), (3, D("1"), None)], D("8000"), D("3500"))
    # 3500, then 4500 over 2 : 1 → 3000, 1500
    assert amounts == {1: D("3500"), 2: D("3000"), 3: D("1500")}


def test_when_everybody_is_at_the_cap_the_pool_is_not_used_up():
    amounts = allocate([(1, D("10"), None), (2, D("20"), None)], D("10000"), D("3000"))
    assert amounts == {1: D("3000"), 2: D("3000")}


def test_fixed_amounts_come_off_the_pool_first_and_keep_their_value():
    amounts = allocate([(1, D("100"), D("4000")), (2, D("100"), None), (3, D("300"), None)], D("10000"), None)
    assert amounts == {1: D("4000"), 2: D("1500"), 3: D("4500")}
    # more fixed than the pool: nothing left for the others
    amounts = allocate([(1, D("100"), D("12000")), (2, D("100"), None)], D("10000"), None)
    assert amounts == {1: D("12000"), 2: D("0")}


def test_na_and_all_zero_claims_get_nothing():
    assert allocate([(1, None, None), (2, D("0"), None)], D("10000"), None) == {1: D("0"), 2: D("0")}
    assert allocate([(1, None, None), (2, D("5"), None)], D("10000"), None) == {1: D("0"), 2: D("10000")}
    assert allocate([], D("10000"), D("100")) == {}


def test_a_pool_with_cents_shares_its_whole_yuan():
    amounts = allocate([(1, D("1"), None), (2, D("1"), None)], D("1001.99"), None)
    assert amounts == {1: D("501"), 2: D("500")}


def test_factor_settle_and_text():
    assert scale_factor(D("20551.50"), D("20000")) == D("0.9732")
    assert scale_factor(D("0"), D("20000")) is None
    assert settle_amount(D("2000"), D("0.9732"), None, D("5000")) == D("1946")
    assert settle_amount(D("2000"), D("0.9732"), D("1500"), D("5000")) == D("1500")
    assert settle_amount(D("2000"), D("0.9732"), None, D("1000.70")) == D("1000")
    assert settle_amount(D("2000"), D("0.9732"), None, D("-5")) == D("0")
    assert settle_amount(None, D("0.9732"), None, D("5000")) == D("0")
    assert money_text(D("1E+3")) == "1000"
    assert money_text(D("1234.56")) == "1234.56"
    assert money_text(D("5000.00")) == "5000"
    assert money_text(None) is None


money = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False)
raw = st.one_of(st.none(), money, st.decimals(min_value=-500, max_value=0, places=2))
claims = st.lists(st.tuples(raw, st.one_of(st.none(), st.none(), money)), max_size=25)
whole_money = st.integers(min_value=0, max_value=500000).map(D)


def _expected_total(rows, pool, cap):
    fixed = sum((f for _r, f in rows if f is not None), D(0))
    left = max((pool - fixed).to_integral_value(rounding="ROUND_FLOOR"), D(0))
    takers = sum(1 for r, f in rows if f is None and r is not None and r > 0)
    if not takers:
        return D(0)
    if cap is None:
        return left
    return min(left, cap.to_integral_value(rounding="ROUND_FLOOR") * takers)


@settings(max_examples=300, deadline=None)
@given(claims, st.one_of(whole_money, money), st.one_of(st.none(), money))
def test_pool_properties(rows, pool, cap):
    keyed = [(i, r, f) for i, (r, f) in enumerate(rows)]
    amounts = allocate(keyed, pool, cap)
    assert set(amounts) == {i for i, _r, _f in keyed}
    open_keys = [i for i, _r, f in keyed if f is None]
    shared = sum((amounts[i] for i in open_keys), D(0))
    # the pool left is used up exactly, unless every taker is at the cap
    assert shared == _expected_total(rows, pool, cap)
    for i, r, f in keyed:
        amount = amounts[i]
        assert isinstance(amount, D)
        if f is not None:
            assert amount == f
            continue
        assert amount >= 0 and amount == amount.to_integral_value()
        if cap is not None:
            assert amount <= cap
        if r is None or r <= 0:
            assert amount == 0
    fixed = sum((f for _r, f in rows if f is not None), D(0))
    assert shared + fixed <= max(pool, fixed)
    # the same claims in another order give the same amounts
    assert allocate(list(reversed(keyed)), pool, cap) == amounts


@settings(max_examples=200, deadline=None)
@given(st.lists(raw, max_size=25), st.one_of(st.none(), money))
def test_without_a_pool_properties(rows, cap):
    amounts = allocate([(i, r, None) for i, r in enumerate(rows)], None, cap)
    for i, r in enumerate(rows):
        amount = amounts[i]
        assert amount >= 0 and amount == amount.to_integral_value()
        if r is None or r <= 0:
            assert amount == 0
        elif cap is None:
            assert abs(amount - r) <= D("0.5")
        else:
            assert amount <= cap and abs(amount - min(r, cap)) < 1


@settings(max_examples=200, deadline=None)
@given(st.lists(money.filter(lambda m: m > 0), min_size=1, max_size=15), whole_money)
def test_shares_stay_within_a_yuan_of_the_exact_proportion(rows, pool):
    amounts = allocate([(i, r, None) for i, r in enumerate(rows)], pool, None)
    total = sum(rows)
    for i, r in enumerate(rows):
        exact = r * pool / total
        assert abs(amounts[i] - exact) < 1

"""An employee's metrics and tag counts are worked out when read: exactly what adding up every row of
theirs and then ``metrics_of`` gives (values and their types, None, the order of the names), for
``.employees``, ``.tags`` and ``variables_for``; a station's sums are the row-by-row sums."""

import datetime as dt
from operator import add

import pytest
from sqlalchemy import select

from app.extensions import db
from app.metrics import compute_metrics, queries
from app.metrics.period import FIELDS, Figures, PerEmployee, _add_by_station, _by_technician, metrics_of
from app.models import Employee
from tests.metrics.test_metrics_reference import PERIODS, WORDS, random_data  # noqa: F401
from tests.metrics.test_metrics_values import MAY, data  # noqa: F401 - the hand-made data set


def added_up(session, start, end, words) -> tuple[dict[int, list], dict[int, int], int]:
    """Every employee's figures, each row added to zeros one after another (the plain way), and their
    stations (as ``compute_metrics`` reads them, in the same order)."""
    lower, upper = (dt.datetime.combine(day, dt.time(0, 0)) for day in (start, end + dt.timedelta(days=1)))
    columns = FIELDS + tuple(f"tag{i}" for i in range(len(words)))
    people = dict(session.execute(select(Employee.id, Employee.station_id)).all())
    sums = {e: [0] * len(columns) for e in people}
    for query in (queries.order_groups, queries.survey_groups, queries.rework_groups, queries.cost_groups):
        names, result = query(session, lower, upper, words, None, None)
        at = columns.index(names[0])
        for employee, _station, *values in result:
            if employee in sums:
                sums[employee][at:at + len(names)] = map(add, sums[employee][at:at + len(names)], values)
    return sums, people, (end - start).days + 1


def exactly(mapping: dict) -> str:
    """Names in order, values with their types (0.0 and 0, -0.0 and 0.0, None all told apart)."""
    return repr([(name, value, type(value).__name__) for name, value in mapping.items()])


def assert_read_when_asked(start, end, threads):
    words = WORDS
    result = compute_metrics(db.session, start, end, tag_words=words, threads=threads)
    sums, people, days = added_up(db.session, start, end, sorted(set(words)))
    assert list(result.employees) == list(sums) == list(result.tags)  # every employee, in the same order
    assert len(result.employees) == len(sums) == len(result.tags)
    empty = metrics_of([0] * len(FIELDS), days)
    for e, figures in sums.items():
        own = metrics_of(figures, days)
        tags = dict(zip(sorted(set(words)), figures[len(FIELDS):], strict=True))
        assert e in result.employees and e in result.tags
        assert exactly(result.employees[e]) == exactly(result.employees.get(e)) == exactly(own), e
        assert exactly(result.tags[e]) == exactly(result.tags.get(e, {})) == exactly(tags), e
        station_id = people[e]
        expected = dict(own)
        expected.update({f"station_{code}": value for code, value in result.stations[station_id].items()})
        variables = result.variables_for(e, station_id)
        assert exactly(variables) == exactly(expected), e
        variables["orders"] = -1.0  # the caller's own: the next read is untouched
        assert exactly(result.variables_for(e, station_id)) == exactly(expected), e
        assert result.employees[e] is not result.employees[e]
    assert exactly(dict(result.employees.items())) == exactly(
        {e: metrics_of(s, days) for e, s in sums.items()})
    assert [exactly(v) for v in result.tags.values()] == [
        exactly(dict(zip(sorted(set(words)), s[len(FIELDS):], strict=True))) for s in sums.values()]
    # someone not chosen: no metrics, no tags; their variables are the empty figures
    assert -1 not in result.employees and result.employees.get(-1) is None and result.tags.get(-1, {}) == {}
    with pytest.raises(KeyError):
        result.employees[-1]
    with pytest.raises(KeyError):
        result.tags[-1]
    assert exactly(result.variables_for(-1, None)) == exactly(
        empty | {f"station_{code}": value for code, value in empty.items()})
    return result, sums


@pytest.mark.parametrize("threads", [1, 2])
def test_hand_made_data_read_when_asked(data, threads):  # noqa: F811
    result, sums = assert_read_when_asked(*MAY, threads)
    assert result.employees[data["TC"]]["orders"] is None  # TC: no data at all
    assert exactly(result.employees[data["TC"]]) == exactly(metrics_of([0] * len(FIELDS), 31))
    assert set(result.tags[data["TC"]].values()) == {0}
    assert result.employees[data["TA"]]["orders"] == 5.0  # TA's rows at T01 and T02 added up


@pytest.mark.parametrize("start,end", PERIODS)
def test_random_data_read_when_asked(random_data, start, end):  # noqa: F811
    for threads in (1, 2):
        assert_read_when_asked(start, end, threads)


def test_rows_add_up_as_they_did_one_by_one():
    """-0.0, integers and floats, one technician at two stations: the same sums, bit for bit."""
    rows = [(1, 10, -0.0, 2, 0.1), (2, 10, 0.2, 0, -0.0), (1, 11, -0.0, 3, 0.7), (3, None, 1e-17, 1, 1.0),
            (2, 11, 0.30000000000000004, 1, -0.0), (1, 10, 0.1, 0, 0.2)]
    people = {1: 10, 2: 11, 3: 10, 4: 11}
    plain = {e: [0] * 5 for e in people}
    stations = {10: [0] * 5, 11: [0] * 5}
    for employee, station, *values in rows:
        plain[employee][2:5] = map(add, plain[employee][2:5], values)
        if station in stations:
            stations[station][2:5] = map(add, stations[station][2:5], values)
    by_station = {10: [0] * 5, 11: [0] * 5}
    _add_by_station(by_station, rows, 2, 5)
    assert repr(by_station) == repr(stations)
    other = [(1, 10, 7, 8), (4, 11, 0, -0.0)]
    figures = Figures([(2, 5, _by_technician(rows)), (0, 2, _by_technician(other))], 5)
    plain[1][0:2], plain[4][0:2] = [0 + 7, 0 + 8], [0, 0 + -0.0]
    read = PerEmployee(people, figures.reader(0, 5), list)
    assert repr({e: read[e] for e in people}) == repr(plain)
    assert repr(PerEmployee(people, figures.reader(1, 3), list)[1]) == repr(plain[1][1:3])
    assert repr(plain[2][4]) == repr(read[2][4]) == "0.0"  # 0 + -0.0 + -0.0: not the rows' -0.0
    assert repr(plain[4][1]) == repr(read[4][1]) == "0.0"

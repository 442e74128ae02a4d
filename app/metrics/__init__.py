"""The built-in variables (metrics): source data → metrics per employee and station for a period.

    compute_metrics(session, start, end, *, employee_ids=None, station_ids=None, tag_words=())
        -> PeriodMetrics (.employees, .stations, .tags, .variables_for(employee_id, station_id))
    metric_orders(session, employee_id, start, end, metric_code) -> list[OrderLine]

Four aggregate queries whatever the number of employees (orders, reworked orders, surveys,
labour costs), each GROUP BY technician and station over a covering index; the station figures
are the same groups summed the other way, so they cost no further pass. See ``queries.py``.
"""

from .drilldown import OrderLine, metric_orders
from .period import CODES, PeriodMetrics, compute_metrics

__all__ = ["CODES", "PeriodMetrics", "compute_metrics", "metric_orders", "OrderLine"]

"""The JSON shapes of the formula API (REST), built here so that the endpoint stays parse → call → map.

``check_expression`` answers ``POST /api/v1/formula/check``; ``catalogue_payload`` answers
``GET /api/v1/formula/catalogue``. Both are pure: no request, no database.
"""

from __future__ import annotations

from collections.abc import Mapping

from .catalogue import TEXT, Catalogue, builtin_catalogue
from .errors import FormulaError, fail
from .formula import compile_formula
from .functions import palette


def check_expression(expression, variables=None, catalogue: Catalogue | None = None, tags=None,
                     locale: str | None = "zh_CN") -> dict:
    """``{"ok": true, "value", "trace", "explanation", "names"}`` or ``{"ok": false, "error": {"code",
    "message", "position", "suggestions"}}``. A catalogue variable not given a value is N/A; a name in
    neither the catalogue (default: the built-in metrics) nor ``variables`` is UNKNOWN_NAME."""
    try:
        variables = _variables(variables)
        base = catalogue if catalogue is not None else builtin_catalogue()
        extra = [name for name in variables if name not in base]
        kinds = {name: TEXT for name in extra if isinstance(variables[name], str)}
        scope = base.with_names(extra, kinds=kinds)
        formula = compile_formula(expression, scope)
        values = scope.canonical_values(variables)
        value, trace = formula.explain(values, tags)
        line = formula.describe(values, tags, locale)
    except FormulaError as exc:
        return {"ok": False, "error": exc.to_dict(locale)}
    return {"ok": True, "value": value, "trace": [step.to_dict() for step in trace], "explanation": line,
            "names": sorted(formula.names)}


def _variables(variables) -> dict:
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise fail("bad_value", name="variables", type=type(variables).__name__)
    for name, value in variables.items():
        if not isinstance(name, str):
            raise fail("bad_value", name=str(name)[:40], type=type(name).__name__)
        if value is not None and not isinstance(value, int | float | str):
            raise fail("bad_value", name=name[:40], type=type(value).__name__)
    return dict(variables)


def catalogue_payload(catalogue: Catalogue | None = None, locale: str | None = "zh_CN") -> dict:
    """``{"variables": [...], "functions": [...]}`` with Chinese and English names and descriptions."""
    catalogue = catalogue if catalogue is not None else builtin_catalogue()
    return {"variables": catalogue.to_list(locale), "functions": palette(locale)}

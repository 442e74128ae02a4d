"""A list screen's filters on small relations (cycles, stations): their choices read as (key, label)
rows rather than whole model rows, and written by a widget that writes each option directly, with the
same HTML as FAB's select2 widget and wtforms write."""

from __future__ import annotations

import functools
from typing import NamedTuple

from flask_appbuilder.fieldwidgets import Select2Widget
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms.fields.choices import Choice as FormChoice

from ..extensions import db
from ..models import Cycle, Station


class Choice(NamedTuple):
    """A choice of a filter on a relation: its key and the row's name as the model writes it."""

    id: int
    label: str

    def __str__(self) -> str:
        return self.label


def choice_key(choice: Choice) -> int:
    return choice.id


def cycle_choices() -> list[Choice]:
    """Every cycle as its name (``Cycle.__repr__``), by key."""
    return [Choice(*row) for row in db.session.execute(select(Cycle.id, Cycle.name).order_by(Cycle.id))]


def station_choices() -> list[Choice]:
    """Every station as its code and name (``Station.__repr__``), by key."""
    return [Choice(ident, f"{code} {name}") for ident, code, name in db.session.execute(
        select(Station.id, Station.code, Station.name).order_by(Station.id))]


class ChoicesWidget(Select2Widget):
    """FAB's select2 widget, its options written directly: ``<option [selected ]value="…">label</option>``,
    value and label escaped, as wtforms writes them."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw or isinstance(choice.value, bool):
            return super().render_option(choice, **kwargs)
        selected = "selected " if choice.selected else ""
        label = escape(choice.label or choice.value)
        return Markup(f'<option {selected}value="{escape(choice.value)}">{label}</option>')


@functools.cache
def _choice_field(field_class: type) -> type:
    """``field_class`` yielding wtforms' own choice objects: FAB's relation fields yield plain tuples,
    which wtforms turns into choices with a deprecation warning for every option."""

    def iter_choices(self):
        for value, label, selected, *rest in field_class.iter_choices(self):
            yield FormChoice(value, label, selected, rest[0] if rest else {})

    if getattr(field_class, "yields_form_choices", False):
        return field_class
    return type(field_class.__name__, (field_class,), {"iter_choices": iter_choices,
                                                       "yields_form_choices": True})


def light_relation_filters(search_form, choices: dict) -> None:
    """Give the search form's relation fields named in ``choices`` (name → function listing them) the
    light choices and the direct widget."""
    for name, listed in choices.items():
        unbound = getattr(search_form, name, None)
        if isinstance(getattr(unbound, "kwargs", None), dict) and "widget" in unbound.kwargs:
            unbound.kwargs.update(widget=ChoicesWidget(), query_func=listed, get_pk_func=choice_key)
            unbound.field_class = _choice_field(unbound.field_class)

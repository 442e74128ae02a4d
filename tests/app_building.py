"""Building an application per test, cheaper: every test gets its own application on its own database
copy, and most of that application's cost is the same work done again in one process.

Two parts of building it are done once per process instead of once per application, without changing
what the application does:

* **URL builders.** Werkzeug compiles two Python functions per URL rule (``url_for``'s builders) when the
  rule is added: about 600 compilations, 40 % of an application's construction. Here each builder is
  compiled the first time it builds a URL; most rules never build one in a test.
* **REST schemas.** Flask-AppBuilder converts each REST API's columns into marshmallow schemas for every
  application (another 30 %). The schemas depend only on the API class and its columns, and one
  application already shares them across all its requests: here the applications of one process share
  them as well.

``install()`` is called once, by tests/conftest.py.
"""

from __future__ import annotations

from flask_appbuilder.api import ModelRestApi
from werkzeug.routing.rules import Rule

SCHEMAS = ("list_model_schema", "add_model_schema", "edit_model_schema", "show_model_schema")
COLUMNS = ("list_columns", "add_columns", "edit_columns", "show_columns")


def _lazy_builders(eager):
    def compile_builder(rule: Rule, append_unknown: bool = True):
        name = "_build_unknown" if append_unknown else "_build"

        def build(bound_rule: Rule, **values):
            compiled = eager(bound_rule, append_unknown).__get__(bound_rule, None)
            setattr(bound_rule, name, compiled)  # the next URL goes straight to the compiled builder
            return compiled(**values)

        return build

    return compile_builder


def _shared_schemas(convert_all):
    made: dict[tuple, tuple] = {}

    def init_model_schemas(api: ModelRestApi) -> None:
        declared = tuple(getattr(api, name) for name in SCHEMAS)
        key = (type(api), declared, *(tuple(getattr(api, name) or ()) for name in COLUMNS))
        if key not in made:
            convert_all(api)
            made[key] = tuple(getattr(api, name) for name in SCHEMAS)
        for name, schema in zip(SCHEMAS, made[key], strict=True):
            setattr(api, name, schema)

    return init_model_schemas


def install() -> None:
    if getattr(Rule, "_jixiao_lazy", False):
        return
    Rule._compile_builder = _lazy_builders(Rule._compile_builder)
    Rule._jixiao_lazy = True
    ModelRestApi._init_model_schemas = _shared_schemas(ModelRestApi._init_model_schemas)

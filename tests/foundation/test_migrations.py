"""The migrations build exactly the schema the models declare (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from app.models import Model


def test_the_migrated_database_matches_the_models(appctx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # expression indexes cannot be reflected on SQLite
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Model.metadata)
    assert differences == []

"""The migrations build exactly the schema the models declare (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from app.models import Model


def test_the_migrated_database_matches_the_models(appctx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # expression indexes cannot be reflected on SQLite
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Model.metadata)
    assert differences == []


def _appraisal_indexes() -> set[str]:
    return {index["name"] for index in inspect(db.engine).get_indexes("appraisal")}


def test_a_fresh_and_an_upgraded_database_find_the_appraisals_of_a_reviewer_by_index(appctx):
    assert "ix_appraisal_reviewer_id" in _appraisal_indexes()  # built by the migrations from nothing
    downgrade(revision="a5c8e2d47f16")  # a database as it was before the index
    db.engine.dispose()
    assert "ix_appraisal_reviewer_id" not in _appraisal_indexes()
    upgrade()
    db.engine.dispose()
    assert "ix_appraisal_reviewer_id" in _appraisal_indexes()

"""Bring a database to a working state: migrate, permissions and roles, rules, demo (idempotent)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import func, select

from . import sync_permissions
from .demo import seed_demo
from .extensions import analyze, db
from .models import RuleSetVersion, Station
from .services.compute import CycleError
from .services.demo_cycle import seed_demo_cycle
from .services.rules import load_dir


def migrate_database(app: Flask) -> None:
    with app.app_context():
        upgrade()
        analyze_database()


def analyze_database() -> None:
    """SQLite: the query planner's statistics of every table, as they are now (app.extensions)."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            analyze(connection.connection.dbapi_connection)
            connection.commit()


def prepare(app: Flask, *, demo: bool = True) -> None:
    """What ``python run.py`` does before serving; a second run changes nothing."""
    migrate_database(app)
    with app.app_context():
        sync_permissions(app)
        if demo and not db.session.scalar(select(func.count()).select_from(Station)):
            click.echo("Seeding the demo organisation …")
            seed_demo()
        # --- the default rule set: rules/ on a database that has none ---
        load_default_rules()
        # --- the demo cycle: keep this last, it needs the organisation, data and rules ---
        if demo:
            try:
                summary = seed_demo_cycle(db.session)
            except CycleError as exc:
                click.echo(f"No demo cycle: {exc.message}")
            else:
                if summary:
                    click.echo(summary)


def load_default_rules() -> None:
    """Load and publish the default rule set (``JIXIAO_RULES_DIR``, rules/) when no rule set exists yet;
    later runs leave rules alone."""
    if db.session.scalar(select(func.count()).select_from(RuleSetVersion)):
        return
    result = load_dir(db.session, current_app.config["JIXIAO_RULES_DIR"], user="setup",
                      note="default rule set (rules/)")
    click.echo(f"Loaded the default rule set as v{result.version.number}.")

"""Bring a database to a working state: migrate, permissions and roles, rules, demo (idempotent)."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import func, select


def migrate_database(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def prepare(app: Flask, *, demo: bool = True) -> None:
    """What ``python run.py`` does before serving; a second run changes nothing."""
    from . import sync_permissions
    from .extensions import db
    from .models import Station

    migrate_database(app)
    with app.app_context():
        sync_permissions(app)
        if demo and not db.session.scalar(select(func.count()).select_from(Station)):
            from .demo import seed_demo

            click.echo("Seeding the demo organisation …")
            seed_demo()
        # --- the default rule set (issue 6): rules/ on a database that has none ---
        load_default_rules()
        # --- the demo cycle (issue 7): keep this last, it needs the organisation, data and rules ---
        if demo:
            from .services.cycles import CycleError
            from .services.demo_cycle import seed_demo_cycle

            try:
                summary = seed_demo_cycle(db.session)
            except CycleError as exc:
                click.echo(f"No demo cycle: {exc.message}")
            else:
                if summary:
                    click.echo(summary)


def load_default_rules() -> None:
    """Load and publish rules/ when no rule set exists yet (issue 6); later runs leave rules alone."""
    from . import ROOT
    from .extensions import db
    from .models import RuleSetVersion
    from .services.rules import load_dir

    if db.session.scalar(select(func.count()).select_from(RuleSetVersion)):
        return
    result = load_dir(db.session, ROOT / "rules", user="setup", note="default rule set (rules/)")
    click.echo(f"Loaded the default rule set as v{result.version.number}.")

"""The lists of known values (admin actions, leaf kinds, outbox kinds, webhook events...) are
written in the models and, frozen, in the migrations that set each CHECK constraint. After
`upgrade head` the database must accept exactly what the models list: a value added to a model
without a migration would pass every test on tables made from the models, then be refused by
the databases of the hospitals, which are made by the migrations."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, inspect, text

from consent.accounts.models import ADMIN_ACTIONS
from consent.app import import_models
from consent.db import db
from tests.conftest import _reset_postgres, dispose, make_app

MIGRATIONS = "consent/db/migrations/versions"
PEER_URL = os.environ.get("CONSENT_TEST_PEER_DATABASE_URL")
QUOTED = re.compile(r"'([^']*)'")
import_models()  # every table, before the list below is made
KNOWN_VALUES = sorted(
    (table.name, constraint.name, str(constraint.sqltext))
    for table in db.metadata.tables.values()
    for constraint in table.constraints
    if isinstance(constraint, CheckConstraint) and " IN (" in str(constraint.sqltext)
)


def accepted(table: str, constraint: str) -> list[str]:
    """The quoted values of a CHECK constraint as the migrated database holds it (SQLite keeps
    the text as written, PostgreSQL rewrites it as `= ANY (ARRAY[...])`: both quote each one)."""
    checks = {
        check["name"]: check["sqltext"] for check in inspect(db.engine).get_check_constraints(table)
    }
    assert constraint in checks, f"no CHECK constraint {constraint} on {table} after upgrade head"
    return sorted(QUOTED.findall(checks[constraint]))


def test_the_database_accepts_exactly_the_admin_actions_of_the_model(app: Flask) -> None:
    in_database = accepted("admin_journal", "ck_admin_journal_action_known")
    assert in_database == sorted(ADMIN_ACTIONS), (
        "ADMIN_ACTIONS (consent/accounts/models.py) and the admin journal's CHECK constraint "
        "after `upgrade head` differ: "
        f"only in the model {sorted(set(ADMIN_ACTIONS) - set(in_database))}, "
        f"only in the database {sorted(set(in_database) - set(ADMIN_ACTIONS))}. "
        f"Write a migration (the next number in {MIGRATIONS}) that sets the constraint to the "
        "new list, with its own frozen copy of it, as 0022 does for the invitations' actions."
    )


@pytest.mark.parametrize(
    ("table", "constraint", "model_text"), KNOWN_VALUES, ids=[row[1] for row in KNOWN_VALUES]
)
def test_the_database_accepts_exactly_the_values_the_models_list(
    app: Flask, table: str, constraint: str, model_text: str
) -> None:
    in_model = sorted(QUOTED.findall(model_text))
    in_database = accepted(table, constraint)
    assert in_database == in_model, (
        f"{table}: the models' {constraint} and the migrated database's differ: "
        f"only in the models {sorted(set(in_model) - set(in_database))}, "
        f"only in the database {sorted(set(in_database) - set(in_model))}. "
        f"Write a migration (the next number in {MIGRATIONS}) that sets the constraint."
    )


def test_every_migration_is_undone_and_done_again(
    database_url: str, instance_dir: Path, tmp_path: Path
) -> None:
    """Up, down to an empty database and up again (the SQLite table rebuilds of 0007, 0019 and
    0023 both ways): the schema ends as the models say, its lists as they list. On a database
    of its own, so that a failure halfway leaves the other tests' database as it was: a file
    of its own on SQLite, the peer database (emptied first) on PostgreSQL."""
    if database_url.startswith("postgresql"):
        if not PEER_URL:
            pytest.skip("CONSENT_TEST_PEER_DATABASE_URL names no second PostgreSQL database")
        _reset_postgres(PEER_URL)
        url = PEER_URL
    else:
        url = "sqlite:///" + str(tmp_path / "round-trip.sqlite3")
    app = make_app(instance_dir, url)
    try:
        with app.app_context():
            directory = app.extensions["migrate"].directory
            upgrade(directory=directory)
            downgrade(directory=directory, revision="base")
            assert inspect(db.engine).get_table_names() == ["alembic_version"]
            upgrade(directory=directory)
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"render_as_batch": True})
                assert compare_metadata(context, db.metadata) == []
                if connection.dialect.name == "sqlite":
                    assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            for table, constraint, model_text in KNOWN_VALUES:
                assert accepted(table, constraint) == sorted(QUOTED.findall(model_text)), constraint
    finally:
        dispose(app)

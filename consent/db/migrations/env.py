"""Alembic environment for Flask-Migrate: runs against the app's own engine.

No logging configuration here: the app owns logging, and the database URL (which may hold a
password) is never copied into Alembic's config.
"""

from __future__ import annotations

from alembic import context
from flask import current_app

from consent.db import db

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=db.engine.url,
        target_metadata=db.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    conf_args = current_app.extensions["migrate"].configure_args
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

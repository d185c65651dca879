"""Persistence: the SQLAlchemy extension and its declarative base, column types, the prepared
read path of verify, the encrypted file store, and the migrations.

The lowest layer with state: every domain's models import ``db`` from here.
"""

from __future__ import annotations

from typing import Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

from consent.db import engines as engines
from consent.db import transactions as transactions

# Named constraints, so that migrations can refer to them and errors say which rule broke.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()

# What services work in: the request-scoped ``db.session`` or a plain Session (tools, tests).
AnySession = Session | scoped_session[Any]

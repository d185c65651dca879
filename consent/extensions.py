"""Flask extensions as module-level objects, bound to an app in ``create_app``."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from consent.apischemas import ErrorSchema

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


class ConsentApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, documenting the service's own error shape."""

    ERROR_SCHEMA = ErrorSchema


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = ConsentApi()
# Every HTML form carries a CSRF token; the JSON API (bearer keys, no cookies) is exempt.
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
# Rate limits (consent.ratelimits): none by default; the routes that need one say so. Its storage
# (memory://, or redis://... shared by every worker) comes from CONSENT_RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)

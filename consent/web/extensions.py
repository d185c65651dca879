"""The web layer's Flask extensions as module-level objects, bound in ``create_app``."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

# Every HTML form carries a CSRF token; the JSON API (bearer keys, no cookies) is exempt.
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
# Rate limits (consent.web.ratelimits): none by default; the routes that need one say so. Their
# storage (memory://, or redis://... shared by every worker) is CONSENT_RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)

"""Entry points for the command line: ``flask --app consent ...`` commands, the instance set-up,
and the offline tools ``consent-verify`` and ``consent-check`` (which import neither Flask nor
SQLAlchemy)."""

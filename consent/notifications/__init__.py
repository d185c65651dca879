"""E-mail to staff about their patients' consents, through an outbox written in the same
transaction as the event (a withdrawal), sent by ``flask --app consent send-emails``."""

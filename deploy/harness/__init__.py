"""The pieces of deploy/selftest.py: a throw-away CA, nginx and gunicorn nodes run as child
processes, an HTTPS client, a webhook receiver, slow clients, and the checks themselves."""

"""Deployment files (nginx, systemd, gunicorn) and their self-test (deploy/selftest.py)."""

"""The yardstick: a bare Flask endpoint returning constant JSON, served by the same gunicorn.

It answers at /api/v1/verify too, so that wrk sends it the very requests verify gets (the same
Lua script, query string and Authorization header): the two differ only in what the app does.
"""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

app = Flask(__name__)


@app.get("/bare")
@app.get("/api/v1/verify")
def bare() -> ResponseReturnValue:
    return jsonify({"decision": "allowed", "purpose": "teaching"})

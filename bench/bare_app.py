"""The yardstick: a bare Flask endpoint returning constant JSON, served by the same gunicorn."""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

app = Flask(__name__)


@app.get("/bare")
def bare() -> ResponseReturnValue:
    return jsonify({"decision": "allowed", "purpose": "teaching"})

"""Write the OpenAPI document to schemas/openapi.json: ``python -m consent.scripts.openapi``.

A test fails when the served document and the checked-in one differ.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

OPENAPI_FILE = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"


def main() -> None:
    from consent import create_app
    from consent.scripts.bootstrap import write_instance_secrets

    with tempfile.TemporaryDirectory() as scratch:
        write_instance_secrets(Path(scratch))
        os.environ["CONSENT_INSTANCE_PATH"] = scratch
        app = create_app({"CONSENT_PUBLIC_URL": "http://consent.test"})
        with app.test_request_context():
            document = app.test_client().get("/api/v1/openapi.json").get_json()
    OPENAPI_FILE.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OPENAPI_FILE}")


if __name__ == "__main__":
    main()

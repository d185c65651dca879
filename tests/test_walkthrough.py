"""The README and the walk-through as a new user meets them: `make run`'s set-up and banner, then
every shell block of docs/walkthrough.md pasted in order into one shell, against the service
served as `make run` serves it (gunicorn, two workers, a fresh instance, a free port). And every
link of the README and of docs/ leads to a file of the checkout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.common import free_port
from deploy.harness.procs import wait_http

ROOT = Path(__file__).resolve().parents[1]
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"
BIN = Path(sys.executable).parent
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def shell_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text())


def own_environment(**extra: str) -> dict[str, str]:
    """The environment a user's terminal has: none of the tests' CONSENT_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    return {**base, **extra}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`make run` on a free port: the set-up's output, then gunicorn until the tests end."""
    instance = tmp_path_factory.mktemp("walkthrough") / "instance"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = own_environment(CONSENT_PUBLIC_URL=url, CONSENT_INSTANCE_PATH=str(instance))
    setup = subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "consent.scripts.bootstrap",
            "--demo",
            "--instance",
            str(instance),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "consent:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(url + "/.well-known/consent-keys", timeout=60)
        yield {"banner": setup.stdout, "url": url, "instance": str(instance)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_make_run_prints_the_lines_to_paste_with_the_real_address(served: dict[str, str]) -> None:
    banner = served["banner"]
    assert "${" not in banner  # no shell expression printed as text
    assert f"log in at {served['url']}/clinician/login" in banner
    assert f"export CONSENT_URL={served['url']}" in banner
    assert re.search(r"^    export CONSENT_API_KEY=csk_\S+$", banner, re.M)
    assert "docs/walkthrough.md" in banner


def test_every_block_of_the_walkthrough_runs_in_order_as_written(
    served: dict[str, str], tmp_path: Path
) -> None:
    blocks = shell_blocks(WALKTHROUGH)
    assert len(blocks) >= 8
    key = re.search(r"export CONSENT_API_KEY=(\S+)", served["banner"])
    assert key is not None
    script = "\n".join(["set -eo pipefail", *blocks])
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=own_environment(
            # What the user pasted from the banner; the instance `make run` made.
            CONSENT_URL=served["url"],
            CONSENT_API_KEY=key.group(1),
            CONSENT_INSTANCE_PATH=served["instance"],
            TMPDIR=str(tmp_path),
        ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-4000:]
    decisions = re.findall(r"^(allowed|not_covered|withdrawn)$", out, re.M)
    assert decisions == ["allowed", "not_covered", "withdrawn"]
    assert "'kind': 'perceptual'" in out
    assert "OK: consent receipt cs_" in out  # consent-verify, offline
    assert re.search(r"^allowed: docs/examples/photo.jpg may be published", out, re.M)
    assert "the stored scan is the one sent" in out
    assert '"event_type": "consent.withdrawn"' in out
    written = {path.name for path in tmp_path.rglob("*.pdf")}
    assert {"form.pdf", "receipt.pdf", "signed-form-copy.pdf", "withdrawal.pdf"} <= written
    for name in written:
        assert next(tmp_path.rglob(name)).read_bytes().startswith(b"%PDF")


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize(
    "document",
    ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))],
)
def test_every_link_leads_to_a_file_of_the_checkout(document: str) -> None:
    path = ROOT / document
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        assert (path.parent / target).exists(), f"{document} links to {target}, not in a clone"

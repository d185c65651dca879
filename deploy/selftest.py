"""The whole deployment on one machine, as a test (issue 22).

    .venv/bin/python deploy/selftest.py [--keep] [--results] [--quick]

Starts, all on 127.0.0.1: Debian's nginx (its own prefix, in the foreground) with
deploy/nginx/consent.conf and a certificate of a throw-away CA; two application nodes (gunicorn
with deploy/gunicorn.conf.py) with their own instance folders over one PostgreSQL database
(CONSENT_DEPLOY_DATABASE_URL, by default consent_deploy, emptied), Redis for the rate limits
(CONSENT_DEPLOY_REDIS_URL, by default redis://127.0.0.1:6379/5; this run's keys are removed at
the end) and one media directory; and a webhook deliverer. Then, through nginx over HTTPS, it
runs the checks of deploy/harness/checks_*.py and prints each outcome and the figures.

Everything it starts it stops, on success, failure or Ctrl-C. Exit status 0 when every check
passed. ``--keep`` keeps the working directory (logs, configuration) for a look afterwards;
``--results`` appends the figures to bench/RESULTS.md; ``--quick`` shortens the load phases.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT
from deploy.harness import (
    checks_load,
    checks_monitoring,
    checks_nodes,
    checks_proxy,
    checks_restart,
)
from deploy.harness.deployment import Deployment
from deploy.harness.report import write_results
from deploy.harness.results import Results

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/consent_deploy"
DEFAULT_REDIS = "redis://127.0.0.1:6379/5"


def _interrupted(number: int, frame: FrameType | None) -> None:
    # SIGTERM as Ctrl-C: unwinds through the finally below, which stops every child.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--results", action="store_true", help="append figures to RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="shorter load phases")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("nginx", "openssl", "wrk") if not shutil.which(tool)]
    if missing:
        print(
            f"not installed: {', '.join(missing)} (apt-get install {' '.join(missing)})",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _interrupted)
    work = Path(tempfile.mkdtemp(prefix="consent-deploy-"))
    # nginx's workers (nobody) must reach their temporary directories below; x only, no listing.
    os.chmod(work, 0o711)  # noqa: S103
    deployment = Deployment(
        work,
        os.environ.get("CONSENT_DEPLOY_DATABASE_URL", DEFAULT_DATABASE),
        os.environ.get("CONSENT_DEPLOY_REDIS_URL", DEFAULT_REDIS),
        workers=args.workers,
    )
    results = Results()
    started = time.monotonic()
    try:
        print(f"== starting the deployment in {work}", flush=True)
        deployment.start()
        print(
            f"   nginx https://127.0.0.1:{deployment.ports.https} over nodes "
            f"{deployment.node_ports}; pinned {deployment.ports.pinned}",
            flush=True,
        )
        checks_proxy.run(deployment, results)
        checks_nodes.run(deployment, results)
        checks_monitoring.run(deployment, results)
        checks_load.run(deployment, results, quick=args.quick)
        checks_restart.run(deployment, results, quick=args.quick)
    except KeyboardInterrupt:
        print("interrupted: stopping everything", file=sys.stderr)
        results.checks.append(("interrupted", False, "Ctrl-C or SIGTERM"))
    except Exception as exc:
        results.checks.append(("start", False, f"{type(exc).__name__}: {exc}"))
        print(f"the deployment did not start: {exc}", file=sys.stderr)
    finally:
        deployment.stop()
    results.figures["seconds"] = round(time.monotonic() - started)
    print("\n== outcome")
    for name, passed, detail in results.checks:
        print(
            f"{'ok    ' if passed else 'FAILED'} {name}" + ("" if passed else f"\n       {detail}")
        )
    print(json.dumps(results.figures, indent=2, default=str))
    if args.results:
        write_results(results, argv if argv is not None else sys.argv[1:])
        OUT.mkdir(exist_ok=True)
        (OUT / "deployment.json").write_text(json.dumps(results.figures, indent=2, default=str))
    if args.keep or not results.ok:
        print(f"working directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if results.ok else 1


if __name__ == "__main__":
    sys.exit(main())

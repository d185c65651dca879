"""consent-check: may this file be published for this use? For publishing tools and scripts.

    consent-check photo.jpg --purpose public_social_network --channel linkedin

Hashes the file here, asks the service's verify API, and accepts the answer only once its
signature holds under the service's published key (or a key pinned with --key) and it answers
the question asked. The service's address and API key come from --url and --api-key, or from
CONSENT_URL and CONSENT_API_KEY (better: a command line is visible to other users of the host).

Exit status:
  0  allowed: the decision is ``allowed`` (by an accepted method, with --accept-methods)
  1  not allowed: not_covered, withdrawn, expired or unknown, or allowed by a method not
     accepted (printed); masked_only (granted only with the patient's face hidden: the
     line names the SHA-256 of the face-masked copy to publish instead)
  2  usage or configuration error: missing address or key, key refused, bad arguments,
     unreadable file
  3  the service cannot be reached or failed, or its answer cannot be verified (bad or forged
     signature, unknown key, an answer for another file or use, a stale answer)

Never prints the API key. Imports nothing from Flask or a database driver.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from consent.client import (
    DEFAULT_MAX_AGE,
    DEFAULT_TIMEOUT,
    METHODS,
    CheckedAnswer,
    ConfigurationError,
    ConsentClient,
    ServiceUnavailable,
    UnverifiableAnswer,
    is_loopback,
)
from consent.consents.uses import CHANNEL, PURPOSES

ALLOWED, NOT_ALLOWED, USAGE, UNVERIFIABLE = 0, 1, 2, 3
URL_ENV, KEY_ENV, PINNED_ENV = "CONSENT_URL", "CONSENT_API_KEY", "CONSENT_KEYS"


# The service takes texts of at most 20,000 characters (consent.consents.case_texts).
MAX_TEXT = 20_000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="consent-check",
        description="May this file be published for this purpose and channel? Exit 0 only "
        "when the service's signed answer says allowed.",
        epilog="Exit status: 0 allowed; 1 not allowed (masked_only: publish the face-masked "
        "copy it names instead; not_covered, withdrawn, expired, unknown); 2 usage or "
        "configuration error; 3 service unreachable or answer not verifiable.",
    )
    parser.add_argument("file", help="the file to publish (with --text: a UTF-8 text file)")
    parser.add_argument(
        "--text",
        action="store_true",
        help="the file is the text of a post: ask verify for case texts (an exact match, or "
        "an edit of a consented text, answered modified)",
    )
    parser.add_argument("--purpose", required=True, choices=PURPOSES)
    parser.add_argument("--channel", help="where it will be posted: linkedin, x, youtube ...")
    parser.add_argument("--url", help=f"the consent service's address (or {URL_ENV})")
    parser.add_argument(
        "--api-key", help=f"an API key with the verify scope (or, better, {KEY_ENV})"
    )
    parser.add_argument(
        "--key",
        action="append",
        help="pin the service's verifier key (name+id+base64, as /.well-known/consent-keys "
        f"gives it) instead of fetching it; repeatable (or {PINNED_ENV}, one per line)",
    )
    parser.add_argument(
        "--perceptual",
        action="store_true",
        help="send the file itself, so that a resized or re-encoded copy matches its original "
        "by perceptual hash (by default only its SHA-256 leaves this machine)",
    )
    parser.add_argument(
        "--accept-methods",
        help="only a consent collected by one of these methods counts (comma separated: "
        f"{', '.join(METHODS)}; e.g. tablet,paper); by default any",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds")
    parser.add_argument(
        "--max-age",
        type=float,
        default=DEFAULT_MAX_AGE,
        help="refuse a signed answer older than this many seconds (a replay)",
    )
    parser.add_argument("--json", action="store_true", help="print the verified answer as JSON")
    return parser


def describe(checked: CheckedAnswer, file: str) -> str:
    """One line for a person: the decision first, then what it rests on."""
    answer = checked.answer
    use = answer["purpose"] + (f" on {answer['channel']}" if answer.get("channel") else "")
    match = answer.get("match") or {}
    if match.get("kind") == "near":
        how = f", an edit of a consented text (similarity {match['similarity']})"
    elif match.get("kind") == "perceptual":
        how = f", matched perceptually (distance {match['distance']})"
    elif match.get("rendition_of"):
        how = f", a {match.get('rendition', 'copy')} copy of {match['rendition_of'][:12]}..."
    else:
        how = ""
    if answer.get("consent_id"):
        basis = f" (consent {answer['consent_id']}, log index {answer['log_index']}"
        if checked.method:
            basis += f", collected by {checked.method}"
            if not checked.method_accepted:
                basis += " (a method this check does not accept)"
        if answer.get("expires_at"):
            basis += f", until {answer['expires_at']}"
        if checked.subjects > 1:
            basis += f"; {checked.subjects} people in it, each asked"
        basis += f"{how}; signed by key {checked.key_id})"
    else:
        basis = f" ({how.lstrip(', ') + '; ' if how else ''}signed by key {checked.key_id})"
    verdict = "may be published" if checked.allowed else "may NOT be published"
    if checked.decision == "masked_only":
        instead = checked.masked_sha256
        verdict += (
            f"; only its copy with the patient's face hidden may (SHA-256 {instead})"
            if instead
            else "; only a copy with the patient's face hidden may (none was made)"
        )
    return f"{checked.decision}: {file} {verdict} for {use}{basis}"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    url = args.url or os.environ.get(URL_ENV)
    api_key = args.api_key or os.environ.get(KEY_ENV)
    if not url:
        parser.error(f"give the service's address with --url or {URL_ENV}")
    if not api_key:
        parser.error(f"give an API key with --api-key or {KEY_ENV}")
    if args.channel is not None and not CHANNEL.fullmatch(args.channel):
        parser.error("--channel is a lower-case name: letters, digits, '.', '_' or '-'")
    if args.timeout <= 0 or args.max_age <= 0:
        parser.error("--timeout and --max-age must be positive")
    pinned = args.key or [
        line for line in os.environ.get(PINNED_ENV, "").splitlines() if line.strip()
    ]
    if not Path(args.file).is_file():
        print(f"consent-check: {args.file}: no such file", file=sys.stderr)
        return USAGE
    if urlsplit(url).scheme == "http" and not is_loopback(url):
        print(
            "consent-check: warning: the API key travels unencrypted over http://",
            file=sys.stderr,
        )
    try:
        client = ConsentClient(
            url,
            api_key,
            timeout=args.timeout,
            max_age=args.max_age,
            keys=pinned or None,
            accept_methods=(
                [method.strip() for method in args.accept_methods.split(",") if method.strip()]
                if args.accept_methods
                else None
            ),
        )
        if args.text:
            checked = client.verify_text(
                Path(args.file).read_text(encoding="utf-8")[:MAX_TEXT],
                purpose=args.purpose,
                channel=args.channel,
            )
        else:
            checked = client.verify_file(
                args.file, purpose=args.purpose, channel=args.channel, perceptual=args.perceptual
            )
    except ConfigurationError as exc:
        print(f"consent-check: configuration error: {exc}", file=sys.stderr)
        return USAGE
    except OSError as exc:
        print(f"consent-check: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return USAGE
    except UnicodeDecodeError:
        print(f"consent-check: {args.file}: not a UTF-8 text", file=sys.stderr)
        return USAGE
    except ServiceUnavailable as exc:
        print(f"consent-check: not checked: {exc}", file=sys.stderr)
        return UNVERIFIABLE
    except UnverifiableAnswer as exc:
        print(f"consent-check: answer not verifiable, treat as NOT allowed: {exc}", file=sys.stderr)
        return UNVERIFIABLE
    if args.json:
        print(json.dumps({"answer": checked.answer, "key_id": checked.key_id}, sort_keys=True))
    else:
        print(describe(checked, args.file))
    return ALLOWED if checked.allowed else NOT_ALLOWED


if __name__ == "__main__":
    sys.exit(main())

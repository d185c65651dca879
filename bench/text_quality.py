"""Precision and recall of the case-text near match and of screening, on the corpora of
tests/assets (bench/text_corpus.py), recorded in bench/RESULTS.md.

The near match is run as verify runs it (consent.consents.text_norm, consent.verify.texts):
candidates from the MinHash band index (here a dict), the best estimated similarity at or above
NEAR_SIMILARITY, texts under MIN_NEAR_WORDS words never matched near.

Usage: .venv/bin/python bench/text_quality.py [--no-write]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from consent.consents.screening import screen
from consent.consents.text_norm import band_values, minhash, similarity, text_sha256, words
from consent.verify.texts import MIN_NEAR_WORDS, NEAR_SIMILARITY

RELATED = {"date": ("subject_birth_date",)}
ASSETS = Path(__file__).resolve().parents[1] / "tests" / "assets"


def near_match_scores(threshold: float = NEAR_SIMILARITY) -> dict[str, Any]:
    corpus = json.loads((ASSETS / "text-variants.json").read_text())
    index: dict[tuple[int, int], set[str]] = defaultdict(set)
    signatures, hashes = {}, {}
    for original in corpus["originals"]:
        signature = minhash(original["text"])
        signatures[original["id"]] = signature
        hashes[text_sha256(original["text"])] = original["id"]
        for pair in band_values(signature):
            index[pair].add(original["id"])
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # kind: [found, total]
    tp = fp = fn = 0
    for item in corpus["variants"]:
        found = hashes.get(text_sha256(item["text"]))
        if found is None and len(words(item["text"])) >= MIN_NEAR_WORDS:
            signature = minhash(item["text"])
            candidates = set().union(*(index.get(pair, set()) for pair in band_values(signature)))
            scored = sorted(
                ((similarity(signature, signatures[c]), c) for c in candidates), reverse=True
            )
            if scored and scored[0][0] >= threshold:
                found = scored[0][1]
        right = found is not None and found == item["source"]
        per_kind[item["kind"]][0] += int(right if item["source"] else found is None)
        per_kind[item["kind"]][1] += 1
        if found is not None and right:
            tp += 1
        elif found is not None:
            fp += 1
        if item["source"] is not None and not right:
            fn += 1
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "variants": len(corpus["variants"]),
        "per_kind": {kind: f"{a}/{b}" for kind, (a, b) in sorted(per_kind.items())},
    }


def screening_scores() -> dict[str, dict[str, float]]:
    corpus = json.loads((ASSETS / "screening-corpus.json").read_text())
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    for item in corpus["items"]:
        findings = screen(item["text"], identity=item["identity"], places=tuple(corpus["places"]))
        planted = {(p["kind"], p["start"], p["end"]) for p in item["planted"]}
        # A finding counts when it overlaps a planted identifier of its kind (a birth date is
        # an exact date too: the generic finding beside the subject's own is not a mistake).
        for finding in findings:
            hit = any(
                kind in {finding.kind, *RELATED.get(finding.kind, ())}
                and finding.start < end
                and start < finding.end
                for kind, start, end in planted
            )
            counts[finding.kind][0 if hit else 1] += 1
        for kind, start, end in planted:
            if not any(f.kind == kind and f.start < end and start < f.end for f in findings):
                counts[kind][2] += 1
    return {
        kind: {
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "planted": tp + fn,
        }
        for kind, (tp, fp, fn) in sorted(counts.items())
    }


def main() -> None:
    near = near_match_scores()
    screened = screening_scores()
    print(json.dumps({"near_match": near, "screening": screened}, indent=1))
    if "--no-write" in sys.argv:
        return
    from bench.common import machine, stamp, write_section

    lines = [
        "## Case texts: near match and screening (issue 20)",
        "",
        "Command: `.venv/bin/python bench/text_quality.py` (corpora: `bench/text_corpus.py`).  ",
        f"Machine: {machine()}.  Date: {stamp()}",
        "",
        f"Near match on tests/assets/text-variants.json ({near['variants']} items): precision "
        f"**{near['precision']:.3f}**, recall **{near['recall']:.3f}** (MinHash {NEAR_SIMILARITY} "
        f"threshold, {MIN_NEAR_WORDS}-word minimum).",
        "",
        "| kind | right |",
        "|---|---:|",
        *(f"| {kind} | {value} |" for kind, value in near["per_kind"].items()),
        "",
        "Screening on tests/assets/screening-corpus.json, per kind:",
        "",
        "| kind | planted | precision | recall |",
        "|---|---:|---:|---:|",
        *(
            f"| {kind} | {v['planted']} | {v['precision']:.2f} | {v['recall']:.2f} |"
            for kind, v in screened.items()
        ),
    ]
    write_section("text_quality", "\n".join(lines))


if __name__ == "__main__":
    main()

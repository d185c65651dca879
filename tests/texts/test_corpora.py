"""The labelled corpora of issue 20 hold what they claim, and the near match and screening keep
the quality recorded in bench/RESULTS.md (bench/text_quality.py computes the same figures)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.text_quality import near_match_scores, screening_scores

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_the_variant_corpus_has_200_labelled_edits_and_same_topic_negatives() -> None:
    corpus = json.loads((ASSETS / "text-variants.json").read_text())
    edits = [item for item in corpus["variants"] if item["source"]]
    negatives = [item for item in corpus["variants"] if item["source"] is None]
    assert len(edits) >= 200 and len(negatives) >= 50
    assert {item["kind"] for item in edits} >= {"typos", "reordered", "cut_one", "excerpt_half"}


def test_near_match_finds_edits_and_leaves_other_cases_unmatched() -> None:
    scores = near_match_scores()
    assert scores["precision"] >= 0.95 and scores["recall"] >= 0.95
    assert scores["per_kind"]["same_topic_other_case"] == "56/56"


def test_screening_finds_every_planted_identifier_of_each_kind() -> None:
    for kind, figures in screening_scores().items():
        assert figures["recall"] == 1.0, kind
        assert figures["precision"] >= 0.95, kind

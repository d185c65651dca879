"""Check form definitions against schemas/form.schema.json, then what JSON Schema cannot say.

The schema requires every element DOMAIN.md lists for a valid consent form; this module adds the
checks that compare one part of a definition with another (the same sections in every language, a
label for every listed use, the correct answer among the choices) and the allowed placeholders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from consent.errors import ConfigurationError

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "form.schema.json"
# The only values the catalogue fills in (consent.workflows.catalogue.form_placeholders); anything
# else in braces would reach the patient as is.
PLACEHOLDERS = frozenset({"controller", "dpo_contact"})
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Keeps one message readable when jsonschema quotes a whole section list back.
_MAX_MESSAGE = 200


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_definition(definition: dict[str, Any], *, source: str) -> None:
    """Check one form definition (as loaded from YAML); ``source`` names it in messages.

    Raises ConfigurationError listing every problem as ``<JSON path>: <message>``, both in the
    message and in ``errors`` (keyed by JSON path).
    """
    problems = [(error.json_path, _message(error)) for error in _schema_errors(definition)]
    if not problems:
        # Only a definition of the right shape can be compared part by part.
        problems = list(_cross_checks(definition))
    if problems:
        errors: dict[str, list[str]] = {}
        for path, message in problems:
            errors.setdefault(path, []).append(message)
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        raise ConfigurationError(
            f"form definition {source} is invalid ({len(problems)} problem(s)):\n{lines}",
            errors=errors,
        )


def _schema_errors(definition: object) -> list[ValidationError]:
    errors = _validator().iter_errors(definition)
    return sorted(errors, key=lambda error: (error.json_path, error.message))


def _message(error: ValidationError) -> str:
    if error.validator == "contains":
        # The schema's `contains` clauses each require one section key: name the key and the
        # DOMAIN.md element, not the whole list jsonschema would quote.
        schema = error.schema if isinstance(error.schema, dict) else {}
        key = schema.get("contains", {}).get("properties", {}).get("key", {}).get("const")
        if key is not None:
            why = schema.get("description", "")
            return f"missing section {key!r}, or it lacks what it must contain ({why})"
    if error.validator == "not" and isinstance(error.validator_value, dict):
        # jsonschema would quote the whole definition back; name the forbidden property instead.
        forbidden = error.validator_value.get("required")
        if forbidden:
            return f"{', '.join(map(repr, forbidden))} is not allowed here"
    message = str(error.message)
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def _cross_checks(definition: dict[str, Any]) -> Iterator[tuple[str, str]]:
    languages: dict[str, Any] = definition["languages"]
    listed: list[str] = definition["purposes"]
    reference_language = "en" if "en" in languages else next(iter(languages))
    reference = languages[reference_language]
    reference_sections = [section["key"] for section in reference["sections"]]
    reference_answers = {q["key"]: q["correct"] for q in reference["comprehension"]}
    for language, block in languages.items():
        path = f"$.languages.{language}"
        keys = [section["key"] for section in block["sections"]]
        for duplicate in sorted({key for key in keys if keys.count(key) > 1}):
            yield f"{path}.sections", f"section {duplicate!r} appears more than once"
        if keys != reference_sections:
            # One text, several languages: the tablet pages walk the sections by position.
            yield (
                f"{path}.sections",
                f"sections {keys} differ from {reference_language}'s {reference_sections} "
                "(every language needs the same sections in the same order)",
            )
        for purpose in listed:
            if purpose not in block["purposes"]:
                yield f"{path}.purposes", f"no label for purpose {purpose!r}"
        for purpose in block["purposes"]:
            if purpose not in listed:
                yield (
                    f"{path}.purposes.{purpose}",
                    f"label for purpose {purpose!r}, which the form does not list",
                )
        for index, section in enumerate(block["sections"]):
            for purpose in section.get("uses", {}):
                if purpose not in listed:
                    # A paragraph for a use the form never asks about would never be shown.
                    yield (
                        f"{path}.sections[{index}].uses.{purpose}",
                        f"paragraph for purpose {purpose!r}, which the form does not list",
                    )
        yield from _check_questions(path, block["comprehension"], reference_answers)
    yield from _check_placeholders("$", definition)


def _check_questions(
    path: str, questions: list[dict[str, Any]], reference_answers: dict[str, str]
) -> Iterator[tuple[str, str]]:
    answers = {q["key"]: q["correct"] for q in questions}
    if len(answers) != len(questions):
        yield f"{path}.comprehension", "two questions share a key"
    if answers != reference_answers:
        yield (
            f"{path}.comprehension",
            "questions or correct answers differ from the other languages "
            f"({answers} instead of {reference_answers})",
        )
    for index, question in enumerate(questions):
        choices = [choice["key"] for choice in question["choices"]]
        where = f"{path}.comprehension[{index}]"
        if len(set(choices)) != len(choices):
            yield f"{where}.choices", "two choices share a key"
        if question["correct"] not in choices:
            yield f"{where}.correct", f"{question['correct']!r} is not among the choices {choices}"


def _check_placeholders(path: str, value: object) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _check_placeholders(f"{path}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _check_placeholders(f"{path}[{index}]", item)
    elif isinstance(value, str):
        for name in _PLACEHOLDER.findall(value):
            if name not in PLACEHOLDERS:
                allowed = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
                yield path, f"unknown placeholder {{{name}}} (allowed: {allowed})"
        if "{" in _PLACEHOLDER.sub("", value) or "}" in _PLACEHOLDER.sub("", value):
            yield path, "unmatched brace"

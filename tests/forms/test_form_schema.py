"""Form definitions: the schema requires every DOMAIN.md element, and the catalogue refuses a file
that lacks one."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from consent.errors import ConfigurationError
from consent.forms.catalogue import FORMS_DIR, read_definitions, render_text
from consent.forms.schema import SCHEMA_PATH, validate_definition

PLACEHOLDERS = {"controller": "CHU Test", "dpo_contact": "dpo@hospital.test"}
SHIPPED = sorted(path.name for path in FORMS_DIR.glob("*.yaml"))
# DOMAIN.md elements 1-11 and 13, in the order the forms present them.
SECTION_KEYS = (
    "what",
    "who_consents",
    "uses",
    "audience",
    "recognition",
    "accompanying_text",
    "storage",
    "duration",
    "your_rights",
    "no_payment",
    "data_protection",
    "signature",
)

Mutation = Callable[[dict[str, Any]], None]


def load(name: str) -> dict[str, Any]:
    definition: dict[str, Any] = yaml.safe_load((FORMS_DIR / name).read_text(encoding="utf-8"))
    return definition


def refused(tmp_path: Path, name: str, mutate: Mutation) -> ConfigurationError:
    """Copy the shipped forms, apply ``mutate`` to one of them, and load the copy."""
    forms = tmp_path / "forms"
    shutil.copytree(FORMS_DIR, forms)
    definition = load(name)
    mutate(definition)
    (forms / name).write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        list(read_definitions(forms, PLACEHOLDERS))
    assert name in caught.value.message
    return caught.value


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_cites_a_domain_element_for_every_required_section() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    clauses = schema["$defs"]["language"]["properties"]["sections"]["allOf"]
    keys = [clause["contains"]["properties"]["key"]["const"] for clause in clauses]
    assert keys == list(SECTION_KEYS)
    assert all("DOMAIN.md element" in clause["description"] for clause in clauses)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_form_validates(name: str) -> None:
    validate_definition(load(name), source=name)


def test_catalogue_reads_both_forms_in_both_languages() -> None:
    loaded = {(f.form_id, f.version, f.language) for f in read_definitions(FORMS_DIR, PLACEHOLDERS)}
    assert loaded == {
        (form, version, language)
        for form in ("media-publication", "media-publication-representative")
        for version in (1, 2, 3)
        for language in (("en", "fr") if version == 1 else ("en", "fr", "ar"))
    }


def test_shipped_forms_present_sections_in_the_same_order() -> None:
    for name in SHIPPED:
        for block in load(name)["languages"].values():
            assert [s["key"] for s in block["sections"]] == list(SECTION_KEYS)


def test_representative_form_is_addressed_to_a_parent_or_guardian() -> None:
    definition = load("media-publication-representative.yaml")
    assert definition["audience"] == "legal_representative"
    assert definition["representative_basis"] == ["parent", "guardian"]
    assert definition["purposes"] == load("media-publication.yaml")["purposes"]
    en = render_text(definition["languages"]["en"], PLACEHOLDERS)
    fr = render_text(definition["languages"]["fr"], PLACEHOLDERS)
    # DOMAIN.md element 8 (review at majority) and R.4127-42 (the minor's own view is sought).
    assert "turns 18" in en and "18 ans" in fr
    assert "ask your child what they think" in en and "l'avis de votre enfant" in fr


def _drop_section(key: str) -> Mutation:
    def mutate(definition: dict[str, Any]) -> None:
        block = definition["languages"]["en"]
        block["sections"] = [s for s in block["sections"] if s["key"] != key]

    return mutate


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("key", SECTION_KEYS)
def test_form_without_a_required_section_is_refused(tmp_path: Path, name: str, key: str) -> None:
    error = refused(tmp_path, name, _drop_section(key))
    assert f"missing section {key!r}" in error.message
    assert "$.languages.en.sections" in error.errors


def _delete(*path: str) -> Mutation:
    def mutate(definition: dict[str, Any]) -> None:
        target = definition
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


MISSING_ELEMENTS = {
    "purposes": (_delete("purposes"), "'purposes' is a required property"),
    "purpose label": (
        _delete("languages", "fr", "purposes", "teaching"),
        "$.languages.fr.purposes: no label for purpose 'teaching'",
    ),
    "comprehension": (
        _delete("languages", "en", "comprehension"),
        "'comprehension' is a required property",
    ),
    "version": (_delete("version"), "'version' is a required property"),
    "fr language": (_delete("languages", "fr"), "'fr' is a required property"),
    "audience": (_delete("audience"), "'audience' is a required property"),
    "title": (_delete("languages", "fr", "title"), "'title' is a required property"),
    "id": (_delete("id"), "'id' is a required property"),
}


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("element", MISSING_ELEMENTS)
def test_form_without_a_required_element_is_refused(
    tmp_path: Path, name: str, element: str
) -> None:
    mutate, message = MISSING_ELEMENTS[element]
    assert message in refused(tmp_path, name, mutate).message


def _set(value: Any, *path: str | int) -> Mutation:
    def mutate(definition: dict[str, Any]) -> None:
        target: Any = definition
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def test_representative_form_without_its_basis_is_refused(tmp_path: Path) -> None:
    error = refused(
        tmp_path, "media-publication-representative.yaml", _delete("representative_basis")
    )
    assert "'representative_basis' is a required property" in error.message


def test_patient_form_stating_a_representative_basis_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "media-publication.yaml", _set(["parent"], "representative_basis"))
    assert "$: 'representative_basis' is not allowed here" in error.message


def test_data_protection_section_without_the_controller_is_refused(tmp_path: Path) -> None:
    def mutate(definition: dict[str, Any]) -> None:
        section = definition["languages"]["fr"]["sections"][10]
        assert section["key"] == "data_protection"
        section["body"] = section["body"].replace("{controller}", "L'hôpital")

    assert (
        "missing section 'data_protection'"
        in refused(tmp_path, "media-publication.yaml", mutate).message
    )


def test_unknown_purpose_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "media-publication.yaml", _set(["teaching", "marketing"], "purposes"))
    assert "$.purposes[1]: 'marketing' is not one of" in error.message


def test_label_for_an_unlisted_purpose_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "media-publication.yaml", _set(["teaching"], "purposes"))
    assert "label for purpose 'survey', which the form does not list" in error.message


@pytest.mark.parametrize("count", [1, 4])
def test_comprehension_check_of_the_wrong_length_is_refused(tmp_path: Path, count: int) -> None:
    def mutate(definition: dict[str, Any]) -> None:
        questions = definition["languages"]["en"]["comprehension"]
        definition["languages"]["en"]["comprehension"] = (questions * 2)[:count]

    error = refused(tmp_path, "media-publication.yaml", mutate)
    assert "$.languages.en.comprehension" in error.errors


def test_correct_answer_that_is_not_a_choice_is_refused(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        "media-publication.yaml",
        _set("d", "languages", "fr", "comprehension", 0, "correct"),
    )
    assert "$.languages.fr.comprehension[0].correct: 'd' is not among the choices" in error.message


def test_sections_in_another_order_in_one_language_are_refused(tmp_path: Path) -> None:
    def mutate(definition: dict[str, Any]) -> None:
        sections = definition["languages"]["fr"]["sections"]
        sections[0], sections[1] = sections[1], sections[0]

    error = refused(tmp_path, "media-publication.yaml", mutate)
    assert "same sections in the same order" in error.errors["$.languages.fr.sections"][0]


def test_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    def mutate(definition: dict[str, Any]) -> None:
        definition["languages"]["en"]["sections"][0]["body"] += "Call {hospital_phone}.\n"

    error = refused(tmp_path, "media-publication.yaml", mutate)
    assert "$.languages.en.sections[0].body: unknown placeholder {hospital_phone}" in error.message


def test_every_problem_is_listed_with_its_json_path() -> None:
    definition = copy.deepcopy(load("media-publication.yaml"))
    definition["version"] = 0
    del definition["languages"]["fr"]["title"]
    with pytest.raises(ConfigurationError) as caught:
        validate_definition(definition, source="broken.yaml")
    assert caught.value.message.startswith("form definition broken.yaml is invalid (2 problem(s))")
    assert set(caught.value.errors) == {"$.version", "$.languages.fr"}


def test_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"empty\.yaml is invalid"):
        list(read_definitions(tmp_path, PLACEHOLDERS))


def test_one_invalid_file_stops_the_whole_catalogue(tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(FORMS_DIR, forms)
    (forms / "zz-broken.yaml").write_text("id: broken\n", encoding="utf-8")
    loaded = read_definitions(forms, PLACEHOLDERS)
    with pytest.raises(ConfigurationError, match=r"zz-broken\.yaml"):
        next(loaded)  # refused before the valid files that sort first are yielded


def test_same_form_version_in_two_files_is_refused(tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(FORMS_DIR, forms)
    shutil.copy(forms / "media-publication.yaml", forms / "media-publication-copy.yaml")
    with pytest.raises(ConfigurationError, match="defined in two files"):
        list(read_definitions(forms, PLACEHOLDERS))

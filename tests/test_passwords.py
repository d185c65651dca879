"""The staff password policy (NIST SP 800-63B): long enough, not common, not the account's own
name or e-mail; applied where accounts are made."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner

from consent.accounts.passwords import password_problems


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12"),
        ("x" * 201, "at most 200"),
        ("Password1234", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("ababababababab", "too common"),
        ("house-of-cards-42", "name or e-mail"),  # the account is Dr House
        ("greg.house.is.here", "name or e-mail"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, problem: str) -> None:
    problems = password_problems(password, email="greg.house@hospital.test", name="Dr House")
    assert any(problem in text for text in problems), problems


def test_a_few_words_pass() -> None:
    assert password_problems("violet kettle under rain", email="g@h.test", name="Dr House") == []


def test_create_account_applies_the_policy(runner: FlaskCliRunner) -> None:
    weak = runner.invoke(
        args=[
            "create-account",
            "--email",
            "greg.house@hospital.test",
            "--name",
            "Dr House",
            "--password",
            "password1234",
        ]
    )
    assert weak.exit_code != 0 and "too common" in weak.output
    good = runner.invoke(
        args=[
            "create-account",
            "--email",
            "greg.house@hospital.test",
            "--name",
            "Dr House",
            "--password",
            "violet kettle under rain",
        ]
    )
    assert good.exit_code == 0, good.output

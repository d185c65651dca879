"""Settings: one typed, frozen object, checked at start; a misspelt name stops the start."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from consent import create_app
from consent.errors import ConfigurationError
from consent.settings import SETTINGS, load
from consent.web.context import settings


def test_an_unknown_variable_stops_the_start_naming_the_closest_setting(
    instance_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENT_MAX_MEDIA_BYTE", "1000")
    with pytest.raises(ConfigurationError) as refused:
        create_app({"INSTANCE_PATH": str(instance_dir), "SQLALCHEMY_DATABASE_URI": database_url})
    assert "CONSENT_MAX_MEDIA_BYTE " in refused.value.message
    assert "Did you mean CONSENT_MAX_MEDIA_BYTES?" in refused.value.message
    assert "the environment" in refused.value.message


def test_a_misspelt_name_in_instance_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text('SECRET_KEY = "x"\nCONSENT_CONTROLER = "Hôpital"\n')
    with pytest.raises(ConfigurationError) as refused:
        load(instance_path=str(tmp_path), environ={})
    assert "Did you mean CONSENT_CONTROLLER?" in refused.value.message
    assert str(tmp_path / "config.py") in refused.value.message


def test_test_and_ci_variables_are_not_the_services(tmp_path: Path) -> None:
    environ = {"CONSENT_TEST_DATABASE_URL": "x", "CONSENT_CI_PEER": "y", "CONSENT_BENCH_Z": "z"}
    assert load(instance_path=str(tmp_path), environ=environ).controller == "Demo Hospital"


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("CONSENT_SIGNING_LINK_MINUTES", "0", "a whole number from 1 to 1440"),
        ("CONSENT_SIGNING_LINK_MINUTES", "thirty", "a whole number"),
        ("CONSENT_TRUSTED_PROXIES", "9", "a whole number from 0 to 5"),
        ("CONSENT_WEBHOOKS_ALLOW_HTTP", "maybe", "true or false"),
        ("CONSENT_PUBLIC_URL", "consent.hospital.example", "an http:// or https:// address"),
        ("CONSENT_LOG_LEVEL", "LOUD", "one of DEBUG"),
        ("CONSENT_RATELIMIT_STORAGE_URI", "mongodb://x", "an address starting with"),
        ("CONSENT_RATELIMIT_LOGIN", "often", "limits such as"),
        ("CONSENT_DATABASE_URL", "mysql://x", "a sqlite:/// or postgresql:// address"),
    ],
)
def test_a_value_that_breaks_its_rule_stops_the_start(
    tmp_path: Path, name: str, value: str, rule: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load(instance_path=str(tmp_path), environ={name: value})
    assert refused.value.message.startswith(f"{name} must be {rule}")


def test_environment_values_are_read_as_their_types(tmp_path: Path) -> None:
    loaded = load(
        instance_path=str(tmp_path),
        environ={
            "CONSENT_SIGNING_LINK_MINUTES": "45",
            "CONSENT_WEBHOOKS_ALLOW_HTTP": "true",
            "CONSENT_WEBHOOK_TIMEOUT_SECONDS": "2.5",
            "CONSENT_JURISDICTION": "BE",
            "CONSENT_DATABASE_URL": "postgresql://db.hospital.example/consent",
        },
    )
    assert loaded.signing_link_minutes == 45
    assert loaded.webhooks_allow_http is True
    assert loaded.webhook_timeout_seconds == 2.5
    assert loaded.jurisdiction == "BE"
    assert loaded.database_url == "postgresql+psycopg://db.hospital.example/consent"


def test_a_python_value_of_the_wrong_type_is_not_converted(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CONSENT_TRUSTED_PROXIES"):
        load(instance_path=str(tmp_path), environ={}, overrides={"CONSENT_TRUSTED_PROXIES": "1"})


def test_a_secret_is_never_quoted_in_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load(instance_path=str(tmp_path), environ={"CONSENT_MASTER_KEY": "k3y" * 100})
    assert "k3y" not in refused.value.message and "(hidden)" in refused.value.message


def test_secrets_are_kept_out_of_the_settings_repr(tmp_path: Path) -> None:
    loaded = load(
        instance_path=str(tmp_path),
        environ={"CONSENT_SECRET_KEY": "s3cr3t-key", "CONSENT_MASTER_KEY": "bWFzdGVy"},
    )
    assert "s3cr3t-key" not in repr(loaded) and "bWFzdGVy" not in repr(loaded)


def test_the_settings_of_a_running_app_are_frozen(app: object) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings().controller = "Another hospital"  # type: ignore[misc]


def test_every_setting_has_an_attribute_and_a_meaning() -> None:
    fields = {field.name for field in dataclasses.fields(load(instance_path=None, environ={}))}
    for setting in SETTINGS:
        assert setting.attribute in fields and setting.help


def test_the_publishing_tools_variables_in_the_same_terminal_do_not_stop_the_start() -> None:
    """make run's banner says `export CONSENT_URL=... CONSENT_API_KEY=...` for consent-check and
    the walk-through; the flask commands run in that same terminal."""
    environ = {
        "CONSENT_URL": "http://127.0.0.1:5000",
        "CONSENT_API_KEY": "csk_x",
        "CONSENT_KEYS": "",
    }
    assert load(instance_path=None, environ=environ).public_url == "http://127.0.0.1:5000"

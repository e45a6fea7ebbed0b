"""Settings come from the environment; a malformed value stops start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hat_clinic.env import env_bool, env_database, env_int, env_list, env_redis_url

ROOT = Path(__file__).resolve().parent.parent.parent

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k8Jq2vT9xLmN4pR7sW1zY6bC3dF0gH5jK8lM2nP4qS7tV9wX1yZ3aB6cD8eF0gH2",
    "ALLOWED_HOSTS": "hat.example.nhs.uk",
    "HTTPS": "1",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args, env):
    # Only what a production host would have: no test-run variables such as DJANGO_ALLOW_ASYNC_UNSAFE.
    clean = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_env_bool_refuses_a_typo(monkeypatch):
    monkeypatch.setenv("DEBUG", "ture")

    with pytest.raises(ImproperlyConfigured, match="DEBUG='ture' is not a boolean"):
        env_bool("DEBUG", False)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)

    assert env_bool("SOME_FLAG", False) is expected


def test_env_int_refuses_words_and_out_of_range_values(monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "thirty")
    with pytest.raises(ImproperlyConfigured, match="SESSION_IDLE_MINUTES='thirty' is not a whole number"):
        env_int("SESSION_IDLE_MINUTES", 30)

    monkeypatch.setenv("SESSION_IDLE_MINUTES", "1")
    with pytest.raises(ImproperlyConfigured, match="SESSION_IDLE_MINUTES=1 is below the minimum of 5"):
        env_int("SESSION_IDLE_MINUTES", 30, minimum=5)


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example, b.example,")

    assert env_list("ALLOWED_HOSTS", []) == ["a.example", "b.example"]


def test_env_database_refuses_an_unknown_scheme(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mongodb://localhost/x")

    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env_database("DATABASE_URL", "sqlite:///x")


def test_env_redis_url_refuses_a_url_that_is_not_redis(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://127.0.0.1:6379")

    with pytest.raises(ImproperlyConfigured, match=r"REDIS_URL='http://127\.0\.0\.1:6379' must start with redis://"):
        env_redis_url("REDIS_URL")


def test_start_up_stops_naming_the_variable_when_a_value_is_malformed():
    result = manage("check", env={**PRODUCTION_ENV, "HTTPS": "maybe"})

    assert result.returncode != 0
    assert "HTTPS='maybe' is not a boolean" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.parametrize("command", ["check", "migrate"])
def test_every_command_names_the_missing_variable_instead_of_a_traceback(command):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}

    result = manage(command, env=env)

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Configuration error: SECRET_KEY must be set when DEBUG is off. (see the configuration table in README.md)"
    )


def test_makemigrations_runs_without_production_settings():
    # No SECRET_KEY, no DEBUG: as on a developer's machine (the database only so no SQLite file is made here).
    result = manage("makemigrations", "--check", "--dry-run", env={"DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"]})

    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_makemigrations_still_stops_without_a_secret_key_when_debug_is_off():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}

    result = manage("makemigrations", "--check", "--dry-run", env={**env, "DEBUG": "0"})

    assert result.returncode == 1
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_settings_pass_the_deployment_checklist_with_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout

"""Settings are read in one place (settings.py), every on/off variable by one parser."""

import pytest

from tollgate_litellm.settings import Settings
from tollgate_litellm.shared import SharedVerdicts

SECRET = "s" * 40
OFF = ["off", "0", "false", "no", "OFF", "False", "No", " nO "]
ON = ["on", "1", "true", "yes", "ON", "True", "Yes", " yEs "]


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("TOLLGATE_URL", "http://platform.test")
    monkeypatch.setenv("TOLLGATE_GATEWAY_SECRET", SECRET)
    monkeypatch.setenv("REDIS_HOST", "127.0.0.1")
    for name in ("TOLLGATE_AUTH_SHARED", "TOLLGATE_LITELLM_PROMETHEUS", "REDIS_PORT", "REDIS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("value", OFF)
def test_auth_sharing_is_off_for_every_spelling_of_off(env, value):
    env.setenv("TOLLGATE_AUTH_SHARED", value)
    settings = Settings.from_env()
    assert settings.auth_shared is False
    assert SharedVerdicts.from_settings(settings) is None


@pytest.mark.parametrize("value", [*ON, ""])
def test_auth_sharing_is_on_for_every_spelling_of_on_and_by_default(env, value):
    env.setenv("TOLLGATE_AUTH_SHARED", value)
    settings = Settings.from_env()
    assert settings.auth_shared is True
    assert isinstance(SharedVerdicts.from_settings(settings), SharedVerdicts)


@pytest.mark.parametrize("name", ["TOLLGATE_AUTH_SHARED", "TOLLGATE_LITELLM_PROMETHEUS"])
@pytest.mark.parametrize("value", ["maybe", "2", "enabled", "y"])
def test_any_other_value_fails_at_start_naming_the_variable(env, name, value):
    env.setenv(name, value)
    with pytest.raises(RuntimeError, match=name):
        Settings.from_env()


@pytest.mark.parametrize("value,expected", [*[(v, False) for v in OFF], *[(v, True) for v in ON]])
def test_every_flag_reads_the_same_words(env, value, expected):
    env.setenv("TOLLGATE_LITELLM_PROMETHEUS", value)
    assert Settings.from_env().litellm_prometheus is expected


def test_no_redis_no_sharing(env):
    env.delenv("REDIS_HOST")
    assert SharedVerdicts.from_settings(Settings.from_env()) is None


def test_the_webhook_secret_is_required_by_billing_only(env):
    env.setenv("TOLLGATE_WEBHOOK_SECRET", "short")
    settings = Settings.from_env()  # key auth starts without it
    with pytest.raises(RuntimeError, match="TOLLGATE_WEBHOOK_SECRET"):
        settings.usage_webhook_secret()
    env.setenv("TOLLGATE_WEBHOOK_SECRET", "w" * 32)
    assert Settings.from_env().usage_webhook_secret() == "w" * 32

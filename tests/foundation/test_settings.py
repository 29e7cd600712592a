from __future__ import annotations

from pathlib import Path

import pytest

from txassist.config import Settings, SettingsError


def test_defaults_are_embedded_and_local() -> None:
    settings = Settings.from_env({})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("data/txassist.db")
    assert settings.api_keys == {}


def test_environment_variables_are_parsed_with_types() -> None:
    settings = Settings.from_env(
        {
            "TXASSIST_PORT": "9001",
            "TXASSIST_DATA_DIR": "/tmp/tx",
            "TXASSIST_API_KEYS": '{"k1": ["agent", "admin"]}',
            "TXASSIST_LOG_FORMAT": "console",
            "TXASSIST_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "TXASSIST_SEARCH_MIN_SCORE": "0.25",
            "TXASSIST_CORS_ORIGINS": '["https://panel.example"]',
            "UNRELATED": "x",
        }
    )
    assert settings.port == 9001
    assert settings.data_dir == Path("/tmp/tx")
    assert settings.api_keys == {"k1": ["agent", "admin"]}
    assert settings.log_format == "console"
    assert settings.resolved_database_url == "postgresql+asyncpg://u@h/db"
    assert settings.search_min_score == 0.25
    assert settings.cors_origins == ["https://panel.example"]


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("TXASSIST_PORT", "eighty", "port"),
        ("TXASSIST_API_KEYS", "{not json", "TXASSIST_API_KEYS"),
        ("TXASSIST_API_KEYS", '{"k": ["root"]}', "api_keys"),
        ("TXASSIST_LOG_FORMAT", "xml", "log_format"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env({name: value})


def test_overrides_win_over_environment() -> None:
    settings = Settings.from_env({"TXASSIST_PORT": "9001"}, port=9002)
    assert settings.port == 9002

"""Settings: environment, nesting, validation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import ConfigError, load_settings


def test_nested_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEBOT_SEARCH__K", "7")
    monkeypatch.setenv("CITEBOT_CHROMA__URL", "http://127.0.0.1:8123/")
    settings = load_settings()
    assert settings.search.k == 7
    assert settings.chroma.url == "http://127.0.0.1:8123"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CITEBOT_SEARCH__K", "0"),
        ("CITEBOT_CHUNK__SIZE", "big"),
        ("CITEBOT_CHROMA__URL", "ftp://x"),
        ("CITEBOT_SEARCH__MODE", "magic"),
        ("CITEBOT_LLM__PROVIDER", "skynet"),
    ],
)
def test_a_bad_value_fails_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_overlap_must_stay_below_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEBOT_CHUNK__SIZE", "200")
    monkeypatch.setenv("CITEBOT_CHUNK__OVERLAP", "200")
    with pytest.raises(ConfigError, match="overlap"):
        load_settings()


def test_discord_token_falls_back_to_discord_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def")
    token = load_settings().discord.token
    assert token is not None
    assert token.get_secret_value() == "abc.def"
    assert "abc.def" not in repr(load_settings())


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CITEBOT_KB=fromdotenv\n", encoding="utf-8")
    assert load_settings().kb == "fromdotenv"


def test_a_toml_config_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[search]\nk = 9\n", encoding="utf-8")
    monkeypatch.setenv("CITEBOT_CONFIG_FILE", str(path))
    assert load_settings().search.k == 9


def test_an_unreadable_config_file_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITEBOT_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="CITEBOT_CONFIG_FILE"):
        load_settings()

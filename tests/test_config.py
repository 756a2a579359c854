from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def test_defaults_without_a_file() -> None:
    config = load_config(None, {})
    assert config.store.path == "factbot.db"
    assert config.discord.token is None
    assert config.replies.repeat_window_minutes == 30
    assert config.replies.max_links_per_message == 5
    assert config.fetch.allowed_private_networks == ()
    assert config.fetch.allowed_ports == (80, 443)


def test_example_config_is_valid_and_documents_every_key() -> None:
    config = load_config(EXAMPLE, {})
    assert config == load_config(None, {})  # the example documents the defaults


def test_token_from_environment_wins_and_is_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[discord]\ntoken = "from-file-secret"\n')
    assert load_config(path, {}).discord.token == "from-file-secret"
    config = load_config(path, {"DISCORD_TOKEN": "env-secret"})
    assert config.discord.token == "env-secret"
    assert "secret" not in repr(config)


def test_every_bad_key_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[replies]\nrepeat_window_minutes = -1\nmax_link = 3\n"
        '[fetch]\nallowed_private_networks = ["not-a-net"]\n'
        "[nonsense]\nx = 1\n"
        '[discord]\nmoderator_roles = ["mods"]\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    problems = info.value.problems
    assert len(problems) == 5
    assert any("repeat_window_minutes" in p for p in problems)
    assert any("max_link: unknown key" in p for p in problems)
    assert any("not-a-net" in p for p in problems)
    assert any("[nonsense]" in p for p in problems)
    assert any("moderator_roles" in p for p in problems)


@pytest.mark.parametrize(
    ("content", "message"),
    [("[store\npath=1", "not valid TOML"), ("[store]\npath = 3\n", "must be a string")],
)
def test_broken_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config(path, {})


def test_missing_file_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config("/nonexistent/factbot.toml", {})


def test_a_postgresql_url_selects_the_shared_store_and_is_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[store]\nurl = "postgresql://bot:db-secret@db.internal:5432/factbot"\n')
    config = load_config(path, {})
    assert config.store.target == "postgresql://bot:db-secret@db.internal:5432/factbot"
    assert "db-secret" not in repr(config)
    assert load_config(None, {}).store.target == "factbot.db"


@pytest.mark.parametrize("url", ["factbot.db", "mysql://db/factbot", "", 5])
def test_a_store_url_that_is_not_postgresql_is_refused(tmp_path: Path, url: object) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[store]\nurl = {url!r}\n".replace("'", '"'))
    with pytest.raises(ConfigError, match=r"\[store\] url"):
        load_config(path, {})

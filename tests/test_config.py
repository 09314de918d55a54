from __future__ import annotations

from pathlib import Path

import pytest

from triage_app.config import ConfigError, open_home, resolve_home


def test_home_resolution_order(tmp_path: Path, monkeypatch) -> None:
    from triage_app import config

    monkeypatch.setattr(config, "user_preferences_path", lambda: tmp_path / "none" / "preferences.toml")
    monkeypatch.setenv("MURA_TRIAGE_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "cli") == (tmp_path / "cli").resolve()
    assert resolve_home(None) == (tmp_path / "env").resolve()
    monkeypatch.delenv("MURA_TRIAGE_HOME")
    assert "mura-triage" in str(resolve_home(None))


def test_new_home_layout_and_defaults(tmp_path: Path) -> None:
    home = open_home(tmp_path / "h")
    for name in ("store", "quarantine", "models", "logs", "inbox", "config.toml"):
        assert (home.root / name).exists(), name
    assert home.settings.stable_seconds == 10.0 and home.settings.checkpoint == ""
    assert home.inbox_dir == home.root / "inbox"
    assert oct((home.root / "config.toml").stat().st_mode & 0o777) == "0o600"


def test_config_file_and_overrides(tmp_path: Path) -> None:
    root = tmp_path / "h"
    root.mkdir()
    config = f'inbox = "{tmp_path / "in"}"\n[studies]\nstable_seconds = 30\n[model]\ndevice = "cpu"\n'
    (root / "config.toml").write_text(config)
    home = open_home(root, {"stable_seconds": 5})
    assert home.inbox_dir == tmp_path / "in" and home.inbox_dir.is_dir()
    assert home.settings.stable_seconds == 5 and home.settings.device == "cpu"


@pytest.mark.parametrize(
    "text",
    ['[studies]\nstable_seconds = -1\n', '[model]\ndevice = "tpu"\n', '[model]\nbatch_size = 0\n',
     '[model]\nthreshold = 1.5\n', '[model]\nbatch_size = "eight"\n', "not toml = = \n"],
)
def test_invalid_values_are_refused_with_a_message(tmp_path: Path, text: str) -> None:
    root = tmp_path / "h"
    root.mkdir()
    (root / "config.toml").write_text(text)
    with pytest.raises(ConfigError):
        open_home(root)


def test_settings_round_trip_and_refusal(tmp_path: Path) -> None:
    from triage_app.config import Settings, load_settings, save_settings

    path = tmp_path / "config.toml"
    settings = Settings(inbox=str(tmp_path / "in"), checkpoint="models/a.ckpt", device="cpu", precision="fp32",
                        threshold=0.4, stable_seconds=20.0)
    save_settings(path, settings)
    assert load_settings(path) == settings
    with pytest.raises(ConfigError):
        save_settings(path, Settings(stable_seconds=-3))
    assert load_settings(path) == settings  # a refused value never reaches the file


def test_remembered_home(tmp_path: Path, monkeypatch) -> None:
    from triage_app import config

    monkeypatch.delenv("MURA_TRIAGE_HOME", raising=False)
    monkeypatch.setattr(config, "user_preferences_path", lambda: tmp_path / "prefs" / "preferences.toml")
    config.remember_home(tmp_path / "chosen")
    assert config.resolve_home(None) == (tmp_path / "chosen").resolve()

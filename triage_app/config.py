"""The data home and its ``config.toml``.

The home holds everything the app writes: ``triage.db``, the managed DICOM ``store/``,
``quarantine/``, ``models/``, ``logs/`` and ``config.toml``. It is created private (0700) because it
holds patient data.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from model.devices import DEVICES, PRECISIONS

HOME_ENV = "MURA_TRIAGE_HOME"
APP_NAME = "mura-triage"


class ConfigError(ValueError):
    """An invalid setting; the message names the key and the allowed values."""


def default_home() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_preferences_path() -> Path:
    """Per-user file that remembers the data home chosen in Settings (the home cannot hold it itself)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "preferences.toml"


def remembered_home() -> Path | None:
    path = user_preferences_path()
    try:
        value = tomllib.loads(path.read_text(encoding="utf-8")).get("home")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return Path(value) if isinstance(value, str) and value else None


def remember_home(home: Path) -> None:
    path = user_preferences_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps({"home": str(home)}), encoding="utf-8")


def resolve_home(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """``--home`` wins over ``$MURA_TRIAGE_HOME``, then the home chosen in Settings, then the
    platform's user data dir."""
    raw = cli_value or os.environ.get(HOME_ENV) or remembered_home() or default_home()
    return Path(raw).expanduser().resolve()


@dataclass
class Settings:
    inbox: str = ""
    settle_seconds: float = 2.0
    incomplete_grace_seconds: float = 60.0
    poll_seconds: float = 1.0
    stable_seconds: float = 10.0
    checkpoint: str = ""
    device: str = "auto"
    precision: str = "auto"
    batch_size: int = 8
    threshold: float | None = None

    def validate(self) -> None:
        for name in ("settle_seconds", "incomplete_grace_seconds", "stable_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.poll_seconds <= 0:
            raise ConfigError(f"poll_seconds must be > 0, got {self.poll_seconds}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not 1 <= self.batch_size <= 1024:
            raise ConfigError(f"batch_size must be between 1 and 1024, got {self.batch_size}")
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold must lie strictly between 0 and 1, got {self.threshold}")


# Where each setting lives in config.toml ("" = top level).
_SECTIONS = {
    "inbox": "",
    "settle_seconds": "ingest",
    "incomplete_grace_seconds": "ingest",
    "poll_seconds": "ingest",
    "stable_seconds": "studies",
    "checkpoint": "model",
    "device": "model",
    "precision": "model",
    "batch_size": "model",
    "threshold": "model",
}


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "float" or kind == "float | None":
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if kind == "int":
            if isinstance(value, bool) or float(value) != int(value):
                raise TypeError
            return int(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} has an invalid value {value!r}") from None


@dataclass
class Home:
    root: Path
    settings: Settings = field(default_factory=Settings)

    @property
    def db_path(self) -> Path:
        return self.root / "triage.db"

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def inbox_dir(self) -> Path:
        return Path(self.settings.inbox).expanduser() if self.settings.inbox else self.root / "inbox"

    def checkpoint_path(self) -> Path | None:
        if not self.settings.checkpoint:
            return None
        path = Path(self.settings.checkpoint).expanduser()
        return path if path.is_absolute() else self.root / path


def _make_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    # A folder owned by someone else on a share keeps its permissions.
    with contextlib.suppress(OSError):
        path.chmod(0o700)


def open_home(root: Path, overrides: dict[str, Any] | None = None) -> Home:
    """Create the home's folders (private) and default config if missing, then read the config.

    ``overrides`` come from command-line options and win over ``config.toml``.
    """
    _make_private_dir(root)
    for sub in ("store", "quarantine", "models", "logs"):
        _make_private_dir(root / sub)
    home = Home(root)
    if not home.config_path.exists():
        default = resources.files("triage_app.resources").joinpath("default_config.toml").read_text("utf-8")
        home.config_path.write_text(default, encoding="utf-8")
        home.config_path.chmod(0o600)
    home.settings = load_settings(home.config_path, overrides)
    home.inbox_dir.mkdir(parents=True, exist_ok=True)
    return home


def load_settings(path: Path, overrides: dict[str, Any] | None = None) -> Settings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    values: dict[str, Any] = {}
    for name, section in _SECTIONS.items():
        table = data.get(section, {}) if section else data
        if isinstance(table, dict) and name in table:
            values[name] = _coerce(name, table[name])
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(name, value)
    settings = Settings(**values)
    settings.validate()
    return settings


def save_settings(path: Path, settings: Settings) -> None:
    """Write ``config.toml`` (validated first; an invalid setting raises :class:`ConfigError`)."""
    settings.validate()
    data: dict[str, Any] = {}
    for name, section in _SECTIONS.items():
        value = getattr(settings, name)
        if value is None:
            continue
        (data.setdefault(section, {}) if section else data)[name] = value
    text = "# MURA Triage configuration (written by Settings). Research tool - not for clinical use.\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + tomli_w.dumps(data), encoding="utf-8")
    tmp.chmod(0o600)
    os.replace(tmp, path)

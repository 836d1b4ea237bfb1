"""Read stemline's settings from the config file and the environment, without Dagster.

Sources, later ones winning: defaults; a TOML file (``$STEMLINE_CONFIG``, else ``stemline.toml``
in the working directory, if present) with the settings at top level; environment variables
``STEMLINE_<KEY>`` (``STEMLINE_AUDIO_ROOTS`` separated by ``os.pathsep``). The settings and
their meaning are listed in :mod:`resources.settings`, whose Dagster resource
``StemlineSettings.load`` reads its values through :func:`load_setting_values`.

This module imports neither Dagster nor pydantic, so commands that only need a setting or two
(``stemline query`` needs the storage root) start in a fraction of a second.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

ENV_PREFIX = "STEMLINE_"
CONFIG_ENV = f"{ENV_PREFIX}CONFIG"
DEFAULT_CONFIG_FILE = "stemline.toml"
DEFAULT_STORAGE_ROOT = "data"

#: Every setting, in the resource's order, with how its environment variable is read: ``list``
#: (``os.pathsep``-separated), ``int``, ``float``, ``bool`` (``1``/``true``/``yes``/``on`` or
#: ``0``/``false``/``no``/``off``) or ``str`` (values checked by the resource).
SETTING_KINDS: dict[str, type] = {
    "storage_root": str,
    "audio_roots": list,
    "model": str,
    "codec": str,
    "transcription_rate": int,
    "max_duration_s": float,
    "hashes_per_tick": int,
    "tracks_per_run": int,
    "batch_tracks": int,
    "device": str,
    "warm_engine": bool,
    "executor": str,
    "dask_address": str,
    "executor_config": str,
}


class SettingsError(ValueError):
    """The config file or a ``STEMLINE_*`` variable cannot be read; the message names it."""


def config_file(path: Path | None = None) -> Path:
    """The config file to read: ``path``, else ``$STEMLINE_CONFIG``, else ``stemline.toml``."""
    return path or Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))


BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "on": True,
                 "0": False, "false": False, "no": False, "off": False}  # fmt: skip


def _from_environment(key: str, kind: type, raw: str) -> object:
    if kind is bool:
        try:
            return BOOLEAN_WORDS[raw.strip().lower()]
        except KeyError:
            raise SettingsError(
                f"{ENV_PREFIX}{key.upper()}={raw!r} is not a boolean (1/0, true/false, yes/no, "
                "on/off)"
            ) from None
    if kind is list:
        return [p for p in raw.split(os.pathsep) if p]
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            word = "an integer" if kind is int else "a number"
            raise SettingsError(f"{ENV_PREFIX}{key.upper()}={raw!r} is not {word}") from None
    return raw


def load_setting_values(path: Path | None = None) -> dict[str, object]:
    """The settings given by the config file and the environment (defaults are left out).

    Raises
    ------
    SettingsError
        The file is not valid TOML, names a setting that does not exist, or a numeric or
        boolean environment variable is not one.
    """
    values: dict[str, object] = {}
    source = config_file(path)
    if source.is_file():
        try:
            with source.open("rb") as fh:
                values.update(tomllib.load(fh))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{source}: cannot read the settings: {exc}") from None
    unknown = set(values) - set(SETTING_KINDS)
    if unknown:
        raise SettingsError(f"{source}: unknown stemline settings {sorted(unknown)}")
    for key, kind in SETTING_KINDS.items():
        raw = os.environ.get(ENV_PREFIX + key.upper())
        if raw is not None:
            values[key] = _from_environment(key, kind, raw)
    return values


def storage_root(override: Path | None = None, path: Path | None = None) -> Path:
    """The storage root: ``override`` (a command's ``--storage``), else the configured one."""
    if override is not None:
        return Path(override)
    root = load_setting_values(path).get("storage_root", DEFAULT_STORAGE_ROOT)
    if not isinstance(root, str) or not root:
        raise SettingsError(f"{config_file(path)}: storage_root must be a folder name")
    return Path(root)

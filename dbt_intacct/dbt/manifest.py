"""Reading dbt's `target/manifest.json` as plain JSON (schema v12: dbt Core 1.8 to 1.12 and dbt v2)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_intacct.errors import ConfigError

META_KEY = "intacct"
DEFAULTS_KEY = "intacct_defaults"


@dataclass(frozen=True)
class ManifestModel:
    """A model of the user's project that carries an `intacct` meta block."""

    unique_id: str
    name: str
    package_name: str
    database: str | None
    schema: str
    identifier: str
    original_file_path: str
    meta: Mapping[str, Any]  # `intacct_defaults` merged under `intacct`


def manifest_path(project_dir: Path, target_path: str = "target") -> Path:
    return project_dir / target_path / "manifest.json"


def load_manifest(path: Path) -> dict[str, Any]:
    """The manifest as a dict; a missing or unreadable file is a configuration error that says what to run."""
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist: run `dbt build` (or `dbt parse`) in the project before `dbt-intacct`"
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; run `dbt parse` to write it again") from exc
    version = str(data.get("metadata", {}).get("dbt_schema_version", ""))
    if not version.endswith("/v12.json"):
        raise ConfigError(
            f"{path} has manifest schema {version or 'unknown'}; dbt-intacct reads v12 (dbt 1.8 and later)"
        )
    return data


def merged_meta(node: Mapping[str, Any]) -> dict[str, Any] | None:
    """The model's `intacct` block with `intacct_defaults` merged under it, or None if it has none.

    dbt merges `meta` only by top-level key, so folder-wide defaults live under their own key and are
    merged here, one level deep for mappings (a model's own `mapping` entries win).
    """
    config_meta = (node.get("config") or {}).get("meta") or {}
    meta = {**(node.get("meta") or {}), **config_meta}
    block = meta.get(META_KEY)
    if block is None:
        return None
    defaults = meta.get(DEFAULTS_KEY) or {}
    if not isinstance(block, Mapping):
        return {"__invalid__": block}
    if not isinstance(defaults, Mapping):
        return {**block, "__invalid_defaults__": defaults}
    merged: dict[str, Any] = dict(defaults)
    for key, value in block.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def intacct_models(manifest: Mapping[str, Any]) -> list[ManifestModel]:
    """Every enabled model with an `intacct` meta block, in a stable order (by unique_id)."""
    found: list[ManifestModel] = []
    for unique_id, node in (manifest.get("nodes") or {}).items():
        if node.get("resource_type") != "model":
            continue
        if not (node.get("config") or {}).get("enabled", True):
            continue
        meta = merged_meta(node)
        if meta is None:
            continue
        found.append(
            ManifestModel(
                unique_id=unique_id,
                name=str(node["name"]),
                package_name=str(node.get("package_name", "")),
                database=node.get("database"),
                schema=str(node["schema"]),
                identifier=str(node.get("alias") or node["name"]),
                original_file_path=str(node.get("original_file_path", "")),
                meta=meta,
            )
        )
    return sorted(found, key=lambda m: m.unique_id)

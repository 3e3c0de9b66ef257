"""Connections to Intacct: `intacct.yml` (Jinja-rendered like dbt's profiles.yml) or INTACCT_* variables."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from dbt_intacct.endpoints import DEFAULT_ENDPOINT, endpoint_problem
from dbt_intacct.errors import ConfigError
from dbt_intacct.limits import parse_limit

if TYPE_CHECKING:
    from dbt_intacct.client import Credentials

FILE_NAME = "intacct.yml"
RESERVED_KEYS = frozenset({"alerts", "state_schema", "retention_days"})
DEFAULT_RETENTION_DAYS = 30
ENV_VARIABLES = {
    "sender_id": "INTACCT_SENDER_ID",
    "sender_password": "INTACCT_SENDER_PASSWORD",
    "company_id": "INTACCT_COMPANY_ID",
    "user_id": "INTACCT_USER_ID",
    "user_password": "INTACCT_USER_PASSWORD",
    "entity_id": "INTACCT_ENTITY_ID",
    "endpoint": "INTACCT_ENDPOINT",
}


class Connection(BaseModel):
    """One Intacct company login and how hard the tool may use it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sender_id: str = Field(min_length=1)
    sender_password: SecretStr
    company_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    user_password: SecretStr
    entity_id: str | None = None
    endpoint: str = DEFAULT_ENDPOINT
    batch_size: int = Field(default=50, ge=1, le=500)
    concurrency: int = Field(default=1, ge=1, le=8)
    monthly_transaction_budget: int | None = Field(default=100_000, ge=0)
    timeout_seconds: float = Field(default=300.0, gt=0)
    max_retries: int = Field(default=6, ge=0, le=20)
    # The guard's limits for the connection's models (a count or "20%"; a model's own win)
    max_removals: int | str | None = None
    max_updates: int | str | None = None

    @field_validator("max_removals", "max_updates")
    @classmethod
    def _limit_is_valid(cls, value: int | str | None) -> int | str | None:
        if value is not None:
            parse_limit(value)  # its ValueError says what is expected
        return value

    @field_validator("entity_id")
    @classmethod
    def _blank_entity_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_safe(cls, value: str) -> str:
        problem = endpoint_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def credentials(self) -> Credentials:
        """What the Intacct client needs to log in with this connection."""
        # Imported here: reading intacct.yml should not load the HTTP stack.
        from dbt_intacct.client import Credentials

        return Credentials(
            sender_id=self.sender_id,
            sender_password=self.sender_password,
            company_id=self.company_id,
            user_id=self.user_id,
            user_password=self.user_password,
            entity_id=self.entity_id,
            endpoint=self.endpoint,
        )


@dataclass(frozen=True)
class IntacctConfig:
    """Everything intacct.yml says: named connections, the state schema, alert settings."""

    connections: Mapping[str, Connection]
    source: str  # the file it came from, or "environment"
    state_schema: str | None = None
    alerts: tuple[Mapping[str, Any], ...] = ()
    retention_days: int = DEFAULT_RETENTION_DAYS  # how long API calls are kept in the warehouse

    def connection(self, name: str) -> Connection:
        try:
            return self.connections[name]
        except KeyError:
            known = ", ".join(sorted(self.connections)) or "none"
            raise ConfigError(
                f"connection '{name}' is not defined in {self.source} (defined: {known})"
            ) from None


def find_config_file(profiles_dir: Path | None, project_dir: Path) -> Path | None:
    """intacct.yml in --profiles-dir, then the project directory, then ~/.dbt/."""
    candidates = [d for d in (profiles_dir, project_dir, Path.home() / ".dbt") if d is not None]
    for directory in candidates:
        path = directory / FILE_NAME
        if path.is_file():
            return path
    return None


def load_config(profiles_dir: Path | None, project_dir: Path) -> IntacctConfig:
    """Load intacct.yml, or fall back to the INTACCT_* environment variables."""
    path = find_config_file(profiles_dir, project_dir)
    if path is None:
        return _from_environment()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping of connection names to settings")
    rendered = _render(raw, str(path))
    connections: dict[str, Connection] = {}
    for name, settings in rendered.items():
        if name in RESERVED_KEYS:
            continue
        if not isinstance(settings, dict):
            raise ConfigError(f"{path}: connection '{name}' must be a mapping of settings")
        connections[str(name)] = _connection(settings, f"{path}, connection '{name}'")
    if not connections:
        raise ConfigError(f"{path} defines no connection; add one named 'default'")
    alerts = rendered.get("alerts") or []
    if not isinstance(alerts, list):
        raise ConfigError(f"{path}: 'alerts' must be a list")
    state_schema = rendered.get("state_schema")
    retention = rendered.get("retention_days", DEFAULT_RETENTION_DAYS)
    try:
        retention_days = int(retention)
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: retention_days must be a whole number, got {retention!r}") from None
    if retention_days < 1:
        raise ConfigError(f"{path}: retention_days must be at least 1, got {retention_days}")
    return IntacctConfig(
        connections=connections,
        source=str(path),
        state_schema=str(state_schema) if state_schema else None,
        alerts=tuple(alerts),
        retention_days=retention_days,
    )


def _from_environment() -> IntacctConfig:
    settings = {key: os.environ[var] for key, var in ENV_VARIABLES.items() if os.environ.get(var)}
    missing = [
        var
        for key, var in ENV_VARIABLES.items()
        if key not in settings and key not in {"entity_id", "endpoint"}
    ]
    if missing:
        raise ConfigError(
            f"no {FILE_NAME} found (looked in --profiles-dir, the project directory and ~/.dbt/) and "
            f"the environment lacks {', '.join(missing)}"
        )
    return IntacctConfig(
        connections={"default": _connection(settings, "the INTACCT_* variables")}, source="environment"
    )


def _connection(settings: dict[str, Any], where: str) -> Connection:
    try:
        return Connection.model_validate(settings)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"]) or "(connection)"
            problems.append(f"{key}: {error['msg']}")
        # pydantic never echoes SecretStr values; the messages name keys only.
        raise ConfigError(f"{where}: " + "; ".join(problems)) from None


def _render(value: Any, source: str, keypath: tuple[str | int, ...] = ()) -> Any:
    if isinstance(value, str):
        return _render_string(value, source, keypath)
    if isinstance(value, list):
        return [_render(v, source, (*keypath, i)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _render(v, source, (*keypath, str(k))) for k, v in value.items()}
    return value


_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

# Keys whose values are credentials: an error names them but never shows their value.
_SECRET_WORDS = ("password", "secret", "token", "key")
_READS_VARIABLE = re.compile(r"\benv_var\s*\(")  # env_var() is the only function intacct.yml sees
_RAW_BLOCK = re.compile(r"\{%-?\s*raw\s*-?%\}")
_LITERAL_HOW = (
    "write a literal value that contains '{{', '{%' or '{#' inside {% raw %}...{% endraw %} (as in dbt's "
    "profiles.yml), or read it from the environment with {{ env_var('NAME') }}"
)


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is not None:
        return default
    raise ConfigError(f"environment variable {name} is not set (it is used in {FILE_NAME})")


def _render_string(text: str, source: str, keypath: tuple[str | int, ...]) -> str:
    if "{{" not in text and "{%" not in text and "{#" not in text:
        return text
    where = _where(source, keypath)
    secret = _is_secret(keypath)
    try:
        rendered = _ENV.from_string(text).render(env_var=_env_var)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except Exception as exc:  # whatever the Jinja in a setting raises is a mistake in that setting
        if not secret:
            raise ConfigError(f"{where}: cannot render {text!r}: {exc}") from None
        if not _READS_VARIABLE.search(text):
            return text  # as dbt does for profiles.yml passwords: a secret that is not Jinja is literal
        # Jinja's message may quote part of the text, which may be part of the secret.
        raise ConfigError(
            f"{where}: cannot be rendered as Jinja (a credential: not shown); {_LITERAL_HOW}"
        ) from None
    if secret and rendered != text and not _deliberate(text):
        raise ConfigError(
            f"{where}: Jinja would change this credential (not shown), and it calls no env_var(): it is "
            f"probably a literal that happens to contain Jinja; {_LITERAL_HOW}"
        )
    # Rendered values stay strings; pydantic turns "50" into 50 for numeric settings only, so a
    # password made of digits stays a string.
    return rendered


def _is_secret(keypath: tuple[str | int, ...]) -> bool:
    names = [p.lower() for p in keypath if isinstance(p, str)]
    if not names:
        return False
    # Alert URLs (a Slack webhook's is its secret) and headers (bearer tokens) are credentials too.
    alert_credential = names[0] == "alerts" and (names[-1] == "url" or "headers" in names)
    return alert_credential or any(word in names[-1] for word in _SECRET_WORDS)


def _deliberate(text: str) -> bool:
    """Whether Jinja in a credential is meant: it reads a variable, has a raw block, or prints a string."""
    if _READS_VARIABLE.search(text) or _RAW_BLOCK.search(text):
        return True
    body = _ENV.parse(text).body
    return all(isinstance(node, nodes.Output) for node in body) and any(
        isinstance(child, nodes.Const) and isinstance(child.value, str)
        for node in body
        for child in node.iter_child_nodes()
    )


def _where(source: str, keypath: tuple[str | int, ...]) -> str:
    if len(keypath) >= 2 and keypath[0] not in RESERVED_KEYS:
        return f"{source}: connection '{keypath[0]}', key '{_dotted(keypath[1:])}'"
    return f"{source}: key '{_dotted(keypath)}'"


def _dotted(keypath: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in keypath).lstrip(".")

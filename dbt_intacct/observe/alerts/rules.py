"""The `alerts:` list of intacct.yml: one rule per channel, validated with pydantic (unknown keys refused).

Secrets (webhook URLs, routing keys, the SMTP password, the SMS auth token, webhook header values) are
held as ``SecretStr``: their repr is masked and they are only unwrapped at the moment of sending.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from dbt_intacct.errors import ConfigError

Event = Literal["failure", "rejected_rows", "recovery"]
EVENTS: tuple[Event, ...] = ("failure", "rejected_rows", "recovery")

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
TWILIO_URL = "https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Messages.json"


class _Rule(BaseModel):
    """What every alert rule has, whatever its channel."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    on: tuple[Event, ...] = EVENTS
    rejected_rows_threshold: int = Field(default=1, ge=1)
    models: tuple[str, ...] | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="before")
    @classmethod
    def _yaml_on_key(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads a bare `on:` key as the boolean True.
        if isinstance(data, Mapping) and True in data:
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data

    def watches(self, model_name: str) -> bool:
        """Whether a model's results concern this rule (its `models` globs, or every model)."""
        return self.models is None or any(fnmatch.fnmatchcase(model_name, pattern) for pattern in self.models)

    def secrets(self) -> tuple[SecretStr, ...]:
        """Every secret of the rule, for scrubbing error messages."""
        return ()


def _http_url(value: SecretStr | str) -> SecretStr | str:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not text.startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


class SlackRule(_Rule):
    """A Slack incoming webhook: the URL is the secret."""

    kind: Literal["slack"]
    url: SecretStr

    _check_url = field_validator("url")(_http_url)

    def secrets(self) -> tuple[SecretStr, ...]:
        return (self.url,)


class WebhookRule(_Rule):
    """Any HTTP endpoint that takes the documented JSON alert document (docs/alerts.md)."""

    kind: Literal["webhook"]
    url: SecretStr
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    _check_url = field_validator("url")(_http_url)

    def secrets(self) -> tuple[SecretStr, ...]:
        return (self.url, *self.headers.values())


class PagerDutyRule(_Rule):
    """PagerDuty Events API v2: a trigger per problem, a resolve on recovery, one dedup key per rule."""

    kind: Literal["pagerduty"]
    routing_key: SecretStr
    url: str = PAGERDUTY_URL
    source: str | None = None  # default: "dbt-intacct <target>"

    _check_url = field_validator("url")(_http_url)

    def secrets(self) -> tuple[SecretStr, ...]:
        return (self.routing_key,)


class EmailRule(_Rule):
    """Email over SMTP: STARTTLS (default), implicit TLS (`ssl: true`, port 465) or plain; login optional."""

    kind: Literal["email"]
    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from", min_length=3)
    to: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_tls(self) -> EmailRule:
        if self.ssl and self.starttls:
            raise ValueError("choose one of 'ssl: true' (implicit TLS, port 465) and 'starttls: true'")
        if (self.username is None) != (self.password is None):
            raise ValueError("'username' and 'password' go together")
        return self

    def secrets(self) -> tuple[SecretStr, ...]:
        return (self.password,) if self.password is not None else ()


class SmsRule(_Rule):
    """SMS through a Twilio-style Messages API: form fields From/To/Body, HTTP Basic auth."""

    kind: Literal["sms"]
    url: str = TWILIO_URL  # "{account_sid}" is filled in
    account_sid: str = Field(min_length=1)
    auth_token: SecretStr
    sender: str = Field(alias="from", min_length=1)
    to: tuple[str, ...] = Field(min_length=1)

    _check_url = field_validator("url")(_http_url)

    @property
    def messages_url(self) -> str:
        """The Messages endpoint for this account."""
        return self.url.replace("{account_sid}", self.account_sid)

    def secrets(self) -> tuple[SecretStr, ...]:
        return (self.auth_token,)


AlertRule = Annotated[
    SlackRule | WebhookRule | PagerDutyRule | EmailRule | SmsRule, Field(discriminator="kind")
]
_RULE: TypeAdapter[AlertRule] = TypeAdapter(AlertRule)


def parse_alerts(raw: Sequence[Mapping[str, Any]]) -> list[AlertRule]:
    """Validate the rendered `alerts:` list of intacct.yml.

    Raises ``ConfigError`` naming the alert (by name, else by position) and the key at fault; the
    message never repeats a value, since values may be secrets.
    """
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"alerts[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"intacct.yml {where}: each alert must be a mapping with a 'name' and a 'kind'")
        name = entry.get("name")
        if isinstance(name, str) and name:
            where = f"{where} ('{name}')"
        try:
            rule = _RULE.validate_python(dict(entry))
        except ValidationError as exc:
            raise ConfigError(f"intacct.yml {where}: {_describe(exc)}") from None
        if rule.name in seen:
            raise ConfigError(f"intacct.yml {where}: another alert is already named '{rule.name}'")
        seen.add(rule.name)
        rules.append(rule)
    return rules


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        # The first element of loc is the union member's tag (e.g. 'slack'); the rest is the key path.
        loc = [str(part) for part in item["loc"]]
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            problems.append("key 'kind': must be one of slack, webhook, pagerduty, email, sms")
            continue
        key = ".".join(loc[1:])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"key '{key}': {message}" if key else message)
    return "; ".join(problems)

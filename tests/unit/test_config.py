"""intacct.yml and the INTACCT_* variables: rendering, lookup order, validation, and secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from dbt_intacct.client import DEFAULT_ENDPOINT, Credentials
from dbt_intacct.config import load_config
from dbt_intacct.endpoints import endpoint_problem
from dbt_intacct.errors import ConfigError

GOOD = """\
default:
  sender_id: "{{ env_var('T_SENDER') }}"
  sender_password: "{{ env_var('T_SENDER_PASSWORD') }}"
  company_id: ACME
  user_id: ws_user
  user_password: "{{ env_var('T_USER_PASSWORD', 'fallback-secret') }}"
  batch_size: "{{ env_var('T_BATCH', '25') }}"
eu:
  sender_id: s
  sender_password: "123456"
  company_id: ACME-EU
  user_id: u
  user_password: p
  entity_id: ""
  endpoint: https://api.intacct.com/ia/xml/xmlgw.phtml
state_schema: finance_intacct
retention_days: 7
alerts: []
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "INTACCT_SENDER_ID",
        "INTACCT_SENDER_PASSWORD",
        "INTACCT_COMPANY_ID",
        "INTACCT_USER_ID",
        "INTACCT_USER_PASSWORD",
        "INTACCT_ENDPOINT",
        "INTACCT_ENTITY_ID",
        "DBT_PROFILES_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", "/nonexistent-home")
    return monkeypatch


def test_intacct_yml_is_rendered_with_env_var(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    env.setenv("T_SENDER", "acme_sender")
    env.setenv("T_SENDER_PASSWORD", "s3nder-secret")
    (tmp_path / "intacct.yml").write_text(GOOD)
    config = load_config(tmp_path, tmp_path / "project")
    default = config.connection("default")
    assert default.sender_id == "acme_sender"
    assert default.sender_password.get_secret_value() == "s3nder-secret"
    assert default.user_password.get_secret_value() == "fallback-secret"
    assert default.batch_size == 25 and default.concurrency == 1
    assert "s3nder-secret" not in repr(default) and "s3nder-secret" not in str(default)
    eu = config.connection("eu")
    assert eu.sender_password.get_secret_value() == "123456"  # digits stay a string
    assert eu.entity_id is None
    assert config.state_schema == "finance_intacct" and config.retention_days == 7
    with pytest.raises(ConfigError, match=r"connection 'us' is not defined .* \(defined: default, eu\)"):
        config.connection("us")


def test_a_connection_gives_the_clients_credentials(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    env.setenv("T_SENDER", "acme_sender")
    env.setenv("T_SENDER_PASSWORD", "s3nder-secret")
    (tmp_path / "intacct.yml").write_text(GOOD.replace('entity_id: ""', "entity_id: EU1"))
    config = load_config(tmp_path, tmp_path)
    default = config.connection("default").credentials()
    assert default == Credentials(
        sender_id="acme_sender",
        sender_password=SecretStr("s3nder-secret"),
        company_id="ACME",
        user_id="ws_user",
        user_password=SecretStr("fallback-secret"),
        entity_id=None,
        endpoint=DEFAULT_ENDPOINT,
    )
    eu = config.connection("eu").credentials()
    assert (eu.company_id, eu.entity_id) == ("ACME-EU", "EU1")
    assert eu.sender_password.get_secret_value() == "123456"


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://api.intacct.com/ia/xml/xmlgw.phtml", True),
        ("https://intacct.example.com:8443/x", True),
        ("http://127.0.0.1:8765/ia/xml/xmlgw.phtml", True),
        ("http://127.8.9.10/x", True),
        ("http://localhost:8765/x", True),
        ("http://[::1]:8765/x", True),
        ("http://intacct.example.com/x", False),
        ("http://10.0.0.1/x", False),
        ("ftp://127.0.0.1/x", False),
        ("https:///no-host", False),
        ("api.intacct.com/ia/xml/xmlgw.phtml", False),
    ],
)
def test_one_endpoint_rule_for_the_config_and_the_client(endpoint: str, allowed: bool) -> None:
    problem = endpoint_problem(endpoint)
    assert (problem is None) is allowed
    if problem:
        assert "must be an https:// URL" in problem and endpoint in problem


def test_lookup_order_profiles_dir_then_project(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    env.setenv("T_SENDER", "a")
    env.setenv("T_SENDER_PASSWORD", "b")
    profiles, project = tmp_path / "profiles", tmp_path / "project"
    profiles.mkdir()
    project.mkdir()
    (project / "intacct.yml").write_text(GOOD.replace("ACME-EU", "FROM-PROJECT"))
    assert load_config(profiles, project).connection("eu").company_id == "FROM-PROJECT"
    (profiles / "intacct.yml").write_text(GOOD.replace("ACME-EU", "FROM-PROFILES"))
    assert load_config(profiles, project).connection("eu").company_id == "FROM-PROFILES"


def test_a_missing_environment_variable_is_named(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    (tmp_path / "intacct.yml").write_text(GOOD)
    with pytest.raises(ConfigError, match="environment variable T_SENDER is not set"):
        load_config(tmp_path, tmp_path)


def test_without_a_file_the_intacct_variables_are_used(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="INTACCT_SENDER_ID, INTACCT_SENDER_PASSWORD"):
        load_config(tmp_path, tmp_path)
    for name, value in {
        "INTACCT_SENDER_ID": "sid",
        "INTACCT_SENDER_PASSWORD": "spw",
        "INTACCT_COMPANY_ID": "co",
        "INTACCT_USER_ID": "uid",
        "INTACCT_USER_PASSWORD": "upw",
        "INTACCT_ENDPOINT": "http://127.0.0.1:9/ia/xml/xmlgw.phtml",
    }.items():
        env.setenv(name, value)
    config = load_config(tmp_path, tmp_path)
    assert config.source == "environment"
    connection = config.connection("default")
    assert (connection.company_id, connection.endpoint) == ("co", "http://127.0.0.1:9/ia/xml/xmlgw.phtml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("batch_size: \"{{ env_var('T_BATCH', '25') }}\"", "batch_size: 0"), "batch_size"),
        (
            ("company_id: ACME\n", "company_id: ACME\n  colour: blue\n"),
            "colour: Extra inputs are not permitted",
        ),
        (
            (
                "endpoint: https://api.intacct.com/ia/xml/xmlgw.phtml",
                "endpoint: http://intacct.example.com/x",
            ),
            "must be an https:// URL",
        ),
        (("retention_days: 7", "retention_days: soon"), "retention_days must be a whole number"),
    ],
)
def test_invalid_settings_are_named_without_echoing_secrets(
    tmp_path: Path, env: pytest.MonkeyPatch, change: tuple[str, str], message: str
) -> None:
    env.setenv("T_SENDER", "a")
    env.setenv("T_SENDER_PASSWORD", "very-secret-sender-pw")
    text = GOOD.replace(*change)
    assert text != GOOD
    (tmp_path / "intacct.yml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, tmp_path)
    assert message in str(caught.value)
    assert "very-secret-sender-pw" not in str(caught.value) and "fallback-secret" not in str(caught.value)


def _with_user_password(value: str) -> str:
    """GOOD with the 'default' connection's user_password written as `value` (YAML, double-quoted)."""
    text = GOOD.replace(
        "user_password: \"{{ env_var('T_USER_PASSWORD', 'fallback-secret') }}\"", f"user_password: {value}"
    )
    assert text != GOOD
    return text


@pytest.mark.parametrize(
    ("written", "password"),
    [
        # Jinja that cannot render is taken literally in a secret, as dbt does for profiles.yml passwords.
        ('"pa{{ss"', "pa{{ss"),
        ('"p{%ss"', "p{%ss"),
        ('"pa{{ss}}"', "pa{{ss}}"),
        # The documented way to write any literal with Jinja characters, and dbt's other one.
        ('"{% raw %}pa{{ 1 }}ss{% endraw %}"', "pa{{ 1 }}ss"),
        ("\"pa{{ '{{' }}ss\"", "pa{{ss"),
        # A value read from the environment is never rendered again.
        ("\"{{ env_var('T_LITERAL') }}\"", "x{{ 1 }}y"),
    ],
)
def test_a_literal_secret_with_jinja_characters_is_kept_as_written(
    tmp_path: Path, env: pytest.MonkeyPatch, written: str, password: str
) -> None:
    env.setenv("T_SENDER", "a")
    env.setenv("T_SENDER_PASSWORD", "b")
    env.setenv("T_LITERAL", "x{{ 1 }}y")
    (tmp_path / "intacct.yml").write_text(_with_user_password(written))
    assert load_config(tmp_path, tmp_path).connection("default").user_password.get_secret_value() == password


@pytest.mark.parametrize(
    ("written", "secret_texts"),
    [
        ('"pa{{ 1 }}ss"', ["pa{{ 1 }}ss", "pa1ss"]),
        ('"Zq{# note #}Wx"', ["Zq{# note #}Wx", "ZqWx", "note"]),
        ('"pa{% if 1 %}SS{% endif %}"', ["pa{% if 1 %}", "paSS", "SS"]),
    ],
)
def test_a_secret_that_jinja_would_change_silently_is_an_error_that_does_not_quote_it(
    tmp_path: Path, env: pytest.MonkeyPatch, written: str, secret_texts: list[str]
) -> None:
    env.setenv("T_SENDER", "a")
    env.setenv("T_SENDER_PASSWORD", "b")
    path = tmp_path / "intacct.yml"
    path.write_text(_with_user_password(written))
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, tmp_path)
    message = str(caught.value)
    assert str(path) in message and "connection 'default', key 'user_password'" in message
    assert "{% raw %}" in message
    for text in secret_texts:
        assert text not in message


def test_a_secret_template_that_cannot_render_names_the_key_not_the_text(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    env.setenv("T_SENDER", "a")
    path = tmp_path / "intacct.yml"
    path.write_text(
        GOOD.replace("\"{{ env_var('T_SENDER_PASSWORD') }}\"", "\"{{ env_var('T_SENDER_PASSWORD' }}sEcReT\"")
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, tmp_path)
    message = str(caught.value)
    assert str(path) in message and "connection 'default', key 'sender_password'" in message
    assert "sEcReT" not in message and "T_SENDER_PASSWORD" not in message


@pytest.mark.parametrize("key", ["routing_key", "auth_token", "password", "url"])
def test_every_secret_like_key_is_kept_out_of_errors(
    tmp_path: Path, env: pytest.MonkeyPatch, key: str
) -> None:
    env.setenv("T_SENDER", "a")
    env.setenv("T_SENDER_PASSWORD", "b")
    alert = f'alerts:\n  - name: pager\n    kind: pagerduty\n    {key}: "sEcReT-{{{{ 1 }}}}-sEcReT"\n'
    (tmp_path / "intacct.yml").write_text(GOOD.replace("alerts: []\n", alert))
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, tmp_path)
    assert f"key 'alerts[0].{key}'" in str(caught.value) and "sEcReT" not in str(caught.value)


def test_a_setting_that_is_not_secret_is_quoted_in_its_error(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    env.setenv("T_SENDER", "a")
    env.setenv("T_SENDER_PASSWORD", "b")
    (tmp_path / "intacct.yml").write_text(GOOD.replace("company_id: ACME\n", 'company_id: "AC{{ ME"\n'))
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, tmp_path)
    assert "connection 'default', key 'company_id'" in str(caught.value) and "AC{{ ME" in str(caught.value)

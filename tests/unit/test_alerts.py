"""Alerts: the intacct.yml schema, the state machine (one notice per change of state), payload shapes."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from dbt_intacct.errors import ConfigError
from dbt_intacct.observe.alerts import (
    AlertDecision,
    AlertRule,
    DeliveryResult,
    EmailRule,
    Notification,
    PagerDutyRule,
    SlackRule,
    SmsRule,
    WebhookRule,
    decide,
    parse_alerts,
    settle,
)
from dbt_intacct.observe.alerts.messages import (
    SMS_MAX_CHARS,
    email_message,
    headline,
    pagerduty_event,
    slack_payload,
    sms_body,
    webhook_document,
)
from dbt_intacct.observe.history import ModelRecord, RowOutcomeRecord, RunDetail, RunRecord

STARTED = datetime(2025, 3, 6, 6, 0, tzinfo=UTC)

EXAMPLE = textwrap.dedent(
    """\
    alerts:
      - name: finance-slack
        kind: slack
        url: https://hooks.slack.com/services/T000/B000/slack-secret-path
        on: [failure, rejected_rows, recovery]
        rejected_rows_threshold: 10
        models: ["intacct_*"]
      - name: ops-webhook
        kind: webhook
        url: https://hooks.example.com/dbt?token=webhook-secret
        headers: {Authorization: "Bearer header-secret"}
      - name: oncall
        kind: pagerduty
        routing_key: pd-routing-secret
        url: https://events.pagerduty.com/v2/enqueue
      - name: controller-email
        kind: email
        smtp_host: smtp.example.com
        smtp_port: 587
        starttls: true
        username: alerts
        password: smtp-password-secret
        from: dbt-intacct@example.com
        to: [controller@example.com]
      - name: sms
        kind: sms
        account_sid: AC123
        auth_token: twilio-token-secret
        from: "+15550001111"
        to: ["+15550002222"]
    """
)
SECRETS = (
    "slack-secret-path",
    "webhook-secret",
    "header-secret",
    "pd-routing-secret",
    "smtp-password-secret",
    "twilio-token-secret",
)


def example_rules() -> list[AlertRule]:
    return parse_alerts(yaml.safe_load(EXAMPLE)["alerts"])


def rule(raw: Mapping[str, Any]) -> AlertRule:
    return parse_alerts([{"name": "r", "kind": "webhook", "url": "http://127.0.0.1:9/hook", **raw}])[0]


# -- runs ----------------------------------------------------------------------------------------------
def model(name: str, *, status: str = "success", message: str | None = None, **counts: int) -> ModelRecord:
    return ModelRecord(
        unique_id=f"model.finance.{name}",
        name=name,
        object="journal_entry" if "journal" in name else "customer",
        mode="insert" if "journal" in name else "upsert",
        status=status,
        message=message,
        **counts,
    )


def rejected(name: str, key: str, message: str, errorno: str | None = None) -> RowOutcomeRecord:
    return RowOutcomeRecord(
        model_id=f"model.finance.{name}",
        row_key=key,
        action="create",
        status="failed" if errorno else "rejected",
        recordno=None,
        intacct_id=None,
        errorno=errorno,
        message=message,
        controlid=None,
        recorded_at=STARTED,
    )


def run(
    *models: ModelRecord,
    status: str | None = None,
    message: str | None = None,
    rows: Sequence[RowOutcomeRecord] = (),
    run_id: str = "run-1",
) -> RunDetail:
    failed = message is not None or any(m.status == "error" or m.rejected or m.failed for m in models)
    record = RunRecord(
        run_id=run_id,
        command="sync",
        target="prod",
        status=status or ("error" if failed else "success"),
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=42),
        message=message,
        models=models,
    )
    return RunDetail(run=record, rows=tuple(rows))


CLEAN = run(model("intacct_customers", created=3, unchanged=40), model("intacct_journal_entries", created=2))
BROKEN = run(
    model("intacct_customers", status="error", message="relation main.intacct_customers does not exist"),
    model("intacct_journal_entries", created=2),
)
RUN_WIDE = run(message="Intacct refused the login (XL03000006): check sender_id in intacct.yml")


def rejecting(count: int) -> RunDetail:
    return run(
        model("intacct_customers", created=3),
        model("intacct_journal_entries", created=1, rejected=count),
        rows=[
            rejected("intacct_journal_entries", f"JE-{i}", "ENTRIES: the entry does not balance")
            for i in range(count)
        ],
    )


def replay(rules: Sequence[AlertRule], runs: Sequence[RunDetail]) -> list[list[tuple[str, str]]]:
    """Feed runs through decide as the CLI would, persisting states; the (rule, event) pairs per run."""
    states: dict[str, str] = {}
    fired = []
    for detail in runs:
        decision = decide(rules, detail, states)
        states = dict(decision.states)
        fired.append([(n.rule.name, n.event) for n in decision.notifications])
    return fired


# -- decide --------------------------------------------------------------------------------------------
def test_a_lasting_failure_is_announced_once_and_its_end_once() -> None:
    rules = [rule({})]
    fired = replay(rules, [CLEAN, BROKEN, BROKEN, RUN_WIDE, BROKEN, CLEAN, CLEAN])
    assert fired == [[], [("r", "failure")], [], [], [], [("r", "recovery")], []]


def test_a_first_run_that_fails_is_announced_and_a_clean_first_run_is_not() -> None:
    rules = [rule({})]
    assert replay(rules, [BROKEN]) == [[("r", "failure")]]
    assert replay(rules, [CLEAN]) == [[]]


def test_rejected_rows_alert_at_the_threshold_once_then_recovery() -> None:
    rules = [rule({"rejected_rows_threshold": 10})]
    fired = replay(rules, [rejecting(9), rejecting(10), rejecting(12), rejecting(3), rejecting(11)])
    assert fired == [[], [("r", "rejected_rows")], [], [("r", "recovery")], [("r", "rejected_rows")]]


def test_failed_rows_count_towards_the_threshold_too() -> None:
    detail = run(model("intacct_customers", rejected=1, failed=1))
    assert decide([rule({"rejected_rows_threshold": 2})], detail, {}).states == {"r": "rejecting"}


def test_each_change_between_the_three_states_is_announced() -> None:
    rules = [rule({"rejected_rows_threshold": 5})]
    fired = replay(rules, [BROKEN, rejecting(6), BROKEN, CLEAN])
    assert fired == [[("r", "failure")], [("r", "rejected_rows")], [("r", "failure")], [("r", "recovery")]]


def test_model_filter_only_watches_matching_models() -> None:
    rules = [rule({"models": ["intacct_journal_*"], "rejected_rows_threshold": 1})]
    # intacct_customers is in error, but the rule only watches journal entries.
    assert replay(rules, [BROKEN]) == [[]]
    decision = decide(rules, rejecting(2), {})
    assert [n.event for n in decision.notifications] == ["rejected_rows"]
    assert [m.name for m in decision.notifications[0].models] == ["intacct_journal_entries"]


def test_a_run_without_the_watched_models_keeps_the_state() -> None:
    rules = [rule({"models": ["intacct_journal_*"]})]
    other = run(model("intacct_customers", created=1))
    assert decide(rules, other, {"r": "rejecting"}) == AlertDecision(
        notifications=(), states={"r": "rejecting"}
    )


def test_a_run_wide_failure_concerns_every_rule_whatever_its_models() -> None:
    rules = [rule({"models": ["intacct_journal_*"]})]
    decision = decide(rules, RUN_WIDE, {})
    assert [n.event for n in decision.notifications] == ["failure"]
    assert decision.notifications[0].first_errors[0].message.startswith("Intacct refused the login")


def test_rules_only_enter_states_they_announce() -> None:
    failure_only = rule({"name": "failure_only", "on": ["failure"]})
    rows_only = rule({"name": "rows_only", "on": ["rejected_rows", "recovery"], "rejected_rows_threshold": 1})
    fired = replay([failure_only, rows_only], [BROKEN, CLEAN, BROKEN, rejecting(1), BROKEN, CLEAN])
    assert fired == [
        [("failure_only", "failure")],  # rows_only: a failed run is no news
        [],  # failure_only recovers silently (no 'recovery' in on)
        [("failure_only", "failure")],  # ... so the next failure is announced again
        [("rows_only", "rejected_rows")],  # failure_only: rejected rows are not its concern -> ok
        [("failure_only", "failure")],  # rows_only: still rejecting as far as it knows
        [("rows_only", "recovery")],
    ]


def test_states_are_kept_by_rule_name_and_unknown_ones_read_as_ok() -> None:
    rules = [rule({"name": "a"}), rule({"name": "b"})]
    decision = decide(rules, BROKEN, {"a": "failing", "b": "something-else", "gone": "failing"})
    assert decision.states == {"a": "failing", "b": "failing"}
    assert [n.rule.name for n in decision.notifications] == ["b"]


def test_a_run_still_running_changes_nothing() -> None:
    still = run(model("intacct_customers", status="error"), status="running")
    assert decide([rule({})], still, {"r": "ok"}) == AlertDecision(notifications=(), states={"r": "ok"})


def test_first_errors_are_the_run_message_then_models_then_rows_at_most_five() -> None:
    detail = run(
        model("intacct_customers", status="error", message="warehouse said no"),
        model("intacct_journal_entries", rejected=7),
        model("other_model", rejected=3),
        message="Intacct is down",
        status="error",
        rows=[rejected("other_model", "X", "not watched")]
        + [rejected("intacct_journal_entries", f"JE-{i}", f"reason {i}") for i in range(7)],
    )
    notice = decide([rule({"models": ["intacct_*"]})], detail, {}).notifications[0]
    assert [(e.model, e.row_key, e.message) for e in notice.first_errors] == [
        (None, None, "Intacct is down"),
        ("intacct_customers", None, "warehouse said no"),
        ("intacct_journal_entries", "JE-0", "reason 0"),
        ("intacct_journal_entries", "JE-1", "reason 1"),
        ("intacct_journal_entries", "JE-2", "reason 2"),
    ]
    assert notice.problem_rows == 7
    assert notice.show_command == "dbt-intacct show run-1"


# -- parse_alerts --------------------------------------------------------------------------------------
def test_the_documented_example_parses_with_defaults() -> None:
    slack, webhook, pagerduty, email, sms = example_rules()
    assert isinstance(slack, SlackRule)
    assert slack.on == ("failure", "rejected_rows", "recovery")  # `on:` survives YAML reading it as True
    assert slack.rejected_rows_threshold == 10 and slack.models == ("intacct_*",)
    assert isinstance(webhook, WebhookRule) and webhook.on == ("failure", "rejected_rows", "recovery")
    assert webhook.rejected_rows_threshold == 1 and webhook.models is None
    assert isinstance(pagerduty, PagerDutyRule) and pagerduty.url == "https://events.pagerduty.com/v2/enqueue"
    assert isinstance(email, EmailRule) and email.sender == "dbt-intacct@example.com" and email.starttls
    assert isinstance(sms, SmsRule)
    assert sms.messages_url == "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
    assert webhook.timeout_seconds == 10


def test_secrets_stay_out_of_reprs() -> None:
    text = repr(example_rules()) + str(example_rules())
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            [{"name": "x", "kind": "slack", "url": "https://h/x", "channel": "#a"}],
            "alerts[0] ('x'): key 'channel': unknown key",
        ),
        (
            [{"name": "x", "kind": "teams", "url": "https://h/x"}],
            "alerts[0] ('x'): key 'kind': must be one of slack",
        ),
        ([{"name": "x", "kind": "slack"}], "alerts[0] ('x'): key 'url': Field required"),
        ([{"kind": "slack", "url": "https://h/x"}], "alerts[0]: key 'name': Field required"),
        (
            [{"name": "x", "kind": "slack", "url": "ftp://top-secret-url"}],
            "alerts[0] ('x'): key 'url': must be an http",
        ),
        (
            [{"name": "x", "kind": "webhook", "url": "https://h", "on": ["failure", "sometimes"]}],
            "key 'on.1': Input should be",
        ),
        (
            [{"name": "x", "kind": "webhook", "url": "https://h", "rejected_rows_threshold": 0}],
            "key 'rejected_rows_threshold'",
        ),
        (
            [{"name": "m", "kind": "email", "smtp_host": "h", "from": "a@b.c", "to": ["d@e.f"], "ssl": True}],
            "alerts[0] ('m'): choose one of 'ssl: true'",
        ),
        (
            [{"name": "m", "kind": "email", "smtp_host": "h", "from": "a@b.c", "to": [], "starttls": False}],
            "key 'to': Tuple should have at least 1 item",
        ),
        (
            [
                {"name": "x", "kind": "slack", "url": "https://h/a"},
                {"name": "x", "kind": "slack", "url": "https://h/b"},
            ],
            "alerts[1] ('x'): another alert is already named 'x'",
        ),
        (["slack"], "alerts[0]: each alert must be a mapping"),
    ],
)
def test_configuration_mistakes_name_the_alert_and_the_key(raw: list[Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_alerts(raw)
    assert expected in str(caught.value)
    assert "top-secret-url" not in str(caught.value)


def test_a_wrongly_typed_secret_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_alerts([{"name": "p", "kind": "pagerduty", "routing_key": ["pd-routing-secret"]}])
    assert "key 'routing_key'" in str(caught.value)
    assert "pd-routing-secret" not in str(caught.value)


# -- payloads ------------------------------------------------------------------------------------------
HOSTILE_KEY = "<script>alert('x')</script> & more"


def notice(rule_index: int = 0, detail: RunDetail | None = None, previous: str = "ok") -> Notification:
    rules = example_rules()
    default = run(
        model("intacct_customers", created=3, failed=1),
        model("intacct_journal_entries", status="error", message="ENTRIES column is not a list"),
        rows=[
            rejected(
                "intacct_customers",
                HOSTILE_KEY,
                "Another Customer with the given value(s) already exists",
                "BL34000061",
            )
        ],
    )
    decision = decide([rules[rule_index]], detail or default, {rules[rule_index].name: previous})
    assert decision.notifications, "expected a notice"
    return decision.notifications[0]


def test_headlines_say_what_where_and_how_many() -> None:
    assert headline(notice()) == (
        "dbt-intacct sync on prod FAILED: intacct_journal_entries in error; 1 row rejected or failed"
    )
    assert headline(notice(1, rejecting(3))) == (
        "dbt-intacct sync on prod: 3 rows rejected or failed (alert at 1) in intacct_journal_entries"
    )
    assert headline(notice(1, CLEAN, previous="failing")) == (
        "dbt-intacct sync on prod RECOVERED: 2 models synced, 0 rows rejected or failed"
    )
    assert "Intacct refused the login" in headline(notice(1, RUN_WIDE))


def test_slack_payload_has_text_and_blocks_with_models_errors_and_command() -> None:
    payload = slack_payload(notice())
    assert payload["text"] == headline(notice())
    assert [block["type"] for block in payload["blocks"]] == ["section", "section", "section", "context"]
    models = payload["blocks"][1]["text"]["text"]
    assert "intacct_customers (customer, upsert): success; created 3, failed 1" in models
    errors = payload["blocks"][2]["text"]["text"]
    assert "[BL34000061]" in errors
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; more" in errors  # mrkdwn-escaped user data
    assert "<script>" not in json.dumps(payload["blocks"])
    assert "dbt-intacct show run-1" in payload["blocks"][3]["elements"][0]["text"]


def test_webhook_document_is_the_documented_shape() -> None:
    document = webhook_document(notice(1))
    assert document == {
        "schema": "dbt-intacct/alert/v1",
        "event": "failure",
        "alert": "ops-webhook",
        "state": "failing",
        "previous_state": "ok",
        "summary": headline(notice(1)),
        "run": {
            "id": "run-1",
            "command": "sync",
            "target": "prod",
            "status": "error",
            "started_at": "2025-03-06T06:00:00+00:00",
            "finished_at": "2025-03-06T06:00:42+00:00",
            "message": None,
        },
        "models": [
            {
                "name": "intacct_customers",
                "unique_id": "model.finance.intacct_customers",
                "object": "customer",
                "mode": "upsert",
                "status": "success",
                "message": None,
                "counts": {
                    "created": 3,
                    "updated": 0,
                    "cleared": 0,
                    "deleted": 0,
                    "unchanged": 0,
                    "rejected": 0,
                    "failed": 1,
                    "pending": 0,
                },
            },
            {
                "name": "intacct_journal_entries",
                "unique_id": "model.finance.intacct_journal_entries",
                "object": "journal_entry",
                "mode": "insert",
                "status": "error",
                "message": "ENTRIES column is not a list",
                "counts": {
                    "created": 0,
                    "updated": 0,
                    "cleared": 0,
                    "deleted": 0,
                    "unchanged": 0,
                    "rejected": 0,
                    "failed": 0,
                    "pending": 0,
                },
            },
        ],
        "problem_rows": 1,
        "rejected_rows_threshold": 1,
        "first_errors": [
            {
                "model": "intacct_journal_entries",
                "row_key": None,
                "errorno": None,
                "message": "ENTRIES column is not a list",
            },
            {
                "model": "intacct_customers",
                "row_key": HOSTILE_KEY,
                "errorno": "BL34000061",
                "message": "Another Customer with the given value(s) already exists",
            },
        ],
        "command": "dbt-intacct show run-1",
    }
    json.dumps(document)  # serialisable as it is


def test_pagerduty_trigger_and_resolve_share_the_rule_dedup_key() -> None:
    trigger = pagerduty_event(notice(2), "routing", None)
    assert trigger["event_action"] == "trigger"
    assert trigger["routing_key"] == "routing"
    assert trigger["dedup_key"] == "dbt-intacct/prod/oncall"
    payload = trigger["payload"]
    assert payload["summary"] == headline(notice(2))
    assert payload["source"] == "dbt-intacct prod"
    assert payload["severity"] == "error"
    assert set(payload["custom_details"]) == {"run", "models", "problem_rows", "first_errors", "command"}
    assert payload["custom_details"]["command"] == "dbt-intacct show run-1"
    warning = pagerduty_event(notice(2, rejecting(2)), "routing", "finance-dwh")
    assert warning["payload"]["severity"] == "warning" and warning["payload"]["source"] == "finance-dwh"
    resolve = pagerduty_event(notice(2, CLEAN, previous="failing"), "routing", None)
    assert resolve == {
        "routing_key": "routing",
        "event_action": "resolve",
        "dedup_key": "dbt-intacct/prod/oncall",
    }


def test_email_has_a_subject_with_status_and_counts_and_two_escaped_parts() -> None:
    message = email_message(notice(3), "from@example.com", ("a@example.com", "b@example.com"))
    assert message["Subject"] == f"[dbt-intacct] {headline(notice(3))}"
    assert "FAILED" in message["Subject"] and "1 row rejected or failed" in message["Subject"]
    assert message["To"] == "a@example.com, b@example.com"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    assert "intacct_customers (customer, upsert): success; created 3, failed 1" in text
    assert HOSTILE_KEY in text and "See the run: dbt-intacct show run-1" in text
    markup = html.get_content()
    assert "&lt;script&gt;" in markup and "<script>" not in markup


def test_sms_body_fits_320_characters_and_ends_with_the_command() -> None:
    long = run(
        model("intacct_customers", status="error", message="x" * 2000),
        rows=[rejected("intacct_customers", "K" * 500, "y" * 2000)],
    )
    for detail in (long, rejecting(3), BROKEN):
        body = sms_body(notice(4, detail))
        assert len(body) <= SMS_MAX_CHARS
        assert body.endswith("See: dbt-intacct show run-1")
    assert "First error: intacct_customers: relation main.intacct_customers does not exist" in sms_body(
        notice(4, BROKEN)
    )


def test_settle_keeps_the_previous_state_of_an_undelivered_notice() -> None:
    rules = [rule({"name": "a"}), rule({"name": "b"}), rule({"name": "c", "on": ["recovery"]})]
    decision = decide(rules, BROKEN, {"c": "ok"})
    assert [n.rule.name for n in decision.notifications] == ["a", "b"]
    results = [
        DeliveryResult(
            alert="a", kind="webhook", event="failure", delivered=True, attempts=1, detail="HTTP 200"
        ),
        DeliveryResult(
            alert="b", kind="webhook", event="failure", delivered=False, attempts=2, detail="HTTP 503"
        ),
    ]
    assert settle(decision, results) == {"a": "failing", "b": "ok", "c": "ok"}

"""Alerts on failed runs, on rejected rows over a threshold, and on recovery; one notice per change of state.

The flow, as the CLI wires it after a sync:

    rules = parse_alerts(config.alerts)                       # intacct.yml `alerts:`, already rendered
    decision = decide(rules, run_detail, previous_states)     # pure: notices + every rule's new state
    results = send_all(decision.notifications)                # never raises; DeliveryResult per notice
    persist settle(decision, results)                         # {rule name: "ok" | "failing" | "rejecting"}

``settle`` keeps the previous state of a rule whose notice could not be delivered, so the next run
tries that notice again.
"""

from dbt_intacct.observe.alerts.decision import (
    AlertDecision,
    FirstError,
    ModelSummary,
    Notification,
    State,
    decide,
)
from dbt_intacct.observe.alerts.delivery import DeliveryResult, send, send_all, settle
from dbt_intacct.observe.alerts.rules import (
    AlertRule,
    EmailRule,
    PagerDutyRule,
    SlackRule,
    SmsRule,
    WebhookRule,
    parse_alerts,
)

__all__ = [
    "AlertDecision",
    "AlertRule",
    "DeliveryResult",
    "EmailRule",
    "FirstError",
    "ModelSummary",
    "Notification",
    "PagerDutyRule",
    "SlackRule",
    "SmsRule",
    "State",
    "WebhookRule",
    "decide",
    "parse_alerts",
    "send",
    "send_all",
    "settle",
]

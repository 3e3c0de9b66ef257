"""``dbt-intacct emulator`` and ``python -m dbt_intacct.emulator``."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from dbt_intacct.emulator.config import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PORT,
    DEFAULT_SESSION_TIMEOUT,
    DEMO_COMPANY_ID,
    DEMO_SENDER_ID,
    DEMO_SENDER_PASSWORD,
    DEMO_USER_ID,
    DEMO_USER_PASSWORD,
    EmulatorConfig,
)
from dbt_intacct.emulator.faults import KINDS, FaultPlan, FaultSettingsError
from dbt_intacct.emulator.reference import ReferenceDataError
from dbt_intacct.emulator.server import EmulatorServer


def _fault_option(values: tuple[str, ...]) -> dict[str, Any]:
    """``KIND=0.1`` (probability), ``KIND=next:3``, ``KIND=skip:2,next:1``, or ``KIND=0.1,next:3``."""
    faults: dict[str, Any] = {}
    for item in values:
        kind, _, spec = item.partition("=")
        if kind not in KINDS or not spec:
            raise click.BadParameter(f"'{item}': expected KIND=SPEC with KIND one of {', '.join(KINDS)}")
        rule: dict[str, Any] = {}
        for part in spec.split(","):
            name, _, value = part.partition(":")
            try:
                if value:
                    if name not in ("next", "skip"):
                        raise ValueError(name)
                    rule[name] = int(value)
                else:
                    rule["probability"] = float(name)
            except ValueError:
                raise click.BadParameter(
                    f"'{item}': use a probability like 0.1 and/or next:K, skip:S"
                ) from None
        faults[kind] = rule
    return faults


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep records here so they survive a restart (default: in memory only).",
)
@click.option(
    "--sender-id", default=DEMO_SENDER_ID, show_default=True, help="Web Services sender ID accepted."
)
@click.option(
    "--sender-password", default=DEMO_SENDER_PASSWORD, show_default=True, help="Sender password accepted."
)
@click.option("--company-id", default=DEMO_COMPANY_ID, show_default=True, help="Company ID accepted.")
@click.option("--user-id", default=DEMO_USER_ID, show_default=True, help="User ID accepted.")
@click.option(
    "--user-password", default=DEMO_USER_PASSWORD, show_default=True, help="User password accepted."
)
@click.option(
    "--session-timeout",
    type=float,
    default=DEFAULT_SESSION_TIMEOUT,
    show_default=True,
    help="Session lifetime in seconds, pushed forward by every call.",
)
@click.option(
    "--reference-data",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="JSON file replacing the built-in chart of accounts, journals, items ... (see docs/emulator.md).",
)
@click.option(
    "--max-body-bytes",
    type=int,
    default=DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    help="Largest request accepted.",
)
@click.option(
    "--latency-ms",
    type=float,
    default=0,
    show_default=True,
    help="Time every gateway answer takes (the emulator's own work included).",
)
@click.option("--jitter-ms", type=float, default=0, show_default=True, help="Random extra delay, 0 to this.")
@click.option(
    "--concurrency-limit",
    type=int,
    default=0,
    show_default=True,
    help="Refuse (429, GW-0010) requests beyond this many in flight; 0 = no limit.",
)
@click.option("--retry-after", type=float, default=1, show_default=True, help="Retry-After seconds on a 429.")
@click.option("--fault-seed", type=int, help="Seed of the fault dice, for repeatable runs.")
@click.option(
    "--fault",
    "fault_specs",
    multiple=True,
    metavar="KIND=SPEC",
    help="Inject a fault: SPEC is a probability (0.1), next:K (after skip:S), or both (0.1,next:3). "
    f"KIND: {', '.join(KINDS)}.",
)
@click.option(
    "--verbose", is_flag=True, help="Log every HTTP request (never bodies, passwords or session IDs)."
)
def emulator_command(**options: Any) -> None:
    """Run a local Sage Intacct XML gateway.

    Prints the endpoint URL when it listens, then serves until interrupted (SIGINT or SIGTERM).
    """
    logging.basicConfig(level=logging.DEBUG if options["verbose"] else logging.WARNING)
    faults: dict[str, Any] = {
        "latency_ms": options["latency_ms"],
        "jitter_ms": options["jitter_ms"],
        "concurrency_limit": options["concurrency_limit"],
        "retry_after_seconds": options["retry_after"],
        **_fault_option(options["fault_specs"]),
    }
    if options["fault_seed"] is not None:
        faults["seed"] = options["fault_seed"]
    try:
        FaultPlan().configure(faults)
    except FaultSettingsError as exc:
        raise click.UsageError(str(exc)) from None
    config = EmulatorConfig(
        host=options["host"],
        port=options["port"],
        data_dir=options["data_dir"],
        sender_id=options["sender_id"],
        sender_password=options["sender_password"],
        company_id=options["company_id"],
        user_id=options["user_id"],
        user_password=options["user_password"],
        session_timeout=options["session_timeout"],
        reference_data=options["reference_data"],
        max_body_bytes=options["max_body_bytes"],
        faults=faults,
    )
    server = EmulatorServer(config)
    try:
        server.start()
    except ReferenceDataError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {config.host}:{config.port}: {exc}") from None
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    click.echo(f"Intacct emulator listening on {server.url} (admin: {server.admin_url})")
    # Flush now: scripts and tests read the URL from a pipe before the process ends.
    sys.stdout.flush()
    while not stopped.wait(0.5):
        pass
    server.stop()

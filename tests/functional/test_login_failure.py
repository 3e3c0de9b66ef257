"""A login or connection failure before any function left: nothing is pending, nothing is "resent" later;
a refused login is a configuration error (exit 2) naming the connection; an unreachable endpoint exits 1."""

from __future__ import annotations

import socket

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import setup_customers
from tests.support.project import DbtProject


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _nothing_pending_then_a_clean_sync(project: DbtProject, emulator: EmulatorAdmin) -> None:
    assert emulator.records("CUSTOMER") == []
    pending = project.query(
        f"select count(*) from {project.state_schema}.intacct_ledger where event = 'intent'"
    )
    assert pending == [(0,)]
    assert all(row["status"] != "pending" for row in project.state("intacct_customers").values())
    project.write_intacct_yml()
    run = project.sync()
    assert run.exit_code == 0, run.output
    counts = run.counts("intacct_customers")
    assert (counts["created"], counts["resent"], counts["pending"]) == (3, 0, 0), counts
    assert "resent" not in run.output


@pytest.mark.parametrize("key", ["user_password", "sender_password"])
def test_a_refused_login_is_a_configuration_error_and_leaves_nothing_pending(
    project: DbtProject, emulator: EmulatorAdmin, key: str
) -> None:
    setup_customers(project, mode="insert")  # no matching read: the first request is the write
    project.write_intacct_yml(**{key: "not-the-password"})
    run = project.sync()
    assert run.exit_code == 2, run.output
    text = " ".join(run.output.split())
    assert "connection 'default'" in text and "XL03000006" in text
    assert "not-the-password" not in run.output
    assert "nothing was sent to intacct" in text.lower()
    _nothing_pending_then_a_clean_sync(project, emulator)


def test_an_unreachable_endpoint_exits_1_and_leaves_nothing_pending(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project, mode="insert")  # no matching read: the first request is the write
    project.write_intacct_yml(endpoint=f"http://127.0.0.1:{_closed_port()}/ia/xml/xmlgw.phtml", max_retries=0)
    run = project.sync()
    assert run.exit_code == 1, run.output
    text = " ".join(run.output.split())
    assert "connection 'default'" in text and "could not connect" in text
    assert "nothing was sent to intacct" in text.lower()
    _nothing_pending_then_a_clean_sync(project, emulator)

"""Passwords and session IDs never show up in what a failing sync leaves behind (DESIGN 3.3, issue 5).

The emulator (a child process with a data directory, logging every request line) is started with
distinctive sender and user passwords, full of characters that escaping changes, and intacct.yml is
written with them. Syncs then fail in every way we can make them: a wrong user password, a wrong sender
password, transient faults until the retries run out (text and JSON logs), an expired session that
stays expired, a response with a DTD, and a template that fails on the rows' values (the unexpected-error
path); the
`debug`, `runs`, `show --xml` and `report` commands are run over the history this leaves. Every session
ID the gateway handed out is taken from the wire (the WireTap in front of the emulator).

Then everything is searched: each command's stdout and stderr, every file under the project (target/,
logs/, the report) but intacct.yml, every table of the warehouse (state, ledger, runs, API calls ...),
the emulator's output and its data directory. A secret is found in any of its escaped forms or as any
eight characters of it in a row.
"""

from __future__ import annotations

import html
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dbt_intacct.emulator.process import EmulatorProcess
from tests.resilience.dataset import SCHEMA_YML, Dataset, write_dataset, write_models
from tests.resilience.leaks import LeakSearch
from tests.resilience.processes import SyncProcess, build_released
from tests.resilience.wiretap import Spoil, WireTap
from tests.support.project import DbtProject

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("resilience_secrets")]

SENDER_ID = "qa_sender"
SENDER_PASSWORD = "Snd&Pw<QvX7kite91>'s"
USER_PASSWORD = 'Usr"Pw%ZeBra-4471\\x'
WRONG_USER_PASSWORD = "Wrong-Pw-MxQ8-Llama&"
WRONG_SENDER_PASSWORD = "Wrong-Snd-JpR3-Heron<"
SECRETS = {
    "sender password": SENDER_PASSWORD,
    "user password": USER_PASSWORD,
    "wrong user password": WRONG_USER_PASSWORD,
    "wrong sender password": WRONG_SENDER_PASSWORD,
}
DOCTYPE_ANSWER = (
    b'<?xml version="1.0"?><!DOCTYPE response [<!ENTITY x "x">]><response><control>'
    b"<status>success</status></control></response>"
)


@dataclass
class Leftovers:
    """What the failing runs left: outputs by command, the project, the emulator, session IDs."""

    project: DbtProject
    emulator: EmulatorProcess
    outputs: dict[str, str] = field(default_factory=dict)
    session_ids: set[str] = field(default_factory=set)
    exit_codes: dict[str, int | None] = field(default_factory=dict)


def credentials(project: DbtProject, **changes: str) -> None:
    project.write_intacct_yml(
        **{
            "sender_id": SENDER_ID,
            "sender_password": SENDER_PASSWORD,
            "user_password": USER_PASSWORD,
            "batch_size": 10,
            "max_retries": 1,
            **changes,
        }
    )


def run(left: Leftovers, name: str, *args: str, command: str = "sync") -> SyncProcess:
    process = SyncProcess(left.project, *args, command=command).start()
    process.wait(300)
    left.outputs[f"{name}: stdout"] = process.output
    left.outputs[f"{name}: stderr"] = process.stderr
    left.exit_codes[name] = process.returncode
    return process


@pytest.fixture(scope="session", params=["duckdb", "postgres"])
def leftovers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Leftovers]:
    warehouse = str(request.param)
    if warehouse == "postgres":
        request.applymarker(pytest.mark.postgres)
    root: Path = tmp_path_factory.mktemp(f"secrets_{warehouse}")
    emulator = EmulatorProcess(
        data_dir=root / "intacct",
        extra_args=[
            "--sender-id",
            SENDER_ID,
            "--sender-password",
            SENDER_PASSWORD,
            "--user-password",
            USER_PASSWORD,
            "--verbose",
        ],
    ).start()
    tap = WireTap(emulator.base_url).start()
    project = DbtProject(root / "proj", warehouse, tap.url())
    left = Leftovers(project, emulator)
    try:
        write_models(project)
        write_dataset(project, Dataset.generate(random.Random(5), customers=30, entries=10))
        build_released(project)
        admin = emulator.admin

        credentials(project, user_password=WRONG_USER_PASSWORD)
        run(left, "wrong user password")
        run(left, "wrong user password, JSON log", "--log-format", "json")
        run(left, "debug, wrong user password", command="debug")

        credentials(project, sender_password=WRONG_SENDER_PASSWORD)
        run(left, "wrong sender password")

        credentials(project)
        admin.set_faults(http_503={"skip": 2, "next": 1000})  # login and lookup pass, then every write fails
        run(left, "transient faults until retries run out")
        run(left, "transient faults, JSON log", "--log-format", "json")
        admin.set_faults(http_503={"next": 0, "skip": 0}, expire_session={"probability": 1.0})
        run(left, "a session that stays expired")
        admin.clear_faults()
        tap.tamper = lambda _, body: (
            Spoil(body=DOCTYPE_ANSWER, name="DTD") if b"uniqueid>true" in body else None
        )
        run(left, "a response with a DTD")
        tap.tamper = None
        # A Python error path from the input: a template dividing by zero on every row's values.
        failing = SCHEMA_YML.replace(
            "REGION: region", 'REGION: {template: "[[ 1 / (row.code | length - 6) ]]"}'
        )
        assert failing != SCHEMA_YML
        project.schema_yml(failing)
        build_released(project)
        run(left, "a template failing on the rows' values")
        write_models(project)
        build_released(project)
        run(left, "a sync that completes")

        run(left, "runs", command="runs")
        schema = project.state_schema
        # The debugger, with every API call's XML, for the runs that made calls and failed.
        failed_runs = project.query(
            f"select run_id from {schema}.intacct_runs where status <> 'success' "
            "order by started_at desc limit 3"
        )
        for (run_id,) in failed_runs:
            run(left, f"show {run_id}", str(run_id), "--xml", command="show")
        run(left, "report", "--output", str(project.root / "target" / "report.html"), command="report")
        left.session_ids = set(tap.session_ids)
        yield left
    finally:
        tap.close()
        emulator.stop()
        project.drop_postgres_schemas()


def test_the_failing_runs_failed_as_intended(leftovers: Leftovers) -> None:
    codes, out = leftovers.exit_codes, leftovers.outputs
    assert codes["wrong user password"] == 2, out["wrong user password: stdout"]  # configuration
    assert (
        "XL03000006" in out["wrong user password: stdout"] or "refused" in out["wrong user password: stdout"]
    )
    assert codes["wrong sender password"] == 2
    assert codes["transient faults until retries run out"] == 1
    assert codes["a session that stays expired"] == 1
    assert codes["a response with a DTD"] == 1
    assert "DTD" in out["a response with a DTD: stdout"] or "DOCTYPE" in out["a response with a DTD: stdout"]
    assert codes["a template failing on the rows' values"] == 1
    assert codes["a sync that completes"] == 0, out["a sync that completes: stdout"]
    assert leftovers.session_ids, "the WireTap saw no session being handed out"


def test_no_password_or_session_id_in_anything_a_failing_sync_leaves(leftovers: Leftovers) -> None:
    project, emulator = leftovers.project, leftovers.emulator
    secrets = dict(SECRETS)
    secrets.update({f"session id {n}": sid for n, sid in enumerate(sorted(leftovers.session_ids), 1)})
    search = LeakSearch(secrets)
    for where, text in leftovers.outputs.items():
        search.text(where, text)
    # intacct.yml holds the passwords by design: it is the user's own configuration.
    search.files(project.root, skip=[project.root / "intacct.yml"])
    search.text("emulator output", "".join(emulator.output))
    assert emulator.data_dir is not None
    search.files(emulator.data_dir)
    schemas = {project.state_schema}
    schemas |= {"main"} if project.warehouse == "duckdb" else {project.schema}
    search.tables(project, sorted(schemas))
    assert "report.html" in " ".join(search.searched), "the report was written and searched"
    assert any("intacct_api_calls" in where for where in search.searched), "the API call log was searched"
    assert not search.found, search.describe()


@pytest.mark.parametrize("where", ["title", "body"])
def test_an_error_page_echoing_the_request_does_not_reveal_a_password(tmp_path: Path, where: str) -> None:
    """A gateway error page that echoes the request (some proxies do): the message the sync prints
    quotes the start of the page, and must not carry the sender password, even escaped or cut short
    (it did, in stdout, run_results.json and three warehouse tables, until 8400801)."""
    emulator = EmulatorProcess(
        data_dir=tmp_path / "intacct",
        extra_args=[
            "--sender-id",
            SENDER_ID,
            "--sender-password",
            SENDER_PASSWORD,
            "--user-password",
            USER_PASSWORD,
        ],
    ).start()

    def echo(_: int, body: bytes) -> Spoil | None:
        if b"uniqueid>true" not in body:
            return None
        text = html.escape(body.decode("utf-8"))
        page = f"<title>{text}</title>" if where == "title" else f"<pre>{text}</pre>"
        return Spoil(body=f"<html>{page}</html>".encode(), status=200, name="echo")

    with WireTap(emulator.base_url, tamper=echo) as tap:
        project = DbtProject(tmp_path / "proj", "duckdb", tap.url())
        try:
            credentials(project)
            write_models(project)
            write_dataset(project, Dataset.generate(random.Random(6), customers=3, entries=1))
            build_released(project)
            left = Leftovers(project, emulator)
            process = run(left, "echoing gateway")
        finally:
            emulator.stop()
    assert process.returncode == 1, process.output
    search = LeakSearch(SECRETS)
    search.text("stdout", process.output)
    search.text("stderr", process.stderr)
    search.files(project.root, skip=[project.root / "intacct.yml"])
    search.tables(project, [project.state_schema])
    assert not search.found, search.describe()

"""`runs` and `show` as a person reads them: whole run ids, an ambiguous prefix answered with the
candidates, API calls' XML indented."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.emulator.server import EmulatorServer
from tests.functional.test_sync_customers import CUSTOMERS, setup_customers
from tests.support.project import DbtProject


@pytest.fixture
def duckdb_project(
    tmp_path: Path, emulator: EmulatorAdmin, emulator_server: EmulatorServer
) -> Iterator[DbtProject]:
    yield DbtProject(tmp_path / "proj", "duckdb", emulator_server.url)


def test_runs_ids_whole_show_candidates_and_indented_xml(duckdb_project: DbtProject) -> None:
    project = duckdb_project
    setup_customers(project)
    first = project.sync()
    assert first.exit_code == 0, first.output
    project.seed("crm_customers", CUSTOMERS.replace("Lyon", "Grenoble"))
    project.build()
    second = project.sync()
    assert second.exit_code == 0, second.output
    ids = [first.results["metadata"]["run_id"], second.results["metadata"]["run_id"]]

    # Whole ids, each on one line, at the width of a CI log or of a narrow terminal.
    for width in ("160", "100"):
        runs = project.cli("runs", env={"COLUMNS": width})
        assert runs.exit_code == 0, runs.output
        for run_id in ids:
            assert run_id in runs.output, runs.output

    # A prefix of both: the candidates, newest first, exit 2.
    shown = project.cli("show", ids[0][:4])
    assert shown.exit_code == 2, shown.output
    assert f"'{ids[0][:4]}' matches 2 runs" in shown.output
    listed = [line.split()[0] for line in shown.output.splitlines() if line.startswith("  ")]
    assert listed == ids[::-1]
    missing = project.cli("show", "1999")
    assert missing.exit_code == 2 and "No run id starts with '1999'" in missing.output

    # --xml: indented, one element a line, no word cut at the console's edge.
    xml = project.cli("show", ids[1], "--xml", env={"COLUMNS": "80"})
    assert xml.exit_code == 0, xml.output
    lines = xml.output.splitlines()
    assert any(line == "  <control>" for line in lines), xml.output
    assert any(line.strip() == "<CITY>Grenoble</CITY>" for line in lines), xml.output
    assert max(len(line) for line in lines if line.lstrip().startswith("<")) < 200

    # The report lists the updated row and names each call's model and functions.
    report = project.cli("report")
    assert report.exit_code == 0, report.output
    doc = lxml.html.document_fromstring((project.root / "target" / "intacct_report.html").read_text())
    newest = doc.cssselect("section.run")[0]
    changed = [
        [" ".join(td.text_content().split()) for td in tr.cssselect("td")]
        for tr in newest.cssselect("table.changed tbody tr")
    ]
    assert [row[:4] for row in changed] == [["intacct_customers", "C2", "update", "ok"]]
    calls = [" ".join(s.text_content().split()) for s in newest.cssselect("details.call summary")]
    assert any("intacct_customers" in c and "update CUSTOMER" in c for c in calls), calls


def test_retries_come_through_the_console_in_text_and_json(
    duckdb_project: DbtProject, emulator: EmulatorAdmin
) -> None:
    project = duckdb_project
    setup_customers(project)
    emulator.set_faults(http_503={"next": 1})
    run = project.cli("plan")  # nothing sent: no retry, and nothing but the console's lines
    assert run.exit_code == 0, run.output
    emulator.set_faults(http_503={"next": 1})
    run = project.cli("sync", "--log-format", "json")
    assert run.exit_code == 0, run.output
    events = [json.loads(line) for line in run.output.splitlines()]  # every line is one event
    retries = [e for e in events if e["event"] == "notice" and "retrying" in e["message"]]
    assert len(retries) == 1, events
    assert "WARNING:" not in run.output

    project.seed("crm_customers", CUSTOMERS.replace("Lyon", "Grenoble"))
    project.build()
    emulator.set_faults(http_503={"next": 1})
    run = project.cli("sync")
    assert run.exit_code == 0, run.output
    (line,) = [line for line in run.output.splitlines() if "retrying" in line]
    assert re.match(r"^\d\d:\d\d:\d\d  Intacct request failed \(", line), line
    assert "WARNING:dbt_intacct" not in run.output

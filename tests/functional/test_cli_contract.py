"""The CLI contract: exit codes, nothing sent on configuration errors, selection by dbt, plan, debug."""

from __future__ import annotations

import json

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import CUSTOMERS, customer_yaml, setup_customers
from tests.support.project import DbtProject

MISTAKES = [
    ("object: customer", "object: custmer", "unknown object 'custmer'; did you mean 'customer'?"),
    ("mode: upsert", "mode: upsertt", "customer does not allow mode 'upsertt'"),
    ("NAME: name", "NAME_X: name", "unknown field 'NAME_X' on customer"),
    (
        "DISPLAYCONTACT.EMAIL1: email",
        "DISPLAYCONTACT.EMAIL1: e_mail",
        "column 'e_mail' is not in the relation; did you mean 'email'?",
    ),
    ("delete: nothing", "delete: purge", "customer does not allow delete behaviour 'purge'"),
    ("primary_key: code", "primary_key: cod", "column 'cod' is not in the relation; did you mean 'code'?"),
]


@pytest.mark.parametrize(("good", "bad", "message"), MISTAKES, ids=[m[1] for m in MISTAKES])
def test_a_yaml_mistake_exits_2_and_sends_nothing(
    project: DbtProject, emulator: EmulatorAdmin, good: str, bad: str, message: str
) -> None:
    setup_customers(project)
    text = customer_yaml()
    assert good in text
    project.schema_yml(text.replace(good, bad, 1))
    project.dbt("parse")
    run = project.sync()
    assert run.exit_code == 2, run.output
    flat = " ".join(run.output.split())
    assert "model 'intacct_customers'" in flat and message in flat, run.output
    assert "Nothing was sent to Intacct." in run.output
    assert emulator.stats()["requests"] == 0


def test_every_kind_of_mistake_is_reported_in_one_run(project: DbtProject, emulator: EmulatorAdmin) -> None:
    # A field mistake, a column mistake and an unknown connection, in two models: one message lists all.
    setup_customers(project)
    project.model("other_customers", "select * from {{ ref('crm_customers') }}")
    first = customer_yaml().replace("NAME: name", "CUSTOMER_NAME: name", 1).replace("city\n", "cty\n", 1)
    other = customer_yaml().split("models:\n", 1)[1].replace("intacct_customers", "other_customers")
    other = other.replace("delete: nothing", "delete: nothing\n          connection: elsewhere")
    project.schema_yml(first + other)
    project.build()
    run = project.sync()
    assert run.exit_code == 2, run.output
    flat = " ".join(run.output.split())
    assert "4 problems" in flat, run.output  # the three, and NAME now missing
    assert "unknown field 'CUSTOMER_NAME' on customer; did you mean NAME?" in flat
    assert "column 'cty' is not in the relation; did you mean 'city'?" in flat
    assert "model 'other_customers', key 'connection': connection 'elsewhere' is not defined" in flat
    assert emulator.stats()["requests"] == 0


def test_a_match_field_that_is_not_a_field(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    project.schema_yml(
        customer_yaml(extra="").replace(
            "primary_key: code", "primary_key: code\n          match: {column: code, field: CUSTID}"
        )
    )
    project.dbt("parse")
    run = project.sync()
    assert run.exit_code == 2, run.output
    assert "key 'match.field': 'CUSTID' is not a field of CUSTOMER" in " ".join(run.output.split())
    assert emulator.stats()["requests"] == 0


def test_a_missing_connection_is_a_configuration_error(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    project.schema_yml(
        customer_yaml().replace("delete: nothing", "delete: nothing\n          connection: europe")
    )
    project.dbt("parse")
    run = project.sync()
    assert run.exit_code == 2
    assert "connection 'europe' is not defined" in run.output
    assert emulator.stats()["requests"] == 0


def test_bad_credentials_stop_the_run_with_a_clear_message(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    project.write_intacct_yml(user_password="not-the-password")
    run = project.sync()
    assert run.exit_code == 2, run.output  # a refused login is a configuration error
    assert "not-the-password" not in run.output
    assert "XL03000006" in run.output or "incorrect" in run.output.lower()
    assert emulator.records("CUSTOMER") == []


def test_select_is_resolved_by_dbt(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    project.model(
        "other_customers",
        "select code || '-B' as code, name, email, city, segment from {{ ref('crm_customers') }}",
    )
    both = customer_yaml()
    other = both.split("models:\n", 1)[1].replace("intacct_customers", "other_customers")
    project.schema_yml(both + other)
    project.build()
    run = project.sync("--select", "other_customers")
    assert run.exit_code == 0, run.output
    assert [m["name"] for m in run.results["results"]] == ["other_customers"]
    assert {r["CUSTOMERID"] for r in emulator.records("CUSTOMER")} == {"C1-B", "C2-B", "C3-B"}
    run = project.sync("--exclude", "other_customers")
    assert [m["name"] for m in run.results["results"]] == ["intacct_customers"]
    assert len(emulator.records("CUSTOMER")) == 6


def test_a_selection_that_matches_nothing_is_an_error_naming_it(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    project.model("plain", "select 1 as x")
    project.build()
    for args, says in (
        (("-s", "intacct_custmers"), "`--select intacct_custmers` matches no model"),
        (("-s", "plain"), "`--select plain` selects 1 model(s), none of them with a meta.intacct block"),
    ):
        for command in ("plan", "sync"):
            run = project.sync(*args, command=command)
            assert run.exit_code == 2, run.output
            assert says in run.output, run.output
    assert emulator.records("CUSTOMER") == []


def test_vars_are_handed_to_dbt_as_written_dates_included(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    run = project.plan("-s", "intacct_customers", "--vars", "{since: 2026-12-01, region: EU}")
    assert run.exit_code == 0, run.output
    assert run.model("intacct_customers")["planned"] == {"create": 3}


def test_json_log_lines_are_all_json_events(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    result = project.cli("plan", "-s", "intacct_customers", "--log-format", "json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert events and all("event" in e for e in events), result.output
    assert events[-1]["event"] == "run_finished"
    # Text output has no stray line from dbt's node selection either.
    text = project.cli("plan", "-s", "intacct_customers")
    assert "unique_id" not in text.output


def test_plan_counts_and_samples_and_sends_nothing(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    run = project.plan()
    assert run.exit_code == 0, run.output
    model = run.model("intacct_customers")
    assert model["planned"] == {"create": 3}
    # Three writes and one page of record matching (upsert looks the three keys up in one query).
    assert model["api_transactions"] == 4
    assert "<CUSTOMERID>C1</CUSTOMERID>" in run.output
    assert "Plan only: nothing was written to Intacct." in run.output
    # The plan read the company's definitions (the company check) and wrote nothing.
    stats = emulator.stats()
    assert stats["write_functions"] == 0 and stats["api_transactions"] == 0 and stats["requests"] > 0
    dry = project.sync("--dry-run")
    assert dry.model("intacct_customers")["planned"] == {"create": 3}
    # The definitions are cached in the state schema: the dry run sends nothing at all.
    assert emulator.stats()["requests"] == stats["requests"]
    # The plan's price is what the sync then spends, by Intacct's (the emulator's) own count.
    assert project.sync().exit_code == 0
    assert emulator.api_transactions() == 4
    # After a sync, the plan is empty.
    again = project.plan()
    assert again.model("intacct_customers")["planned"] == {}
    assert again.counts("intacct_customers")["unchanged"] == 3


def test_run_results_file_is_written(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    result = project.cli("sync")
    assert result.exit_code == 0, result.output
    data = json.loads((project.root / "target" / "intacct_run_results.json").read_text())
    assert data["status"] == "success"
    assert data["metadata"]["command"] == "sync"
    (model,) = data["results"]
    assert model["unique_id"] == "model.proj.intacct_customers"
    assert model["counts"]["created"] == 3


def test_debug_checks_everything(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    result = project.cli("debug")
    assert result.exit_code == 0, result.output
    assert "login 'default'" in result.output and "OK" in result.output
    assert "does not exist yet" in result.output
    project.write_intacct_yml(user_password="wrong-password")
    result = project.cli("debug")
    assert result.exit_code == 1
    assert "wrong-password" not in result.output


def test_missing_manifest_says_what_to_run(project: DbtProject, emulator: EmulatorAdmin) -> None:
    run = project.sync("--no-parse")  # without --no-parse, a missing manifest is parsed
    assert run.exit_code == 2
    assert "run `dbt build`" in run.output


def test_missing_relation_says_what_to_run(project: DbtProject, emulator: EmulatorAdmin) -> None:
    project.seed("crm_customers", CUSTOMERS)
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }}")
    project.schema_yml(customer_yaml())
    project.dbt("parse")
    run = project.sync()
    assert run.exit_code == 2
    assert "does not exist; run `dbt build` first" in " ".join(run.output.split())


def test_full_refresh_sends_every_row_once_then_nothing(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    run = project.sync("--full-refresh")
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_customers")["updated"] == 3
    after = project.sync()
    assert after.counts("intacct_customers")["unchanged"] == 3, "the next run is back to sending only changes"
    assert len(emulator.records("CUSTOMER")) == 3

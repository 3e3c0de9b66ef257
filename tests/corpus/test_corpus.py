"""The bad-input corpus: one folder per kind of bad input, each a small dbt project and its `expect.yml`.

A scenario folder holds `seeds/*.csv` and `models/*.sql|yml` (copied into a fresh project on the
warehouses it names) and `expect.yml`:

    description: what the scenario is about
    warehouses: [duckdb, postgres]          # default: [duckdb]
    connection: {batch_size: 1}             # intacct.yml settings (optional)
    seed_column_types: {seed: {column: type}}
    gateway: {spoil: billion_laughs, when: "C-EVIL"}   # hostile responses: the WireTap answers write
                                            #   requests containing `when` with the spoiled answer
                                            #   instead (`writes_only: false`: any request)
    xfail: "one line: the bug"              # the scenario shows a bug (strict xfail)
    sync:                                   # the first sync
      exit_code: 1
      errors:                               # every row error reported, no more, no fewer
        - {model: m, row_key: k, field: f, message: "substring"}   # row_key null: not one row
      message: "substring of the run's message"
    intacct:                                # after the first sync: records, each exactly once
      CUSTOMER: {key: CUSTOMERID, present: [C1], absent: [C2], fields: {C1: {NAME: "x"}}}
    state: {model: {row_key: status}}
    rerun:                                  # a second sync, the gateway behaving again
      exit_code: 1
      intacct: {...}                        # as above (default: the same records, none added)

The runner syncs twice: the second run proves that the good rows stay exactly once and that the bad ones
are reported again rather than lost.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from dbt_intacct.emulator import EmulatorAdmin, EmulatorConfig, EmulatorServer
from tests.corpus.spoils import spoiler
from tests.resilience.wiretap import WireTap
from tests.support.project import DbtProject, SyncRun

HERE = Path(__file__).parent
SCENARIOS = sorted(p for p in HERE.iterdir() if (p / "expect.yml").is_file())


def _cases() -> Iterator[Any]:
    for folder in SCENARIOS:
        expect = yaml.safe_load((folder / "expect.yml").read_text(encoding="utf-8"))
        for warehouse in expect.get("warehouses", ["duckdb"]):
            marks = [pytest.mark.postgres] if warehouse == "postgres" else []
            if expect.get("xfail"):
                marks.append(pytest.mark.xfail(strict=True, reason=expect["xfail"]))
            yield pytest.param(folder, warehouse, id=f"{folder.name}-{warehouse}", marks=marks)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0)) as running:
        yield running


@pytest.mark.parametrize(("folder", "warehouse"), list(_cases()))
def test_scenario(folder: Path, warehouse: str, server: EmulatorServer, tmp_path: Path) -> None:
    expect: dict[str, Any] = yaml.safe_load((folder / "expect.yml").read_text(encoding="utf-8"))
    admin = server.admin
    admin.reset()
    admin.clear_faults()
    gateway = expect.get("gateway")
    with WireTap(server.base_url, tamper=spoiler(gateway) if gateway else None) as tap:
        project = DbtProject(tmp_path / "proj", warehouse, tap.url())
        try:
            project.write_intacct_yml(**expect.get("connection", {}))
            _copy_project(folder, project, expect.get("seed_column_types", {}))
            project.build()

            first = project.sync()
            _check_run(first, expect["sync"], "first sync")
            _check_intacct(admin, expect.get("intacct", {}), "after the first sync")
            _check_state(project, expect.get("state", {}))

            tap.tamper = None
            rerun_expect = expect.get("rerun", {})
            second = project.sync()
            _check_run(second, {"exit_code": expect["sync"]["exit_code"], **rerun_expect}, "rerun")
            _check_intacct(admin, rerun_expect.get("intacct", expect.get("intacct", {})), "after the rerun")
        finally:
            project.drop_postgres_schemas()


def _copy_project(folder: Path, project: DbtProject, column_types: Mapping[str, Mapping[str, str]]) -> None:
    for part in ("seeds", "models"):
        source = folder / part
        if source.is_dir():
            for path in source.iterdir():
                shutil.copy(path, project.root / part / path.name)
    for seed, types in column_types.items():
        project.seed_column_types(seed, dict(types))


def _check_run(run: SyncRun, expect: Mapping[str, Any], when: str) -> None:
    assert run.exit_code == expect["exit_code"], f"{when}: exit {run.exit_code}\n{run.output}"
    if "message" in expect:
        assert expect["message"] in (run.results.get("message") or run.output), f"{when}:\n{run.output}"
    if "errors" not in expect:
        return
    reported = [
        {"model": m["name"], **{k: e.get(k) for k in ("row_key", "field", "message")}}
        for m in run.results.get("results", [])
        for e in m.get("errors", [])
    ]
    unexplained = list(reported)
    for wanted in expect["errors"]:
        match = next((r for r in unexplained if _matches(r, wanted)), None)
        assert match is not None, (
            f"{when}: no error like {wanted}; reported:\n{_lines(reported)}\n{run.output}"
        )
        unexplained.remove(match)
    assert not unexplained, f"{when}: errors the scenario does not expect:\n" + _lines(unexplained)


def _matches(reported: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return (
        reported["model"] == wanted["model"]
        and reported["row_key"] == wanted.get("row_key")
        and ("field" not in wanted or reported["field"] == wanted["field"])
        and str(wanted.get("message", "")).lower() in str(reported["message"]).lower()
    )


def _check_intacct(admin: EmulatorAdmin, expect: Mapping[str, Any], when: str) -> None:
    for object_name, wanted in expect.items():
        records = admin.records(object_name)
        key = wanted["key"]
        counts = Counter(str(r.get(key)) for r in records)
        for value in wanted.get("present", []):
            assert counts[str(value)] == 1, (
                f"{when}: {object_name} {key}={value!r} is there {counts[str(value)]} times"
            )
        for value in wanted.get("absent", []):
            assert counts[str(value)] == 0, f"{when}: {object_name} {key}={value!r} should not be in Intacct"
        if "count" in wanted:
            assert len(records) == wanted["count"], f"{when}: {object_name}: {sorted(counts)}"
        by_key = {str(r.get(key)): r for r in records}
        for value, fields in (wanted.get("fields") or {}).items():
            for field, expected in fields.items():
                assert _field(by_key[str(value)], field) == expected, f"{when}: {object_name} {value} {field}"


def _field(record: Mapping[str, Any], path: str) -> Any:
    current: Any = record
    for part in path.split("."):
        current = current.get(part) if isinstance(current, Mapping) else None
    return current


def _check_state(project: DbtProject, expect: Mapping[str, Mapping[str, str]]) -> None:
    for model, statuses in expect.items():
        state = project.state(model)
        seen = {key: state.get(str(key), {}).get("status") for key in statuses}
        assert seen == dict(statuses), f"state of {model}: {seen}"


def _lines(errors: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(f"  {e}" for e in errors) or "  (none)"

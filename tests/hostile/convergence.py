"""The convergence check every hostile case ends with.

After the hostile runs: sync again through a plain gateway until a run exits 0, then once more (it must
write nothing); read Intacct back (the emulator's admin API) and compare it with the models and the state
(`verify`: every row exactly once, no duplicate by natural key, nothing missing, every state row `ok`
with the emulator's RECORDNO) and compare the API transactions the runs counted with what the emulator
billed (the billing rule: one per record written, one per query page; failed functions nothing); then
run `runs`, `show --xml` of every run that did not succeed and `report`, and search
everything for the passwords and every session ID the gateway saw: the console output of every command
(text and JSON logs), every file under the project (target/, logs/, the report, the DuckDB file's bytes)
but intacct.yml, and every row of every table of the warehouse (the tool's state, ledger, runs, API
calls included).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.resilience.dataset import Dataset, Verdict, state_rows, verify
from tests.resilience.leaks import LeakSearch
from tests.resilience.wiretap import WireTap
from tests.support.project import DbtProject

SENDER_ID = "hostile_sender"
SENDER_PASSWORD = "Snd&Pw<HoStile7kite>'s"
USER_PASSWORD = 'Usr"Pw%HoStile-4471\\x&amp;'
MAX_PLAIN_RUNS = 3


def credentials(project: DbtProject, **changes: object) -> None:
    """intacct.yml with the bench's distinctive credentials, small batches and quick retries."""
    project.write_intacct_yml(
        **{
            "sender_id": SENDER_ID,
            # `{% raw %}`: a literal value with Jinja characters is written this way (README, Secrets).
            "sender_password": "{% raw %}" + SENDER_PASSWORD + "{% endraw %}",
            "user_password": "{% raw %}" + USER_PASSWORD + "{% endraw %}",
            "batch_size": 4,
            "max_retries": 2,
            "timeout_seconds": 20,
            **changes,
        }
    )


@dataclass
class Convergence:
    """What the plain reruns did, what Intacct holds, and where a secret was found."""

    exit_codes: list[int] = field(default_factory=list)
    idle_writes: int = 0
    verdict: Verdict = field(default_factory=Verdict)
    leaks: LeakSearch | None = None
    billed_by_tool: int = 0  # API transactions the runs say they spent, summed
    billed_by_emulator: int = 0  # what the emulator billed (its billing rule, docs/emulator.md)
    outputs: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        leaks = self.leaks.describe() if self.leaks else "not searched"
        return (
            f"plain reruns exited {self.exit_codes}; idle rerun writes {self.idle_writes}; API transactions "
            f"counted {self.billed_by_tool}, billed by the emulator {self.billed_by_emulator}\n"
            f"{self.verdict.describe()}\nsecrets: {leaks}\n" + _tails(self.outputs)
        )

    @property
    def ok(self) -> bool:
        return (
            bool(self.exit_codes)
            and self.exit_codes[-1] == 0
            and self.idle_writes == 0
            and self.billed_by_tool == self.billed_by_emulator
            and self.verdict.ok
            and self.leaks is not None
            and not self.leaks.found
        )


def converge(
    project: DbtProject,
    admin: EmulatorAdmin,
    gateway: WireTap,
    dataset: Dataset,
    outputs: dict[str, str],
) -> Convergence:
    """Rerun through a plain gateway, read Intacct back, search for secrets (see the module docstring).

    `outputs` holds the console output of the runs made so far (the hostile ones), by name; the
    commands run here are added to it.
    """
    gateway.tamper = None
    admin.clear_faults()
    result = Convergence(outputs=outputs)
    for attempt in range(1, MAX_PLAIN_RUNS + 1):
        run = project.sync("--log-format", "json")
        outputs[f"plain sync {attempt} (JSON log)"] = run.output
        result.exit_codes.append(run.exit_code)
        if run.exit_code == 0:
            break
    before = len(gateway.exchanges)
    idle = project.sync()
    outputs["idle sync"] = idle.output
    result.idle_writes = sum(1 for e in gateway.exchanges[before:] if e.writes)
    result.verdict = verify(dataset, admin.records("CUSTOMER"), admin.records("GLBATCH"), state_rows(project))
    result.billed_by_emulator = admin.api_transactions()
    ((spent,),) = project.query(
        f"select coalesce(sum(api_transactions), 0) from {project.state_schema}.intacct_model_results"
    )
    result.billed_by_tool = int(spent)
    outputs["runs"] = project.cli("runs").output
    # The debugger's view of the runs that did not succeed (the hostile ones): every API call's XML.
    run_ids = project.query(
        f"select run_id from {project.state_schema}.intacct_runs where status <> 'success'"
    )
    for (run_id,) in run_ids:
        outputs[f"show {run_id} --xml"] = project.cli("show", str(run_id), "--xml").output
    report = project.root / "target" / "report.html"
    outputs["report"] = project.cli("report", "--output", str(report)).output
    assert report.exists() and report.stat().st_size > 0, outputs["report"]
    result.leaks = search_secrets(project, gateway, outputs)
    return result


def search_secrets(project: DbtProject, gateway: WireTap, outputs: dict[str, str]) -> LeakSearch:
    secrets = {"sender password": SENDER_PASSWORD, "user password": USER_PASSWORD}
    secrets.update({f"session id {n}": sid for n, sid in enumerate(sorted(gateway.session_ids), 1)})
    search = LeakSearch(secrets)
    for where, text in outputs.items():
        search.text(where, text)
    # intacct.yml holds the passwords by design: it is the user's own configuration.
    search.files(project.root, skip=[project.root / "intacct.yml"])
    search.tables(project, [project.state_schema, project.model_schema])
    assert any("warehouse.duckdb" in where for where in search.searched), "the DuckDB file was searched"
    assert any("report.html" in where for where in search.searched), "the report was searched"
    return search


def _tails(outputs: dict[str, str], lines: int = 6) -> str:
    return "\n".join(
        f"--- {name}:\n" + "\n".join(text.strip().splitlines()[-lines:]) for name, text in outputs.items()
    )

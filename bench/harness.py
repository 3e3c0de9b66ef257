"""What every benchmark of issue 7 shares: a generated dbt project, the real commands, and the figures.

A `BenchProject` is a throwaway dbt project on DuckDB (a file in a temporary directory), Postgres (a
fresh schema in database `test` on 127.0.0.1:5432) or Spark (dbt-spark's `session` method: a local
SparkSession started by each command, with its warehouse directory and Derby metastore in the temporary
directory) whose models generate their rows inside the warehouse (DuckDB and Spark `range()`, Postgres
`generate_series`): customers, and journal entries of 2 to 20 lines. Sizes and the share of rows that
changed are dbt vars, so one project serves every size. Commands run as subprocesses, exactly as a user
runs them (`dbt run`, `dbt-intacct sync/plan`), under `/usr/bin/time -v` for their peak memory, with the
Python process's own peak read from inside it (`PEAK_HOOK`) and its JVM's sampled from outside; figures
are medians of several runs, printed against their target with the command that reproduces them.

The embedded Derby metastore of a Spark project admits one JVM at a time: every Spark statement of a
benchmark runs in a subprocess (dbt, dbt-intacct, bench/seed_state.py), one after the other, and the
benchmark's own process never starts Spark.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
WAREHOUSES = ("duckdb", "postgres", "spark")
# Spark's driver binds to loopback, not to the machine's first interface (nothing leaves this machine).
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
CUSTOMERS = "bench_customers"
JOURNAL_ENTRIES = "bench_journal_entries"

# Customers shaped like the sample project's: thirteen mapped fields, a template, a custom field, and
# `delete: clear`, so that the removal query runs too. `bench_changed_pct` percent of the rows (every
# hundredth key, spread over the whole key range) get a new name when `bench_edit` moves on.
CUSTOMERS_SQL = """\
{%- set n = var('bench_rows', 1000) | int -%}
{%- set changed = var('bench_changed_pct', 0) | int -%}
{%- set edit = var('bench_edit', 0) | int -%}
{%- set prefix = var('bench_key_prefix', 'C') -%}
{%- set text = 'string' if target.type == 'spark' else 'varchar' -%}
with ids as (
  {%- if target.type == 'duckdb' %}
  select range as i from range({{ n }})
  {%- elif target.type == 'spark' %}
  select id as i from range({{ n }})
  {%- else %}
  select generate_series(0, {{ n - 1 }}) as i
  {%- endif %}
)
select
  '{{ prefix }}' || lpad(cast(i as {{ text }}), 8, '0') as customer_code,
  'Customer ' || cast(i as {{ text }})
    {%- if edit > 0 %} || case when i % 100 < {{ changed }} then ' (edit {{ edit }})' else '' end{% endif %}
    as customer_name,
  'billing' || cast(i as {{ text }}) || '@example.com' as billing_email,
  '+1 555 ' || lpad(cast(i % 10000 as {{ text }}), 4, '0') as phone,
  cast(i as {{ text }}) || ' Main Street' as street,
  case i % 4 when 0 then 'San Jose' when 1 then 'Zurich' when 2 then 'Paris' end as city,
  'CA' as state,
  cast(95000 + i % 1000 as {{ text }}) as postal_code,
  'United States' as country,
  i % 10 <> 0 as is_active,
  cast(((i * 37) % 1000000) / 100.0 as decimal(12, 2)) as credit_limit,
  'N30' as payment_terms,
  'crm' as source_system,
  case i % 3 when 0 then 'EMEA' when 1 then 'AMER' end as segment
from ids
"""

CUSTOMERS_YML = f"""\
models:
  - name: {CUSTOMERS}
    config:
      meta:
        intacct:
          object: customer
          mode: upsert
          primary_key: customer_code
          match:
            column: customer_code
            field: CUSTOMERID
          mapping:
            CUSTOMERID: customer_code
            NAME: customer_name
            DISPLAYCONTACT.PRINTAS: customer_name
            DISPLAYCONTACT.EMAIL1: billing_email
            DISPLAYCONTACT.PHONE1: phone
            DISPLAYCONTACT.MAILADDRESS.ADDRESS1: street
            DISPLAYCONTACT.MAILADDRESS.CITY: city
            DISPLAYCONTACT.MAILADDRESS.STATE: state
            DISPLAYCONTACT.MAILADDRESS.ZIP: postal_code
            DISPLAYCONTACT.MAILADDRESS.COUNTRY: country
            STATUS: is_active
            CREDITLIMIT: credit_limit
            TERMNAME: payment_terms
            COMMENTS: {{template: "Synced from [[ row.source_system ]] by dbt-intacct"}}
          custom_fields:
            REGION: segment
          delete: clear
"""

# Journal entries: entry i has 2 + (7i mod 19) lines (2 to 20), the last one balancing the others.
# DuckDB carries the lines as a LIST of STRUCTs, Spark as an ARRAY of STRUCTs, Postgres as jsonb, as users'
# models do.
JOURNAL_ENTRIES_SQL = """\
{%- set n = var('bench_rows', 1000) | int -%}
{%- set changed = var('bench_changed_pct', 0) | int -%}
{%- set edit = var('bench_edit', 0) | int -%}
{%- set text = 'string' if target.type == 'spark' else 'varchar' -%}
with entries as (
  {%- if target.type == 'duckdb' %}
  select range as i, 2 + (range * 7) % 19 as line_count from range({{ n }})
  {%- elif target.type == 'spark' %}
  select id as i, 2 + (id * 7) % 19 as line_count from range({{ n }})
  {%- else %}
  select i, 2 + (i * 7) % 19 as line_count from generate_series(0, {{ n - 1 }}) as i
  {%- endif %}
),
raw_lines as (
  select e.i, e.line_count, k,
    case when k = e.line_count - 1 then cast(0 as decimal(18, 2))
         else cast(((e.i * 31 + k * 17) % 100000 + 1) as decimal(18, 2)) / 100 end as amount
  from entries e
  {%- if target.type == 'duckdb' %}
  join (select range as k from range(20)) ks on ks.k < e.line_count
  {%- elif target.type == 'spark' %}
  join (select id as k from range(20)) ks on ks.k < e.line_count
  {%- else %}
  join generate_series(0, 19) as k on k < e.line_count
  {%- endif %}
),
lines as (
  select i, k,
    case when k = line_count - 1 then '2000' else cast(6000 + (k % 3) * 100 as {{ text }}) end as account,
    case when k = line_count - 1 then -sum(amount) over (partition by i) else amount end as amount,
    'accrual ' || cast(i as {{ text }}) || '.' || cast(k as {{ text }}) as memo
  from raw_lines
)
select
  'JE' || lpad(cast(i as {{ text }}), 8, '0') as entry_id,
  {%- if target.type == 'spark' %}
  date_add(cast('2024-05-01' as date), cast(i % 28 as integer)) as posting_date,
  {%- else %}
  cast('2024-05-01' as date) + cast(i % 28 as integer) as posting_date,
  {%- endif %}
  'Accrual ' || cast(i as {{ text }})
    {%- if edit > 0 %} || case when i % 100 < {{ changed }} then ' (edit {{ edit }})' else '' end{% endif %}
    as title,
  {%- if target.type == 'duckdb' %}
  list(struct_pack(account := account, amount := amount, memo := memo) order by k) as lines
  {%- elif target.type == 'spark' %}
  transform(
    array_sort(collect_list(struct(k, account, amount, memo))),
    l -> named_struct('account', l.account, 'amount', l.amount, 'memo', l.memo)
  ) as lines
  {%- else %}
  jsonb_agg(jsonb_build_object('account', account, 'amount', amount, 'memo', memo) order by k) as lines
  {%- endif %}
from lines
group by i
"""

JOURNAL_ENTRIES_YML = f"""\
models:
  - name: {JOURNAL_ENTRIES}
    config:
      meta:
        intacct:
          object: journal_entry
          mode: insert
          primary_key: entry_id
          mapping:
            JOURNAL: {{value: GJ}}
            BATCH_DATE: posting_date
            BATCH_TITLE: title
            REFERENCENO: entry_id
            ENTRIES:
              array: lines
              mapping:
                ACCOUNTNO: account
                AMOUNT: amount
                DESCRIPTION: memo
"""


SPARK_LOG_CONFIG = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""


def spark_session_parameters(home: Path) -> dict[str, str]:
    """dbt-spark's `server_side_parameters` for a local SparkSession whose files all live under `home`.

    dbt-spark's `session` method passes each to the SparkSession builder, after `enableHiveSupport()`;
    each command (dbt, dbt-intacct) starts its own JVM with them. Two cores (the benchmark machines have
    two), a small number of shuffle partitions for a million rows, Spark's other defaults (adaptive
    execution, whole-stage code generation) as a user's session has them.
    """
    return {
        "spark.master": "local[2]",
        "spark.app.name": "dbt-intacct-bench",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "2",
        "spark.driver.memory": "2g",
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        # The embedded Derby metastore (one JVM at a time) and its log under the same directory.
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true"
        ),
        # Spark's own log at ERROR (log4j2.properties, written by BenchProject): not a warning per statement
        # in every command's output.
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={home} -Dlog4j2.configurationFile=file:{home / 'log4j2.properties'}"
        ),
        # The models' tables in parquet (as the tool's own), not Hive text tables.
        "spark.sql.legacy.createHiveTableByDefault": "false",
        "spark.sql.ansi.enabled": "false",
    }


MODELS = {
    CUSTOMERS: (CUSTOMERS_SQL, CUSTOMERS_YML),
    JOURNAL_ENTRIES: (JOURNAL_ENTRIES_SQL, JOURNAL_ENTRIES_YML),
}


@dataclass(frozen=True)
class CommandRun:
    """One finished subprocess: wall time, peak memory, output, and run results if any.

    Three peaks: `max_rss_mb` is what `/usr/bin/time -v` reports (the largest of the process and the
    descendants it waited for, so on Spark possibly the JVM's); `own_peak_mb` is the Python process's own
    high-water mark (VmHWM), read inside it just before it exits (`PEAK_HOOK`); `jvm_peak_mb` is the
    largest high-water mark of the `java` processes under it (Spark's driver), sampled from outside every
    0.2 s (0 when there was none).
    """

    argv: tuple[str, ...]
    seconds: float
    max_rss_mb: float
    output: str
    results: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase, from bench/phases.py
    own_peak_mb: float = float("nan")
    jvm_peak_mb: float = float("nan")

    def model(self, name: str) -> dict[str, Any]:
        """This model's entry in target/intacct_run_results.json."""
        for model in self.results.get("results", []):
            if model["name"] == name:
                return dict(model)
        raise BenchError(f"{name} is not in the run results; the command printed:\n{self.output}")


class BenchError(RuntimeError):
    """A benchmark step failed (a command exited non-zero, or the tool did something unexpected)."""


_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")

# A `sitecustomize` module, put on the PYTHONPATH of the commands the benchmarks run (and of nothing
# else): when BENCH_PEAK_FILE is set, the Python process writes its own peak resident memory (VmHWM, in
# kB) there when it exits, after its other exit handlers. The variable is taken out of the environment at
# once, so that only the process the benchmark started writes the file, not its children (the JVM that
# pyspark starts is not Python; dbt starts no Python child, but the rule keeps it simple).
PEAK_HOOK = """\
import atexit
import os

_peak_file = os.environ.pop("BENCH_PEAK_FILE", None)


def _write_peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(_peak_file, "w") as out:
                    out.write(line.split()[1])
                return


if _peak_file:
    atexit.register(_write_peak)  # registered first: runs last
"""
_hook_dir: Path | None = None


def _peak_hook_dir() -> Path:
    """A directory holding only the `sitecustomize` above, removed when the benchmark's process exits."""
    global _hook_dir
    if _hook_dir is None:
        _hook_dir = Path(tempfile.mkdtemp(prefix="intacct-bench-hook-"))
        (_hook_dir / "sitecustomize.py").write_text(PEAK_HOOK)
        atexit.register(shutil.rmtree, _hook_dir, ignore_errors=True)
    return _hook_dir


def _status_kb(pid: int, field_name: str) -> int:
    """A `kB` line of /proc/PID/status (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, command name) of every process under `root`, from /proc."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        name = text[text.find("(") + 1 : text.rfind(")")]
        parent = int(text[text.rfind(")") + 2 :].split()[1])
        children.setdefault(parent, []).append((int(entry), name))
    found: list[tuple[int, str]] = []
    todo = [root]
    while todo:
        for pid, name in children.get(todo.pop(), []):
            found.append((pid, name))
            todo.append(pid)
    return found


class _JvmSampler(threading.Thread):
    """Samples the high-water mark of every `java` process under a process until stopped."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            for pid, name in _descendants(self.root):
                if name == "java":
                    self.peaks[pid] = max(self.peaks.get(pid, 0), _status_kb(pid, "VmHWM"))

    def peak_mb(self) -> float:
        return max(self.peaks.values(), default=0) / 1024


def run_command(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> CommandRun:
    """Run a command under `/usr/bin/time -v`; its wall time is measured here, its peak RSS by `time`.

    A Python command also reports its own peak (`PEAK_HOOK`), and the JVM under it is sampled.
    """
    full_env = {**os.environ, **(env or {})}
    hook = str(_peak_hook_dir())
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (hook, full_env.get("PYTHONPATH", "")) if p)
    time_bin = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile(prefix="intacct-bench-peak-", suffix=".kb") as peak_file:
        full_env["BENCH_PEAK_FILE"] = peak_file.name
        started = time.perf_counter()
        process = subprocess.Popen(
            [time_bin, "-v", *argv],
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        sampler = _JvmSampler(process.pid)
        sampler.start()
        stdout, stderr = process.communicate()
        seconds = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        own = Path(peak_file.name).read_text().strip()
    found = _MAX_RSS.search(stderr)
    output = stdout + _without_time_report(stderr)
    if check and process.returncode != 0:
        raise BenchError(f"`{shlex.join(argv)}` exited {process.returncode}:\n{output[-4000:]}")
    return CommandRun(
        argv=tuple(argv),
        seconds=seconds,
        max_rss_mb=int(found.group(1)) / 1024 if found else float("nan"),
        output=output,
        own_peak_mb=int(own) / 1024 if own else float("nan"),
        jvm_peak_mb=sampler.peak_mb(),
    )


def _without_time_report(stderr: str) -> str:
    marker = stderr.find("\tCommand being timed:")
    return stderr if marker < 0 else stderr[:marker]


class BenchProject:
    """A dbt project with the bench models, its profile, and an intacct.yml for one emulator endpoint."""

    def __init__(
        self,
        root: Path,
        warehouse: str,
        models: Sequence[str],
        *,
        endpoint: str = "http://127.0.0.1:9/ia/xml/xmlgw.phtml",
        key_prefix: str = "C",
    ) -> None:
        if warehouse not in WAREHOUSES:
            raise BenchError(f"unknown warehouse {warehouse!r}; choose from {', '.join(WAREHOUSES)}")
        self.root = root
        self.warehouse = warehouse
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        self.key_prefix = key_prefix  # customer IDs start with it: projects sharing an emulator differ
        (root / "models").mkdir(parents=True, exist_ok=True)
        (root / "dbt_project.yml").write_text(
            textwrap.dedent(
                """\
                name: intacct_bench
                version: "1.0"
                config-version: 2
                profile: intacct_bench
                models:
                  intacct_bench:
                    +materialized: table
                """
            )
        )
        # Only the models a benchmark uses: `sync` without --select then syncs exactly them, with no
        # `dbt ls` in the measured command.
        for model in models:
            sql, yml = MODELS[model]
            (root / "models" / f"{model}.sql").write_text(sql)
            (root / "models" / f"{model}.yml").write_text(yml)
        if warehouse == "duckdb":
            output: dict[str, Any] = {"type": "duckdb", "path": str(root / "bench.duckdb"), "threads": 1}
        elif warehouse == "spark":
            (root / "spark").mkdir()
            (root / "spark" / "log4j2.properties").write_text(SPARK_LOG_CONFIG)
            output = {
                "type": "spark",
                "method": "session",
                "host": "NA",
                "schema": self.schema,
                "threads": 1,
                "server_side_parameters": spark_session_parameters(root / "spark"),
            }
        else:
            output = {
                "type": "postgres",
                **{k: v for k, v in POSTGRES.items() if k != "dbname"},
                "dbname": POSTGRES["dbname"],
                "password": "",
                "schema": self.schema,
                "threads": 1,
            }
        profiles = {"intacct_bench": {"target": "bench", "outputs": {"bench": output}}}
        (root / "profiles.yml").write_text(json.dumps(profiles, indent=2))
        self.configure_intacct(endpoint)

    @property
    def state_schema(self) -> str:
        # The tool's default: <target schema>_intacct (DuckDB's target schema is `main`).
        return f"{'main' if self.warehouse == 'duckdb' else self.schema}_intacct"

    def configure_intacct(self, endpoint: str, *, batch_size: int = 50, concurrency: int = 2) -> None:
        """Point intacct.yml at an emulator with the documented demo credentials."""
        settings = {
            "sender_id": "demo_sender",
            "sender_password": "demo_sender_pw",
            "company_id": "demo_company",
            "user_id": "demo_user",
            "user_password": "demo_password",
            "endpoint": endpoint,
            "batch_size": batch_size,
            "concurrency": concurrency,
            "timeout_seconds": 60,
        }
        (self.root / "intacct.yml").write_text(json.dumps({"default": settings}, indent=2))

    # -- commands ---------------------------------------------------------------------------------------
    def _dirs(self) -> list[str]:
        return ["--project-dir", str(self.root), "--profiles-dir", str(self.root)]

    def build(self, model: str, rows: int, *, changed_pct: int = 0, edit: int = 0) -> CommandRun:
        """`dbt run` of one model at a size; `edit` > 0 renames `changed_pct`% of the rows."""
        variables = {
            "bench_rows": rows,
            "bench_changed_pct": changed_pct,
            "bench_edit": edit,
            "bench_key_prefix": self.key_prefix,
        }
        argv = [str(BIN / "dbt"), "run", "--quiet", "--select", model, "--vars", json.dumps(variables)]
        return run_command([*argv, *self._dirs()], cwd=self.root)

    def intacct(self, command: str, *args: str, phases: bool = False) -> CommandRun:
        """`dbt-intacct sync|plan`, with run results read back from target/intacct_run_results.json.

        `phases=True` runs it through bench/phases.py, which also records the time of each phase.
        """
        results_path = self.root / "target" / "intacct_run_results.json"
        phases_path = self.root / "target" / "bench_phases.json"
        results_path.unlink(missing_ok=True)
        phases_path.unlink(missing_ok=True)
        if phases:
            argv = [sys.executable, str(REPO / "bench" / "phases.py"), str(phases_path), command]
        else:
            argv = [str(BIN / "dbt-intacct"), command]
        run = run_command([*argv, *args, *self._dirs()], cwd=self.root, check=False)
        if not results_path.exists():
            raise BenchError(f"`{shlex.join(run.argv)}` wrote no run results:\n{run.output[-4000:]}")
        results = json.loads(results_path.read_text())
        timings = json.loads(phases_path.read_text()) if phases else {}
        return dataclasses.replace(run, results=results, phases=timings)

    def adapter_startup(self) -> CommandRun:
        """The fixed cost of any command: interpreter, imports, dbt project and profile, adapter, connection.

        Runs the same loading code the CLI runs (`Warehouse.open`) and nothing else.
        """
        code = (
            "from pathlib import Path\n"
            "import dbt_intacct.cli\n"
            "from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse\n"
            f"args = DbtArgs(project_dir=Path({str(self.root)!r}), profiles_dir=Path({str(self.root)!r}))\n"
            "with Warehouse(args).open() as w:\n"
            "    w.fetch_small('select 1')\n"
        )
        return run_command([sys.executable, "-c", code], cwd=self.root)

    def seed_state(self, model: str, *, verify: bool = False) -> str:
        """Mark every row of `model` as synced, as a completed sync would; see bench/seed_state.py."""
        argv = [sys.executable, str(REPO / "bench" / "seed_state.py"), model, *self._dirs()]
        output = run_command([*argv, *(["--verify"] if verify else [])], cwd=self.root).output
        # Its last line says what it did (Spark's start-up prints a line or two of its own before it).
        said = [line for line in output.splitlines() if "state rows" in line]
        return said[-1] if said else output.strip()

    def drop(self) -> None:
        """Drop the Postgres schemas this project created (DuckDB and Spark live in the temporary
        directory)."""
        if self.warehouse != "postgres":
            return
        import psycopg2

        connection = psycopg2.connect(**POSTGRES)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                for schema in (self.schema, self.state_schema):
                    cursor.execute(f'drop schema if exists "{schema}" cascade')
        finally:
            connection.close()


@contextmanager
def bench_project(
    warehouse: str, models: Sequence[str], *, endpoint: str | None = None, key_prefix: str = "C"
) -> Iterator[BenchProject]:
    """A BenchProject in a fresh temporary directory, removed (with its Postgres schemas) afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"intacct-bench-{warehouse}-") as scratch:
        extra = {"endpoint": endpoint} if endpoint else {}
        project = BenchProject(Path(scratch), warehouse, models, key_prefix=key_prefix, **extra)
        try:
            yield project
        finally:
            project.drop()


def prepare_synced(project: BenchProject, model: str, rows: int, *, real_sync: bool) -> str:
    """Build `model` at `rows` rows and bring its state to "everything synced".

    `real_sync` syncs every row to the emulator (as a user's first sync would) and then checks that
    bench/seed_state.py computes the very hashes the sync wrote; otherwise the state is seeded in SQL.
    Returns what was done, for the report.
    """
    project.build(model, rows)
    if real_sync:
        first = project.intacct("sync")
        written = sum(first.model(model)["counts"][k] for k in ("created", "updated"))
        if written != rows:
            raise BenchError(f"the first sync wrote {written} of {rows} rows:\n{first.output[-3000:]}")
        return f"first sync of {rows:,} rows to the emulator; {project.seed_state(model, verify=True)}"
    return project.seed_state(model)


def change_one_percent(project: BenchProject, model: str, rows: int) -> int:
    """Rebuild `model` so that 1% of its rows need a function: renamed customers, new journal entries.

    Journal entries are insert-only: a changed entry is never sent again, a new one is. Returns how many
    functions a plan should show.
    """
    if model == CUSTOMERS:
        project.build(model, rows, changed_pct=1, edit=1)
        return len(range(0, rows, 100))
    project.build(model, rows + rows // 100)
    return rows // 100


def alternate(runs: int, *steps: tuple[str, Callable[[], CommandRun]]) -> dict[str, list[CommandRun]]:
    """Run each step `runs` times, interleaved, so that a burst of load on the machine hits all alike."""
    found: dict[str, list[CommandRun]] = {name: [] for name, _ in steps}
    for _ in range(runs):
        for name, step in steps:
            found[name].append(step())
    return found


# The diff's statements as bench/phases.py names them, for the breakdown lines of the reports.
DIFF_STATEMENTS = (
    ("diff statement (hash, full join to the state, keys counted)", "diff.diff"),
    ("  of which the check first (counts and checksums; DuckDB: of the keys)", "diff.check"),
    ("change set (the candidates' columns and state)", "diff.change_table"),
    ("removals (the state of rows that left the model)", "diff.removal_table"),
    ("row count", "diff.row_count"),
)


def diff_breakdown(runs: Sequence[CommandRun], indent: str) -> list[Figure]:
    """One reported figure per statement of the diff, from phased runs."""
    return [
        Figure(f"{indent}{label}", tuple(run.phases.get(key, 0.0) for run in runs), "s", None)
        for label, key in DIFF_STATEMENTS
    ]


def load_average() -> str:
    """The machine's 1-minute load average, printed with the figures (the machines are shared)."""
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return "unknown"


# -- figures ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One measured figure against its target: `at_most` for times and memory, else `at_least`."""

    name: str
    values: tuple[float, ...]
    unit: str
    target: float | None
    at_most: bool = True

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return self.median <= self.target if self.at_most else self.median >= self.target

    def line(self) -> str:
        runs = ", ".join(_number(v) for v in self.values)
        text = f"{self.name}: {_number(self.median)} {self.unit} (median of {len(self.values)}: {runs})"
        if self.target is None:
            return f"{text}  [reported, no target]"
        sign = "<=" if self.at_most else ">="
        return (
            f"{text}  target {sign} {_number(self.target)} {self.unit}  {'PASS' if self.passed else 'FAIL'}"
        )


def _number(value: float) -> str:
    if value != value:  # NaN: not measured
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio_figures(
    figures: dict[str, dict[str, list[float]]],
    over: str,
    under: str,
    rows: Sequence[tuple[str, str, float | None]],
) -> list[Figure]:
    """Figures of `over`'s medians divided by `under`'s, from the same run: one per (name, key, target)."""
    label = {"postgres": "Postgres", "spark": "Spark", "duckdb": "DuckDB"}
    return [
        Figure(
            f"{label[over]} / {label[under]}, {name} (medians)",
            (statistics.median(figures[over][key]) / statistics.median(figures[under][key]),),
            "x",
            target,
        )
        for name, key, target in rows
    ]


def report(title: str, figures: Sequence[Figure], command: str, notes: Sequence[str] = ()) -> bool:
    """Print the figures with their targets and the command that reproduces them; True if all passed."""
    print(f"\n== {title}")
    for note in notes:
        print(f"   {note}")
    for figure in figures:
        print(f"   {figure.line()}")
    print(f"   rerun: {command}")
    return all(figure.passed is not False for figure in figures)


def rerun_command(script: str, argv: Sequence[str]) -> str:
    """The command line that reproduces this run, from the repository root."""
    return shlex.join([".venv/bin/python", f"bench/{script}", *argv])


def emulator_env() -> dict[str, str]:
    """The environment an EmulatorProcess child needs to import this checkout."""
    return {"PYTHONPATH": str(REPO)}

"""The Spark target of the test suite: dbt-spark's `session` method, a local SparkSession in the test process.

A SparkSession is one per process (pyspark's `getOrCreate`), and its warehouse directory and metastore are
fixed when it starts (10-20 s): each xdist worker starts one, in a directory of its own under pytest's
temporary directory, and every Spark test of the worker shares it, each in schemas of its own (dropped
afterwards, like the Postgres tests' schemas). All Spark tests are in one xdist group (`conftest.py`), so
one worker starts Spark in a run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# The warehouses of a test chosen to run on Spark as well:
# `@pytest.mark.parametrize("warehouse", WITH_SPARK, indirect=True)`. Spark tests are slow (a statement
# takes 0.1-1 s, a dbt build about 5-10 s once the session is warm), so only a chosen subset runs there.
WITH_SPARK = ("duckdb", "postgres", "spark")

# The driver binds to loopback, not to the machine's first interface (nothing leaves this machine).
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def session_parameters(home: Path) -> dict[str, str]:
    """The profile's `server_side_parameters`: dbt-spark's session method passes each to the SparkSession
    builder (`.config(key, value)`), after `enableHiveSupport()`."""
    return {
        "spark.master": "local[2]",
        "spark.app.name": "dbt-intacct-tests",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        # Small data: two shuffle partitions instead of 200 (each one a task, ~10 ms).
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.codegen.wholeStage": "false",
        "spark.default.parallelism": "2",
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        # The embedded Derby metastore (Hive catalog) and its log under the same directory, not in the cwd.
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home}",
        "spark.driver.memory": "1g",
        # dbt-spark's seeds and tables name no format (no `file_format` config): parquet, as the tool's own
        # tables, rather than Hive text tables.
        "spark.sql.legacy.createHiveTableByDefault": "false",
        # As dbt-spark sets it on every connection: Spark 3's non-ANSI semantics on Spark 3 and 4 alike.
        "spark.sql.ansi.enabled": "false",
    }


def profile_output(home: Path, schema: str) -> dict[str, Any]:
    """A dbt-spark output in `method: session` (no host: the session is local)."""
    return {
        "type": "spark",
        "method": "session",
        "host": "NA",
        "schema": schema,
        "threads": 1,
        "server_side_parameters": session_parameters(home),
    }


def session(home: Path) -> Any:
    """The process's SparkSession, started as dbt-spark starts it when it is not running yet."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_parameters(home).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")  # not a warning per statement on the test's stderr
    return spark


# dbt-spark's session cursor splices each seed value into its INSERT as '<str(value)>': a NULL becomes the
# text 'None' and a quote ends the literal. The test projects load their seeds with literals escaped the
# way Spark reads them (a quote as \', a backslash as \\). Not the tool's code: only how the tests' data
# gets into Spark.
SEED_MACRO = r"""
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set sql -%}
  insert into {{ this.render() }} values
  {%- for row in agate_table.rows %}
    ({%- for value in row -%}
      {%- set inferred = adapter.convert_type(agate_table, loop.index0) -%}
      {%- set type = column_override.get(agate_table.column_names[loop.index0], inferred) -%}
      {%- if value is none -%}cast(null as {{ type }})
      {%- elif value is sameas true or value is sameas false -%}{{ 'true' if value else 'false' }}
      {%- elif value is number -%}cast('{{ value }}' as {{ type }})
      {%- else -%}cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
      {%- endif -%}{%- if not loop.last %}, {% endif -%}
    {%- endfor -%}){%- if not loop.last %},{% endif -%}
  {%- endfor %}
  {%- endset -%}
  {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
  {{ return(sql) }}
{% endmacro %}
"""


# The reader run in a child process: it starts a SparkSession on `home`, runs each statement and prints
# one JSON line after a marker (Spark may print to stdout too).
_READER = """\
import json, sys
from pathlib import Path
from tests.support.spark import session
statements = json.loads(sys.stdin.read())
spark = session(Path(sys.argv[1]))
answers = []
for sql in statements:
    try:
        answers.append({"rows": [list(row) for row in spark.sql(sql).collect()]})
    except Exception as error:  # the caller decides (a table that does not exist yet, say)
        answers.append({"error": str(error).splitlines()[0]})
print(sys.argv[2] + json.dumps(answers, default=str))
"""
_MARK = "@@answers@@"


def query_in_child(home: Path, statements: list[str]) -> list[list[tuple[Any, ...]] | str]:
    """Run `statements` on a SparkSession in a child process; for each, its rows or its error's first
    line. Derby, the embedded metastore, admits one JVM: a test that lets a sync in another process use
    the metastore never opens it in its own (10-20 s per call: a JVM each time)."""
    repo = Path(__file__).resolve().parents[2]
    path = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-c", _READER, str(home), _MARK],
        input=json.dumps(statements),
        capture_output=True,
        text=True,
        cwd=home,
        env=env,
        timeout=300,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not lines:
        output = f"{done.stdout}\n{done.stderr[-3000:]}"
        raise AssertionError(f"the Spark reader failed ({done.returncode}):\n{output}")
    answers = json.loads(lines[-1][len(_MARK) :])
    return [[tuple(r) for r in a["rows"]] if "rows" in a else str(a["error"]) for a in answers]

"""The macros are parsed once per process and per unchanged project, and an edited macro file is seen."""

from __future__ import annotations

import os

import pytest

from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from tests.support.project import DbtProject


def _open_and_render(project: DbtProject) -> tuple[str, dict[str, object]]:
    with Warehouse(DbtArgs(project_dir=project.root, profiles_dir=project.root)).open() as w:
        rendered = w.render("probe_macro")
        return rendered.strip(), dict(w._manifest.macros)


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_an_edited_added_or_removed_macro_file_is_seen_and_the_rest_is_reused(project: DbtProject) -> None:
    macros = project.root / "macros"
    macros.mkdir(exist_ok=True)
    probe = macros / "probe.sql"
    probe.write_text("{% macro probe_macro() %}select 1{% endmacro %}\n")
    first, before = _open_and_render(project)
    assert first == "select 1"

    # Same size, so only the modification time tells the edit apart.
    probe.write_text("{% macro probe_macro() %}select 2{% endmacro %}\n")
    stat = probe.stat()
    os.utime(probe, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    (macros / "more.sql").write_text("{% macro more_macro() %}select 3{% endmacro %}\n")
    second, after = _open_and_render(project)
    assert second == "select 2"
    assert "macro.proj.more_macro" in after
    # The adapter's and the package's macros were not parsed again: the very same objects.
    assert after["macro.dbt.run_query"] is before["macro.dbt.run_query"]
    assert after["macro.dbt_intacct.dbt_intacct__row_key"] is before["macro.dbt_intacct.dbt_intacct__row_key"]

    (macros / "more.sql").unlink()
    _, removed = _open_and_render(project)
    assert "macro.proj.more_macro" not in removed

"""A saved plan as markdown, to paste into a review (a pull request, a ticket): what each model would do,
what was rejected and why, and every function, with how to apply the plan."""

from __future__ import annotations

from pathlib import Path

from dbt_intacct.sync.plan_file import SavedPlan, summary_path

ACTIONS = ("create", "update", "clear", "delete")
MAX_LISTED = 500  # functions listed per model (the JSON file has them all)
MAX_ERRORS = 50


def write_plan(plan: SavedPlan, path: Path) -> Path:
    """Write the plan file and, next to it, its markdown summary; returns the summary's path."""
    plan.write(path)
    summary = summary_path(path)
    summary.write_text(summary_markdown(plan, path))
    return summary


def summary_markdown(plan: SavedPlan, path: Path) -> str:
    lines = [
        f"# dbt-intacct plan `{plan.checksum[7:19]}`",
        "",
        f"- Target `{plan.target}`, state schema `{plan.state_schema}`, made {plan.created_at}",
        f"- {len(plan.functions)} function(s) to send, {plan.api_transactions} Intacct API transaction(s)",
        f"- Plan file `{path.name}`, checksum `{plan.checksum}`",
    ]
    if plan.allow_large_changes:
        lines.append("- Made with `--allow-large-changes`: the guard against mass changes is lifted")
    if plan.full_refresh:
        lines.append("- Made with `--full-refresh`: every row of update/upsert models is sent again")
    lines += [
        "",
        "| model | object | mode | " + " | ".join(ACTIONS) + " | unchanged | rejected | API txns | status |",
        "|---|---|---|" + "---:|" * (len(ACTIONS) + 3) + "---|",
    ]
    for m in plan.models:
        cells = [str(m.counts.get(a, 0)) for a in ACTIONS]
        cells += [
            str(m.counts.get("unchanged", 0)),
            str(m.counts.get("rejected", 0)),
            str(m.api_transactions),
        ]
        lines.append(f"| {m.name} | {m.object} | {m.mode} | " + " | ".join(cells) + f" | {m.status} |")
    for m in plan.models:
        if m.message:
            lines += ["", f"**{m.name}** ({m.status}): {m.message}"]
        if m.errors:
            lines += ["", f"**{m.name}**: rows not in the plan", ""]
            for e in m.errors[:MAX_ERRORS]:
                field = f", field `{e.get('field')}`" if e.get("field") else ""
                lines.append(f"- key `{e.get('row_key')}`{field}: {e.get('message')}")
    for m in plan.models:
        functions = [f for f in plan.functions if f["model"] == m.unique_id]
        if not functions:
            continue
        lines += ["", f"## {m.name}", "", "| action | row key | RECORDNO | control ID |", "|---|---|---|---|"]
        for f in functions[:MAX_LISTED]:
            lines.append(f"| {f['action']} | `{f['row_key']}` | {f['recordno'] or ''} | `{f['controlid']}` |")
        if len(functions) > MAX_LISTED:
            lines.append(f"\n... and {len(functions) - MAX_LISTED} more (all of them are in `{path.name}`)")
        lines += [
            "",
            "<details><summary>First payload</summary>",
            "",
            "```xml",
            functions[0]["body"],
            "```",
            "",
            "</details>",
        ]
    lines += [
        "",
        "## Apply",
        "",
        f"`dbt-intacct sync --plan {path.name}` sends exactly these functions with these control IDs. If the",
        "models' rows or the state changed since the plan was made, it sends nothing and exits 2.",
        "",
    ]
    return "\n".join(lines)

"""The delete behaviour of rows that left a model, planned page by page (for `planning.Planner`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import RecordRef
from dbt_intacct.results import RowError
from dbt_intacct.state.ledger import RowOutcome
from dbt_intacct.state.tables import CLEARED, DROPPED, REJECTED
from dbt_intacct.sync.planned import CLEAR, DELETE, REVERSE, PagePlan

Row = dict[str, Any]


def plan_removals(planner: Any, page: Sequence[Row]) -> PagePlan:
    """Plan the delete behaviour of one page of rows that left `planner`'s model."""
    plan = PagePlan()
    clear_fields = [k for k in planner.spec.mapping if k not in planner.obj.lines]
    reverse = planner.spec.delete == "reverse"
    nothing_to_clear = (
        planner.spec.delete == "clear"
        and not planner.obj.clearable_fields(clear_fields)
        and not planner.spec.custom_fields
    )
    if reverse:
        planner.reversals.load([str(r["row_key"]) for r in page if r["recordno"] or r["intacct_id"]])
    for row in page:
        known = bool(row["recordno"] or row["intacct_id"])
        if planner.spec.delete == "clear" and nothing_to_clear and known:
            # Every mapped field is identifying or required: clearing would be an empty update.
            plan.outcomes.append(
                RowOutcome.of_state(row, CLEARED, message="left the model; no mapped field can be cleared")
            )
            continue
        if not known or planner.spec.delete == "nothing":
            planner.result.counts["dropped"] += 1
            plan.outcomes.append(
                RowOutcome.of_state(row, DROPPED, message="left the model before it reached Intacct")
            )
            continue
        ref = RecordRef(recordno=row["recordno"], id=row["intacct_id"])
        try:
            if reverse:
                # The row is gone: its reversal is dated the run's date.
                body = planner.reversals.build(str(row["row_key"]), ref.recordno, planner.reversals.run_date)
                action = REVERSE
            elif planner.spec.delete == "delete":
                body, action = planner.obj.build_delete(ref), DELETE
            else:
                body = planner.obj.build_clear(ref, clear_fields, list(planner.spec.custom_fields))
                action = CLEAR
        except RowRejected as exc:
            planner.result.counts["rejected"] += 1
            planner.result.add_error(RowError(row_key=row["row_key"], field=exc.field, message=exc.reason))
            plan.outcomes.append(RowOutcome.of_state(row, REJECTED, message=str(exc)))
            continue
        plan.functions.append(
            # In the entity its record belongs to, as the state knows it.
            planner._planned(
                row["row_key"], None, action, ref, int(row["version"]), body, entity=row.get("entity")
            )
        )
    return plan

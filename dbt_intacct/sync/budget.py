"""The price of a run before it starts: `--max-transactions` and the monthly transaction budget.

A sync is priced as a plan would price it (the same figure `plan` shows, which is what the sync then
spends). It sends nothing when that price is over `--max-transactions`, or when this calendar month's
spend (UTC, sync runs recorded in the run history) plus the price would go over the monthly budget of
the connections it uses, unless `--allow-over-budget` is given; the run history then records that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dbt_intacct.config import IntacctConfig
from dbt_intacct.errors import ConfigError
from dbt_intacct.observe.history import month_spend
from dbt_intacct.results import Budget
from dbt_intacct.state import StateTables
from dbt_intacct.sync.model import PreparedModel


class OverBudget(ConfigError):
    """The run would spend more API transactions than --max-transactions or the monthly budget allow."""


@dataclass(frozen=True)
class PriceCheck:
    """What the check found: the run's price, and the budget's verdict when one applies."""

    price: int
    budget: Budget | None
    over_by: int  # transactions past the monthly budget after this run (0: within it)

    def override_note(self) -> str:
        """What the run history records when --allow-over-budget lets an over-budget sync go."""
        assert self.budget is not None
        return (
            f"--allow-over-budget: planned {self.price:,} API transactions, this month "
            f"{self.budget.spent_this_month + self.price:,} of {self.budget.monthly:,} "
            f"({self.over_by:,} over)"
        )


def month_start(now: datetime | None = None) -> datetime:
    """The first moment of the current calendar month, UTC, without a zone (as the run history)."""
    moment = now or datetime.now(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


def monthly_budget(
    tables: StateTables, config: IntacctConfig | None, prepared: Sequence[PreparedModel]
) -> Budget | None:
    """The monthly budget of the connections the run uses, and what syncs spent this month; None when
    no connection has one."""
    budgets = [
        b
        for name in sorted({p.spec.connection for p in prepared})
        if config and (b := config.connection(name).monthly_transaction_budget) is not None
    ]
    if not budgets:
        return None
    return Budget(monthly=sum(budgets), spent_this_month=month_spend(tables, month_start()))


def check_price(
    *,
    tables: StateTables,
    config: IntacctConfig | None,
    prepared: Sequence[PreparedModel],
    priced: Callable[[], int],
    max_transactions: int | None,
    allow_over_budget: bool,
) -> PriceCheck | None:
    """Price the run (`priced` is called only when a limit applies) and refuse it (OverBudget, nothing
    sent) when it is over a limit; None when no limit applies (the run is then not priced)."""
    budget = monthly_budget(tables, config, prepared)
    if max_transactions is None and budget is None:
        return None
    price = priced()
    if max_transactions is not None and price > max_transactions:
        raise OverBudget(
            f"this sync would spend {price:,} Intacct API transactions, more than --max-transactions "
            f"{max_transactions:,}; nothing was sent. Run `dbt-intacct plan` to see where they go."
        )
    over_by = 0
    if budget is not None and price:  # a run that spends nothing never takes the month further over
        over_by = max(budget.spent_this_month + price - budget.monthly, 0)
    check = PriceCheck(price=price, budget=budget, over_by=over_by)
    if over_by and not allow_over_budget:
        assert budget is not None
        raise OverBudget(
            f"this sync would spend {price:,} Intacct API transactions; with the {budget.spent_this_month:,} "
            f"spent this month that is {budget.spent_this_month + price:,}, {over_by:,} over the monthly "
            f"budget of {budget.monthly:,} (monthly_transaction_budget in intacct.yml). Nothing was sent. "
            "`dbt-intacct sync --allow-over-budget` sends anyway; `dbt-intacct plan` shows where they go."
        )
    return check

"""The rows the resilience tests sync, the dbt project that holds them, and the exactly-once check.

Two models, as a user would write them: customers (upsert, matched by CUSTOMERID, deleted in Intacct
when they leave the model) and journal entries (insert only, each carrying its own key in REFERENCENO so
that a duplicate posting can be told apart from a legitimate one). The dataset is generated from a seed,
so a failing run can be repeated exactly.
"""

from __future__ import annotations

import os
import random
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests.support.project import DbtProject, rows_csv

SEED_VARIABLE = "DBT_INTACCT_TEST_SEED"
DEFAULT_SEED = 20261128

CUSTOMERS_MODEL = "intacct_customers"
ENTRIES_MODEL = "intacct_journal_entries"

_WORDS = ("Acme", "Blue", "Cobalt", "Delta", "Échos", "Fjord", "Garnet", "Hollow", "Iris", "Jade", "Kite")
_NOUNS = ("Labs", "& Sons", "<Holdings>", "Analytics", "Outfitters", "Médias", "O'Hara", "Foods")
_CITIES = ("Paris", "São Paulo", "Zürich", "Oslo", "Boulder", "Lyon", "Kraków")
_REGIONS = ("EMEA", "AMER", "APAC")
_ACCOUNTS = ("1000", "1200", "2000", "4000", "6000", "6500")


def seed_from_environment() -> int:
    """The seed of every random choice: DBT_INTACCT_TEST_SEED when set, else a fixed default."""
    value = os.environ.get(SEED_VARIABLE, "").strip()
    return int(value) if value else DEFAULT_SEED


@dataclass(frozen=True)
class Customer:
    code: str
    name: str
    email: str
    city: str
    region: str


@dataclass(frozen=True)
class JournalLine:
    account: str
    amount: Decimal  # signed: positive = debit
    memo: str


@dataclass(frozen=True)
class JournalEntry:
    entry_id: str
    title: str
    posting_date: date
    lines: tuple[JournalLine, ...]


@dataclass(frozen=True)
class Dataset:
    """What the two models hold, plus the customers that left the model (deleted in Intacct)."""

    customers: tuple[Customer, ...]
    entries: tuple[JournalEntry, ...]
    removed: frozenset[str] = field(default_factory=frozenset)

    @property
    def rows(self) -> int:
        return len(self.customers) + len(self.entries)

    @classmethod
    def generate(cls, rng: random.Random, customers: int, entries: int) -> Dataset:
        return cls(
            customers=tuple(_customer(rng, n) for n in range(1, customers + 1)),
            entries=tuple(_entry(rng, n) for n in range(1, entries + 1)),
        )

    def evolve(
        self, rng: random.Random, *, renamed: int, removed: int, new_customers: int, new_entries: int
    ) -> Dataset:
        """A later state of the models: some customers renamed, some gone, new customers and entries."""
        kept = list(self.customers)
        gone = set(rng.sample([c.code for c in kept], removed))
        kept = [c for c in kept if c.code not in gone]
        for index in rng.sample(range(len(kept)), renamed):
            kept[index] = replace(kept[index], name=f"{kept[index].name} (renamed {rng.randint(10, 99)})")
        first_customer = max(int(c.code[1:]) for c in self.customers) + 1
        first_entry = max(int(e.entry_id[3:]) for e in self.entries) + 1
        return Dataset(
            customers=tuple(kept)
            + tuple(_customer(rng, n) for n in range(first_customer, first_customer + new_customers)),
            entries=self.entries
            + tuple(_entry(rng, n) for n in range(first_entry, first_entry + new_entries)),
            removed=frozenset(self.removed | gone),
        )


def _customer(rng: random.Random, n: int) -> Customer:
    return Customer(
        code=f"C{n:05d}",
        name=f"{rng.choice(_WORDS)} {rng.choice(_NOUNS)} {n}",
        email=f"ap{n}@example.com",
        city=rng.choice(_CITIES),
        region=rng.choice(_REGIONS),
    )


def _entry(rng: random.Random, n: int) -> JournalEntry:
    debits = [Decimal(rng.randint(100, 999_999)) / 100 for _ in range(rng.randint(1, 3))]
    lines = [JournalLine(rng.choice(_ACCOUNTS), amount, f"line {i + 1}") for i, amount in enumerate(debits)]
    lines.append(JournalLine(rng.choice(_ACCOUNTS), -sum(debits, Decimal(0)), "balancing line"))
    return JournalEntry(
        entry_id=f"JE-{n:05d}",
        title=f"Accrual {n} {rng.choice(_WORDS)}",
        posting_date=date(2026, 10, 1) + timedelta(days=n % 28),
        lines=tuple(lines),
    )


# -- the dbt project ------------------------------------------------------------------------------------

# One plain customers model (code, name) for the scenarios that need no dataset.
CUSTOMERS_YML = """\
models:
  - name: intacct_customers
    config:
      meta:
        intacct:
          object: customer
          mode: upsert
          primary_key: code
          mapping:
            CUSTOMERID: code
            NAME: name
          delete: delete
"""

CUSTOMERS_ENTRY = f"""\
  - name: {CUSTOMERS_MODEL}
    config:
      meta:
        intacct:
          object: customer
          mode: upsert
          primary_key: code
          mapping:
            CUSTOMERID: code
            NAME: name
            DISPLAYCONTACT.PRINTAS: name
            DISPLAYCONTACT.EMAIL1: email
            DISPLAYCONTACT.MAILADDRESS.CITY: city
          custom_fields:
            REGION: region
          delete: delete
"""
ENTRIES_ENTRY = f"""\
  - name: {ENTRIES_MODEL}
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
              mapping: {{ACCOUNTNO: account, AMOUNT: amount, DESCRIPTION: memo}}
"""
SCHEMA_YML = "models:\n" + CUSTOMERS_ENTRY + ENTRIES_ENTRY


def lines_sql(warehouse: str) -> str:
    """One struct per journal line, as each warehouse holds arrays (DuckDB LIST of STRUCT, Postgres jsonb)."""
    if warehouse == "spark":
        # collect_list keeps no order: (line number, line) structs are sorted, then the lines kept.
        line = (
            "named_struct('account', cast(account as string), 'amount', cast(amount as decimal(18,2)), "
            "'memo', memo)"
        )
        return f"transform(array_sort(collect_list(struct(line_no as o, {line} as l))), x -> x.l)"
    if warehouse == "duckdb":
        return (
            "list(struct_pack(account := cast(account as varchar), amount := cast(amount as decimal(18,2)), "
            "memo := memo) order by line_no)"
        )
    return (
        "jsonb_agg(jsonb_build_object('account', cast(account as varchar), 'amount', "
        "cast(amount as decimal(18,2)), 'memo', memo) order by line_no)"
    )


def entries_model_sql(warehouse: str) -> str:
    """The journal entries model: one row per entry, its lines aggregated from the `gl_lines` seed."""
    return (
        "select entry_id, cast(posting_date as date) as posting_date, title, "
        f"{lines_sql(warehouse)} as lines from {{{{ ref('gl_lines') }}}} "
        "group by entry_id, posting_date, title"
    )


def write_models(project: DbtProject) -> None:
    """The two models and their YAML; the seeds they read are written by `write_dataset`."""
    project.model(CUSTOMERS_MODEL, "select * from {{ ref('crm_customers') }}")
    project.model(ENTRIES_MODEL, entries_model_sql(project.warehouse))
    project.schema_yml(SCHEMA_YML)
    text_type = "string" if project.warehouse == "spark" else "varchar"  # Spark's varchar needs a length
    project.seed_column_types(
        "crm_customers", {column: text_type for column in ("code", "name", "email", "city", "region")}
    )
    # Two seeds in one `seeds:` block: seed_column_types appends a whole block per call.
    text = (project.root / "dbt_project.yml").read_text()
    text += textwrap.indent(
        f"gl_lines:\n  +column_types: {{entry_id: {text_type}, account: {text_type}, "
        "amount: 'decimal(18,2)'}\n",
        "    ",
    )
    (project.root / "dbt_project.yml").write_text(text)


def write_dataset(project: DbtProject, dataset: Dataset) -> None:
    """Write the seeds for `dataset` (dbt build makes the models from them)."""
    project.seed(
        "crm_customers",
        rows_csv(
            ("code", "name", "email", "city", "region"),
            [(c.code, _csv_text(c.name), c.email, c.city, c.region) for c in dataset.customers],
        ),
    )
    project.seed(
        "gl_lines",
        rows_csv(
            ("entry_id", "posting_date", "title", "line_no", "account", "amount", "memo"),
            [
                (e.entry_id, e.posting_date.isoformat(), e.title, i + 1, line.account, line.amount, line.memo)
                for e in dataset.entries
                for i, line in enumerate(e.lines)
            ],
        ),
    )


def _csv_text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\n') else value


# -- the exactly-once check -----------------------------------------------------------------------------


@dataclass
class Verdict:
    """What differs between the models, Intacct (the emulator) and the state, sorted by kind.

    duplicates/missing/extra/content compare the models with Intacct: the exactly-once promise.
    state compares the state table with Intacct, record for record.
    """

    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)

    @property
    def intacct_ok(self) -> bool:
        return not (self.duplicates or self.missing or self.extra or self.content)

    @property
    def ok(self) -> bool:
        return self.intacct_ok and not self.state

    def describe(self, limit: int = 8) -> str:
        parts = []
        for name in ("duplicates", "missing", "extra", "content", "state"):
            items: list[str] = getattr(self, name)
            if items:
                shown = "; ".join(items[:limit]) + (
                    f"; ... {len(items) - limit} more" if len(items) > limit else ""
                )
                parts.append(f"{name} ({len(items)}): {shown}")
        return "\n".join(parts) or "exactly once: every row once in Intacct, the state matching it"


def state_rows(project: DbtProject, state_schema: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Every state row, by (model name, row key); none before the first sync created the table."""
    schema = state_schema or project.state_schema
    rows = project.rows_if_table(
        schema,
        "intacct_state",
        "select model_id, row_key, status, recordno, intacct_id, controlid, action, error, run_id "
        f"from {schema}.intacct_state",
    )
    if rows is None:
        return {}
    return {
        (str(r[0]).rsplit(".", 1)[-1], str(r[1])): {
            "status": r[2],
            "recordno": None if r[3] is None else str(r[3]),
            "intacct_id": r[4],
            "controlid": r[5],
            "action": r[6],
            "error": r[7],
            "run_id": r[8],
        }
        for r in rows
    }


def verify(
    dataset: Dataset,
    customers: Sequence[Mapping[str, Any]],
    batches: Sequence[Mapping[str, Any]],
    state: Mapping[tuple[str, str], Mapping[str, Any]],
) -> Verdict:
    """Compare the models (`dataset`) with the emulator's CUSTOMER and GLBATCH records and the state."""
    verdict = Verdict()
    _verify_customers(dataset, customers, state, verdict)
    _verify_entries(dataset, batches, state, verdict)
    return verdict


def _by_key(records: Iterable[Mapping[str, Any]], key: str, what: str, verdict: Verdict) -> dict[str, Any]:
    counts = Counter(str(r.get(key)) for r in records)
    verdict.duplicates.extend(f"{what} {key}={k} x{n}" for k, n in sorted(counts.items()) if n > 1)
    return {str(r.get(key)): r for r in records}


def _verify_customers(
    dataset: Dataset,
    records: Sequence[Mapping[str, Any]],
    state: Mapping[tuple[str, str], Mapping[str, Any]],
    verdict: Verdict,
) -> None:
    found = _by_key(records, "CUSTOMERID", "CUSTOMER", verdict)
    wanted = {c.code: c for c in dataset.customers}
    verdict.missing.extend(f"CUSTOMER {code}" for code in sorted(set(wanted) - set(found)))
    verdict.extra.extend(
        f"CUSTOMER {code}" + (" (left the model: should be deleted)" if code in dataset.removed else "")
        for code in sorted(set(found) - set(wanted))
    )
    for code, customer in sorted(wanted.items()):
        record = found.get(code)
        if record is None:
            continue
        contact = record.get("DISPLAYCONTACT") or {}
        seen = {
            "NAME": record.get("NAME"),
            "PRINTAS": contact.get("PRINTAS"),
            "EMAIL1": contact.get("EMAIL1"),
            "CITY": (contact.get("MAILADDRESS") or {}).get("CITY"),
            "REGION": record.get("REGION"),
        }
        expected = {
            "NAME": customer.name,
            "PRINTAS": customer.name,
            "EMAIL1": customer.email,
            "CITY": customer.city,
            "REGION": customer.region,
        }
        for name, value in expected.items():
            if seen[name] != value:
                verdict.content.append(f"CUSTOMER {code} {name}: Intacct has {seen[name]!r}, model {value!r}")
        _check_state(verdict, state, CUSTOMERS_MODEL, code, str(record.get("RECORDNO")))
    for code in sorted(dataset.removed):
        row = state.get((CUSTOMERS_MODEL, code))
        if row is None or row["status"] != "deleted":
            verdict.state.append(
                f"{CUSTOMERS_MODEL} {code} left the model: state is {row and row['status']!r}, not 'deleted'"
            )


def _verify_entries(
    dataset: Dataset,
    records: Sequence[Mapping[str, Any]],
    state: Mapping[tuple[str, str], Mapping[str, Any]],
    verdict: Verdict,
) -> None:
    found = _by_key(records, "REFERENCENO", "GLBATCH", verdict)
    wanted = {e.entry_id: e for e in dataset.entries}
    verdict.missing.extend(f"GLBATCH {key}" for key in sorted(set(wanted) - set(found)))
    verdict.extra.extend(f"GLBATCH {key}" for key in sorted(set(found) - set(wanted)))
    for key, entry in sorted(wanted.items()):
        record = found.get(key)
        if record is None:
            continue
        lines = (record.get("ENTRIES") or {}).get("GLENTRY") or []
        if isinstance(lines, Mapping):
            lines = [lines]
        seen = (
            record.get("BATCH_TITLE"),
            record.get("BATCH_DATE"),
            [(g.get("ACCOUNTNO"), g.get("TR_TYPE"), Decimal(str(g.get("TRX_AMOUNT")))) for g in lines],
        )
        expected = (
            entry.title,
            entry.posting_date.strftime("%m/%d/%Y"),
            [(line.account, "1" if line.amount >= 0 else "-1", abs(line.amount)) for line in entry.lines],
        )
        if seen != expected:
            verdict.content.append(f"GLBATCH {key}: Intacct has {seen!r}, model {expected!r}")
        _check_state(verdict, state, ENTRIES_MODEL, key, str(record.get("RECORDNO")))


def _check_state(
    verdict: Verdict,
    state: Mapping[tuple[str, str], Mapping[str, Any]],
    model: str,
    key: str,
    recordno: str,
) -> None:
    row = state.get((model, key))
    if row is None:
        verdict.state.append(f"{model} {key}: no state row (Intacct has RECORDNO {recordno})")
    elif row["status"] != "ok":
        verdict.state.append(f"{model} {key}: state {row['status']!r} (Intacct has RECORDNO {recordno})")
    elif row["recordno"] != recordno:
        verdict.state.append(f"{model} {key}: state RECORDNO {row['recordno']!r}, Intacct has {recordno}")

"""The package's macros rendered for a warehouse that is not here, without a connection.

dbt renders a macro with every other macro in its context and resolves `adapter.dispatch(name,
'dbt_intacct')` by trying `<adapter>__name`, then each parent adapter's prefix, then `default__name`
(dbt-redshift declares dbt-postgres as its parent, dbt-databricks dbt-spark). `MacroRenderer` does the
same with dbt's own Jinja environment and block splitter, for one adapter type: each macro is compiled
alone, and calls go through the context, so that `return(...)` ends the macro that called it.

The adapters of the four warehouses written from documentation (Snowflake, BigQuery, Databricks,
Redshift) are not installed here, so their cross-database macros (`dbt.type_string()`, `dbt.hash()`, ...)
cannot be rendered: for them the `dbt` namespace refuses every call, and the package's macros must say
what they mean in the warehouse's own terms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_common.clients.jinja import extract_toplevel_blocks, get_dbt_macro_name, get_environment
from dbt_common.exceptions import CompilationError
from dbt_common.exceptions.macros import MacroReturn

from dbt_intacct.dbt.values import string_literal
from dbt_intacct.dbt.warehouse import PACKAGE_PROJECT_DIR, DbtArgs, Warehouse, WarehouseColumn

MACRO_DIR = PACKAGE_PROJECT_DIR / "macros"
NAMESPACE = "dbt_intacct"

# Dispatch order of each adapter type (the adapter, its parents, then default).
PREFIXES: dict[str, tuple[str, ...]] = {
    "snowflake": ("snowflake", "default"),
    "bigquery": ("bigquery", "default"),
    "databricks": ("databricks", "spark", "default"),
    "redshift": ("redshift", "postgres", "default"),
}
# How each quotes an identifier (`adapter.quote`) and which sqlglot dialect parses its SQL.
QUOTES = {"snowflake": '"', "bigquery": "`", "databricks": "`", "redshift": '"'}
SQLGLOT_DIALECT = {
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "redshift": "redshift",
}
DIALECTS = tuple(PREFIXES)


@dataclass(frozen=True)
class Relation:
    """A relation as dbt renders it for the adapter: each part quoted the adapter's way."""

    database: str | None
    schema: str
    identifier: str
    quote_char: str

    def __str__(self) -> str:
        parts = [p for p in (self.database, self.schema, self.identifier) if p]
        q = self.quote_char
        return ".".join(f"{q}{p}{q}" for p in parts)


class _Refused:
    """The `dbt` namespace for an adapter that is not installed: every macro of it is refused."""

    def __init__(self, adapter_type: str) -> None:
        self._adapter_type = adapter_type

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def refuse(*_: Any, **__: Any) -> Any:
            raise AssertionError(
                f"dbt.{name}() rendered for {self._adapter_type}: the adapter is not installed here, so "
                "its cross-database macros cannot be rendered; the dialect must say it itself"
            )

        return refuse


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message: str) -> None:
        raise CompilationError(message)


class _Adapter:
    def __init__(self, renderer: MacroRenderer) -> None:
        self._renderer = renderer

    def type(self) -> str:
        return self._renderer.adapter_type

    def quote(self, identifier: str) -> str:
        q = QUOTES[self._renderer.adapter_type]
        return f"{q}{identifier}{q}"

    def dispatch(self, name: str, macro_namespace: str | None = None) -> Callable[..., Any]:
        assert macro_namespace == NAMESPACE, f"dispatch of {name} without the package's namespace"
        return self._renderer.macro(self._renderer.resolve(name))


class MacroRenderer:
    """Every macro of the package, rendered for one adapter type."""

    def __init__(self, adapter_type: str, macro_dir: Path = MACRO_DIR) -> None:
        self.adapter_type = adapter_type
        self.sources: dict[str, str] = {}
        self.files: dict[str, Path] = {}
        for path in sorted(macro_dir.rglob("*.sql")):
            for block in extract_toplevel_blocks(path.read_text(), allowed_blocks={"macro"}):
                if getattr(block, "block_type_name", None) != "macro":
                    continue
                name = str(block.block_name)
                assert name not in self.sources, f"macro {name} defined twice ({self.files[name]}, {path})"
                self.sources[name] = block.full_block
                self.files[name] = path
        self._env = get_environment()
        self._compiled: dict[str, Callable[..., Any]] = {}
        self.context: dict[str, Any] = {
            "adapter": _Adapter(self),
            "dbt": _Refused(adapter_type),
            "exceptions": _Exceptions(),
            "return": _return,
            "var": lambda _name, default=None: default,  # no project vars: every macro's default
            "target": {"database": "db", "schema": "analytics", "type": adapter_type},
            "none": None,
        }
        self.dispatched: list[str] = []  # the macros dispatch chose, in order

    def resolve(self, name: str) -> str:
        """The macro `adapter.dispatch(name, 'dbt_intacct')` finds for this adapter type."""
        for prefix in PREFIXES[self.adapter_type]:
            candidate = f"{prefix}__{name}"
            if candidate in self.sources:
                self.dispatched.append(candidate)
                return candidate
        raise CompilationError(f"no macro for {name} on {self.adapter_type}")

    def implementations(self, name: str) -> list[str]:
        """Which adapter types' macros of a dispatched name the package has."""
        return [n.split("__", 1)[0] for n in self.sources if n.endswith(f"__{name}") and "__" in n]

    def macro(self, name: str) -> Callable[..., Any]:
        if name not in self._compiled:
            if name not in self.sources:
                raise CompilationError(f"no macro {name}")
            module = self._env.from_string(self.sources[name], globals=self._globals()).make_module()
            jinja_macro = getattr(module, get_dbt_macro_name(name))

            def call(*args: Any, **kwargs: Any) -> Any:
                try:
                    return jinja_macro(*args, **kwargs)
                except MacroReturn as returned:
                    return returned.value

            self._compiled[name] = call
        return self._compiled[name]

    def _globals(self) -> dict[str, Any]:
        return _MacroContext(self)

    def render(self, macro_name: str, /, **kwargs: Any) -> str:
        """A macro's text, stripped, as `Warehouse.render` gives it."""
        return str(self.macro(macro_name)(**kwargs)).strip()

    def relation(
        self, identifier: str, schema: str = "analytics_intacct", database: str | None = "db"
    ) -> Relation:
        return Relation(database, schema, identifier, QUOTES[self.adapter_type])

    def literal(self, text: str) -> str:
        """A string literal the way `Warehouse.literal` writes one for this adapter."""
        return string_literal(text, self.adapter_type)


class _MacroContext(dict[str, Any]):
    """The context a macro is compiled with: the fixed names, then every macro of the package by name."""

    def __init__(self, renderer: MacroRenderer) -> None:
        super().__init__(renderer.context)
        self._renderer = renderer

    def __missing__(self, key: str) -> Any:
        if key in self._renderer.sources:
            return self._renderer.macro(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or key in self._renderer.sources


def _return(value: Any) -> None:
    raise MacroReturn(value)


def statements(sql: str) -> list[str]:
    """The statements of a rendered script (`;`-separated, as the Python side runs them one by one)."""
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", sql) if s.strip()]


def dispatched_names(macro_dir: Path = MACRO_DIR) -> Iterable[str]:
    """The names the package dispatches (`adapter.dispatch('name', 'dbt_intacct')`)."""
    found: set[str] = set()
    for path in macro_dir.rglob("*.sql"):
        found.update(re.findall(r"adapter\.dispatch\('([a-z_0-9]+)',\s*'dbt_intacct'\)", path.read_text()))
    return sorted(found)


class RecordingWarehouse(Warehouse):
    """A `Warehouse` of an adapter type that is not installed: macros rendered by `MacroRenderer`,
    statements recorded instead of run, reads answered from `answers` (first pattern found in the SQL,
    else no row). The tool's state code runs against it unchanged, so what it would send the warehouse
    can be parsed in the warehouse's dialect."""

    def __init__(self, adapter_type: str, answers: dict[str, list[tuple[Any, ...]]] | None = None) -> None:
        super().__init__(DbtArgs(project_dir=Path(".")))
        self.renderer = MacroRenderer(adapter_type)
        self._adapter = type("Adapter", (), {"type": staticmethod(lambda: adapter_type)})()
        self.answers = answers or {}
        self.statements: list[str] = []

    @property
    def target_schema(self) -> str:
        return "analytics"

    @property
    def target_database(self) -> str | None:
        return "db"

    def relation(self, database: str | None, schema: str, identifier: str) -> Relation:
        return Relation(database, schema, identifier, QUOTES[self.adapter_type])

    def quote(self, identifier: str) -> str:
        q = QUOTES[self.adapter_type]
        return f"{q}{identifier}{q}"

    def render(self, macro_name: str, **kwargs: Any) -> str:
        return self.renderer.render(macro_name, **kwargs)

    def create_schema(self, database: str | None, schema: str) -> None:
        self.statements.append(f"create schema if not exists {self.relation(None, database or '', schema)}")

    def relation_exists(self, relation: Any) -> bool:
        return False

    def relation_kinds(self, database: str | None, schema: str) -> dict[str, str]:
        return {}

    def columns(self, relation: Any) -> list[WarehouseColumn]:
        self.statements.append(f"select * from {relation} where 1 = 0")
        return []  # a table an older version made with no column: every column is added

    def execute(self, sql: str) -> None:
        self.statements.append(sql)

    def fetch_small(self, sql: str, limit: int = 10_000) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        for pattern, rows in self.answers.items():
            if pattern in sql:
                return rows
        return []

    def read_page(self, sql: str, limit: int) -> list[dict[str, Any]]:
        self.statements.append(sql)
        return []

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

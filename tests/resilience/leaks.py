"""Looking for secrets in everything a run leaves behind: text, files, warehouse tables.

A secret counts as found in any of the forms it could have been written in (as is, XML/HTML-escaped,
URL-encoded, JSON-escaped) and also when only a part of it shows: any eight characters in a row of it,
which is what a message cut short in the middle of a password would reveal.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from tests.support.project import DbtProject

WINDOW = 8


def forms(secret: str) -> set[str]:
    """The spellings a secret could be written in, and every WINDOW-long piece of it."""
    spelled = {
        secret,
        html.escape(secret),
        html.escape(secret, quote=False),
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
    }
    pieces = {secret[i : i + WINDOW] for i in range(max(len(secret) - WINDOW + 1, 1))}
    return spelled | pieces


@dataclass
class LeakSearch:
    """The secrets (by name) and where each was found."""

    secrets: Mapping[str, str]
    searched: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)

    def text(self, where: str, text: str) -> None:
        self.searched.append(where)
        for name, secret in self.secrets.items():
            hits = sorted(f for f in forms(secret) if f in text)
            if hits:
                at = text.find(hits[0])
                context = text[max(at - 60, 0) : at + len(hits[0]) + 20].replace("\n", " ")
                self.found.append(f"{name} in {where}: {hits[0]!r} ...{context}...")

    def data(self, where: str, data: bytes) -> None:
        self.text(where, data.decode("utf-8", "replace"))

    def files(self, root: Path, skip: Iterable[Path] = ()) -> None:
        skipped = {p.resolve() for p in skip}
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.resolve() not in skipped:
                self.data(str(path.relative_to(root.parent)), path.read_bytes())

    def tables(self, project: DbtProject, schemas: Iterable[str]) -> None:
        """Every row of every table in `schemas`, each value as text."""
        for schema in schemas:
            tables = project.query(
                f"select table_name from information_schema.tables where table_schema = '{schema}'"
            )
            for (table,) in tables:
                rows = project.query(f'select * from "{schema}"."{table}"')
                self.text(f"table {schema}.{table} ({len(rows)} rows)", "\n".join(map(_row_text, rows)))

    def describe(self) -> str:
        return "\n".join(self.found) or f"nothing found in {len(self.searched)} places"


def _row_text(row: tuple[Any, ...]) -> str:
    return "\t".join("" if value is None else str(value) for value in row)

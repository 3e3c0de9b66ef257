"""The command's exit codes, made only by the modules of this package, and how an error is printed."""

from __future__ import annotations

from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

EPILOG = (
    "Exit codes: 0 every change applied; 1 some rows or models failed (the rest applied and recorded); "
    "2 a usage or configuration error (nothing sent); 130 / 143 stopped by SIGINT / SIGTERM (what was "
    "done is recorded; the next sync resolves the rest)."
)


def print_error(console: Any, exc: BaseException) -> None:
    """Print `Error: <message>` on the console, the message as plain text (no markup read from it)."""
    from rich.text import Text

    console.print(Text.assemble(("Error: ", "bold red"), str(exc)), highlight=False)

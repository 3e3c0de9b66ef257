"""Python's logging and warnings, shown through the tool's console like everything else the user sees.

Libraries (ours, the HTTP stack, dbt's dependencies) log through `logging` and `warnings`; left alone,
Python prints them raw on stderr (`WARNING:name:message`, or a file path and line of source). While a
command runs, warnings and errors logged anywhere go to the console instead: a timestamped
`WARNING: ...` line in text, one `log` event in `--log-format json`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# How `warnings.formatwarning` starts a captured warning: "path/to/file.py:12: UserWarning: text".
_WARNING_SOURCE = re.compile(r"^.*?:\d+: (?=\w+: )")

Show = Callable[[str, str, str], None]  # (level, logger, message)


class ConsoleLogHandler(logging.Handler):
    """Hands each record, as one line of text, to the console."""

    def __init__(self, show: Show, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self._show = show

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._show(record.levelname, record.name, _message(record))
        except Exception:  # a log line must never stop the command
            self.handleError(record)


def _message(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.name == "py.warnings":
        # The first line, without the source path: "UserWarning: text" (the second repeats the source).
        text = _WARNING_SOURCE.sub("", text.strip().splitlines()[0] if text.strip() else text)
    elif record.exc_info and record.exc_info[1] is not None:
        text = f"{text}: {record.exc_info[1]}"
    return " ".join(text.split())


@contextmanager
def logging_to_console(show: Show) -> Iterator[None]:
    """Within the block, warnings and errors logged anywhere (and Python warnings) go to `show` only."""
    root = logging.getLogger()
    handler = ConsoleLogHandler(show)
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = [handler]
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.handlers = saved_handlers
        root.setLevel(saved_level)

"""Python's logging and warnings reach the user through the tool's console, never raw on stderr."""

from __future__ import annotations

import io
import json
import logging
import warnings

import pytest
from rich.console import Console

from dbt_intacct.observe.console import ConsoleProgress, JsonProgress
from dbt_intacct.observe.logs import logging_to_console


def test_a_logged_warning_is_a_console_line_and_nothing_goes_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = io.StringIO()
    progress = ConsoleProgress(Console(file=out, width=200))
    logging.basicConfig()  # as a library might: a raw `WARNING:name:message` handler on stderr
    try:
        with logging_to_console(progress.log):
            logging.getLogger("dbt_intacct.client.client").warning("gateway busy; retrying in %d s", 2)
            logging.getLogger("urllib3").info("not shown: below WARNING")
            warnings.warn("an old option", DeprecationWarning, stacklevel=1)
    finally:
        logging.getLogger().handlers.clear()
    lines = out.getvalue().splitlines()
    assert [line[10:] for line in lines] == [
        "WARNING: gateway busy; retrying in 2 s",
        "WARNING: DeprecationWarning: an old option",
    ]
    assert all(line[2] == ":" and line[8:10] == "  " for line in lines)  # HH:MM:SS, as dbt prints
    assert capsys.readouterr().err == ""
    # The handlers in place before are back.
    assert not any(type(h).__name__ == "ConsoleLogHandler" for h in logging.getLogger().handlers)


def test_in_json_every_line_is_one_event() -> None:
    out = io.StringIO()
    with logging_to_console(JsonProgress(out).log):
        logging.getLogger("dbt_intacct.alerts").error("alert %r failed\nsecond line", "ops")
    (line,) = out.getvalue().splitlines()
    event = json.loads(line)
    assert event["event"] == "log" and event["level"] == "error"
    assert event["logger"] == "dbt_intacct.alerts"
    assert event["message"] == "alert 'ops' failed second line"

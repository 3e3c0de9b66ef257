"""dbt's behaviour flags are named by the module that asked for them, as dbt names them, without
`inspect.stack()` (most of a command's CPU time under a deep stack)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from dbt_common import behavior_flags

from dbt_intacct.dbt.behavior import flag_source, quick_flag_sources


def _called_from(module_name: str, call: Callable[[], str]) -> str:
    """`call` made from a function whose globals say it belongs to `module_name`."""
    namespace: dict[str, object] = {"__name__": module_name, "call": call}
    exec("def relay():\n    return call()\n", namespace)
    relay = namespace["relay"]
    assert callable(relay)
    return str(relay())


def test_a_flag_made_here_is_named_after_this_module() -> None:
    quick_flag_sources()
    behavior = behavior_flags.Behavior([{"name": "some_flag", "default": True, "description": "d"}], {})
    assert behavior.some_flag._behavior_change_event.flag_source == __name__


def test_the_source_is_the_first_module_up_the_stack_that_is_not_dbts_flag_module() -> None:
    # From inside dbt's flag module, the answer is the module above it: here, this test module.
    assert _called_from(behavior_flags.__name__, lambda: flag_source(sys._getframe(1))) == __name__
    assert _called_from("dbt.adapters.base.impl", lambda: flag_source(sys._getframe(1))) == (
        "dbt.adapters.base.impl"
    )


def test_it_answers_what_dbts_stack_walk_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    quick_flag_sources()
    rendered = behavior_flags.BehaviorFlagRendered
    flags = [{"name": "flag_a", "default": False, "description": "d"}]
    ours = behavior_flags.Behavior(flags, {}).flag_a._behavior_change_event.flag_source
    monkeypatch.setattr(rendered, "_default_source", staticmethod(rendered.dbts_default_source))
    dbts = behavior_flags.Behavior(flags, {}).flag_a._behavior_change_event.flag_source
    assert ours == dbts == __name__


def test_the_tool_sets_it_before_calling_dbt() -> None:
    from dbt_intacct.dbt.setup import prepare_dbt

    prepare_dbt()
    assert behavior_flags.BehaviorFlagRendered._default_source is flag_source

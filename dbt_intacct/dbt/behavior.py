"""dbt's behaviour flags named by their module without a walk of the whole call stack.

Each adapter made (every dbt command, and each `plan` or `sync`) builds its behaviour flags, and dbt names a
flag's source, when the adapter gives none, with `inspect.stack()`: a frame record for every frame of the
stack, each with its source file read and its module looked up among all loaded modules. Under a deep stack
(a test runner, an orchestrator) that was most of a command's CPU time: 80% of a test worker's, sampled.
The answer is only the name of the first module up the stack that is not `dbt_common.behavior_flags`,
which each frame carries in its globals; this reads it from there.
"""

from __future__ import annotations

import sys
from types import FrameType

_FLAGS_MODULE = "dbt_common.behavior_flags"


def flag_source(frame: FrameType | None = None) -> str:
    """The module that asked for a behaviour flag: the first one up the stack from `frame` (the caller's
    caller by default) that is not dbt's behaviour-flag module, as dbt's own lookup names it."""
    frame = frame if frame is not None else sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if isinstance(name, str) and name != _FLAGS_MODULE:
            return name
        frame = frame.f_back
    return "Unknown"


def quick_flag_sources() -> None:
    """Make dbt name its behaviour flags' sources with `flag_source`, for every later dbt call here."""
    from dbt_common import behavior_flags

    rendered = getattr(behavior_flags, "BehaviorFlagRendered", None)
    if rendered is None or not hasattr(rendered, "_default_source"):
        return  # a dbt_common that no longer has it: nothing to do
    if not hasattr(rendered, "dbts_default_source"):
        rendered.dbts_default_source = staticmethod(rendered._default_source)  # kept, to compare with
    rendered._default_source = staticmethod(flag_source)

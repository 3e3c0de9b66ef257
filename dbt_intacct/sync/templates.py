"""The sandbox `{template: ...}` mappings render in."""

from __future__ import annotations

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

TEMPLATE_ENV = SandboxedEnvironment(
    variable_start_string="[[",
    variable_end_string="]]",
    block_start_string="[%",
    block_end_string="%]",
    comment_start_string="[#",
    comment_end_string="#]",
    autoescape=False,
    keep_trailing_newline=False,
    undefined=StrictUndefined,
)

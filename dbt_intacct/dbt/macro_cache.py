"""The macros the adapter runs, parsed once per process and per unchanged project.

dbt parses every macro file of the project, its packages, the adapter's and ours (about 170 files) each
time an adapter is set up: about a second. A process that opens the warehouse more than once (a test
suite, `sync` then `report`, a program that drives the tool) parses them again each time. Here each
project's macros are kept, keyed by the project and by the path, modification time and size of each of its
macro files: an edited, added or removed file parses that project again; the others are reused.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

# Projects kept: the adapter's own (dbt, dbt_postgres...), ours and a user's few, with room for the test
# suite's many small projects; the oldest is dropped first.
MAX_PROJECTS = 64

_parsed: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_lock = threading.Lock()


def load_macros(config: Any) -> Any:
    """The MacroManifest that dbt's `ManifestLoader.load_macros` would build for `config`."""
    from dbt.contracts.graph.manifest import MacroManifest

    macros: dict[str, Any] = {}
    for project in config.load_dependencies().values():
        macros.update(_project_macros(project))
    return MacroManifest(macros)


def _project_macros(project: Any) -> dict[str, Any]:
    from dbt.contracts.files import ParseFileType
    from dbt.contracts.graph.manifest import Manifest
    from dbt.parser.macros import MacroParser
    from dbt.parser.read_files import load_source_file
    from dbt.parser.search import FileBlock

    manifest = Manifest()
    parser = MacroParser(project, manifest)
    paths = list(parser.get_paths())
    key = (project.project_name, project.project_root, tuple(_stat(path.absolute_path) for path in paths))
    with _lock:
        cached = _parsed.get(key)
        if cached is not None:
            _parsed.move_to_end(key)
            return cached
    for path in paths:
        source_file = load_source_file(path, ParseFileType.Macro, project.project_name, {})
        if source_file is not None:
            parser.parse_file(FileBlock(source_file))
    macros = dict(manifest.macros)
    with _lock:
        _parsed[key] = macros
        while len(_parsed) > MAX_PROJECTS:
            _parsed.popitem(last=False)
    return macros


def _stat(path: str) -> tuple[str, int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (path, -1, -1)
    return (path, info.st_mtime_ns, info.st_size)

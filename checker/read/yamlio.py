"""Safe YAML loading that remembers the line of every key, for errors that point at the file."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ValidationError

from checker.core.errors import Problem, dotted

Loc = tuple[str | int, ...]


# libyaml's safe loader when PyYAML was built with it (several times faster), else the pure one.
# Both are safe loaders: no Python object tags, ever.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Safe(_Base):  # type: ignore[valid-type,misc]
    """The safe loader, less YAML's implicit dates: `2015-40-01` stays text, so an impossible date
    is refused by the model that reads it, with its file, line and field, instead of crashing PyYAML
    while it builds the data (found by fuzzing). Models parse ISO dates from text as well."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }


MAX_NODES = 100_000  # far beyond any rule, table or mapping file; a "billion laughs" file is not


class _Expands(Exception):
    """The file, with its aliases followed, is too large or refers to itself."""

    def __init__(self, line: int, why: str) -> None:
        self.line = line
        self.why = why


def _walk(
    node: yaml.Node,
    path: Loc,
    lines: dict[Loc, int],
    duplicates: list[tuple[Loc, int]],
    budget: list[int],
    open_nodes: set[int],
) -> None:
    # Aliases are allowed (a mapping may reuse a value map) and every path is walked, so an
    # alias-laden file would make the walk exponential: stop at MAX_NODES, and refuse a node that
    # contains itself.
    budget[0] -= 1
    if budget[0] < 0:
        raise _Expands(node.start_mark.line + 1, f"the file expands to more than {MAX_NODES:,} values (YAML aliases?)")
    if id(node) in open_nodes:
        raise _Expands(node.start_mark.line + 1, "a YAML alias refers to a value that contains it")
    open_nodes.add(id(node))
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark)
            if name in keys:
                # YAML keeps the last of two equal keys silently; in a rule that hides an edit
                duplicates.append(((*path, name), key.start_mark.line + 1))
            keys.add(name)
            lines[(*path, name)] = key.start_mark.line + 1
            _walk(value, (*path, name), lines, duplicates, budget, open_nodes)
            lines[(*path, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, duplicates, budget, open_nodes)
    open_nodes.discard(id(node))


class YamlDoc:
    """A parsed YAML document with the line of each key path, for locating errors."""

    def __init__(self, path: Path, data: Any, lines: dict[Loc, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest existing prefix of a key path."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        """A Problem pointing at this file and the line of `loc`."""
        return Problem(message, file=str(self.path), line=self.line_of(loc), field=dotted(loc))

    def validate(self, model: type[BaseModel], data: Any = None, base: Loc = ()) -> tuple[Any, list[Problem]]:
        """Validate `data` (default: the whole document) into `model`, mapping errors to lines."""
        try:
            return model.model_validate(self.data if data is None else data), []
        except ValidationError as exc:
            return None, [self.problem((*base, *e["loc"]), e["msg"]) for e in exc.errors()]


def load_yaml(path: Path) -> tuple[YamlDoc | None, list[Problem]]:
    """Read one YAML file safely; a syntax error becomes a located Problem, not an exception."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(f"cannot read: {exc}", file=str(path))]
    lines: dict[Loc, int] = {}
    duplicates: list[tuple[Loc, int]] = []
    try:
        loader = _Safe(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                # every key's line, duplicate keys and aliases, before any data is built
                _walk(node, (), lines, duplicates, [MAX_NODES], set())
            # build the data from the same node: the file is parsed once
            data = loader.construct_document(node) if node is not None and not duplicates else None
        finally:
            loader.dispose()
    except _Expands as exc:
        return None, [Problem(exc.why, file=str(path), line=exc.line)]
    except RecursionError:
        return None, [Problem("invalid YAML: nested too deeply", file=str(path))]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or str(exc)
        if "could not determine a constructor" in str(exc):
            what = f"{what}: object tags are refused; rule files are data and cannot run code"
        return None, [Problem(f"invalid YAML: {what}", file=str(path), line=line)]
    except yaml.YAMLError as exc:
        return None, [Problem(f"invalid YAML: {exc}", file=str(path))]
    if duplicates:
        return None, [
            Problem(f"duplicate key {loc[-1]!r}", file=str(path), line=line, field=dotted(loc))
            for loc, line in duplicates
        ]
    return YamlDoc(path, data, lines), []

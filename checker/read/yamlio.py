"""Safe YAML loading that remembers the line of every key, for errors that point at the file.

Within :func:`cached_parsing` (the rule loader uses it), a file parsed without error is kept on
disk as plain data (``marshal``), with the line of each key, keyed by a hash of its text, in the
private folder of checker.read.diskcache: a new process then reads the rule set without parsing
it, and without importing PyYAML at all. A changed file has another hash and is parsed; a file
with an error is never kept, so its error is found again, the same, every time.
"""

from __future__ import annotations

import hashlib
import marshal
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ValidationError

from checker.core.errors import Problem, dotted, error_text
from checker.core.files import refuse_device
from checker.read.diskcache import cache_dir, read_private, write_private

if TYPE_CHECKING:
    import yaml

Loc = tuple[str | int, ...]


@cache
def _safe_loader() -> type[yaml.SafeLoader]:
    """libyaml's safe loader when PyYAML was built with it (several times faster), else the pure
    one. Both are safe loaders: no Python object tags, ever. PyYAML is imported here, when a file
    is first parsed, not when this module is."""
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Safe(base):  # type: ignore[valid-type,misc]
        """The safe loader, less YAML's implicit dates: `2015-40-01` stays text, so an impossible
        date is refused by the model that reads it, with its file, line and field, instead of
        crashing PyYAML while it builds the data (found by fuzzing). Models parse ISO dates from
        text as well."""

        yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
            first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }

    return _Safe


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
    import yaml

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
            return None, [self.problem((*base, *e["loc"]), error_text(e)) for e in exc.errors()]


def load_yaml(path: Path) -> tuple[YamlDoc | None, list[Problem]]:
    """Read one YAML file safely; a syntax error becomes a located Problem, not an exception."""
    try:
        refuse_device(path)
        text = path.read_text(encoding="utf-8")
    except OSError as exc:  # the file is named beside the message: the reason alone
        return None, [Problem(f"cannot read: {exc.strerror or exc}", file=str(path))]
    except UnicodeDecodeError as exc:
        return None, [Problem(f"cannot read: {exc}", file=str(path))]
    key = hashlib.sha256(text.encode()).hexdigest() if _caching.get() else None
    if key is not None and (found := _STORE.get(key)) is not None:
        return YamlDoc(path, *found), []
    doc, problems = _parse(path, text)
    if key is not None and doc is not None:
        _STORE.put(key, doc.data, doc.lines)
    return doc, problems


def _parse(path: Path, text: str) -> tuple[YamlDoc | None, list[Problem]]:
    import yaml

    lines: dict[Loc, int] = {}
    duplicates: list[tuple[Loc, int]] = []
    try:
        loader = _safe_loader()(text)
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


# What is cached: the format of an entry, this module's code and PyYAML's version all go into the
# name of the file, so a change to any of them starts a new one.
_FORMAT = 1
_MAX_BYTES = 8 << 20  # the least recently used entries are dropped beyond this
_caching: ContextVar[bool] = ContextVar("crimecheck_yaml_caching", default=False)


@contextmanager
def cached_parsing() -> Iterator[None]:
    """Within this block, :func:`load_yaml` keeps what it parses on disk and reads it back from
    there; what was newly parsed is written when the block ends."""
    token = _caching.set(True)
    try:
        yield
    finally:
        _caching.reset(token)
        _STORE.flush()


def _bundle_name() -> str:
    import importlib.util

    digest = hashlib.sha256(f"{_FORMAT}|{sys.version}|{MAX_NODES}".encode())
    digest.update(Path(__file__).read_bytes())
    spec = importlib.util.find_spec("yaml")
    if spec is None or spec.origin is None:
        raise OSError("PyYAML not found")
    digest.update(Path(spec.origin).read_bytes())  # carries PyYAML's __version__
    return f"yaml-{digest.hexdigest()[:32]}.bin"


class _Store:
    """Parsed files by the hash of their text: one file in the cache folder, read on first use."""

    def __init__(self) -> None:
        self._entries: dict[str, bytes] | None = None
        self._used: set[str] = set()
        self._dirty = False
        self._lock = threading.Lock()  # the service loads rule sets from several threads

    def _load(self) -> dict[str, bytes]:
        if self._entries is None:
            self._entries = {}
            try:
                blob = read_private(_bundle_name()) if cache_dir() is not None else None
                found = marshal.loads(blob) if blob is not None else None
                if isinstance(found, dict) and all(
                    isinstance(k, str) and isinstance(v, bytes) for k, v in found.items()
                ):
                    self._entries = found
            except Exception:  # a stale or damaged cache is empty
                pass
        return self._entries

    def get(self, key: str) -> tuple[Any, dict[Loc, int]] | None:
        with self._lock:
            blob = self._load().get(key)
            if blob is None:
                return None
            self._used.add(key)
        try:
            data, lines = marshal.loads(blob)  # new objects each time: a caller may change its copy
        except Exception:
            return None
        return (data, lines) if isinstance(lines, dict) else None

    def put(self, key: str, data: Any, lines: dict[Loc, int]) -> None:
        try:
            blob = marshal.dumps((data, lines))  # refuses what is not plain data (e.g. an explicit !!timestamp)
        except ValueError:
            return
        with self._lock:
            self._load()[key] = blob
            self._used.add(key)
            self._dirty = True

    def flush(self) -> None:
        with self._lock:
            if self._dirty and self._entries is not None:
                self._dirty = False
                self._write(self._entries)

    def _write(self, entries: dict[str, bytes]) -> None:
        # the entries used by this process last, then the oldest dropped beyond the size limit
        ordered = [k for k in entries if k not in self._used] + [k for k in entries if k in self._used]
        size = sum(len(entries[k]) for k in ordered)
        while ordered and size > _MAX_BYTES:
            size -= len(entries.pop(ordered.pop(0)))
        self._entries = {k: entries[k] for k in ordered}
        with suppress(OSError, ValueError):
            write_private(_bundle_name(), marshal.dumps(self._entries))


_STORE = _Store()

"""Load a PRODUCT.yaml safely and decode it as the cncf validator does.

Upstream (cncf/k8s-ai-conformance ``scripts/validate.go``, the hybrid v1.37 version): ``loadYaml`` runs
``yaml.Unmarshal(data, &doc)`` of ``gopkg.in/yaml.v3`` into::

    type ConformanceDoc struct { Metadata map[string]interface{} `yaml:"metadata"`
                                 Spec     map[string][]Requirement `yaml:"spec"` }
    type Requirement struct { ID, Description, Level, Status string; Evidence []string; Notes string }

and any error there is "Error loading product" (the file is rejected). This module parses with PyYAML's
pure-Python parser and composer (no Python objects are constructed from tags) and then decodes the node
tree itself, following what yaml.v3 does for those Go types:

- only the first document is read (``yaml.Unmarshal`` decodes one document); an empty file or a ``~``
  document is an empty document (metadata and spec then missing);
- a key repeated in a mapping is an error, in every mapping yaml.v3 decodes: the top level, ``metadata``
  and everything below it, ``spec``, each requirement (yaml.v3 ``mapping key "x" already defined at line
  N``; keys compare by their text). Mappings under keys the Go types do not have are not decoded, so
  they are not checked either;
- plain scalars resolve as yaml.v3 (YAML 1.2 core): ``~``/``null``/empty are null; only
  ``true``/``false`` (also ``True``/``TRUE``...) are booleans (``yes``/``no``/``on``/``off`` stay strings);
  ints (decimal, ``0x``, ``0o``, ``0b``, ``_`` separators) and floats (incl. ``.inf``/``.nan``) are numbers;
  ``2024-01-02`` style timestamps are times. A metadata value that is not a string is then "not a string";
- a ``Requirement`` string field takes the scalar's text whatever it resolves to (``status: 1.0`` is
  ``"1.0"``), null is ``""``; a mapping or sequence there is a type error;
- ``evidence`` must be a sequence of scalars (null is empty); a string there is a type error, so
  ``evidence: "N/A"`` rejects the file as it does upstream; ``spec`` must map categories to sequences of
  mappings; null items of those two lists are dropped (as yaml.v3 does); keys the Go types do not have
  are ignored;
- aliases: yaml.v3's "document contains excessive aliasing" rule (more than 100 decodes inside aliases
  among more than 1000 decodes, and their share above ``allowed_alias_ratio``); an alias inside its own
  anchor is an error (yaml.v3: "anchor 'x' value contains itself"); an anchor defined again replaces the
  first; plain ``<<`` merge keys are applied;
- input: a UTF-8 BOM is skipped and UTF-16 with a BOM decoded (yaml.v3 reads both); any other byte that is
  not UTF-8 is an error naming its offset. Control characters are refused by the YAML reader.

aiconform's own bounds, kept on purpose (no real submission comes near them; the largest accepted one is
18 KB, 5 levels deep, ~900 nodes), so that a hostile file is refused within a second and a few MB of memory:
``MAX_BYTES`` (256 KiB), ``MAX_DEPTH`` (nesting, 64 levels; yaml.v3 allows 10000) and ``MAX_NODES``
(20 000 values in the file, and 20 000 decoded values once aliases are expanded). Parsing uses libyaml's
parser (the C one PyYAML ships; the pure-Python one when it is missing) and PyYAML's composer.

Every refusal raises ``ProductLoadError`` with one line naming the problem and, when known, its line.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

try:
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    CParser = None

MAX_BYTES = 256 * 1024
MAX_DEPTH = 64
MAX_NODES = 20_000

PLAIN = "!aiconform/plain"  # tag given to untagged plain scalars: resolved below, as yaml.v3 does
_Y = "tag:yaml.org,2002:"
_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {"true", "True", "TRUE", "false", "False", "FALSE"}
_FLOAT_SPECIAL = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
                  ".nan", ".NaN", ".NAN"}
_INT_RE = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")  # yaml.v3 yamlStyleFloat
_DOT_FLOAT_RE = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
# yaml.v3 parseTimestamp layouts: 2006-1-2T15:4:5.999999999Z07:00 (T or t), 2006-1-2 15:4:5.999999999, 2006-1-2
_TIMESTAMP_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?"
                           r"(?:Z|[+-]\d{2}:\d{2}))|(?: +(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?$")
REQUIREMENT_STRING_FIELDS = ("id", "description", "level", "status", "notes")


@dataclass(frozen=True)
class Timestamp:
    """A plain scalar yaml.v3 decodes as a ``time.Time`` (so a metadata field holding one is not a string)."""

    text: str

    def __str__(self) -> str:
        return self.text


class ProductLoadError(ValueError):
    """The file cannot be read as a PRODUCT.yaml (the cncf validator's "Error loading product")."""


# --------------------------------------------------------------------------------------------- parsing

class _Resolver(BaseResolver):
    """No implicit YAML 1.1 typing: plain untagged scalars get ``PLAIN`` and are resolved by ``resolve``."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit and implicit[0]:
            return PLAIN
        return super().resolve(kind, value, implicit)


class _Composer(Composer):
    """PyYAML's composer with bounds: nesting depth, node count, and anchors that may be defined again."""

    def _init_bounds(self) -> None:
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # the composer recurses: bound the depth
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ProductLoadError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
            if self._nodes > MAX_NODES:
                raise ProductLoadError(f"more than {MAX_NODES} values in the document")
            event = self.peek_event()
            if getattr(event, "anchor", None) is not None and not isinstance(event, AliasEvent):
                self.anchors.pop(event.anchor, None)  # yaml.v3: an anchor defined again replaces the first
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _PyLoader(Reader, Scanner, Parser, _Composer, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Composer.__init__(self)
        _Resolver.__init__(self)
        self._init_bounds()


if CParser is not None:
    class _CLoader(_Composer, CParser, _Resolver):  # libyaml's parser (~10x faster), PyYAML's composer
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Composer.__init__(self)
            _Resolver.__init__(self)
            self._init_bounds()

    _Loader: Any = _CLoader
else:  # pragma: no cover - PyYAML built without libyaml
    _Loader = _PyLoader


def decode_text(data: bytes) -> str:
    """Bytes -> text as yaml.v3 reads them: UTF-8 (BOM skipped) or UTF-16 with a BOM."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ProductLoadError(f"not valid UTF-16 at byte offset {exc.start}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProductLoadError(f"line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                               "save the file as UTF-8") from None


def compose_first(text: str) -> Node | None:
    """The node tree of the first document (None for an empty stream)."""
    loader = None
    try:
        loader = _Loader(text)
        return _Composer.get_node(loader) if _Composer.check_node(loader) else None
    except ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise ProductLoadError(f"line {line}: control character #x{exc.character:04x} is not allowed in YAML") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ProductLoadError(f"{where}{exc.problem or exc.context or 'invalid YAML'}") from None
    except yaml.YAMLError as exc:
        raise ProductLoadError(f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    except RecursionError:  # defensive: MAX_DEPTH keeps the composer well inside the interpreter's limit
        raise ProductLoadError(f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        if loader is not None:
            loader.dispose()


# --------------------------------------------------------------------------------------------- scalars

def resolve(node: ScalarNode) -> tuple[str, Any]:
    """(kind, value) of a scalar as yaml.v3 resolves it for an ``interface{}`` target."""
    text, tag = node.value, node.tag
    if tag == PLAIN:
        if text in _NULLS:
            return "null", None
        if text in _BOOLS:
            return "bool", text.lower() == "true"
        if text in _FLOAT_SPECIAL:
            return "float", float(text.replace(".", "", 1))
        if not text or text[0] not in "+-.0123456789":  # yaml.v3 tries numbers only after such a first character
            return "str", text
        if text[0] == ".":  # yaml.v3: strconv.ParseFloat of the text as it is (no "_" removed)
            if _DOT_FLOAT_RE.match(text) and math.isfinite(float(text)):
                return "float", float(text)
            return "str", text
        if _is_timestamp(text):
            return "timestamp", Timestamp(text)  # yaml.v3 v3.0.1 gives interface{} a time.Time: not a string
        plain = text.replace("_", "")
        if _INT_RE.match(plain):
            value = _go_int(plain)
            if value is not None:
                return "int", value
        if _FLOAT_RE.match(plain) and math.isfinite(float(plain)):  # Go's ParseFloat fails on overflow
            return "float", float(plain)
        return "str", text
    if tag == _Y + "null":
        return "null", None
    if tag == _Y + "binary":
        try:
            return "str", base64.b64decode("".join(text.split()), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise _TypeError(node, "!!binary value is not base64") from None
    if tag in (_Y + "bool", _Y + "int", _Y + "float", _Y + "timestamp"):
        kind, value = resolve(ScalarNode(PLAIN, text, node.start_mark, node.end_mark))
        if tag == _Y + "timestamp":
            if kind != "timestamp":
                raise _TypeError(node, f"cannot decode {text!r} as a !!timestamp")
            return "timestamp", value
        want = tag[len(_Y):]
        if kind == want or (want == "float" and kind == "int"):
            return want, float(value) if want == "float" else value
        raise _TypeError(node, f"cannot decode {text!r} as a !!{want}")
    return "str", text  # quoted, block, !!str and any other tag


def _is_timestamp(text: str) -> bool:
    m = _TIMESTAMP_RE.match(text)
    if not m:
        return False
    g = m.groups()
    clock = [int(x) for x in (g[3:6] if g[3] is not None else g[6:9]) if x is not None] or [0, 0, 0]
    zone = re.search(r"([+-])(\d{2}):(\d{2})$", text) if g[3] is not None else None
    if zone and (int(zone.group(2)) > 24 or int(zone.group(3)) > 60):  # Go's time.Parse offset range
        return False
    try:
        datetime(int(g[0]), int(g[1]), int(g[2]), *clock)
    except ValueError:
        return False
    return True


def _go_int(plain: str) -> int | None:
    sign = -1 if plain.startswith("-") else 1
    body = plain.lstrip("+-")
    lower = body.lower()
    try:
        if lower.startswith("0x"):
            value = int(body[2:], 16)
        elif lower.startswith("0o"):
            value = int(body[2:], 8)
        elif lower.startswith("0b"):
            value = int(body[2:], 2)
        elif len(body) > 1 and body.startswith("0"):
            value = int(body[1:], 8)
        else:
            value = int(body)
    except ValueError:
        return None
    value *= sign
    return value if -(2**63) <= value < 2**64 else None


# --------------------------------------------------------------------------------------------- decoding

def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and resolve(node)[0] == "null"


class _TypeError(Exception):
    def __init__(self, node: Node, message: str) -> None:
        super().__init__(f"line {node.start_mark.line + 1}: {message}")


def _kind_name(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"the value {_short(node.value)!r}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def allowed_alias_ratio(decodes: int) -> float:
    """yaml.v3 ``allowedAliasRatio``: 0.99 up to 400 000 decodes, falling to 0.10 at 4 000 000."""
    low, high = 400_000, 4_000_000
    if decodes <= low:
        return 0.99
    if decodes >= high:
        return 0.10
    return 0.99 - 0.89 * (decodes - low) / (high - low)


class _Decoder:
    def __init__(self) -> None:
        self.decodes = 0
        self.alias_decodes = 0
        self.seen: set[int] = set()  # nodes decoded once: meeting one again means an alias was followed
        self.open: set[int] = set()  # nodes being decoded (an alias to one of them contains itself)
        self.alias_depth = 0
        self.type_errors: list[str] = []

    # every node decoded goes through here, as yaml.v3's d.unmarshal
    def enter(self, node: Node) -> bool:
        """Count the node; True when it is reached again through an alias."""
        if id(node) in self.open:
            raise ProductLoadError(f"line {node.start_mark.line + 1}: an alias refers to a value that contains it")
        again = id(node) in self.seen
        self.seen.add(id(node))
        self.decodes += 1
        if self.alias_depth or again:
            self.alias_decodes += 1
        if self.decodes > MAX_NODES:
            raise ProductLoadError(f"more than {MAX_NODES} values once aliases are expanded; refusing to expand "
                                   "further (a YAML alias bomb?)")
        if self.alias_decodes > 100 and self.decodes > 1000 and \
                self.alias_decodes / self.decodes > allowed_alias_ratio(self.decodes):
            raise ProductLoadError("document contains excessive aliasing (as gopkg.in/yaml.v3 refuses it)")
        return again

    def visit(self, node: Node, fn: Any, *args: Any) -> Any:
        again = self.enter(node)
        self.alias_depth += again
        self.open.add(id(node))
        try:
            return fn(node, *args)
        finally:
            self.open.discard(id(node))
            self.alias_depth -= again

    def pairs(self, node: MappingNode) -> list[tuple[Node, Node]]:
        """Key/value pairs with ``<<`` merges applied (explicit keys win) and duplicate keys refused."""
        first: dict[tuple[str, str], int] = {}
        out: list[tuple[Node, Node]] = []
        merges: list[Node] = []
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.tag in (PLAIN, _Y + "merge") and key.value == "<<":
                merges.append(value)
                continue
            ident = (type(key).__name__, key.value if isinstance(key, ScalarNode) else "")
            if ident in first:
                raise ProductLoadError(f"line {key.start_mark.line + 1}: mapping key {_short(str(ident[1]))!r} "
                                       f"already defined at line {first[ident]} (duplicate keys are an error, as "
                                       "in the cncf validator's YAML library)")
            first[ident] = key.start_mark.line + 1
            out.append((key, value))
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for src in sources:
                self.enter(src)
                if not isinstance(src, MappingNode):
                    raise _TypeError(src, "map merge requires a mapping or a list of mappings")
                for key, value in self.pairs(src):
                    ident = (type(key).__name__, key.value if isinstance(key, ScalarNode) else "")
                    if ident not in first:
                        first[ident] = key.start_mark.line + 1
                        out.append((key, value))
        return out

    def key_text(self, key: Node) -> str:
        self.enter(key)
        if isinstance(key, ScalarNode):
            kind, value = resolve(key)
            return "" if kind == "null" else key.value
        raise _TypeError(key, "a mapping key must be a scalar")

    # ---- interface{} (metadata)
    def any(self, node: Node) -> Any:
        return self.visit(node, self._any)

    def _any(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            kind, value = resolve(node)
            return value
        if isinstance(node, SequenceNode):
            return [self.any(item) for item in node.value]
        return {self.key_text(k): self.any(v) for k, v in self.pairs(node)}

    # ---- typed targets
    def string(self, node: Node, what: str) -> str:
        return self.visit(node, self._string, what)

    def _string(self, node: Node, what: str) -> str:
        if isinstance(node, ScalarNode):
            kind, _rest = resolve(node)
            return "" if kind == "null" else node.value
        raise _TypeError(node, f"{what} must be a string, not {_kind_name(node)}")

    def evidence(self, node: Node, what: str) -> list[str]:
        return self.visit(node, self._evidence, what)

    def _evidence(self, node: Node, what: str) -> list[str]:
        if isinstance(node, ScalarNode) and resolve(node)[0] == "null":
            return []
        if not isinstance(node, SequenceNode):
            raise _TypeError(node, f"{what} must be a list of strings, not {_kind_name(node)} "
                             "(write evidence: [] or a list of URLs/paths)")
        # yaml.v3 drops null items when it decodes a sequence into a Go slice of strings or structs
        return [self.string(item, f"{what} item") for item in node.value if not _is_null(item)]

    def requirement(self, node: Node, where: str) -> dict[str, Any]:
        return self.visit(node, self._requirement, where)

    def _requirement(self, node: Node, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {f: "" for f in REQUIREMENT_STRING_FIELDS}
        out["evidence"] = []
        if isinstance(node, ScalarNode) and resolve(node)[0] == "null":
            return out
        if not isinstance(node, MappingNode):
            raise _TypeError(node, f"{where} must be a mapping (id, description, level, status, evidence, notes), "
                             f"not {_kind_name(node)}")
        for key, value in self.pairs(node):
            name = self.key_text(key)
            label = f"{where}.{name}" if not out["id"] else f"'{out['id']}' {name}"
            if name in REQUIREMENT_STRING_FIELDS:
                out[name] = self.string(value, label)
            elif name == "evidence":
                out["evidence"] = self.evidence(value, label)
        return out

    def spec(self, node: Node) -> dict[str, list[dict[str, Any]]] | None:
        return self.visit(node, self._spec)

    def _spec(self, node: Node) -> dict[str, list[dict[str, Any]]] | None:
        if isinstance(node, ScalarNode) and resolve(node)[0] == "null":
            return None
        if not isinstance(node, MappingNode):
            raise _TypeError(node, f"spec must be a mapping of categories, not {_kind_name(node)}")
        out: dict[str, list[dict[str, Any]]] = {}
        for key, value in self.pairs(node):
            category = self.key_text(key)
            out[category] = self.visit(value, self._category, category)
        return out

    def _category(self, node: Node, category: str) -> list[dict[str, Any]]:
        if isinstance(node, ScalarNode) and resolve(node)[0] == "null":
            return []
        if not isinstance(node, SequenceNode):
            raise _TypeError(node, f"spec.{category} must be a list of requirements, not {_kind_name(node)}")
        return [self.requirement(item, f"spec.{category}[{i}]") for i, item in enumerate(node.value)
                if not _is_null(item)]

    def document(self, node: Node | None) -> dict[str, Any]:
        doc: dict[str, Any] = {"metadata": None, "spec": None}
        if node is None:
            return doc
        self.enter(node)
        if isinstance(node, ScalarNode) and resolve(node)[0] == "null":
            return doc
        if not isinstance(node, MappingNode):
            raise _TypeError(node, f"the document must be a mapping with metadata and spec, not {_kind_name(node)}")
        for key, value in self.pairs(node):
            name = self.key_text(key)
            if name == "metadata":
                meta = self.any(value)
                if meta is not None and not isinstance(meta, dict):
                    raise _TypeError(value, f"metadata must be a mapping, not {_kind_name(value)}")
                doc["metadata"] = meta
            elif name == "spec":
                doc["spec"] = self.spec(value)
        return doc


def load_product(data: bytes | str) -> dict[str, Any]:
    """``{"metadata": dict | None, "spec": {category: [requirement dict]} | None}``, or ProductLoadError."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise ProductLoadError(f"the file is larger than {MAX_BYTES // 1024} KiB (the largest accepted submission is "
                               "18 KB); refusing to parse it")
    text = decode_text(raw)
    node = compose_first(text)
    try:
        return _Decoder().document(node)
    except _TypeError as exc:
        raise ProductLoadError(str(exc)) from None
    except RecursionError:
        raise ProductLoadError(f"nested more than {MAX_DEPTH} levels deep") from None

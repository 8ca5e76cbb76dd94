"""Strict validation of JSON against the models of Vapi's official SDK (vapi-server-sdk 3.0.0).

The SDK's pydantic models accept unknown keys (``extra="allow"``) and its enums are open
(``Union[Literal[…], Any]``), so ``Model.model_validate`` accepts a misplaced key such as a
top-level ``metadata`` on a create. :func:`strict_errors` walks the data alongside the
model's annotations instead, and refuses at every depth:

- a key that is not the JSON name (the camelCase alias) of one of the model's fields;
- a missing required field, and ``null`` where the annotation has no ``None``;
- a value of the wrong JSON type: ``str``, ``bool``, ``int``, ``float`` (an int is a float),
  object, array — no coercion, ``"5"`` is not 5; date-times must parse as pydantic parses them;
- a value outside a ``Literal``.

Enums. Fern opens every enum (``Union[Literal[…], Any]``) so that the SDK survives values Vapi
adds later; by default an open enum of strings admits any *string*, which suits what Vapi
sends (its ``endedReason`` list grows monthly). ``closed_enums=True`` ignores that ``Any`` and
requires one of the listed values, which suits what we send (Vapi refuses a misspelt
``serverMessages`` entry with a 400).

Unions. A value is valid when one member accepts it strictly. When members carry a tag — a
field typed ``Literal[x]`` (or an open enum) with a single value, such as ``type``,
``provider`` or ``role`` — and the value's tags name some members, only those are tried: a
``status-update`` message is checked as ``ServerMessageStatusUpdate``, never accepted as some
other member that happens to fit. ``Any`` among structured members still requires an object
or array to fit one of them. When nothing fits, the problems of the closest member follow.

Forward references the SDK leaves in annotations are resolved in the module of the model that
declares them; field tables are cached per model. The walk follows the data, which is finite,
so the SDK's recursive types need no special care. Importing SDK models is slow (pydantic
builds their schemas: ``CreateOutboundCallDto`` about 8 s, ``ServerMessage`` 20 s more), so
import only the models you check against, and lazily where you can.

Usage::

    from vapi.types.create_outbound_call_dto import CreateOutboundCallDto
    assert strict_errors(CreateOutboundCallDto, body, closed_enums=True) == []
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import enum
import functools
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any

import pydantic
from pydantic.fields import FieldInfo

__all__ = ["assert_strict", "reachable_models", "strict_errors"]

Path = tuple[str | int, ...]

_NONE = type(None)
_LISTS = (list, set, frozenset, collections.abc.Sequence, collections.abc.Set)
_DICTS = (dict, collections.abc.Mapping)


def strict_errors(model_type: Any, data: object, *, closed_enums: bool = False) -> list[str]:
    """Return the problems of ``data`` read as ``model_type``: empty when it is valid.

    ``model_type`` is an SDK model class or any annotation built of them (a union, a list…).
    Each problem reads ``"<JSON pointer>: <what is wrong>"``, e.g.
    ``"/metadata: property metadata should not exist (not a field of CreateOutboundCallDto)"``;
    the pointer ``/`` is the document itself.
    """
    return _Walk(closed_enums).errors(model_type, data, (), None)


def assert_strict(model_type: Any, data: object, *, closed_enums: bool = False) -> None:
    """Raise ``AssertionError`` listing the problems when ``data`` is not strictly valid."""
    errors = strict_errors(model_type, data, closed_enums=closed_enums)
    if errors:
        raise AssertionError(f"not a strict {_name(model_type)}:\n  " + "\n  ".join(errors))


def reachable_models(model_type: Any) -> list[type[pydantic.BaseModel]]:
    """Return every model reachable from ``model_type``'s annotations, forward refs resolved.

    Raises ``TypeError`` on a forward reference that cannot be resolved: a sign that
    :func:`strict_errors` could not follow some part of the schema.
    """
    seen: dict[type[pydantic.BaseModel], None] = {}
    pending: list[tuple[Any, type | None]] = [(model_type, None)]
    while pending:
        tp, host = pending.pop()
        tp = _resolve(tp, host)
        if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
            if tp not in seen:
                seen[tp] = None
                pending += [(field.annotation, tp) for field in _fields(tp).values()]
        elif typing.get_origin(tp) is not typing.Literal:  # a literal's strings are values
            pending += [(arg, host) for arg in typing.get_args(tp) if arg is not Ellipsis]
    return list(seen)


# ----------------------------------------------------------------------------- the walk
@dataclass(frozen=True, slots=True)
class _Walk:
    """One validation: the data beside the annotation, ``host`` declaring the annotation."""

    closed_enums: bool

    def errors(self, tp: Any, value: object, path: Path, host: type | None) -> list[str]:
        """Return the problems of ``value`` read as annotation ``tp``."""
        tp = _resolve(tp, host)
        origin = typing.get_origin(tp)
        if tp is Any or tp is object:
            return []
        if origin is typing.Annotated:
            return self.errors(typing.get_args(tp)[0], value, path, host)
        if origin is typing.Union or origin is types.UnionType:
            return self.union(typing.get_args(tp), value, path, host)
        if tp is None or tp is _NONE:
            return [] if value is None else [_at(path, f"must be null, not {_kind(value)}")]
        if value is None:
            return [_at(path, f"must not be null ({_name(tp)})")]
        if origin is typing.Literal:
            return _literal_errors(typing.get_args(tp), value, path)
        if origin in _LISTS or tp in (list, set, frozenset):
            return self.array(_arg(tp, 0), value, path, host)
        if origin is tuple:
            return self.tuple(typing.get_args(tp), value, path, host)
        if origin in _DICTS or tp is dict:
            return self.mapping(_arg(tp, 1), value, path, host)
        if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
            return self.model(tp, value, path)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            allowed = [member.value for member in tp]
            return [] if value in allowed else [_at(path, f"must be one of {allowed}")]
        return _leaf_errors(tp, value, path)

    def model(self, model: type[pydantic.BaseModel], value: object, path: Path) -> list[str]:
        if not isinstance(value, dict):
            return [_at(path, f"must be an object ({model.__name__}), not {_kind(value)}")]
        fields = _fields(model)
        errors: list[str] = []
        for key, item in value.items():
            field = fields.get(key) if isinstance(key, str) else None
            if field is None:
                problem = f"property {key} should not exist (not a field of {model.__name__})"
                errors.append(_at((*path, str(key)), problem))
            else:
                errors += self.errors(field.annotation, item, (*path, key), model)
        errors += [
            _at((*path, key), f"is required ({model.__name__})")
            for key, field in fields.items()
            if field.required and key not in value
        ]
        return errors

    def union(
        self, members: tuple[Any, ...], value: object, path: Path, host: type | None
    ) -> list[str]:
        members = tuple(_resolve(member, host) for member in members)
        nullable = any(member is None or member is _NONE for member in members)
        opened = any(member is Any or member is object for member in members)
        structured = [m for m in members if m is not Any and m is not object and m is not _NONE]
        if value is None:
            if nullable or (opened and not self.closed_enums):
                return []
            return [_at(path, f"must not be null ({' | '.join(map(_name, structured))})")]
        if opened and not self.closed_enums and not isinstance(value, dict | list):
            return _open_enum_errors(structured, value, path)
        tried: list[tuple[Any, list[str]]] = []
        for member in _tagged(structured, value):
            errors = self.errors(member, value, path, host)
            if not errors:
                return []
            tried.append((member, errors))
        if not tried:
            return [_at(path, f"must be one of {' | '.join(map(_name, members))}")]
        best, errors = min(tried, key=lambda pair: len(pair[1]))
        if len(tried) == 1:
            return errors
        names = ", ".join(_name(member) for member, _ in tried)
        return [_at(path, f"matches none of {names}; closest: {_name(best)}"), *errors]

    def array(self, item: Any, value: object, path: Path, host: type | None) -> list[str]:
        if not isinstance(value, list):
            return [_at(path, f"must be an array, not {_kind(value)}")]
        errors: list[str] = []
        for index, entry in enumerate(value):
            errors += self.errors(item, entry, (*path, index), host)
        return errors

    def tuple(
        self, items: tuple[Any, ...], value: object, path: Path, host: type | None
    ) -> list[str]:
        if len(items) == 2 and items[1] is Ellipsis:
            return self.array(items[0], value, path, host)
        if not isinstance(value, list) or len(value) != len(items):
            return [_at(path, f"must be an array of {len(items)} items")]
        errors: list[str] = []
        for index, (item, entry) in enumerate(zip(items, value, strict=True)):
            errors += self.errors(item, entry, (*path, index), host)
        return errors

    def mapping(self, item: Any, value: object, path: Path, host: type | None) -> list[str]:
        if not isinstance(value, dict):
            return [_at(path, f"must be an object, not {_kind(value)}")]
        errors: list[str] = []
        for key, entry in value.items():
            if isinstance(key, str):
                errors += self.errors(item, entry, (*path, key), host)
            else:
                errors.append(_at(path, f"has a key that is not a string: {key!r}"))
        return errors


def _open_enum_errors(members: list[Any], value: object, path: Path) -> list[str]:
    """An open enum admits an unknown scalar of its literals' type (a string, for Vapi's)."""
    literal_types = {
        type(option)
        for member in members
        if typing.get_origin(member) is typing.Literal
        for option in typing.get_args(member)
    }
    if literal_types == {str} and len(members) == 1 and not isinstance(value, str):
        return [_at(path, f"must be a string (an enum value), not {_kind(value)}")]
    return []


def _tagged(members: list[Any], value: object) -> list[Any]:
    """Return the members to try: those whose tags the value names, if it names any."""
    if not isinstance(value, dict):
        return members
    named = []
    for member in members:
        tags = _tags(_model_of(member))
        present = {key: tag for key, tag in tags.items() if key in value}
        if present and all(value[key] == tag for key, tag in present.items()):
            named.append(member)
    return named or members


def _literal_errors(allowed: tuple[Any, ...], value: object, path: Path) -> list[str]:
    # equal and of the same type: True is not 1
    if any(type(value) is type(option) and value == option for option in allowed):
        return []
    shown = list(allowed) if len(allowed) <= 8 else [*allowed[:8], "…"]
    return [_at(path, f"must be one of {shown}, not {value!r}")]


def _leaf_errors(tp: Any, value: object, path: Path) -> list[str]:
    """Check a scalar: JSON types exactly, anything else as pydantic parses it."""
    if tp is str:
        ok = isinstance(value, str)
    elif tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        if tp in (dt.datetime, dt.date, dt.time) and not isinstance(value, str | tp):
            return [_at(path, f"must be an ISO 8601 string ({_name(tp)}), not {_kind(value)}")]
        try:
            _adapter(tp).validate_python(value)
        except pydantic.ValidationError as exc:
            return [_at(path, f"is not a valid {_name(tp)}: {exc.errors()[0]['msg']}")]
        return []
    return [] if ok else [_at(path, f"must be {_JSON_NAMES[tp]}, not {_kind(value)}")]


_JSON_NAMES = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}


# ----------------------------------------------------------------------------- model tables
@dataclass(frozen=True, slots=True)
class _Field:
    """One field of a model: its JSON key, its annotation, whether it must be present."""

    key: str
    annotation: Any
    required: bool


@functools.cache
def _fields(model: type[pydantic.BaseModel]) -> dict[str, _Field]:
    """Return the model's fields by JSON key (the alias, else the field's name)."""
    table: dict[str, _Field] = {}
    for name, info in model.model_fields.items():
        key = _json_key(name, info)
        table[key] = _Field(key, info.annotation, info.is_required())
    return table


def _json_key(name: str, info: FieldInfo) -> str:
    if info.alias:
        return info.alias
    for meta in info.metadata:  # the SDK's own FieldMetadata(alias=…)
        alias = getattr(meta, "alias", None)
        if isinstance(alias, str) and alias:
            return alias
    return name


@functools.cache
def _tags(model: type[pydantic.BaseModel] | None) -> dict[str, object]:
    """Return the model's tags (fields with a single literal value, open or not) by key."""
    if model is None:
        return {}
    tags: dict[str, object] = {}
    for key, field in _fields(model).items():
        options = _literal_options(_resolve(field.annotation, model))
        if len(options) == 1:
            tags[key] = options[0]
    return tags


def _literal_options(tp: Any) -> tuple[Any, ...]:
    """Return the values of ``Literal[…]``, of ``Union[Literal[…], Any]``, or of their Optional."""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return typing.get_args(tp)
    if origin is typing.Annotated:
        return _literal_options(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        members = typing.get_args(tp)
        literals = [m for m in members if typing.get_origin(m) is typing.Literal]
        others = [m for m in members if m not in literals]
        if len(literals) == 1 and all(m is Any or m is _NONE for m in others):
            return typing.get_args(literals[0])
    return ()


def _model_of(tp: Any) -> type[pydantic.BaseModel] | None:
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel) else None


@functools.cache
def _adapter(tp: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(tp)


# ----------------------------------------------------------------------------- helpers
def _resolve(tp: Any, host: type | None) -> Any:
    """Resolve a forward reference (``"CreateAssistantDto"``) in its declaring module."""
    if isinstance(tp, str):
        tp = typing.ForwardRef(tp)
    if not isinstance(tp, typing.ForwardRef):
        return tp
    name = tp.__forward_arg__
    module = sys.modules.get(host.__module__) if host is not None else None
    try:
        # the SDK's own annotation text, evaluated where it was written (as typing does)
        return eval(name, dict(vars(module)) if module is not None else {})
    except NameError:
        sdk_types = sys.modules.get("vapi.types")
        if sdk_types is not None and hasattr(sdk_types, name):
            return getattr(sdk_types, name)
        raise TypeError(f"cannot resolve the forward reference {name!r} of {host}") from None


def _arg(tp: Any, index: int) -> Any:
    args = typing.get_args(tp)
    return args[index] if len(args) > index else Any


def _at(path: Path, problem: str) -> str:
    return f"{_pointer(path)}: {problem}"


def _pointer(path: Path) -> str:
    """Return the JSON pointer of ``path`` (``/`` for the document itself)."""
    if not path:
        return "/"
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names: dict[type, str] = {str: "a string", list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _name(tp: Any) -> str:
    if tp is None or tp is _NONE:
        return "null"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")

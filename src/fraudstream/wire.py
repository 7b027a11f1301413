"""Fast decoding of JSON batches into the schema's models: msgspec first, pydantic for errors.

pydantic validates a Sparkov transaction in about 19 µs; the stream and the model service see
tens of thousands a second, and at that rate validation alone would cost more than the model.
So the hot paths decode with msgspec (about 2.5 µs) into structs *derived* from the pydantic
models: same field names, types and bounds, read from the models themselves, never restated.

What keeps the fast path exactly as strict as the schema: every rule of the boundary models is
declarative (``ge``, ``le``, lengths, patterns, literals, naive datetimes), and each becomes a
``msgspec.Meta`` of the derived struct. A model may add a *before* validator only to accept a
foreign form of a value (a card number sent as a string); msgspec refuses that form, so such a
batch simply takes the slow path. Any other Python validator is refused when the struct is
derived, so the two paths cannot drift apart silently.

The slow path is pydantic itself, so a refused batch lists every bad field of every item in the
schema's own words. A valid batch comes back as structs that have every attribute of the model
(typed as the model: readers only read attributes).
"""

from __future__ import annotations

import functools
import operator
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Final, Generic, TypeVar, Union, get_args, get_origin

import annotated_types as at
import msgspec
from pydantic import (
    AfterValidator,
    BaseModel,
    NaiveDatetime,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WrapValidator,
)
from pydantic.fields import FieldInfo

from fraudstream.errors import FieldProblem, InvalidTransaction
from fraudstream.schema import NO_NUL, NOT_BLANK, describe_error

M = TypeVar("M", bound=BaseModel)


class NotJson(ValueError):
    """The body is not JSON at all (HTTP 400, not 422)."""


BATCH_PATTERNS: Final = frozenset({NO_NUL, NOT_BLANK})
"""Text patterns :class:`BatchDecoder` checks for a whole batch at once instead of per value:
matching a regular expression on every text field of every item was two thirds of decoding a
batch (3.8 of 5.7 ms per 1,000 items, BENCHMARKS.md). No NUL: JSON can only carry one escaped,
so a body without ``\\u0000`` has none. Not blank: ``str.strip`` over a field's values, in C."""
_ESCAPED_NUL: Final = b"\\u0000"


def _numeric(bound: Any) -> bool:
    return isinstance(bound, int | float) and not isinstance(bound, bool)


def _meta(
    metadata: Sequence[Any], *, naive: bool = False, lean: bool = False
) -> msgspec.Meta | None:
    """msgspec's ``Meta`` of a field's constraints; ``lean`` leaves out the text patterns that
    :class:`BatchDecoder` checks a whole batch at once (:data:`BATCH_PATTERNS`)."""
    kwargs: dict[str, Any] = {"tz": False} if naive else {}
    for item in metadata:
        if isinstance(item, at.Ge | at.Gt | at.Le | at.Lt) and not _numeric(_bound(item)):
            continue  # a date or time range: msgspec has no such Meta (see _range_check)
        if isinstance(item, at.Ge):
            kwargs["ge"] = item.ge
        elif isinstance(item, at.Le):
            kwargs["le"] = item.le
        elif isinstance(item, at.Gt):
            kwargs["gt"] = item.gt
        elif isinstance(item, at.Lt):
            kwargs["lt"] = item.lt
        elif isinstance(item, at.MinLen):
            kwargs["min_length"] = item.min_length
        elif isinstance(item, at.MaxLen):
            kwargs["max_length"] = item.max_length
        elif getattr(item, "pattern", None) is not None:
            if not (lean and item.pattern in BATCH_PATTERNS):
                kwargs["pattern"] = item.pattern
        elif isinstance(item, AfterValidator | WrapValidator | PlainValidator):
            raise TypeError(
                f"{item!r}: a Python validator cannot be mirrored by the fast decoder; "
                "state the rule as a bound, a length or a pattern"
            )
    return msgspec.Meta(**kwargs) if kwargs else None


def _wire_type(annotation: Any, metadata: Sequence[Any] = (), *, lean: bool = False) -> Any:
    """The msgspec type of a pydantic annotation, with its bounds (``lean``: see :func:`_meta`)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        inner_meta: list[Any] = []
        for item in extra:
            inner_meta.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        return _wire_type(base, [*inner_meta, *metadata], lean=lean)
    if origin in (Union, types.UnionType):
        return Union[tuple(_wire_type(a) for a in get_args(annotation))]  # noqa: UP007
    naive = annotation is NaiveDatetime
    if naive:
        wire: Any = datetime
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        wire = struct_for(annotation)
    elif origin is tuple:
        wire = tuple[tuple(_wire_type(a) for a in get_args(annotation))]  # type: ignore[misc]
    elif origin in (list, dict):  # list[Reason] holds structs too, not pydantic models
        wire = origin[tuple(_wire_type(a) for a in get_args(annotation))]
    else:
        wire = annotation
    meta = _meta(metadata, naive=naive, lean=lean)
    return Annotated[wire, meta] if meta is not None else wire


def _bound(item: at.Ge | at.Gt | at.Le | at.Lt) -> Any:
    return getattr(item, type(item).__name__.lower())


def _flat_metadata(annotation: Any, metadata: Sequence[Any]) -> list[Any]:
    """Every constraint of a field, its annotation's nested ``Annotated`` layers included."""
    found = list(metadata)
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        for item in extra:
            found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return found


_COMPARE: Final = {at.Ge: "__ge__", at.Gt: "__gt__", at.Le: "__le__", at.Lt: "__lt__"}
_WORDS: Final = {at.Ge: ">=", at.Gt: ">", at.Le: "<=", at.Lt: "<"}


@dataclass(frozen=True)
class RangeCheck:
    """A date or time bound of a field, which msgspec's ``Meta`` cannot state."""

    field: str
    compare: str
    bound: Any
    problem: str

    def holds(self, value: Any) -> bool:
        return value is None or bool(getattr(value, self.compare)(self.bound))


def range_checks(model: type[BaseModel]) -> tuple[RangeCheck, ...]:
    """The model's date and time bounds (its numeric ones are msgspec ``Meta``)."""
    checks: list[RangeCheck] = []
    for name, info in model.model_fields.items():
        for item in _flat_metadata(info.annotation, info.metadata):
            kind = type(item)
            if kind in _COMPARE and not _numeric(_bound(item)):
                bound = _bound(item)
                problem = f"{name} must be {_WORDS[kind]} {bound}"
                checks.append(RangeCheck(name, _COMPARE[kind], bound, problem))
    return tuple(checks)


def _range_check(model: type[BaseModel]) -> Callable[[Any], None] | None:
    """A ``__post_init__`` enforcing the model's date and time ranges; None when the model has
    none. It runs inside msgspec's decode, so a value out of range is a ``ValidationError`` like
    any other, and the slow path names the field."""
    checks = range_checks(model)
    if not checks:
        return None

    def __post_init__(self: Any) -> None:
        for check in checks:
            if not check.holds(getattr(self, check.field)):
                raise ValueError(check.problem)

    return __post_init__


@cache
def struct_for(model: type[BaseModel], *, checked: bool = True) -> type[msgspec.Struct]:
    """A msgspec struct with the model's fields, types, defaults and declared bounds; without
    its date and time bounds and its no-NUL and not-blank patterns when not ``checked``
    (:class:`BatchDecoder` checks those a whole batch at a time)."""
    if model.model_config.get("str_strip_whitespace"):
        raise TypeError(f"{model.__name__}: stripping whitespace has no msgspec equivalent")
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, info in model.model_fields.items():
        wire = _wire_type(info.annotation, info.metadata, lean=not checked)
        if info.is_required():
            fields.append((name, wire))
        else:
            fields.append((name, wire, info.default))
    check = _range_check(model) if checked else None
    namespace = {"__post_init__": check} if check is not None else None
    suffix = "Wire" if checked else "WireUnchecked"
    return msgspec.defstruct(f"{model.__name__}{suffix}", fields, kw_only=True, namespace=namespace)


@dataclass(frozen=True)
class BatchDecoder(Generic[M]):
    """Decode a JSON array of ``model`` items: fast when valid, exact when not."""

    model: type[M]

    def __post_init__(self) -> None:
        struct = struct_for(self.model, checked=False)
        object.__setattr__(self, "_fast", msgspec.json.Decoder(list[struct]))  # type: ignore[valid-type]
        object.__setattr__(self, "_exact", TypeAdapter(list[self.model]))  # type: ignore[name-defined]
        object.__setattr__(self, "_checks", _batch_checks(self.model))

    def decode(self, body: bytes) -> list[M]:
        """All items, or :class:`InvalidBatch` naming every problem, or :class:`NotJson`."""
        if _ESCAPED_NUL in body:
            return self._slow(body)  # a NUL somewhere (or a false alarm): the exact path decides
        try:
            items: list[Any] = self._fast.decode(body)  # type: ignore[attr-defined]
        except msgspec.ValidationError:
            return self._slow(body)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            # msgspec: invalid UTF-8 is a UnicodeDecodeError, deep nesting a RecursionError
            raise NotJson(f"the body is not valid JSON: {exc}") from None
        if items and not all(ok(items) for ok in self._checks):  # type: ignore[attr-defined]
            return self._slow(body)  # names the field and the item that broke a rule
        # Structs with the model's attributes: what every reader of the batch needs.
        return typing.cast(list[M], items)

    def _slow(self, body: bytes) -> list[M]:
        try:
            return typing.cast(list[M], self._exact.validate_json(body))  # type: ignore[attr-defined]
        except ValidationError as exc:
            raise InvalidBatch.from_pydantic(exc) from None


def _batch_checks(model: type[BaseModel]) -> tuple[Callable[[list[Any]], bool], ...]:
    """The rules :func:`struct_for` leaves out of a lean struct, each as a check of a whole
    decoded batch at once: the date and time bounds, and the not-blank texts (the no-NUL ones are
    checked on the body, see :data:`BATCH_PATTERNS`).

    A required field's values go through ``map(attrgetter)`` and ``min``, ``max`` or
    ``str.strip``, all in C: a batch of a thousand items pays a pass or two per field, not a
    thousand Python calls of a ``__post_init__`` or matches of a regular expression. An optional
    field is checked item by item, None passing.
    """
    checks: list[Callable[[list[Any]], bool]] = []
    for check in range_checks(model):
        value = operator.attrgetter(check.field)
        if model.model_fields[check.field].is_required():
            extreme = min if check.compare in ("__ge__", "__gt__") else max
            checks.append(functools.partial(_extreme_holds, check, value, extreme))
        else:
            checks.append(functools.partial(_each_holds, check, value))
    for name, info in model.model_fields.items():
        patterns = {
            getattr(i, "pattern", None) for i in _flat_metadata(info.annotation, info.metadata)
        }
        if NOT_BLANK in patterns:
            texts = operator.attrgetter(name)
            blank = _none_blank if info.is_required() else _none_blank_or_none
            checks.append(functools.partial(blank, texts))
    return tuple(checks)


def _none_blank(texts: Callable[[Any], str], items: list[Any]) -> bool:
    return all(map(str.strip, map(texts, items)))


def _none_blank_or_none(texts: Callable[[Any], str | None], items: list[Any]) -> bool:
    return all(text is None or text.strip() for text in map(texts, items))


def _extreme_holds(
    check: RangeCheck,
    value: Callable[[Any], Any],
    extreme: Callable[[Iterable[Any]], Any],
    items: list[Any],
) -> bool:
    return check.holds(extreme(map(value, items)))


def _each_holds(check: RangeCheck, value: Callable[[Any], Any], items: list[Any]) -> bool:
    return all(map(check.holds, map(value, items)))


class InvalidBatch(ValueError):
    """Items of a batch broke the schema: every problem, each with its item's index."""

    def __init__(self, errors: Sequence[InvalidTransaction], detail: str = "") -> None:
        self.errors = tuple(errors)
        super().__init__(detail or f"{len(self.errors)} invalid item(s)")

    @classmethod
    def from_pydantic(cls, exc: ValidationError) -> InvalidBatch:
        by_index: dict[int | None, list[FieldProblem]] = {}
        for err in exc.errors(include_url=False):
            loc = list(err["loc"])
            if err["type"] == "json_invalid":
                raise NotJson(f"the body is not valid JSON: {err['msg']}")
            if err["type"] == "list_type":
                return cls([], detail="the body must be a JSON array of transactions")
            index = loc[0] if loc and isinstance(loc[0], int) else None
            problem = describe_error({**err, "loc": tuple(loc[1:] if index is not None else loc)})
            by_index.setdefault(index, []).append(problem)
        return cls([InvalidTransaction(p, index=i) for i, p in by_index.items()])

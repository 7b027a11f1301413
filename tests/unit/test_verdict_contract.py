"""The verdicts topic's documented contract is the schema module's Verdict, not a copy of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import msgspec
import pytest

from fraudstream.schema import Reason, Verdict
from fraudstream.stream_processor.publish import verdict_json
from fraudstream.stream_processor.scorer import VerdictWire
from fraudstream.wire import struct_for

ReasonWire = struct_for(Reason)

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "verdict.schema.json"


def generated() -> dict[str, object]:
    schema = Verdict.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://fraudstream.dev/schemas/verdict.schema.json"
    return schema


def test_the_published_schema_is_generated_from_the_model() -> None:
    assert json.loads(DOC.read_text()) == generated(), (
        "docs/verdict.schema.json is stale: regenerate it from fraudstream.schema.Verdict"
    )


def test_both_encodings_of_a_verdict_match_the_schema_and_each_other() -> None:
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    fields = {
        "trans_num": "0b242abb623afc578575680df30655b9",
        "cc_num": 2703186189652095,
        "is_fraud": 1,
        "score": 0.93,
        "threshold": 0.41,
        "model_name": "fraudstream",
        "model_version": "3",
        "scored_at": at,
    }
    model = Verdict(**fields, reasons=[Reason(feature="amt", contribution=1.5)])
    struct = VerdictWire(**fields, reasons=[ReasonWire(feature="amt", contribution=1.5)])
    slow, fast = verdict_json(model), verdict_json(struct)  # type: ignore[arg-type]
    assert json.loads(slow) == json.loads(fast)
    jsonschema.validate(json.loads(fast), json.loads(DOC.read_text()))
    assert msgspec.json.decode(fast)["schema_version"] == 1

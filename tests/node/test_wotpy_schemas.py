"""wotpy's schema validation, with each schema checked once (wotpy_fixes.apply_schemas).

Behaviour must not change: the same documents pass and fail, with jsonschema's own error. The
cost must: `jsonschema.validate` re-checked wotpy's constant schemas against the metaschema on
every WS message and every Thing Description, most of a loopback WS read's time.
"""

import json
import time

import jsonschema
import pytest
from wotpy.protocols.ws.messages import WebsocketMessageRequest
from wotpy.wot.td import ThingDescription
from wotpy.wot.validation import InvalidDescription

from wotemu_runtime.node import wotpy_fixes

TD = {
    "@context": "https://www.w3.org/2019/wot/td/v1",
    "id": "urn:wotemu:test:schemas",
    "title": "schemas",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
    "security": "nosec_sc",
    "properties": {"t": {"type": "number"}},
}


@pytest.fixture(scope="module", autouse=True)
def schemas_checked_once():
    wotpy_fixes.apply_schemas()


def test_valid_and_invalid_documents_are_told_apart_as_before():
    assert ThingDescription(json.dumps(TD)).id == TD["id"]
    with pytest.raises(InvalidDescription, match="5 is not of type 'string'"):
        ThingDescription({**TD, "title": 5})
    request = {"jsonrpc": "2.0", "method": "read_property", "params": {"name": "t"}, "id": "1"}
    assert WebsocketMessageRequest.from_raw(json.dumps(request)).params == {"name": "t"}
    with pytest.raises(Exception, match="jsonrpc"):
        WebsocketMessageRequest.from_raw(json.dumps({**request, "jsonrpc": "1.0"}))


def test_the_same_error_as_jsonschema_validate():
    schema = {"type": "object", "properties": {"n": {"type": "number", "minimum": 0}}, "required": ["n"]}
    for instance in ({}, {"n": -1}, {"n": "x"}):
        with pytest.raises(jsonschema.ValidationError) as theirs:
            jsonschema.validate(instance, schema)
        with pytest.raises(jsonschema.ValidationError) as ours:
            wotpy_fixes.validate_against_checked_schema(instance, schema)
        assert (ours.value.message, list(ours.value.path)) == (theirs.value.message, list(theirs.value.path))


def test_a_thing_description_is_validated_in_well_under_a_millisecond_after_the_first(monkeypatch):
    ThingDescription(json.dumps(TD))
    checks = []
    monkeypatch.setattr(
        jsonschema.Draft7Validator, "check_schema", classmethod(lambda cls, s: checks.append(s))
    )
    start = time.perf_counter()
    for _ in range(20):
        ThingDescription(json.dumps(TD))
    per_td_ms = (time.perf_counter() - start) / 20 * 1000
    assert checks == []
    # Unpatched, wotpy's check of the TD schema alone took ~100 ms here.
    assert per_td_ms < 10, per_td_ms

"""Provider settings (``responsible-calling.md`` §10.4, §19): the assistant's model, voice and
transcriber, an optional ``assistant_id``, each bad field named; stored and read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import DEFAULT_MODEL
from dialcues_core.accounts.service import parse_provider_settings
from dialcues_core.errors import ValidationFailed

BASE = {"provider": "vapi", "api_key": "sk-1234", "webhook_secret": "whs-5678"}
VOICE = {"provider": "11labs", "voiceId": "burt", "stability": 0.5}
TRANSCRIBER = {"provider": "deepgram", "model": "nova-2", "language": "en"}


def problems(**fields: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_provider_settings({**BASE, **fields})
    return dict(caught.value.details["fields"])


def test_an_assistant_id_is_optional_and_the_model_defaults() -> None:
    settings = parse_provider_settings(BASE)
    assert (settings.assistant_id, settings.model) == (None, DEFAULT_MODEL)
    assert settings.model_parts == ("openai", "gpt-4.1-mini")
    assert (settings.voice, settings.transcriber) == (None, None)


def test_model_voice_and_transcriber_are_read_from_json_text_or_objects() -> None:
    settings = parse_provider_settings(
        {**BASE, "model": "anthropic:claude-sonnet-4-20250514", "voice": json.dumps(VOICE),
         "transcriber": TRANSCRIBER, "assistant_id": "asst_1"}
    )  # fmt: skip
    assert settings.model_parts == ("anthropic", "claude-sonnet-4-20250514")
    assert (settings.voice, settings.transcriber, settings.assistant_id) == (
        VOICE, TRANSCRIBER, "asst_1",
    )  # fmt: skip


def test_a_model_id_may_hold_colons() -> None:
    settings = parse_provider_settings({**BASE, "model": "openai:ft:gpt-4.1-mini:acme:x1"})
    assert settings.model_parts == ("openai", "ft:gpt-4.1-mini:acme:x1")


@pytest.mark.parametrize("model", ["gpt-4.1-mini", "openai:", ":gpt", "open ai:gpt", "OpenAI:x", 4])
def test_a_model_not_shaped_provider_colon_model_is_refused(model: object) -> None:
    assert problems(model=model) == {"model": "must be PROVIDER:MODEL, such as openai:gpt-4.1-mini"}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not json", "must be a JSON object"),
        ("[1, 2]", "must be a JSON object"),
        ({"voiceId": "burt"}, 'must name its "provider"'),
        ({"provider": " "}, 'must name its "provider"'),
        ({"provider": "11labs", "x": "y" * 10_000}, "must be at most 10000 characters as JSON"),
    ],
)
def test_a_voice_or_transcriber_must_be_an_object_naming_its_provider(
    value: object, problem: str
) -> None:
    assert problems(voice=value, transcriber=value) == {"voice": problem, "transcriber": problem}


def test_every_missing_and_bad_field_is_named_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_provider_settings({"provider": "vapi", "model": "x", "voice": "[]"})
    assert caught.value.details["fields"] == {
        "api_key": "is required",
        "webhook_secret": "is required",
        "model": "must be PROVIDER:MODEL, such as openai:gpt-4.1-mini",
        "voice": "must be a JSON object",
    }


def test_the_masked_settings_show_the_assistants_parts_and_no_secret() -> None:
    masked = parse_provider_settings({**BASE, "voice": VOICE}).masked()
    assert masked["model"] == DEFAULT_MODEL
    assert (masked["voice"], masked["transcriber"], masked["assistant_id"]) == (VOICE, None, None)
    assert "sk-1234" not in json.dumps(masked) and "whs-5678" not in json.dumps(masked)


# ----------------------------------------------------------------------------- storage
@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    platform = Dialcues.open(settings=settings_for(sqlite_url))
    yield platform
    platform.close()


def test_the_settings_are_stored_and_read_back(dc: Dialcues) -> None:
    org = dc.accounts.create_organization("Acme")
    fields = {**BASE, "model": "groq:llama-3.3-70b-versatile", "voice": VOICE,
              "transcriber": TRANSCRIBER}  # fmt: skip
    dc.accounts.set_provider(org.id, fields)
    stored = dc.accounts.get_organization(org.id).provider
    assert stored == parse_provider_settings(fields)


def test_setting_the_provider_again_replaces_every_field(dc: Dialcues) -> None:
    org = dc.accounts.create_organization("Acme")
    dc.accounts.set_provider(org.id, {**BASE, "model": "xai:grok-3", "voice": VOICE})
    dc.accounts.set_provider(org.id, BASE)
    stored = dc.accounts.get_organization(org.id).provider
    assert stored is not None
    assert (stored.model, stored.voice, stored.assistant_id) == (DEFAULT_MODEL, None, None)

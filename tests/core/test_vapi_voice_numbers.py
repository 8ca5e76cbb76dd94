"""``VapiVoiceNumbers`` against the fake Vapi on loopback (``telephony.md`` §1.1, §2.4).

The fake checks every ``POST /phone-number`` against the SDK's ``CreatePhoneNumbersRequest``
strictly and has no idempotency (each import is a new number), so the counts below prove that
an import is sent exactly as often as it should be.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from fakes.vapi_server import (
    CREDENTIAL_UUID_MESSAGE,
    Failure,
    FakeVapi,
    sdk_models,
    start_fake_vapi,
    validate_import,
)
from support.vapi_sdk import strict_errors

from dialcues_core.adapters.providers.vapi.numbers import VapiVoiceNumbers, import_body
from dialcues_core.errors import (
    CarrierRejected,
    CarrierThrottled,
    CarrierUnknownOutcome,
    CarrierUnreachable,
)
from dialcues_core.numbers.model import ImportedNumber, ImportStatus, Refusal

pytestmark = pytest.mark.xdist_group("vapi_sdk")  # one worker pays the SDK's ~10 s import

API_KEY = "vapi-private-key-1234"
SECRET = "whsec-5678"
CREDENTIAL = "5b0a3c1e-8a51-4b8e-9d0c-2f4f1f1e7a10"
EVENTS_URL = "https://dialcues.example/api/providers/vapi/events"
NUMBER = "+14155550142"


@dataclass
class Clock:
    """The fake's clock, moved by hand."""

    moment: datetime = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
async def vapi() -> AsyncIterator[FakeVapi]:
    async with start_fake_vapi(api_key=API_KEY, webhook_secret=SECRET) as fake:
        yield fake


def adapter(base_url: str, **options: Any) -> VapiVoiceNumbers:
    """The adapter as the composition root builds it, with quick retries for the tests."""
    settings: dict[str, Any] = {
        "credential_id": CREDENTIAL, "server_url": EVENTS_URL, "secret": SECRET,
        "timeout": 2.0, "retry_delays": (0.01, 0.01),
    }  # fmt: skip
    return VapiVoiceNumbers(options.pop("api_key", API_KEY), base_url, **{**settings, **options})


@pytest.fixture
async def numbers(vapi: FakeVapi) -> AsyncIterator[VapiVoiceNumbers]:
    client = adapter(vapi.base_url)
    yield client
    await client.close()


def posts(vapi: FakeVapi) -> list[Any]:
    """The bodies of every ``POST /phone-number`` the fake received."""
    return [r.body for r in vapi.number_requests if r.method == "POST"]


async def raw_import(vapi: FakeVapi, body: object) -> tuple[int, Any]:
    """POST a raw body to the fake's ``/phone-number``; return its status and answer."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(vapi.base_url + "/phone-number", json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


# ----------------------------------------------------------------------------- the import
async def test_the_import_body_is_exactly_the_specs(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    await numbers.import_number(NUMBER, "Front desk")
    assert posts(vapi) == [
        {
            "provider": "telnyx",
            "number": NUMBER,
            "credentialId": CREDENTIAL,
            "name": "Front desk",
            "server": {
                "url": EVENTS_URL,
                "headers": {"x-vapi-secret": SECRET},
                "timeoutSeconds": 20,
            },
        }
    ]


def test_the_import_body_passes_the_sdks_create_request_strictly() -> None:
    body = import_body(
        NUMBER, "Front desk", credential_id=CREDENTIAL, server_url=EVENTS_URL, secret=SECRET
    )
    assert strict_errors(sdk_models().number_create, body, closed_enums=True) == []
    assert validate_import(body) == []


def test_the_import_names_no_assistant_so_vapi_asks_us_on_each_call() -> None:
    body = import_body(NUMBER, "x", credential_id=CREDENTIAL, server_url=EVENTS_URL, secret="s")
    assert {"assistantId", "squadId", "workflowId"}.isdisjoint(body)


@pytest.mark.parametrize(
    ("label", "name"),
    [("  " + "x" * 50, "x" * 40), ("", NUMBER), ("   ", NUMBER), ("a" * 39 + " b", "a" * 39)],
)
def test_the_name_is_the_label_cut_to_forty_characters_else_the_number(
    label: str, name: str
) -> None:
    body = import_body(NUMBER, label, credential_id=CREDENTIAL, server_url=EVENTS_URL, secret="s")
    assert body["name"] == name


async def test_an_import_answers_activating_with_vapis_id(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    imported = await numbers.import_number(NUMBER, "Front desk")
    assert imported == ImportedNumber(vapi.phone_numbers[0]["id"], NUMBER, ImportStatus.ACTIVATING)


async def test_an_activating_number_reads_active_on_the_next_look(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    imported = await numbers.import_number(NUMBER, "Front desk")
    assert (await numbers.status(imported.id)).status is ImportStatus.ACTIVE


async def test_a_number_stays_activating_until_the_delay_has_passed(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    vapi.now = clock = Clock()
    vapi.activation_delay = 60.0
    imported = await numbers.import_number(NUMBER, "Front desk")
    before = await numbers.status(imported.id)
    clock.advance(60)
    assert (before.status, (await numbers.status(imported.id)).status) == (
        ImportStatus.ACTIVATING,
        ImportStatus.ACTIVE,
    )


async def test_a_number_vapi_will_not_serve_reads_blocked(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    vapi.blocked_numbers = {NUMBER}
    imported = await numbers.import_number(NUMBER, "Front desk")
    assert (await numbers.status(imported.id)).status is ImportStatus.BLOCKED


async def test_a_number_blocked_after_activation_reads_blocked(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    imported = await numbers.import_number(NUMBER, "Front desk")
    await numbers.status(imported.id)
    vapi.block(imported.id)
    assert (await numbers.status(imported.id)).status is ImportStatus.BLOCKED


# ----------------------------------------------------------------------------- refusals
async def test_a_bad_credential_is_refused_as_not_configured(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    vapi.bad_credential_ids = {CREDENTIAL}
    with pytest.raises(CarrierRejected) as caught:
        await numbers.import_number(NUMBER, "Front desk")
    assert (caught.value.carrier_code, caught.value.meaning, vapi.phone_numbers) == (
        "400",
        Refusal.NOT_CONFIGURED,
        [],
    )


async def test_a_credential_id_that_is_not_a_uuid_is_refused_as_not_configured(
    vapi: FakeVapi,
) -> None:
    client = adapter(vapi.base_url, credential_id="my-telnyx-key")
    with pytest.raises(CarrierRejected) as caught:
        await client.import_number(NUMBER, "Front desk")
    await client.close()
    assert caught.value.meaning == Refusal.NOT_CONFIGURED
    assert CREDENTIAL_UUID_MESSAGE in str(caught.value)


async def test_a_wrong_api_key_is_refused_as_our_account_without_the_key(vapi: FakeVapi) -> None:
    client = adapter(vapi.base_url, api_key="not-the-key")
    with pytest.raises(CarrierRejected) as caught:
        await client.import_number(NUMBER, "Front desk")
    await client.close()
    assert (caught.value.carrier_code, caught.value.meaning) == ("401", Refusal.ACCOUNT)
    assert "not-the-key" not in str(caught.value)


async def test_a_number_without_country_code_is_refused_as_rejected(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await numbers.import_number("4155550142", "Front desk")
    assert caught.value.meaning == Refusal.REJECTED
    assert "E.164" in str(caught.value)


async def test_the_status_of_an_id_vapi_does_not_know_is_a_404_refusal(
    numbers: VapiVoiceNumbers,
) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await numbers.status("5f7c0f7e-0000-4000-8000-000000000000")
    assert caught.value.carrier_code == "404"


# ----------------------------------------------------------------------------- never twice
async def test_a_500_after_importing_is_unknown_and_not_sent_again(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    vapi.fail_next_import(Failure.PLACED_THEN_500)
    with pytest.raises(CarrierUnknownOutcome):
        await numbers.import_number(NUMBER, "Front desk")
    assert (len(posts(vapi)), len(vapi.phone_numbers)) == (1, 1)


async def test_an_import_lost_to_a_500_is_found_by_the_lookup(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    vapi.fail_next_import(Failure.PLACED_THEN_500)
    with pytest.raises(CarrierUnknownOutcome):
        await numbers.import_number(NUMBER, "Front desk")
    found = await numbers.find_imported(NUMBER)
    assert found is not None and found.id == vapi.phone_numbers[0]["id"]


async def test_an_import_that_times_out_is_unknown_and_not_sent_again(vapi: FakeVapi) -> None:
    vapi.fail_next_import(Failure.HANG_PLACED)
    client = adapter(vapi.base_url, timeout=0.3)
    with pytest.raises(CarrierUnknownOutcome):
        await client.import_number(NUMBER, "Front desk")
    await client.close()
    assert (len(posts(vapi)), len(vapi.phone_numbers)) == (1, 1)


async def test_a_throttled_import_is_sent_again_and_imports_once(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    vapi.retry_after = "0"
    vapi.fail_next_import(Failure.THROTTLE_429)
    imported = await numbers.import_number(NUMBER, "Front desk")
    assert (len(posts(vapi)), [n["id"] for n in vapi.phone_numbers]) == (2, [imported.id])


async def test_a_long_retry_after_is_left_to_the_caller(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    vapi.retry_after = "30"
    vapi.fail_next_import(Failure.THROTTLE_429)
    with pytest.raises(CarrierThrottled) as caught:
        await numbers.import_number(NUMBER, "Front desk")
    assert (caught.value.retry_after, len(posts(vapi))) == (30.0, 1)


async def test_an_unreachable_vapi_is_unreachable(closed_port: int) -> None:
    client = adapter(f"http://127.0.0.1:{closed_port}")
    with pytest.raises(CarrierUnreachable):
        await client.import_number(NUMBER, "Front desk")
    await client.close()


# ----------------------------------------------------------------------------- lookups
async def test_find_imported_finds_the_number_by_its_e164(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    await numbers.import_number("+14155550100", "Other")
    imported = await numbers.import_number(NUMBER, "Front desk")
    found = await numbers.find_imported(NUMBER)
    assert found == ImportedNumber(imported.id, NUMBER, ImportStatus.ACTIVE)


async def test_find_imported_of_a_number_vapi_lacks_is_none(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    await numbers.import_number("+14155550100", "Other")
    assert await numbers.find_imported(NUMBER) is None


async def test_find_imported_pages_back_past_full_listings(vapi: FakeVapi) -> None:
    vapi.now = clock = Clock()
    client = adapter(vapi.base_url, page_size=2)
    wanted = await client.import_number(NUMBER, "Front desk")
    for last in range(5):
        clock.advance(1)
        await client.import_number(f"+1415555020{last}", "Other")
    found = await client.find_imported(NUMBER)
    await client.close()
    assert found is not None and found.id == wanted.id


async def test_find_imported_says_none_only_after_the_last_page(vapi: FakeVapi) -> None:
    vapi.now = clock = Clock()
    client = adapter(vapi.base_url, page_size=2)
    for last in range(4):
        clock.advance(1)
        await client.import_number(f"+1415555020{last}", "Other")
    found = await client.find_imported(NUMBER)
    await client.close()
    lists = [r for r in vapi.number_requests if r.method == "GET"]
    assert (found, len(lists), sorted(lists[-1].query)) == (None, 4, ["createdAtLe", "limit"])


# ----------------------------------------------------------------------------- removal
async def test_remove_deletes_the_number_and_a_second_remove_is_done(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    imported = await numbers.import_number(NUMBER, "Front desk")
    await numbers.remove(imported.id)
    await numbers.remove(imported.id)
    deletes = [r.status for r in vapi.number_requests if r.method == "DELETE"]
    assert (vapi.phone_numbers, deletes) == ([], [200, 404])


# ----------------------------------------------------------------------------- the fake
async def test_the_fake_refuses_a_field_vapis_telnyx_import_lacks(vapi: FakeVapi) -> None:
    body = {"provider": "telnyx", "number": NUMBER, "credentialId": CREDENTIAL, "smsEnabled": False}
    status, answer = await raw_import(vapi, body)
    assert (status, answer["error"], answer["statusCode"]) == (400, "Bad Request", 400)
    assert any("property smsEnabled should not exist" in m for m in answer["message"])


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "twilio", "number": NUMBER, "twilioAccountSid": "AC1"},
        {"number": NUMBER, "credentialId": CREDENTIAL},
        {"provider": "telnyx", "credentialId": CREDENTIAL},
        {"provider": "telnyx", "number": NUMBER},
        {"provider": "telnyx", "number": NUMBER, "credentialId": CREDENTIAL, "name": "x" * 41},
    ],
    ids=["twilio", "no-provider", "no-number", "no-credential", "long-name"],
)
async def test_the_fake_imports_only_well_formed_telnyx_numbers(
    vapi: FakeVapi, body: dict[str, Any]
) -> None:
    status, _ = await raw_import(vapi, body)
    assert (status, vapi.phone_numbers) == (400, [])


async def test_the_fake_lists_numbers_as_a_plain_array(
    vapi: FakeVapi, numbers: VapiVoiceNumbers
) -> None:
    await numbers.import_number(NUMBER, "Front desk")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(vapi.base_url + "/phone-number", headers=headers) as response,
    ):
        listed = await response.json()
    assert [(n["number"], n["provider"], n["status"]) for n in listed] == [
        (NUMBER, "telnyx", "active")
    ]

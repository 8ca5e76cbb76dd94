"""Message templates (``telephony.md`` §4.1, §8 items 32–33): normalization, slots, the content
hash and its footer, versions and archiving.

The text rules run as pure functions; the use cases run on a real SQLite file and on
PostgreSQL (``any_url``), on a fake clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.errors import AlreadyExists, InvalidState, ValidationFailed
from dialcues_core.messages import templates
from dialcues_core.messages.model import MessageTemplate
from dialcues_core.messages.templates import FOOTER, TemplateSyntaxError
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)
LINE = "+14155550142"
TO = "+14155550100"
BODY = "Hi {{ first_name }}, see you at {{ time }}."
VARIABLES = {"first_name": "Ada", "time": "3 pm"}


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-03-25T13:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on each backend in turn, on the fake clock."""
    platform = Dialcues.open(settings=settings_for(any_url), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def me(dc: Dialcues) -> Principal:
    """A user of an organization with a simulated default line that sends texts, and a
    recipient who gave express consent."""
    org = dc.accounts.create_organization("Acme")
    dc.accounts.add_line(
        org.id, "simulated", LINE, features=("mms", "sms", "voice"), carrier="simulated"
    )
    user = dc.accounts.create_user(org.id, "jane@example.com", "Jane")
    principal = dc.as_user(user.id)
    consent = {
        "phone_number": TO,
        "type": "express",
        "purpose": "informational",
        "source": "api",
        "text": "Yes, text me.",
        "captured_at": "2026-03-01T00:00:00Z",
    }
    dc.consents.create(principal, consent)
    return principal


def create(dc: Dialcues, me: Principal, **fields: Any) -> MessageTemplate:
    """Create a template (an informational SMS one unless ``fields`` say otherwise)."""
    payload = {
        "name": "hello",
        "body": BODY,
        "channels": ["sms"],
        "purpose": "informational",
        **fields,
    }
    return dc.message_templates.create(me, payload)


def refused_fields(error: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    """The field names a validation error names."""
    return set(error.value.fields)


# ----------------------------------------------------------------------------- normalization
def test_normalization_composes_to_nfc() -> None:
    assert templates.normalize("Cafe\u0301") == "Caf\u00e9"


def test_normalization_turns_cr_lf_and_lone_cr_into_lf() -> None:
    assert templates.normalize("one\r\ntwo\rthree") == "one\ntwo\nthree"


def test_normalization_drops_trailing_spaces_and_tabs_of_each_line() -> None:
    assert templates.normalize("one \t\ntwo\t \nthree  ") == "one\ntwo\nthree"


def test_normalization_keeps_leading_spaces_inside_the_text() -> None:
    assert templates.normalize("one\n  two") == "one\n  two"


def test_normalization_drops_leading_and_trailing_blank_lines() -> None:
    assert templates.normalize("\n \t\n\nHi\n\nthere\n  \n\n") == "Hi\n\nthere"


def test_normalization_writes_slots_without_spaces() -> None:
    assert templates.normalize("Hi {{ name }} and {{other   }}") == "Hi {{name}} and {{other}}"


@pytest.mark.parametrize(
    "body",
    [
        "Hi {{ Name }}",  # a capital is no slot name
        "Hi {{ 1st }}",
        "Hi {{ first name }}",
        "Hi {{ name }",
        "Hi { name }}",
        "Hi }} there",
        "Hi {{ there",
        "Hi {{}}",
        "Hi {{ " + "a" * 33 + " }}",  # names are at most 32 characters
    ],
)
def test_braces_that_are_not_a_slot_are_refused(body: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        templates.normalize(body)


def test_twenty_distinct_slots_are_allowed() -> None:
    body = " ".join(f"{{{{ s{i} }}}}" for i in range(20))

    assert len(templates.slots_of(templates.normalize(body))) == 20


def test_a_twenty_first_distinct_slot_is_refused() -> None:
    body = " ".join(f"{{{{ s{i} }}}}" for i in range(21))

    with pytest.raises(TemplateSyntaxError):
        templates.normalize(body)


def test_a_slot_used_many_times_counts_once() -> None:
    body = " ".join("{{ name }}" for _ in range(30))

    assert templates.slots_of(templates.normalize(body)) == ("name",)


def test_slots_are_listed_once_each_and_sorted() -> None:
    assert templates.slots_of("{{time}} {{name}} {{time}}") == ("name", "time")


_TEXT = st.text(
    alphabet=st.sampled_from(
        [" ", "\t", "\r", "\n", "\u00a0", "a", "z", "_", "1", "{", "}", "e", "\u0301", "\u00e9"]
    ),
    max_size=40,
)


@given(_TEXT)
def test_normalization_is_idempotent(body: str) -> None:
    try:
        once = templates.normalize(body)
    except TemplateSyntaxError:
        assume(False)
        return

    assert templates.normalize(once) == once


@given(_TEXT)
def test_a_normalized_body_has_the_same_hash_as_its_source_normalized(body: str) -> None:
    try:
        once = templates.normalize(body)
    except TemplateSyntaxError:
        assume(False)
        return

    assert templates.content_hash(templates.normalize(once), False) == templates.content_hash(
        once, False
    )


# ----------------------------------------------------------------------------- hash and render
@pytest.mark.parametrize(
    "variant",
    [
        "Hi {{ first_name }},\r\nsee you at {{ time }}.",
        "Hi {{ first_name }},  \nsee you at {{ time }}.\t",
        "Hi {{first_name}},\nsee you at {{time}}.",
        "\n\nHi {{   first_name}},\rsee you at {{time }}.\n \n",
    ],
)
def test_bodies_differing_only_in_line_ends_trailing_spaces_or_slot_spacing_hash_the_same(
    variant: str,
) -> None:
    reference = templates.normalize("Hi {{ first_name }},\nsee you at {{ time }}.")

    assert templates.content_hash(templates.normalize(variant), False) == templates.content_hash(
        reference, False
    )


def test_the_content_hash_is_sha256_of_the_body_in_utf8() -> None:
    body = "Grüße, {{name}}"

    expected = "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()
    assert templates.content_hash(body, False) == expected


def test_the_footer_is_hashed_with_the_body() -> None:
    body = "Sale today"

    expected = "sha256:" + hashlib.sha256((body + FOOTER).encode("utf-8")).hexdigest()
    assert templates.content_hash(body, True) == expected
    assert templates.content_hash(body, True) != templates.content_hash(body, False)


def test_render_fills_every_slot_and_appends_the_footer_when_on() -> None:
    text = templates.render("Hi {{name}}, {{name}}!", {"name": "Ada"}, True)

    assert text == "Hi Ada, Ada!\n\nReply STOP to opt out."


def test_render_never_reads_a_value_as_a_slot() -> None:
    text = templates.render("Hi {{name}} at {{time}}", {"name": "{{time}}", "time": "3"}, False)

    assert text == "Hi {{time}} at 3"


# ----------------------------------------------------------------------------- create
def test_a_created_template_stores_its_normalized_body_slots_and_hash(
    dc: Dialcues, me: Principal
) -> None:
    template = create(dc, me, body="Hi {{ first_name }},\r\nsee you at {{ time }}.  \n\n")

    content = template.content
    assert content.body == "Hi {{first_name}},\nsee you at {{time}}."
    assert content.variables == ("first_name", "time")
    assert content.version == 1
    assert content.content_hash == templates.content_hash(content.body, False)
    assert template.id.startswith("tpl_")
    assert dc.message_templates.get(me, template.id) == template


def test_templates_whose_bodies_differ_only_in_form_have_the_same_hash(
    dc: Dialcues, me: Principal
) -> None:
    first = create(dc, me, name="a", body="Hi {{ first_name }},\r\nsee you.")
    second = create(dc, me, name="b", body="Hi {{first_name}},   \nsee you.\n")

    assert first.content.content_hash == second.content.content_hash


def test_a_body_with_a_stray_brace_is_refused_naming_body(dc: Dialcues, me: Principal) -> None:
    with pytest.raises(ValidationFailed) as error:
        create(dc, me, body="Hi {{ Name }}")

    assert refused_fields(error) == {"body"}


def test_a_body_with_21_slots_is_refused_naming_body(dc: Dialcues, me: Principal) -> None:
    body = " ".join(f"{{{{ s{i} }}}}" for i in range(21))

    with pytest.raises(ValidationFailed) as error:
        create(dc, me, body=body)

    assert refused_fields(error) == {"body"}


def test_a_marketing_template_without_the_footer_is_refused(dc: Dialcues, me: Principal) -> None:
    with pytest.raises(ValidationFailed) as error:
        create(dc, me, purpose="marketing", opt_out_footer=False)

    assert refused_fields(error) == {"opt_out_footer"}


def test_a_marketing_template_always_carries_the_footer_in_its_hash(
    dc: Dialcues, me: Principal
) -> None:
    template = create(dc, me, purpose="marketing", body="Sale today")

    assert template.content.opt_out_footer is True
    assert template.content.content_hash == templates.content_hash("Sale today", True)


def test_an_informational_template_has_no_footer_unless_asked(dc: Dialcues, me: Principal) -> None:
    plain = create(dc, me, name="plain", body="Hello")
    footed = create(dc, me, name="footed", body="Hello", opt_out_footer=True)

    assert (plain.content.opt_out_footer, footed.content.opt_out_footer) == (False, True)
    assert plain.content.content_hash != footed.content.content_hash


def test_a_second_unarchived_template_with_the_same_name_is_already_exists(
    dc: Dialcues, me: Principal
) -> None:
    create(dc, me, name="hello")

    with pytest.raises(AlreadyExists) as error:
        create(dc, me, name="hello")

    assert error.value.details == {"resource": "message_template", "name": "hello"}


def test_an_archived_templates_name_may_be_used_again(dc: Dialcues, me: Principal) -> None:
    old = create(dc, me, name="hello")
    dc.message_templates.archive(me, old.id)

    new = create(dc, me, name="hello")

    assert new.id != old.id


def test_renaming_to_a_taken_name_is_already_exists(dc: Dialcues, me: Principal) -> None:
    create(dc, me, name="hello")
    other = create(dc, me, name="other")

    with pytest.raises(AlreadyExists):
        dc.message_templates.update(me, other.id, {"name": "hello"})


def test_another_organization_may_use_the_same_name(dc: Dialcues, me: Principal) -> None:
    create(dc, me, name="hello")
    org = dc.accounts.create_organization("Beta")
    them = dc.as_user(dc.accounts.create_user(org.id, "bob@example.com", "Bob").id)

    assert dc.message_templates.create(
        them, {"name": "hello", "body": "Hi", "channels": ["sms"], "purpose": "informational"}
    )


# ----------------------------------------------------------------------------- versions
def test_a_body_change_makes_version_2_with_its_own_hash(
    dc: Dialcues, me: Principal, clock: FakeClock
) -> None:
    template = create(dc, me)
    clock.advance(60)

    changed = dc.message_templates.update(me, template.id, {"body": "Bye {{ first_name }}."})

    assert changed.version == 2
    assert changed.content.body == "Bye {{first_name}}."
    assert changed.content.variables == ("first_name",)
    assert changed.content.content_hash == templates.content_hash("Bye {{first_name}}.", False)
    assert changed.updated_at == clock.now()
    assert dc.message_templates.get(me, template.id).version == 2


def test_a_channels_change_makes_a_new_version_even_with_an_unchanged_hash(
    dc: Dialcues, me: Principal
) -> None:
    template = create(dc, me)

    changed = dc.message_templates.update(me, template.id, {"channels": ["sms", "rcs"]})

    assert changed.version == 2
    assert changed.content.content_hash == template.content.content_hash


def test_name_and_description_change_in_place(dc: Dialcues, me: Principal) -> None:
    template = create(dc, me)

    changed = dc.message_templates.update(
        me, template.id, {"name": "renamed", "description": "For visits"}
    )

    assert (changed.name, changed.description, changed.version) == ("renamed", "For visits", 1)
    assert changed.content == template.content


def test_the_old_version_stays_readable(dc: Dialcues, me: Principal) -> None:
    template = create(dc, me)
    dc.message_templates.update(me, template.id, {"body": "Bye {{ first_name }}."})

    first = dc.message_templates.version(me, template.id, "1")
    history = dc.message_templates.versions(me, template.id, {})

    assert first == template.content
    assert [v.version for v in history.items] == [2, 1]


def test_a_patch_turning_marketing_with_the_footer_off_is_refused(
    dc: Dialcues, me: Principal
) -> None:
    template = create(dc, me)

    with pytest.raises(ValidationFailed) as error:
        dc.message_templates.update(
            me, template.id, {"purpose": "marketing", "opt_out_footer": False}
        )

    assert refused_fields(error) == {"opt_out_footer"}
    assert dc.message_templates.get(me, template.id).version == 1


def send(dc: Dialcues, me: Principal, template: MessageTemplate, **fields: Any) -> Any:
    """Send the template to the consenting recipient."""
    payload = {
        "to": TO,
        "channel": "sms",
        "template_id": template.id,
        "variables": VARIABLES,
        **fields,
    }
    return dc.messages.send(me, payload)


def test_a_message_keeps_its_version_and_hash_after_an_edit(dc: Dialcues, me: Principal) -> None:
    template = create(dc, me)
    sent = send(dc, me, template)
    dc.message_templates.update(me, template.id, {"body": "Bye {{ first_name }} {{ time }}."})

    stored = dc.messages.get(me, sent.id)

    assert (stored.template_version, stored.content_hash) == (1, template.content.content_hash)
    assert stored.text == "Hi Ada, see you at 3 pm."


def test_a_send_naming_an_older_version_uses_it_and_its_hash(dc: Dialcues, me: Principal) -> None:
    template = create(dc, me)
    dc.message_templates.update(me, template.id, {"body": "Bye {{ first_name }} at {{ time }}."})

    older = send(dc, me, template, template_version=1)
    current = send(dc, me, template)

    assert (older.template_version, older.content_hash) == (1, template.content.content_hash)
    assert older.text == "Hi Ada, see you at 3 pm."
    assert current.template_version == 2
    assert current.text == "Bye Ada at 3 pm."


def test_a_send_naming_a_version_that_does_not_exist_is_refused(
    dc: Dialcues, me: Principal
) -> None:
    template = create(dc, me)

    with pytest.raises(ValidationFailed) as error:
        send(dc, me, template, template_version=2)

    assert refused_fields(error) == {"template_version"}


def test_a_footed_templates_message_ends_with_the_footer(dc: Dialcues, me: Principal) -> None:
    template = create(dc, me, opt_out_footer=True)

    sent = send(dc, me, template)

    assert sent.text == "Hi Ada, see you at 3 pm." + FOOTER
    assert sent.content_hash == templates.content_hash(template.content.body, True)


# ----------------------------------------------------------------------------- archive
def test_a_send_naming_an_archived_template_is_refused_naming_template_id(
    dc: Dialcues, me: Principal
) -> None:
    template = create(dc, me)
    dc.message_templates.archive(me, template.id)

    with pytest.raises(ValidationFailed) as error:
        send(dc, me, template)

    assert refused_fields(error) == {"template_id"}


def test_an_archived_template_stays_readable_with_archived_at(
    dc: Dialcues, me: Principal, clock: FakeClock
) -> None:
    template = create(dc, me)
    clock.advance(5)

    dc.message_templates.archive(me, template.id)
    found = dc.message_templates.get(me, template.id)

    assert found.archived_at == clock.now()
    assert found.content == template.content


def test_archiving_twice_changes_nothing(dc: Dialcues, me: Principal, clock: FakeClock) -> None:
    template = create(dc, me)
    first = dc.message_templates.archive(me, template.id)
    clock.advance(5)

    again = dc.message_templates.archive(me, template.id)

    assert again == first


def test_an_archived_template_cannot_be_changed(dc: Dialcues, me: Principal) -> None:
    template = create(dc, me)
    dc.message_templates.archive(me, template.id)

    with pytest.raises(InvalidState):
        dc.message_templates.update(me, template.id, {"body": "Bye"})


def test_the_list_hides_archived_templates_unless_asked(dc: Dialcues, me: Principal) -> None:
    kept = create(dc, me, name="kept")
    gone = create(dc, me, name="gone")
    dc.message_templates.archive(me, gone.id)

    live = dc.message_templates.list(me, {})
    archived = dc.message_templates.list(me, {"archived": "true"})

    assert [t.id for t in live.items] == [kept.id]
    assert [t.id for t in archived.items] == [gone.id]

"""What every call says (``responsible-calling.md`` §10): the opening and the voicemail message."""

from __future__ import annotations

import pytest

from dialcues_core.calling.opening import (
    VOICEMAIL_LIMIT,
    break_liquid,
    international,
    opening,
    voicemail,
)
from dialcues_core.calling.policy import CallingPolicy, Identity
from dialcues_core.calling.rendering import opening_preview

ACME = Identity("Acme Pharmacy", "+14155550100", True, None, 10)
DOSE = "Time for your evening dose."
IDENTIFICATION = "This is Acme Pharmacy with a reminder."
DISCLOSURE = "You're speaking with an automated assistant."
ACTIONS = "Press 1 or say done to confirm. Press 2 or say snooze to be called again in 10 minutes."
CALLBACK = "To reach Acme Pharmacy, call +1 415-555-0100."
OPT_OUT = "To stop these calls, press 9 or say stop."


def with_(identity: Identity = ACME, **changes: object) -> Identity:
    """``identity`` with some fields changed."""
    fields = {
        "caller_name": identity.caller_name,
        "callback_number": identity.callback_number,
        "ai_disclosure": identity.ai_disclosure,
        "opening_template": identity.opening_template,
        "snooze_default_minutes": identity.snooze_default_minutes,
    }
    return Identity(**{**fields, **changes})  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the opening
def test_an_informational_call_says_the_six_slots_in_the_built_in_order() -> None:
    assert opening(ACME, DOSE) == " ".join(
        [IDENTIFICATION, DISCLOSURE, DOSE, ACTIONS, CALLBACK, OPT_OUT]
    )


def test_a_marketing_call_offers_the_opt_out_right_after_the_identification() -> None:
    assert opening(ACME, DOSE, "marketing") == " ".join(
        [IDENTIFICATION, OPT_OUT, DISCLOSURE, DOSE, ACTIONS, CALLBACK]
    )


def test_a_marketing_call_ignores_the_organizations_template() -> None:
    reordered = with_(opening_template="{identification} {message} {actions} {callback} "
                      "{disclosure} {opt_out} Thanks.")  # fmt: skip
    assert opening(reordered, DOSE, "marketing") == opening(ACME, DOSE, "marketing")


def test_without_disclosure_or_callback_their_slots_leave_no_trace() -> None:
    quiet = with_(ai_disclosure=False, callback_number=None)
    assert opening(quiet, DOSE) == f"{IDENTIFICATION} {DOSE} {ACTIONS} {OPT_OUT}"
    assert opening(quiet, DOSE, "marketing") == f"{IDENTIFICATION} {OPT_OUT} {DOSE} {ACTIONS}"


def test_the_template_orders_the_slots_and_adds_sentences_around_them() -> None:
    template = (
        "  {identification} {message}  Hello from the team. {opt_out}\n{disclosure} {callback} "
        "{actions} Bye."
    )
    said = opening(with_(opening_template=template, ai_disclosure=False), DOSE)
    assert said == (
        f"{IDENTIFICATION} {DOSE} Hello from the team. {OPT_OUT} {CALLBACK} {ACTIONS} Bye."
    )


def test_the_snooze_default_is_the_minutes_the_actions_offer() -> None:
    assert "called again in 25 minutes." in opening(with_(snooze_default_minutes=25), DOSE)


def test_a_message_naming_a_slot_is_said_as_written() -> None:
    said = opening(ACME, "Bring {callback} and {opt_out}.")
    assert said.count(CALLBACK) == 1 and "Bring {callback} and {opt_out}." in said


def test_a_blank_message_leaves_no_double_space() -> None:
    assert opening(ACME, "  ") == f"{IDENTIFICATION} {DISCLOSURE} {ACTIONS} {CALLBACK} {OPT_OUT}"


def test_a_callback_number_is_said_in_international_format() -> None:
    london = with_(callback_number="+442079460958")
    assert "call +44 20 7946 0958." in opening(london, DOSE)
    assert international("+14155550100") == "+1 415-555-0100"


def test_without_a_caller_name_the_call_still_identifies_itself_as_a_reminder() -> None:
    nameless = with_(caller_name=None)
    said = opening(nameless, DOSE)
    assert said.startswith("This is a reminder. ")
    assert "To call back, call +1 415-555-0100." in said
    assert said.endswith(OPT_OUT)


def test_the_policys_preview_is_the_informational_opening() -> None:
    policy = CallingPolicy("org_1", caller_name="Acme Pharmacy", callback_number="+14155550100")
    assert opening_preview(policy) == opening(ACME, "Your reminder message.")
    assert opening_preview(CallingPolicy("org_1")).startswith(
        "This is {caller_name} with a reminder."
    )


# ----------------------------------------------------------------------------- Liquid
@pytest.mark.parametrize(
    ("text", "broken"),
    [
        ("Hi {{ name }}", "Hi { { name } }"),
        ("{% if x %}yes{% endif %}", "{ % if x % }yes{ % endif % }"),
        ("{{{x}}}", "{ { {x} } }"),
        ("{%}", "{ % }"),
        ("{ single } and 100% sure", "{ single } and 100% sure"),
        ("", ""),
    ],
)
def test_liquid_delimiters_are_broken(text: str, broken: str) -> None:
    assert break_liquid(text) == broken
    for delimiter in ("{{", "}}", "{%", "%}"):
        assert delimiter not in break_liquid(text)


def test_the_opening_breaks_liquid_in_the_message_and_the_caller_name() -> None:
    said = opening(with_(caller_name="Acme {{x}}"), "Take {{ dose }} {% now %}")
    assert "This is Acme { {x} } with a reminder." in said
    assert "Take { { dose } } { % now % }" in said
    assert "{{" not in said and "%}" not in said


# ----------------------------------------------------------------------------- voicemail
def test_the_voicemail_names_the_callback_number_to_stop() -> None:
    assert voicemail(ACME, DOSE, "+14155550199") == (
        f"{IDENTIFICATION} {DISCLOSURE} {DOSE} To stop these calls, call +1 415-555-0100."
    )


def test_without_a_callback_number_the_voicemail_names_the_lines_own_number() -> None:
    quiet = with_(ai_disclosure=False, callback_number=None)
    assert voicemail(quiet, DOSE, "+14155550199") == (
        f"{IDENTIFICATION} {DOSE} To stop these calls, call +1 415-555-0199."
    )


def test_a_long_message_is_shortened_with_an_ellipsis_to_fit_the_voicemail() -> None:
    said = voicemail(ACME, "word " * 400, "+14155550199")
    assert len(said) == VOICEMAIL_LIMIT
    assert said.startswith(f"{IDENTIFICATION} {DISCLOSURE} word word")
    assert said.endswith("… To stop these calls, call +1 415-555-0100.")


def test_a_message_that_just_fits_is_not_shortened() -> None:
    fixed = len(voicemail(ACME, "", "+14155550199")) + 1  # and the space before the message
    said = voicemail(ACME, "x" * (VOICEMAIL_LIMIT - fixed), "+14155550199")
    assert len(said) == VOICEMAIL_LIMIT and "…" not in said


def test_the_voicemail_breaks_liquid_in_the_message() -> None:
    assert "{ { code } }" in voicemail(ACME, "{{ code }}", "+14155550199")

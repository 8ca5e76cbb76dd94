"""Reading message and template requests (``telephony.md`` §4.1, §4.3, §4.6): shapes only;
what needs the database (the template, the line, consent) is judged by the use cases."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from dialcues_core.consent.fields import optional, paging, parse_query_bool
from dialcues_core.errors import ValidationFailed
from dialcues_core.kernel.fields import (
    FieldReader,
    choice_parser,
    given,
    parse_bool,
    parse_positive_int,
    parse_utc_bound,
    require_object,
    single_values,
    text_parser,
)
from dialcues_core.kernel.localtime import load_zone, zone_names
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.messages import templates
from dialcues_core.messages.model import CHANNELS, PURPOSES, Channel, MessageStatus

TEMPLATE_FIELDS: Final = frozenset(
    {"name", "body", "channels", "purpose", "opt_out_footer", "description"}
)
VERSIONED: Final = ("body", "channels", "purpose", "opt_out_footer")
"""A change to any of these makes a new version; ``name`` and ``description`` change in place."""
SEND_FIELDS: Final = frozenset(
    {
        "to",
        "from",
        "channel",
        "template_id",
        "template_version",
        "variables",
        "media_urls",
        "fallback_channel",
        "timezone",
    }
)
FALLBACK_FIELDS: Final = frozenset({"channel", "template_id", "after", "variables"})
FALLBACK_AFTER: Final = ("final_failure", "no_answer", "voicemail")
BUILT_INS: Final = ("line_number", "reminder_message", "reminder_title", "scheduled_local")
TEMPLATE_QUERY: Final = frozenset({"purpose", "channel", "archived", "page", "page_size"})
MESSAGE_QUERY: Final = frozenset(
    {
        "direction",
        "status",
        "channel",
        "to",
        "from",
        "template_id",
        "execution_id",
        "date_from",
        "date_to",
        "page",
        "page_size",
    }
)
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_TEXT: Final = {"sms": 1600, "mms": 1600, "rcs": 3072}


# ----------------------------------------------------------------------------- templates
@dataclass(frozen=True, slots=True)
class TemplateFields:
    """What a template create or PATCH gave (None: not given)."""

    name: str | None = None
    description: str | None = None
    description_given: bool = False
    body: str | None = None
    channels: tuple[str, ...] | None = None
    purpose: str | None = None
    opt_out_footer: bool | None = None


def parse_name(value: Any) -> str:
    """A template name: 1–64 characters of ``[a-z0-9_-]``, the first a letter or digit."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(
            "must be 1–64 characters of a-z, 0-9, '_' and '-', the first a letter or digit"
        )
    return value


def parse_body(value: Any) -> str:
    """A template body, normalized: 1–1600 characters, slots ``{{ name }}`` only."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        body = templates.normalize(value)
    except templates.TemplateSyntaxError as exc:
        raise ValueError(str(exc)) from None
    if not 1 <= len(body) <= templates.MAX_BODY:
        raise ValueError(f"must be 1–{templates.MAX_BODY} characters after normalization")
    return body


def parse_channels(value: Any) -> tuple[str, ...]:
    """A non-empty subset of ``sms``, ``mms`` and ``rcs`` (kept in that order)."""
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty array of sms, mms, rcs")
    if any(item not in CHANNELS for item in value) or len(set(value)) != len(value):
        raise ValueError("must list each of sms, mms, rcs at most once")
    return tuple(c for c in CHANNELS if c in value)


def read_template(payload: Any, *, creating: bool) -> TemplateFields:
    """A create (every required field) or a PATCH (any field) of a template."""
    reader = FieldReader(require_object(payload), TEMPLATE_FIELDS)
    fields = TemplateFields(
        name=given(reader.read("name", parse_name, required=creating)),
        description=given(reader.read("description", optional(text_parser(255)))),
        description_given=reader.has("description"),
        body=given(reader.read("body", parse_body, required=creating)),
        channels=given(reader.read("channels", parse_channels, required=creating)),
        purpose=given(reader.read("purpose", choice_parser(PURPOSES), required=creating)),
        opt_out_footer=given(reader.read("opt_out_footer", parse_bool)),
    )
    if not creating and not payload:
        reader.fail("body", "a PATCH must change at least one field")
    reader.raise_if_any()
    return fields


def footer_problem(purpose: str, footer: bool | None) -> str | None:
    """Marketing always carries the opt-out footer."""
    if purpose == "marketing" and footer is False:
        return "must be true for marketing templates (their messages always say how to opt out)"
    return None


def read_template_query(params: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /message-templates``'s filters."""
    reader = FieldReader(single_values(params), TEMPLATE_QUERY)
    found = {
        "purpose": given(reader.read("purpose", choice_parser(PURPOSES))),
        "channel": given(reader.read("channel", choice_parser(CHANNELS))),
        "archived": given(reader.read("archived", parse_query_bool)) or False,
    }
    found["offset"], found["limit"] = paging(reader)
    reader.raise_if_any()
    return found


def read_versions_query(params: Mapping[str, Any]) -> tuple[int, int]:
    """``GET /message-templates/{id}/versions``: paging only."""
    reader = FieldReader(single_values(params), frozenset({"page", "page_size"}))
    found = paging(reader)
    reader.raise_if_any()
    return found


# ----------------------------------------------------------------------------- sending
@dataclass(frozen=True, slots=True)
class SendFields:
    """A ``POST /messages`` body, shapes checked."""

    to: str
    from_number: str | None
    channel: str
    template_id: str
    template_version: int | None
    variables: dict[str, str]
    media_urls: tuple[str, ...]
    fallback_channel: str | None
    timezone: str | None


def parse_value(value: Any) -> str:
    """A variable's value: a string of 1–255 characters without control characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise ValueError("must be a string of 1–255 characters")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters")
    return value


def parse_variables(reader: FieldReader, name: str, value: Any) -> dict[str, str]:
    """An object of string values, each problem named ``<name>.<key>``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        reader.fail(name, "must be an object of strings")
        return {}
    found: dict[str, str] = {}
    for key, item in value.items():
        try:
            found[str(key)] = parse_value(item)
        except ValueError as exc:
            reader.fail(f"{name}.{key}", str(exc))
    return found


def parse_media_urls(value: Any) -> tuple[str, ...]:
    """1–10 ``https`` URLs of at most 2000 characters, without spaces or control characters
    (``urlsplit`` skips leading control characters, and PostgreSQL refuses NUL in text)."""
    if not isinstance(value, list) or not 1 <= len(value) <= 10:
        raise ValueError("must be an array of 1–10 https URLs")
    for url in value:
        if not isinstance(url, str) or len(url) > 2000:
            raise ValueError("must hold https URLs of at most 2000 characters")
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or any(_blank(c) for c in url):
            raise ValueError("must hold https URLs with a host and no spaces or control characters")
    return tuple(value)


def _blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cc"


def parse_timezone(value: Any) -> str:
    """An IANA zone name."""
    if not isinstance(value, str) or value not in zone_names():
        raise ValueError("must be an IANA time zone such as America/New_York")
    load_zone(value)
    return value


def read_send(payload: Any) -> SendFields:
    """``POST /messages``: every shape rule of §4.3."""
    body = require_object(payload)
    reader = FieldReader(body, SEND_FIELDS)
    to = reader.read("to", parse_phone_number, required=True)
    sender = given(reader.read("from", parse_phone_number))
    channel = reader.read("channel", choice_parser(CHANNELS), required=True)
    template_id = reader.read("template_id", text_parser(40), required=True)
    version = given(reader.read("template_version", _parse_version))
    variables = parse_variables(reader, "variables", body.get("variables"))
    media = given(reader.read("media_urls", parse_media_urls))
    fallback = given(reader.read("fallback_channel", choice_parser(("sms",))))
    zone = given(reader.read("timezone", parse_timezone))
    if channel == Channel.MMS and media is None and "media_urls" not in reader.problems:
        reader.fail("media_urls", "is required for mms: 1–10 https URLs")
    if channel not in (Channel.MMS, None) and media is not None:
        reader.fail("media_urls", "is only for mms")
    if fallback is not None and channel != Channel.RCS:
        reader.fail("fallback_channel", "is only for rcs")
    reader.raise_if_any()
    return SendFields(
        to=to,
        from_number=sender,
        channel=channel,
        template_id=template_id,
        template_version=version,
        variables=variables,
        media_urls=media or (),
        fallback_channel=fallback,
        timezone=zone,
    )


def _parse_version(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1_000_000:
        raise ValueError("must be a positive integer")
    return value


def slot_problems(
    slots: tuple[str, ...],
    given_values: Mapping[str, str],
    prefix: str,
    built_ins: tuple[str, ...] = (),
) -> dict[str, str]:
    """A missing or extra variable, each named ``<prefix>.<name>``."""
    problems: dict[str, str] = {}
    for name in sorted(given_values):
        if name in built_ins:
            problems[f"{prefix}.{name}"] = "is a built-in variable and may not be given"
        elif name not in slots:
            problems[f"{prefix}.{name}"] = "is not a slot of the template"
    for name in slots:
        if name not in given_values and name not in built_ins:
            problems[f"{prefix}.{name}"] = "is required: the template has this slot"
    return problems


# ----------------------------------------------------------------------------- fallback
@dataclass(frozen=True, slots=True)
class FallbackFields:
    """A reminder's ``fallback``, shapes checked."""

    channel: str
    template_id: str
    after: str
    variables: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """The stored and shown form."""
        return {
            "channel": self.channel,
            "template_id": self.template_id,
            "after": self.after,
            "variables": dict(self.variables),
        }


def read_fallback(value: Any) -> FallbackFields:
    """Parse ``fallback`` (raises ``ValidationFailed`` naming ``fallback.<field>``)."""
    if not isinstance(value, Mapping):
        raise ValidationFailed({"fallback": "must be an object or null"})
    reader = FieldReader(value, FALLBACK_FIELDS)
    channel = reader.read("channel", choice_parser(("sms",)), required=True)
    template_id = reader.read("template_id", text_parser(40), required=True)
    after = reader.read("after", choice_parser(FALLBACK_AFTER), required=True)
    variables = parse_variables(reader, "variables", value.get("variables"))
    if reader.problems:
        raise ValidationFailed({f"fallback.{k}": v for k, v in reader.problems.items()})
    return FallbackFields(channel, template_id, after, variables)


def fallback_from_json(value: Any) -> FallbackFields | None:
    """Read a stored fallback back."""
    if not isinstance(value, Mapping):
        return None
    return FallbackFields(
        str(value.get("channel", "sms")),
        str(value.get("template_id", "")),
        str(value.get("after", "final_failure")),
        {str(k): str(v) for k, v in (value.get("variables") or {}).items()},
    )


# ----------------------------------------------------------------------------- listing
def read_message_query(params: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /messages``'s filters."""
    reader = FieldReader(single_values(params), MESSAGE_QUERY)
    found = {
        "direction": given(reader.read("direction", choice_parser(("outbound", "inbound")))),
        "status": given(
            reader.read("status", choice_parser(tuple(s.value for s in MessageStatus)))
        ),
        "channel": given(reader.read("channel", choice_parser(CHANNELS))),
        "to": given(reader.read("to", parse_phone_number)),
        "from_number": given(reader.read("from", parse_phone_number)),
        "template_id": given(reader.read("template_id", text_parser(40))),
        "execution_id": given(reader.read("execution_id", parse_positive_int(1, 2**63 - 1))),
        "date_from": given(reader.read("date_from", parse_utc_bound)),
        "date_to": given(reader.read("date_to", parse_utc_bound)),
    }
    found["offset"], found["limit"] = paging(reader)
    reader.raise_if_any()
    return found

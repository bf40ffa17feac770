"""Phone numbers in one spelling (E.164, ``+12125550123``) and the time zones they belong to.

Contacts and do-not-call lists are written by people and exported by other systems: with spaces,
dashes, brackets, a leading ``00`` or none of the country code. Both sides are normalised here,
with the same rule, so that a do-not-call entry always matches the contact it names.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

from ivr.errors import IvrError

_UNKNOWN_ZONE = "Etc/Unknown"


class BadNumber(IvrError):
    """A text that is not a phone number that can be dialled."""


def normalise(text: str, region: str | None = None) -> str:
    """The number in E.164 (``+12125550123``).

    Args:
        text: the number as written; national numbers (no ``+``) need ``region``.
        region: the country (ISO code, ``US``) of national numbers; None when every number
            must carry its country code.

    Raises:
        BadNumber: ``text`` is not a valid number (saying why).
    """
    written = text.strip()
    if not written:
        raise BadNumber("no number")
    if not any(c.isdigit() for c in written):
        raise BadNumber(f"'{written}' is not a phone number")
    if region is None and not written.startswith(("+", "00")):
        raise BadNumber(
            f"'{written}' has no country code: write it as +<country><number>, "
            "or give the campaign a region:"
        )
    if written.startswith("00"):
        written = "+" + written[2:]
    try:
        number = phonenumbers.parse(written, region)
    except phonenumbers.NumberParseException as exc:
        raise BadNumber(f"'{text.strip()}' is not a phone number ({exc._msg})") from exc
    if not phonenumbers.is_valid_number(number):
        raise BadNumber(f"'{text.strip()}' is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def zones_of(e164: str) -> tuple[ZoneInfo, ...]:
    """The time zones a number may ring in, from its country and area code.

    Where the area code tells (``+1 212``: New York) this is one zone; where it does not (a
    mobile number in Russia, a US toll-free number) it is every zone of the country code, and a
    calling window must be open in all of them. Empty when the number's country is unknown.
    """
    names = number_zones.time_zones_for_number(phonenumbers.parse(e164))
    zones = []
    for name in names:
        if name == _UNKNOWN_ZONE:
            continue
        try:
            zones.append(ZoneInfo(name))
        except ZoneInfoNotFoundError:
            # phonenumbers may know a zone name newer than the installed tz database.
            continue
    return tuple(zones)

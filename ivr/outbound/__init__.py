"""Outbound campaigns: who may be called, when, and how often (DESIGN.md section 9).

The pure core a dialer asks before every call: contacts loaded from a campaign's CSV file or SQL
query with numbers in E.164 and their time zones (``contacts``), the do-not-call lists
(``dnc``), and the rules that decide whether a contact may be dialled now, and if not why and
when (``rules``). ``check`` runs what needs those files for ``ivr validate``. Nothing dials yet.
"""

from ivr.outbound.contacts import Contact, ContactList, ContactsError, load_contacts
from ivr.outbound.dnc import DncFileError, DoNotCall, lists_of, load_do_not_call
from ivr.outbound.numbers import BadNumber, normalise, zones_of
from ivr.outbound.rules import DEFAULT_WINDOW, Attempt, Decision, DialRules, decide, next_open

__all__ = [
    "DEFAULT_WINDOW",
    "Attempt",
    "BadNumber",
    "Contact",
    "ContactList",
    "ContactsError",
    "Decision",
    "DncFileError",
    "DialRules",
    "DoNotCall",
    "decide",
    "lists_of",
    "load_contacts",
    "load_do_not_call",
    "next_open",
    "normalise",
    "zones_of",
]

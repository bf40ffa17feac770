"""A campaign's contacts: numbers in E.164, time zones from the row or the number, bad rows out."""

import sqlite3
from zoneinfo import ZoneInfo

import pytest

from ivr.outbound.contacts import ContactsError, load_contacts
from ivr.outbound.dnc import DncFileError, load_do_not_call
from ivr.outbound.numbers import BadNumber, normalise, zones_of


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("(212) 555-0123", "US", "+12125550123"),
        ("212.555.0123", "US", "+12125550123"),
        ("+1 212 555 0123", None, "+12125550123"),
        ("001 212 555 0123", None, "+12125550123"),
        ("0888 123 456", "BG", "+359888123456"),
        ("+44 7911 123456", "BG", "+447911123456"),
    ],
)
def test_numbers_as_people_write_them_are_normalised_to_e164(written, region, e164):
    assert normalise(written, region) == e164


def test_a_national_number_without_a_region_is_refused_with_what_to_do():
    with pytest.raises(BadNumber, match="no country code.*region:"):
        normalise("212 555 0123")


@pytest.mark.parametrize("written", ["12345", "call me", "+1 555 555 5555", ""])
def test_text_that_is_no_valid_number_is_refused(written):
    with pytest.raises(BadNumber):
        normalise(written, "US")


def test_a_number_rings_in_its_area_codes_zone_or_every_zone_of_its_country():
    assert zones_of("+12125550123") == (ZoneInfo("America/New_York"),)
    russian_mobile = zones_of("+79161234567")
    assert ZoneInfo("Europe/Moscow") in russian_mobile
    assert ZoneInfo("Asia/Kamchatka") in russian_mobile


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


SPEC = {"csv": "contacts.csv", "number": "phone", "timezone": "tz"}


def test_each_row_becomes_a_contact_with_its_id_number_zone_and_data(tmp_path):
    _write(
        tmp_path / "contacts.csv",
        "id,phone,tz,name,card\n"
        "c1,(212) 555-0123,America/Chicago,Ann,4321\n"
        "c2,+359 888 123 456,,Boris,1111\n",
    )
    contacts = load_contacts(SPEC, tmp_path, region="US")
    assert contacts.problems == []
    ann, boris = contacts.contacts
    assert (ann.id, ann.number, ann.zones, ann.zone_from_number, ann.line) == (
        "c1",
        "+12125550123",
        (ZoneInfo("America/Chicago"),),
        False,
        2,
    )
    assert ann.data == {"name": "Ann", "card": "4321"}
    assert (boris.zones, boris.zone_from_number) == ((ZoneInfo("Europe/Sofia"),), True)
    assert contacts.from_number == [boris]


def test_without_an_id_column_a_contact_is_known_by_its_number(tmp_path):
    _write(tmp_path / "contacts.csv", "number,name\n+12125550123,Ann\n")
    (ann,) = load_contacts({"csv": "contacts.csv"}, tmp_path).contacts
    assert ann.id == "+12125550123"


def test_a_timezone_column_is_read_when_the_campaign_names_none(tmp_path):
    _write(tmp_path / "contacts.csv", "number,timezone\n+12125550123,America/Denver\n")
    (ann,) = load_contacts({"csv": "contacts.csv"}, tmp_path).contacts
    assert ann.zones == (ZoneInfo("America/Denver"),)


def test_bad_rows_are_left_out_and_reported_with_their_line(tmp_path):
    path = _write(
        tmp_path / "contacts.csv",
        "id,phone,tz,note\n"
        "1,+12125550123,America/New_York,fine\n"
        '2,12345,,"a note\nover two lines"\n'
        "3,+12125550124,Mars/Olympus,\n"
        "1,+12125550125,,\n"
        "4,(212) 555-0123,,same person\n"
        "5,+12125550126,America/New_York\n"
        "\n"
        "6,+12125550127,America/New_York,fine\n",
    )
    contacts = load_contacts(SPEC, tmp_path, region="US")
    assert [c.id for c in contacts.contacts] == ["1", "6"]
    assert [c.line for c in contacts.contacts] == [2, 10]
    found = [(p.source, p.line) for p in contacts.problems]
    assert found == [(str(path), line) for line in (3, 5, 6, 7, 8)]
    messages = [p.message for p in contacts.problems]
    assert "'12345' is not a valid phone number" in messages[0]
    assert "unknown time zone 'Mars/Olympus'" in messages[1]
    assert "duplicate contact '1' (first on line 2)" in messages[2]
    assert "+12125550123 is already contact '1'" in messages[3]
    assert "3 fields where the header has 4" in messages[4]


def test_a_missing_file_or_column_is_an_error_naming_the_key(tmp_path):
    with pytest.raises(ContactsError, match="no such file") as missing:
        load_contacts(SPEC, tmp_path)
    assert missing.value.key == "csv"
    _write(tmp_path / "contacts.csv", "id,number,tz\n")
    with pytest.raises(ContactsError, match="no column 'phone'.*id, number, tz") as column:
        load_contacts(SPEC, tmp_path)
    assert column.value.key == "number"


def test_contacts_come_from_an_sql_query_like_the_data_sources(tmp_path):
    db = sqlite3.connect(tmp_path / "crm.sqlite")
    db.execute("CREATE TABLE people (id TEXT, phone TEXT, tz TEXT, name TEXT)")
    db.executemany(
        "INSERT INTO people VALUES (?, ?, ?, ?)",
        [("a", "+12125550123", "America/New_York", "Ann"), ("b", "nope", None, "Bob")],
    )
    db.commit()
    db.close()
    spec = {
        "sql": "sqlite:///crm.sqlite",
        "query": "SELECT id, phone, tz, name FROM people ORDER BY id",
        "number": "phone",
        "timezone": "tz",
    }
    contacts = load_contacts(spec, tmp_path, region="US")
    assert [(c.id, c.number, c.data) for c in contacts.contacts] == [
        ("a", "+12125550123", {"name": "Ann"})
    ]
    assert [(p.line, "'nope' is not a phone number" in p.message) for p in contacts.problems] == [
        (2, True)
    ]
    with pytest.raises(ContactsError, match="query failed") as failed:
        load_contacts({**spec, "query": "SELECT * FROM nobody"}, tmp_path)
    assert failed.value.key == "query"


def test_an_sql_query_cannot_change_the_database(tmp_path):
    db = sqlite3.connect(tmp_path / "crm.sqlite")
    db.execute("CREATE TABLE people (number TEXT)")
    db.commit()
    db.close()
    spec = {"sql": "sqlite:///crm.sqlite", "query": "INSERT INTO people VALUES ('+12125550123')"}
    with pytest.raises(ContactsError):
        load_contacts(spec, tmp_path)
    assert sqlite3.connect(tmp_path / "crm.sqlite").execute("SELECT * FROM people").fetchall() == []


# ---------------------------------------------------------------- do-not-call


def test_do_not_call_numbers_match_contacts_however_either_is_written(tmp_path):
    _write(tmp_path / "campaign.csv", "name,number\nAnn,(212) 555-0123\n")
    _write(tmp_path / "tenant.csv", "+1 212 555 0124\n212-555-0125\n")
    _write(tmp_path / "global.csv", "phone\n001 212 555 0126\n")
    dnc = load_do_not_call(["campaign.csv", "tenant.csv", "global.csv"], tmp_path, "US")
    assert len(dnc) == 4
    for number in ("+12125550123", "+12125550124", "+12125550125", "+12125550126"):
        assert number in dnc
    assert "+12125550199" not in dnc
    assert dnc.listed_by("+12125550124") == str(tmp_path / "tenant.csv")


def test_an_unreadable_do_not_call_row_is_reported_and_a_missing_file_is_an_error(tmp_path):
    _write(tmp_path / "dnc.csv", "number\n+12125550123\nnot a number\n")
    dnc = load_do_not_call(["dnc.csv"], tmp_path)
    assert [(p.line, "is not a phone number" in p.message) for p in dnc.problems] == [(3, True)]
    with pytest.raises(DncFileError, match="no such file"):
        load_do_not_call(["gone.csv"], tmp_path)

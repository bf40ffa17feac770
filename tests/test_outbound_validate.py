"""`ivr validate` reads the files a campaign names, and says what it would dial and what not."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.cli import main
from ivr.outbound import DialRules, decide, lists_of, load_do_not_call
from ivr.project import load_project

FLOW = "flow: t\nstart: bye\nnodes:\n  bye: {type: hangup, prompt: Bye.}\n"
TENANTS = (
    "tenants:\n  acme: {name: Acme, numbers: ['18005550100'], flow: t, dnc: [tenant_dnc.csv]}\n"
)
CAMPAIGNS = """\
dnc: [global_dnc.csv]
campaigns:
  renewals:
    tenant: acme
    flow: t
    contacts: {csv: renewals.csv, number: phone, timezone: tz}
    region: US
    window: {mon-fri: "09:00-20:00"}
    dnc: [dnc.csv]
"""
CONTACTS = (
    "id,phone,tz\n"
    "1,(212) 555-0123,America/New_York\n"
    "2,+7 916 123 45 67,\n"
    "3,+359 888 123 456,\n"
    "4,not a number,\n"
)


def _folder(tmp_path: Path, **files: str) -> Path:
    defaults = {
        "t.yaml": FLOW,
        "tenants.yaml": TENANTS,
        "campaigns.yaml": CAMPAIGNS,
        "renewals.csv": CONTACTS,
        "dnc.csv": "number\n+12125550142\n",
        "tenant_dnc.csv": "+12125550143\n",
        "global_dnc.csv": "+12125550144\n",
    }
    for name, text in {**defaults, **files}.items():
        if text is not None:
            (tmp_path / name).write_text(text)
    return tmp_path


def _validate(folder: Path, capsys) -> tuple[int, str]:
    code = main(["validate", str(folder)])
    return code, capsys.readouterr().out


def test_a_campaign_with_its_files_passes_with_warnings_for_rows_left_out(tmp_path, capsys):
    code, out = _validate(_folder(tmp_path), capsys)
    assert code == 0, out
    assert f"{tmp_path / 'renewals.csv'}:5:1: warning: campaign 'renewals': 'not a number'" in out
    assert "    4,not a number," in out
    assert "2 of 3 contacts have no time zone in their row" in out
    assert f"{tmp_path / 'campaigns.yaml'}:6:15: warning" in out


def test_a_missing_contacts_file_is_an_error_at_the_key_naming_it(tmp_path, capsys):
    code, out = _validate(_folder(tmp_path, **{"renewals.csv": None}), capsys)
    assert code == 1
    assert f"{tmp_path / 'campaigns.yaml'}:6:21: error: campaign 'renewals': cannot open" in out


def test_a_missing_column_is_an_error_at_the_key_naming_it(tmp_path, capsys):
    code, out = _validate(_folder(tmp_path, **{"renewals.csv": "id,number,tz\n"}), capsys)
    assert code == 1
    assert f"{tmp_path / 'campaigns.yaml'}:6:43: error: campaign 'renewals': " in out
    assert "has no column 'phone' (its columns: id, number, tz)" in out


def test_every_missing_do_not_call_list_is_an_error_where_it_is_named(tmp_path, capsys):
    folder = _folder(tmp_path, **{"dnc.csv": None, "tenant_dnc.csv": None, "global_dnc.csv": None})
    code, out = _validate(folder, capsys)
    assert code == 1
    for where in ("campaigns.yaml:9:11", "tenants.yaml:2:63", "campaigns.yaml:1:7"):
        assert f"{tmp_path / where}: error: campaign 'renewals': do-not-call list" in out


def test_a_window_outside_eight_to_twenty_one_is_a_warning(tmp_path, capsys):
    late = CAMPAIGNS.replace(
        '{mon-fri: "09:00-20:00"}', '{mon-fri: "09:00-21:30", sat: "07:00-12:00"}'
    )
    code, out = _validate(_folder(tmp_path, **{"campaigns.yaml": late}), capsys)
    assert code == 0, out
    assert "the window calls outside 08:00-21:00 on Monday, Tuesday, Wednesday, Thursday, " in out
    assert "Friday, Saturday" in out


def test_a_campaign_without_a_window_is_told_the_default(tmp_path, capsys):
    bare = CAMPAIGNS.replace('    window: {mon-fri: "09:00-20:00"}\n', "")
    code, out = _validate(_folder(tmp_path, **{"campaigns.yaml": bare}), capsys)
    assert code == 0, out
    assert "no window: contacts are called 09:00-20:00 Monday to Saturday" in out


def test_an_abandoned_retry_under_72_hours_is_refused(tmp_path, capsys):
    soon = CAMPAIGNS + "    retry: {abandoned: 1h}\n"
    code, out = _validate(_folder(tmp_path, **{"campaigns.yaml": soon}), capsys)
    assert code == 1
    assert "retry.abandoned is shorter than 72h" in out


def test_contacts_whose_zones_never_share_the_window_are_counted(tmp_path, capsys):
    narrow = CAMPAIGNS.replace('"09:00-20:00"', '"09:00-10:00"')
    code, out = _validate(_folder(tmp_path, **{"campaigns.yaml": narrow}), capsys)
    assert code == 0, out
    assert "1 contacts are never called: the window is never open in all their time zones" in out
    assert "+79161234567, line 3" in out


def test_a_misspelt_key_beside_campaigns_gets_a_hint(tmp_path, capsys):
    wrong = CAMPAIGNS.replace("dnc: [global_dnc.csv]", "dcn: [global_dnc.csv]")
    code, out = _validate(_folder(tmp_path, **{"campaigns.yaml": wrong}), capsys)
    assert code == 1
    assert "unknown key 'dcn'; did you mean 'dnc'?" in out


def test_a_campaign_skips_numbers_on_its_own_its_tenants_and_the_platforms_list(tmp_path):
    project = load_project(_folder(tmp_path))
    campaign = project.campaigns["renewals"]
    files = lists_of(campaign, project.tenants["acme"])
    assert [path for path, _ in files] == ["dnc.csv", "tenant_dnc.csv", "global_dnc.csv"]
    dnc = load_do_not_call([path for path, _ in files], project.folder, "US")
    monday_noon_new_york = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)
    new_york = (ZoneInfo("America/New_York"),)
    for number, blocked in [
        ("+12125550142", True),
        ("+12125550143", True),
        ("+12125550144", True),
        ("+12125550145", False),
    ]:
        decision = decide(
            DialRules.of(campaign), new_york, [], monday_noon_new_york, on_dnc=number in dnc
        )
        assert (decision.reason == "dnc") is blocked
        assert decision.dial is not blocked

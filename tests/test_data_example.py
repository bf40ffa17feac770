"""The Acme Bank example answers from its SQLite file and its card service, and says so."""

import sqlite3
from pathlib import Path

import pytest

from ivr.flow.source import Diagnostics, SourceCache
from ivr.project import load_project
from ivr.testing.runner import run_case
from ivr.testing.scenario import load_scenario

FLOWS = Path(__file__).parents[1] / "flows"


def dump(conn: sqlite3.Connection) -> list[str]:
    return list(conn.iterdump())


def test_the_example_database_is_built_from_its_sql_script(tmp_path):
    rebuilt = sqlite3.connect(tmp_path / "bank.sqlite")
    rebuilt.executescript((FLOWS / "data" / "acme_bank.sql").read_text())
    committed = sqlite3.connect(
        f"{(FLOWS / 'data' / 'acme_bank.sqlite').as_uri()}?mode=ro", uri=True
    )
    assert dump(committed) == dump(rebuilt)


@pytest.fixture(scope="module")
def bank():
    project = load_project(FLOWS)
    assert project.ok
    scenario = load_scenario(FLOWS / "acme_bank.test.yaml", Diagnostics(), SourceCache())
    return project, {case.name: case for case in scenario.cases}, scenario


@pytest.mark.parametrize(
    ("case", "journal"),
    [
        (
            "balance and last payment come from the bank's database",
            [("find_account", "accounts", "found")],
        ),
        (
            "a card is blocked through the card service after signing in with account and PIN",
            [("sign_in", "sign_in", "accepted"), ("block_card", "card_service", "sent")],
        ),
        (
            "a card service that fails sends the caller to an operator",
            [("sign_in", "sign_in", "accepted"), ("block_card", "card_service", "error")],
        ),
        (
            "a broken answer from the card service is a failure, not a blocked card",
            [("sign_in", "sign_in", "accepted"), ("block_card", "card_service", "error")],
        ),
        (
            "three wrong PINs lock the caller out and send them to an operator",
            [("sign_in", "sign_in", "refused")] * 3 + [("sign_in", "sign_in", "locked")],
        ),
    ],
)
def test_the_example_journals_what_its_back_ends_answered(bank, case, journal):
    project, cases, scenario = bank
    result = run_case(project, scenario, cases[case])
    assert result.passed, result.report()
    assert result.record.lookups == journal


def test_a_failed_card_block_is_journaled_with_what_went_wrong(bank):
    project, cases, scenario = bank
    result = run_case(
        project, scenario, cases["a card service that fails sends the caller to an operator"]
    )
    (visit,) = [v for v in result.record.visits if v.node == "block_card"]
    assert visit.result == "error"
    assert visit.detail == (
        "request to card_service failed: POST "
        "https://cards.acme.example/v1/accounts/{{ customer.account }}/cards/block "
        "(stand-in service) answered 503"
    )

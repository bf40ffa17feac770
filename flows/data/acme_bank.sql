-- The Acme Bank example's database: flows/data/acme_bank.sqlite is built from this file.
-- Rebuild it after a change (tests/test_data_example.py checks the two agree):
--   rm flows/data/acme_bank.sqlite
--   .venv/bin/python -c "import sqlite3, pathlib; sqlite3.connect('flows/data/acme_bank.sqlite').executescript(pathlib.Path('flows/data/acme_bank.sql').read_text())"
-- PINs are stored as they are only because this bank is made up: a real one checks PINs in
-- its own back end (an http: source whose question reads {{ pin }}) or stores them hashed.
CREATE TABLE accounts (
    account TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    balance NUMERIC NOT NULL,
    vip INTEGER NOT NULL DEFAULT 0,
    pin TEXT NOT NULL
);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts(account),
    amount NUMERIC NOT NULL,
    paid_on TEXT NOT NULL,
    payee TEXT NOT NULL
);
CREATE INDEX payments_by_account ON payments(account, paid_on);

INSERT INTO accounts VALUES ('12345678', 'Jane Doe', 1234.56, 0, '1234');
INSERT INTO accounts VALUES ('87654321', 'John Roe', 98000.00, 1, '4321');
-- Test accounts whose card blocks the example's card service answers slowly, with an error,
-- with a broken answer, or not at all (flows/data/card_service.yaml).
INSERT INTO accounts VALUES ('55501234', 'Sam Slow', 310.00, 0, '5555');
INSERT INTO accounts VALUES ('55509999', 'Fay Fail', 42.00, 0, '5555');
INSERT INTO accounts VALUES ('55508888', 'Mal Formed', 7.50, 0, '5555');
INSERT INTO accounts VALUES ('55507777', 'Tim Out', 99.99, 0, '5555');

INSERT INTO payments (account, amount, paid_on, payee) VALUES ('12345678', 120.00, '2026-10-02', 'City Power');
INSERT INTO payments (account, amount, paid_on, payee) VALUES ('12345678', 89.90, '2026-11-20', 'Acme Telecom');
INSERT INTO payments (account, amount, paid_on, payee) VALUES ('87654321', 2500.00, '2026-11-18', 'Oak Street Rent');
INSERT INTO payments (account, amount, paid_on, payee) VALUES ('55501234', 15.00, '2026-11-01', 'Corner Shop');
INSERT INTO payments (account, amount, paid_on, payee) VALUES ('55509999', 15.00, '2026-11-02', 'Corner Shop');
INSERT INTO payments (account, amount, paid_on, payee) VALUES ('55508888', 15.00, '2026-11-03', 'Corner Shop');
INSERT INTO payments (account, amount, paid_on, payee) VALUES ('55507777', 15.00, '2026-11-04', 'Corner Shop');

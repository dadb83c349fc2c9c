-- Migration 4: bearer tokens of the clinic server and its access log (DESIGN §7, HIPAA 45 CFR 164.312(b)).
-- A token is printed once at `prolo token issue`; only its SHA-256 is kept. The access log records every
-- authenticated or refused request (who, what, when, outcome); like `events`, it is append-only.

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,         -- the public part of the token, shown in listings and logs
    secret_hash BLOB NOT NULL,            -- SHA-256 of the whole token text
    device      TEXT NOT NULL,            -- the enrolled device it was issued to
    scope       TEXT NOT NULL,            -- clinic, replica, audit or patient:ID
    issued_at   INTEGER NOT NULL,         -- ms since epoch
    expires_at  INTEGER,                  -- ms since epoch; NULL never expires
    revoked_at  INTEGER                   -- ms since epoch, once revoked
) STRICT;

CREATE TABLE access_log (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,          -- ms since epoch
    token      TEXT,                      -- the token id, when one was presented and known
    device     TEXT,                      -- the device the token belongs to
    scope      TEXT,
    method     TEXT NOT NULL,
    route      TEXT NOT NULL,             -- the route pattern, never a query string
    patient    TEXT,                      -- the patient whose record was read or written, if any
    purpose    TEXT,                      -- what for: sync-pull, sync-push, read-summary, …
    status     INTEGER NOT NULL,          -- the HTTP status returned
    outcome    TEXT NOT NULL,             -- ok, unauthenticated, forbidden, refused, error
    request_id TEXT
) STRICT;

CREATE INDEX access_log_by_patient ON access_log (patient, at) WHERE patient IS NOT NULL;

CREATE TRIGGER access_log_refuse_update BEFORE UPDATE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'the access log is append-only');
END;

CREATE TRIGGER access_log_refuse_delete BEFORE DELETE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'the access log is append-only');
END;

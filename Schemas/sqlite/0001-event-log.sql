-- Migration 1: the append-only event log, known origins, and store metadata.
-- Applied in one transaction by ProloStore; PRAGMA user_version records the highest migration applied
-- and PRAGMA application_id = 0x50524F4C ('PROL') marks the file as a Prolo store.

CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Devices whose events this store holds or expects, with the public key that verifies them.
CREATE TABLE origins (
    origin     TEXT PRIMARY KEY,          -- hex of the first 16 bytes of SHA-256(public key)
    public_key BLOB NOT NULL,             -- 32-byte Ed25519 public key
    name       TEXT,                      -- device name, when known
    added_at   INTEGER NOT NULL           -- ms since epoch, local clock
) STRICT;

-- One row per event. seq is the local arrival order; everything else is the signed envelope.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    origin         TEXT    NOT NULL,
    origin_seq     INTEGER NOT NULL CHECK (origin_seq >= 1),
    patient        TEXT,                  -- NULL for administrative events
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    hlc            INTEGER NOT NULL,      -- packed hybrid logical clock: wall ms << 16 | counter
    occurred_at    TEXT    NOT NULL,      -- RFC 3339 text exactly as signed
    occurred_ms    INTEGER NOT NULL,      -- the same instant, ms since epoch, for range queries
    received_at    INTEGER NOT NULL,      -- ms since epoch when this store appended it
    author_id      TEXT    NOT NULL,
    author_role    TEXT    NOT NULL,
    prev           BLOB,                  -- hash of the previous event of the origin
    patient_prev   BLOB,                  -- hash of the previous event of the origin for the patient
    dict           INTEGER NOT NULL,      -- compression dictionary version of body
    body           BLOB    NOT NULL,      -- zlib(canonical JSON payload), exactly as signed
    hash           BLOB    NOT NULL,      -- SHA-256(canonical envelope || 0x0A || body)
    sig            BLOB    NOT NULL,      -- Ed25519 signature of hash by the origin's key
    UNIQUE (origin, origin_seq)
) STRICT;

CREATE INDEX events_by_patient ON events (patient, origin, origin_seq) WHERE patient IS NOT NULL;
CREATE INDEX events_by_canonical_order ON events (hlc, origin, origin_seq);

-- Nothing is edited or deleted: a correction is a new event.
CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: record an event.amended or event.retracted instead of UPDATE');
END;

CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: record an event.retracted instead of DELETE');
END;

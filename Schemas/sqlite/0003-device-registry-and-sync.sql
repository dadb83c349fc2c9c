-- Migration 3: the event-sourced device registry, quarantine, fork evidence, event flags and sync checkpoints.
-- The registry columns of `origins` are a projection of `device.enrolled` / `device.revoked` events (plus the
-- clinic's root key, trusted at `prolo init`); quarantined events and fork evidence keep what `events` cannot
-- hold, so nothing received is ever dropped (DESIGN §4, §6).

ALTER TABLE origins ADD COLUMN role TEXT NOT NULL DEFAULT 'clinic';   -- root, clinic, replica, audit, home
ALTER TABLE origins ADD COLUMN patient TEXT;                          -- the patient of a home device
ALTER TABLE origins ADD COLUMN enrolled_by TEXT;                      -- the device.enrolled event; NULL if trusted by hand
ALTER TABLE origins ADD COLUMN updated_hlc INTEGER NOT NULL DEFAULT 0; -- HLC of the registry event that last changed it
ALTER TABLE origins ADD COLUMN revoked_hlc INTEGER;                   -- events of this origin with a later HLC are refused
ALTER TABLE origins ADD COLUMN revoked_by TEXT;                       -- the device.revoked event
ALTER TABLE origins ADD COLUMN frozen_reason TEXT;                    -- set when a fork is proven: nothing more is admitted

-- Events received but not (yet) admitted, with the reason; retried when an enrollment or a missing link arrives.
CREATE TABLE quarantine (
    id          TEXT PRIMARY KEY,
    origin      TEXT NOT NULL,
    origin_seq  INTEGER NOT NULL,
    patient     TEXT,
    type        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    retry       INTEGER NOT NULL,         -- 1: admitted when what it waits for arrives; 0: refused for good (scope)
    received_at INTEGER NOT NULL,         -- ms since epoch, local clock
    event       BLOB NOT NULL             -- the event in the wire format (Schemas/bundle.md), as received
) STRICT;

CREATE INDEX quarantine_by_origin ON quarantine (origin, origin_seq);

-- Proof of a fork: a second validly signed event at a position of an origin's chain that is already taken.
CREATE TABLE forks (
    origin      TEXT NOT NULL,
    origin_seq  INTEGER NOT NULL,
    held_hash   BLOB,                     -- the hash held in `events` at that position (NULL past the head)
    other_id    TEXT NOT NULL,
    other_hash  BLOB NOT NULL,
    patient     TEXT,
    detected_at INTEGER NOT NULL,
    event       BLOB NOT NULL,            -- the other event in the wire format
    PRIMARY KEY (origin, origin_seq, other_hash)
) STRICT;

-- Flags on stored events, e.g. `future-hlc` for an event more than 24 h ahead of this store's clock.
CREATE TABLE event_flags (
    id     TEXT NOT NULL,
    flag   TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (id, flag)
) STRICT;

-- What each peer store is known to hold (its version vector), written with each batch received from it.
CREATE TABLE sync_peers (
    peer       TEXT PRIMARY KEY,          -- the peer's store id
    vector     TEXT NOT NULL,             -- canonical JSON {origin: originSeq}
    updated_at INTEGER NOT NULL
) STRICT;

-- Nothing in these tables is edited away silently either: quarantine rows leave only when admitted.
CREATE TRIGGER forks_refuse_delete BEFORE DELETE ON forks
BEGIN
    SELECT RAISE(ABORT, 'fork evidence is kept');
END;

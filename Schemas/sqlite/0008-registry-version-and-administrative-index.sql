-- Migration 8: what a server answers on every sync without re-reading what did not change (issue 13, item 5: a
-- profile of 200 devices syncing at once found every request re-reading the device registry, and every home
-- device's summary re-reading and decoding its patient's whole slice to compute one version vector). Every statement
-- may run again (IF NOT EXISTS, OR IGNORE), as 5-7's: a store whose user_version was set back re-applies it.

-- The registry's version, raised in the same transaction as every change to `origins` (whichever process makes
-- it: `prolo device enroll` beside a running server too). A store keeps the registry it last read in memory
-- with the version it read it at, and reads it again only when the version has moved.
CREATE TABLE IF NOT EXISTS registry_version (
    only    INTEGER PRIMARY KEY CHECK (only = 1),
    version INTEGER NOT NULL
) STRICT;

INSERT OR IGNORE INTO registry_version (only, version) VALUES (1, 0);

CREATE TRIGGER IF NOT EXISTS origins_inserted_version AFTER INSERT ON origins
BEGIN
    UPDATE registry_version SET version = version + 1;
END;

CREATE TRIGGER IF NOT EXISTS origins_updated_version AFTER UPDATE ON origins
BEGIN
    UPDATE registry_version SET version = version + 1;
END;

CREATE TRIGGER IF NOT EXISTS origins_deleted_version AFTER DELETE ON origins
BEGIN
    UPDATE registry_version SET version = version + 1;
END;

-- The administrative events (no patient: enrollments, revocations) by position. A slice's version vector counts
-- the patient's own events through `events_by_patient` and these through this index, without reading the log.
CREATE INDEX IF NOT EXISTS events_administrative ON events (origin, origin_seq) WHERE patient IS NULL;

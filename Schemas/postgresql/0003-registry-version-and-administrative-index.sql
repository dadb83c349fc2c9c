-- Migration 3 (PostgreSQL), as SQLite's migration 8: a version of the device registry, raised by every change to
-- `origins`, so that a server keeps the registry it read in memory and asks only for this number on each request
-- instead of reading and decoding every device's row; and an index of the administrative events (no patient), which
-- every home device's slice reads (its vector, and what it pulls of each origin) and which were found by a scan of
-- the whole log without it (a profile of 50 devices syncing with a PostgreSQL-backed server).
CREATE TABLE registry_version (
    version bigint NOT NULL
);
INSERT INTO registry_version (version) VALUES (0);

CREATE FUNCTION prolo_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_version SET version = version + 1;
    RETURN NULL;
END
$$;

-- Per statement: a batch that enrolls or freezes several devices raises it once. SELECT … FOR UPDATE (a writer
-- locking an origin's chain) changes no row and raises nothing.
CREATE TRIGGER origins_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON origins
    FOR EACH STATEMENT EXECUTE FUNCTION prolo_registry_changed();

GRANT SELECT, UPDATE ON registry_version TO prolo_writer;

CREATE INDEX events_administrative ON events (origin, origin_seq) WHERE patient IS NULL;

-- Migration 5 (PostgreSQL), two things a server asks on every sync, made cheap to ask.
--
-- Each origin's highest position in `events`, kept by a trigger, so that the hub's version
-- vector (asked by every sync's summary, every pull and every push) is one read of a row per origin instead of a
-- probe of the events index per origin (a profile of 200 devices syncing with a PostgreSQL-backed server: that
-- probe was the statement with the most execution time, 1.6 ms a call). Derived from `events`, like the read models:
-- the trigger runs in the transaction that inserts, so a head never names an event that is not committed with it.
-- Its own table, not a column of `origins`: every change to `origins` raises the registry's version (migration 3).
CREATE TABLE origin_heads (
    origin text PRIMARY KEY,
    seq    bigint NOT NULL      -- max(origin_seq) of the origin's events
);

CREATE FUNCTION prolo_advance_heads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO origin_heads (origin, seq)
    SELECT origin, max(origin_seq) FROM inserted GROUP BY origin
    ON CONFLICT (origin) DO UPDATE SET seq = greatest(origin_heads.seq, excluded.seq);
    RETURN NULL;
END
$$;

-- Per statement: a batch's events are inserted by one statement, so a push advances each of its origins' heads once.
-- Writers of one origin are serialized already (its `origins` row, FOR UPDATE), so the upsert waits for no one.
-- `prolo move-up` (the table's owner) disables it for its COPY and fills the heads from the copy by one aggregate;
-- `prolo audit verify --database` checks that it is enabled and that every head is its origin's highest position.
CREATE TRIGGER events_advance_heads AFTER INSERT ON events REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION prolo_advance_heads();

-- Filled after the trigger is made: making it locks `events` against inserts until this migration commits, so no
-- event a server of an older build commits meanwhile can be missed between the two.
INSERT INTO origin_heads (origin, seq) SELECT origin, max(origin_seq) FROM events GROUP BY origin
ON CONFLICT (origin) DO UPDATE SET seq = greatest(origin_heads.seq, excluded.seq);

GRANT SELECT, INSERT, UPDATE ON origin_heads TO prolo_writer;

-- Fork evidence raises the registry's version (migration 3) as a change to `origins` does: a server keeps the fork
-- positions (where each forked origin's chain splits, which every summary's chain heads and every pull read) in
-- memory with the registry. Today a fork also rewrites its origin's frozen reason, which names the lowest position;
-- this makes the cache's correctness not hang on the wording of that reason.
CREATE TRIGGER forks_changed AFTER INSERT ON forks FOR EACH STATEMENT EXECUTE FUNCTION prolo_registry_changed();

-- A push's locks and what it reads right after them, in one round trip each (they were five). A function, because
-- the order matters and a single statement does not promise it: the registry's advisory lock first (exclusive for a
-- batch that may change the registry, shared otherwise), then the batch's origins' rows in origin order, so no two
-- writers wait on each other in a cycle; and because each statement inside a function reads with a snapshot taken
-- when it starts (READ COMMITTED), the registry's version it returns is read after the locks are held.
CREATE FUNCTION prolo_lock_batch(exclusive boolean, batch_origins text[]) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    IF exclusive THEN
        PERFORM pg_advisory_xact_lock(1347572295);          -- 'PRRG'
    ELSE
        PERFORM pg_advisory_xact_lock_shared(1347572295);
    END IF;
    PERFORM 1 FROM origins WHERE origin = ANY(batch_origins) ORDER BY origin FOR UPDATE;
    RETURN (SELECT version FROM registry_version);
END
$$;

-- The patients whose read models a push folds: one transaction-scoped advisory lock each (class 'PRPT', in key
-- order), then their stored checkpoints and bases, read after the locks are held (two batches about one patient
-- fold one after the other, the second onto the first's rows).
CREATE FUNCTION prolo_lock_patients(batch_patients text[])
    RETURNS TABLE (patient text, checkpoint bytea, through_ms bigint, base bytea) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1347571796, k)
    FROM (SELECT DISTINCT hashtext(p) AS k FROM unnest(batch_patients) AS p ORDER BY k) AS keys;
    RETURN QUERY
        SELECT p, f.checkpoint, b.through_ms, b.checkpoint
        FROM unnest(batch_patients) AS p
        LEFT JOIN patient_fold f ON f.patient = p LEFT JOIN patient_fold_base b ON b.patient = p;
END
$$;

-- Migration 6 (PostgreSQL): what a push reads before it decides, in one round trip instead of two, and no question
-- to the quarantine when nothing waits there.
--
-- A push took its locks (`prolo_lock_batch`), then read what admission decides by (one query), then, after its
-- insert, asked the quarantine of every origin it advanced whether anything waited to be retried. The functions here
-- take the locks and do the reads in one call, in the same order (registry, origins, then the reads: every writer
-- takes them in that order, so no two wait on each other in a cycle), and say which of the batch's origins have
-- events waiting to be retried, so a push of a device whose chain has no gap asks the quarantine nothing. Each
-- `RETURN QUERY` inside a function reads with a snapshot taken when it starts (READ COMMITTED), so every read here
-- follows the locks taken before it.

-- What admission reads of the log for a group of events (`PrefetchedAdmissionLog` in ProloPostgres), as rows of
-- (kind, key, other, seq, hash): 0 a held event id with its hash; 1 an id waiting in quarantine; 2 a held chain
-- position (origin, origin_seq) with its hash; 3 an origin's chain head (0 when it holds nothing); 4 an origin's
-- fork evidence (position, hash); 5 the head of an (origin, patient) chain; 6 an origin with events waiting to be
-- retried. Its own function so the push's first call and a quarantine retry's reads are one query, written once.
CREATE FUNCTION prolo_admission_reads(
    event_ids text[], position_origins text[], position_seqs bigint[], head_origins text[],
    chain_origins text[], chain_patients text[]
) RETURNS TABLE (kind integer, key text, other text, seq bigint, hash bytea) LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
        SELECT 0, e.id, NULL::text, NULL::bigint, e.hash FROM events e WHERE e.id = ANY(event_ids)
        UNION ALL
        SELECT 1, q.id, NULL, NULL, NULL FROM quarantine q WHERE q.id = ANY(event_ids)
        UNION ALL
        SELECT 2, e.origin, NULL, e.origin_seq, e.hash FROM events e
            JOIN unnest(position_origins, position_seqs) AS p(origin, seq)
            ON e.origin = p.origin AND e.origin_seq = p.seq
        UNION ALL
        SELECT 3, o.origin, NULL, coalesce(h.origin_seq, 0), h.hash FROM unnest(head_origins) AS o(origin)
            LEFT JOIN LATERAL (
                SELECT e.origin_seq, e.hash FROM events e WHERE e.origin = o.origin ORDER BY e.origin_seq DESC LIMIT 1
            ) h ON true
        UNION ALL
        SELECT 4, f.origin, NULL, f.origin_seq, f.other_hash FROM forks f WHERE f.origin = ANY(head_origins)
        UNION ALL
        SELECT 5, c.origin, c.patient, NULL, (
            SELECT e.hash FROM events e WHERE e.patient = c.patient AND e.origin = c.origin
            ORDER BY e.origin_seq DESC LIMIT 1)
        FROM unnest(chain_origins, chain_patients) AS c(origin, patient)
        UNION ALL
        SELECT DISTINCT 6, q.origin, NULL, NULL::bigint, NULL::bytea FROM quarantine q
            WHERE q.origin = ANY(head_origins) AND q.retry;
END
$$;

-- A push's first call: the locks of `prolo_lock_batch` (migration 5), then, as rows of (kind, key, other, seq, hash),
-- the registry's version read after them (kind 100, in seq) and `prolo_admission_reads` for the batch. The read
-- models' per-patient locks stay where they were, one `prolo_lock_patients` call when the push folds, with every
-- patient it folds (those a fork or a revocation it meets holds out too): taken at once, in key order, they cannot
-- wait on another push's in a cycle, which locking the batch's patients here and the others later could.
CREATE FUNCTION prolo_begin_push(
    exclusive boolean, batch_origins text[],
    event_ids text[], position_origins text[], position_seqs bigint[], chain_origins text[], chain_patients text[]
) RETURNS TABLE (kind integer, key text, other text, seq bigint, hash bytea) LANGUAGE plpgsql AS $$
DECLARE
    locked_version bigint;
BEGIN
    locked_version := prolo_lock_batch(exclusive, batch_origins);
    RETURN QUERY SELECT 100, NULL::text, NULL::text, locked_version, NULL::bytea;
    RETURN QUERY
        SELECT r.kind, r.key, r.other, r.seq, r.hash
        FROM prolo_admission_reads(
            event_ids, position_origins, position_seqs, batch_origins, chain_origins, chain_patients) r;
END
$$;

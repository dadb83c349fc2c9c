-- Migration 10: patient_summary without its `state` column (issue 13). Every append wrote each touched patient's
-- whole treatment state as canonical JSON there (about 2 KB at 100 events per patient, and growing with its alerts),
-- and nothing read it: `prolo patient show` and `GET /v1/patients/{id}` finish the stored fold checkpoint
-- (patient_fold.checkpoint) instead, which holds the same state. Profiled on the projection benchmark, encoding and
-- writing it was a fifth of the read model's time per append. The summary keeps its columns for listing and
-- filtering; the whole state of a patient is `prolo patient show --json`.
--
-- The table is derived, so it is made again empty and the treatment projection marked stale: the next
-- ProjectedStore to open the store rebuilds every read model. Re-appliable, as every migration from 7 on.

DROP TABLE IF EXISTS patient_summary;

CREATE TABLE patient_summary (
    patient            TEXT PRIMARY KEY,
    consent            TEXT NOT NULL,     -- given / withdrawn / none
    course_status      TEXT NOT NULL,     -- active / closed / none
    sessions_planned   INTEGER,
    sessions_completed INTEGER NOT NULL,
    last_injection_at  TEXT,
    next_due_from      TEXT,
    next_due_from_ms   INTEGER,
    next_due_to        TEXT,
    next_due_to_ms     INTEGER,
    open_alerts        INTEGER NOT NULL,
    open_review_flags  INTEGER NOT NULL,
    open_side_effects  INTEGER NOT NULL,
    responder          INTEGER NOT NULL
) STRICT;

CREATE INDEX patient_summary_by_due ON patient_summary (next_due_from_ms) WHERE next_due_from_ms IS NOT NULL;

DELETE FROM projections WHERE name = 'treatment';

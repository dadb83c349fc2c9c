-- Migration 4 (PostgreSQL): the treatment projection's read models, as on SQLite (0002, 0006, 0009, 0010): a hub
-- whose log is in PostgreSQL answers the clinic's questions (patients, who is due, open alerts, a patient's state)
-- from them. They are written in the same transaction as every append (`PostgresLog.append`, `record`), by the
-- rule the SQLite store follows (ProloProjections' `PatientFoldUpdate`), and recomputed from `events` by a rebuild
-- (the move-up, `prolo rebuild --database`, a build whose projection version differs). Nothing here is a source of
-- truth: every row can be derived again from the log, so the server's role may rewrite them.

-- Which version of each projection the rows were computed by; another version rebuilds them.
CREATE TABLE projections (
    name    text PRIMARY KEY,
    version bigint NOT NULL
);

-- Per patient, where the fold stands (FoldCheckpoint's bytes, as SQLite's patient_fold.checkpoint).
CREATE TABLE patient_fold (
    patient    text PRIMARY KEY,
    checkpoint bytea NOT NULL
);

-- Per patient, a second checkpoint a few dozen facts behind the first (SQLite's migration 9).
CREATE TABLE patient_fold_base (
    patient    text PRIMARY KEY,
    through_ms bigint NOT NULL,   -- the base holds every foldable fact of the patient with occurredAt <= this
    checkpoint bytea NOT NULL
);

-- The facts after a base: one patient's events by clinical time.
CREATE INDEX events_by_patient_time ON events (patient, occurred_ms) WHERE patient IS NOT NULL;

-- Per patient, the columns `prolo patients` and `prolo due` list and filter.
CREATE TABLE patient_summary (
    patient            text PRIMARY KEY,
    consent            text NOT NULL,     -- given / withdrawn / none
    course_status      text NOT NULL,     -- active / closed / none
    sessions_planned   bigint,
    sessions_completed bigint NOT NULL,
    last_injection_at  text,
    next_due_from      text,
    next_due_from_ms   bigint,
    next_due_to        text,
    next_due_to_ms     bigint,
    open_alerts        bigint NOT NULL,
    open_review_flags  bigint NOT NULL,
    open_side_effects  bigint NOT NULL,
    responder          boolean NOT NULL
);
CREATE INDEX patient_summary_by_due ON patient_summary (next_due_from_ms) WHERE next_due_from_ms IS NOT NULL;

-- Every alert and review flag of every patient, cleared or not.
CREATE TABLE patient_alerts (
    patient    text NOT NULL,
    kind       text NOT NULL,
    raised_by  text NOT NULL,         -- canonical JSON array of event ids
    raised_at  text NOT NULL,
    severity   bigint NOT NULL,       -- 1 is most severe; review flags are 20
    review     boolean NOT NULL,      -- a review flag from merged facts
    cleared_by text,                  -- the alert.cleared event, when cleared
    PRIMARY KEY (patient, kind, raised_by)
);
CREATE INDEX patient_alerts_open ON patient_alerts (severity, raised_at) WHERE cleared_by IS NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON projections, patient_fold, patient_fold_base, patient_summary, patient_alerts
    TO prolo_writer;

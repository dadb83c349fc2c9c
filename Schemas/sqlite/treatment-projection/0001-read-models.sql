-- Treatment projection, migration 1: its read models (DESIGN §5), owned and applied by ProloProjections
-- (TreatmentReadModel) when a store is opened with the projection; recorded in schema_tracks as
-- 'treatment-projection'. Written in the same transaction as each append; `prolo rebuild` empties and recomputes
-- them from `events`. Nothing here is a source of truth: every row can be derived again from the log.
--
-- Before tracks, the store's own migrations 2, 6, 9 and 10 made these tables. A store that ran all four
-- (user_version 10) holds exactly what this migration makes and skips it; one made before 10 holds older shapes,
-- dropped here and made again (they are derived: the projection's version is unset, so the next open rebuilds).

DROP TABLE IF EXISTS patient_facts;
DROP TABLE IF EXISTS patient_fold;
DROP TABLE IF EXISTS patient_fold_base;
DROP TABLE IF EXISTS patient_summary;
DROP TABLE IF EXISTS patient_alerts;
DROP TABLE IF EXISTS projections;

-- Which version of each projection the rows were computed by; another version rebuilds on open.
CREATE TABLE projections (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) STRICT;

-- Per patient, where its fold stands: an append folds a fact that comes after everything folded onto the
-- checkpoint, in the time of one fact; a late event or a correction folds onto the base, or re-folds the patient.
CREATE TABLE patient_fold (
    patient    TEXT PRIMARY KEY,
    checkpoint BLOB NOT NULL      -- FoldCheckpoint's bytes: the state before its finishing pass, and what the rules go on from
) STRICT;

-- A second checkpoint per patient, a few dozen facts behind the first: an event that arrives after events recorded
-- later in clinical time (two devices of one patient, a laptop that syncs at the end of the day) is folded, with
-- every fact after the base's clinical time, onto the base instead of re-folding the patient's whole history.
CREATE TABLE patient_fold_base (
    patient    TEXT PRIMARY KEY,
    through_ms INTEGER NOT NULL,  -- the base holds every foldable fact of the patient with occurredAt <= this
    checkpoint BLOB NOT NULL      -- FoldCheckpoint's bytes, as patient_fold.checkpoint
) STRICT;

-- Per patient, the columns for listing and filtering; the whole state is the finished checkpoint
-- (`prolo patient show --json`).
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

-- Every alert and review flag of every patient, cleared or not.
CREATE TABLE patient_alerts (
    patient    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    raised_by  TEXT NOT NULL,             -- JSON array of event ids
    raised_at  TEXT NOT NULL,
    severity   INTEGER NOT NULL,          -- 1 is most severe; review flags are 20
    review     INTEGER NOT NULL,          -- 1 for a review flag from merged facts
    cleared_by TEXT,                      -- the alert.cleared event, when cleared
    PRIMARY KEY (patient, kind, raised_by)
) STRICT;

CREATE INDEX patient_alerts_open ON patient_alerts (severity, raised_at) WHERE cleared_by IS NULL;

-- The facts after a base: one patient's events by clinical time (the projection's reads of the store's events).
CREATE INDEX IF NOT EXISTS events_by_patient_time ON events (patient, occurred_ms) WHERE patient IS NOT NULL;

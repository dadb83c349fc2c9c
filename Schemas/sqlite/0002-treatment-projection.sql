-- Migration 2: the treatment projection's read models (DESIGN §5).
-- Written in the same transaction as each append; `prolo rebuild` empties and recomputes them from `events`.
-- Nothing here is a source of truth: every row can be derived again from the log.

-- Which version of each projection the rows were computed by; another version rebuilds on open.
CREATE TABLE projections (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) STRICT;

-- Per patient, the facts the fold reads (a compact set keyed by event id) and the highest HLC folded.
CREATE TABLE patient_facts (
    patient    TEXT PRIMARY KEY,
    folded_hlc INTEGER NOT NULL,
    facts      BLOB NOT NULL              -- canonical JSON array of facts in canonical order
) STRICT;

-- Per patient, the treatment state: columns for listing and filtering, and the whole state as JSON.
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
    responder          INTEGER NOT NULL,
    state              TEXT NOT NULL      -- canonical JSON, as `prolo patient show --json` without `overdue`
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

-- Migration 9: a second checkpoint per patient, a few dozen facts behind the first (issue 13). An event that arrives
-- after events recorded later in clinical time (two devices of one patient, a laptop that syncs at the end of the
-- day) cannot be folded onto the latest checkpoint; it is folded, with every fact after the base's clinical time,
-- onto the base, instead of re-folding the patient's whole history. Derived like every read model: `prolo rebuild`
-- recomputes it. Re-appliable (IF NOT EXISTS), as every migration from 7 on.

CREATE TABLE IF NOT EXISTS patient_fold_base (
    patient    TEXT PRIMARY KEY,
    through_ms INTEGER NOT NULL,  -- the base holds every foldable fact of the patient with occurredAt <= this
    checkpoint BLOB NOT NULL      -- FoldCheckpoint's bytes, as patient_fold.checkpoint
) STRICT;

-- The facts after a base: one patient's events by clinical time.
CREATE INDEX IF NOT EXISTS events_by_patient_time ON events (patient, occurred_ms) WHERE patient IS NOT NULL;

-- Migration 6: the treatment projection keeps, per patient, where its fold stands instead of every fact it read
-- (issue 13). An append folds a fact that comes after everything folded onto the checkpoint, in the time of one
-- fact; a late event or a correction re-folds that patient from `events`. Like every read model, the checkpoint
-- is derived: projection version 3 empties and recomputes it on open, and `prolo rebuild` at any time.

DROP TABLE IF EXISTS patient_facts;

CREATE TABLE IF NOT EXISTS patient_fold (
    patient    TEXT PRIMARY KEY,
    checkpoint BLOB NOT NULL   -- canonical JSON: the state before its finishing pass, and what the rules go on from
) STRICT;

-- Migration 7: verification at the hash-chain limit (issue 13; Schemas/sync.md, "Signatures checked per run").
-- A received batch is verified one run at a time: one origin's events at consecutive positions, each naming the
-- previous one's hash as `prev`. Every event's hash is checked against its bytes, so the checked signature of a
-- run's last event authenticates the content of the whole run, and the others' own signatures are left for later.
-- Each such event is listed here until its own signature is checked: before it is served to a home device's slice
-- (a home device verifies each event on its own), and by `prolo audit verify`, which checks every signature. One
-- that does not verify is flagged `bad-signature` (event_flags), an integrity alert of its origin, and is never
-- served to a slice. Local to this store, like event_flags: the events and their order are what replicas share.

CREATE TABLE IF NOT EXISTS unchecked_signatures (
    seq     INTEGER PRIMARY KEY,  -- events.seq of an event whose own signature has not been checked here yet
    patient TEXT                  -- its patient (NULL: administrative), so serving a slice finds its own quickly
) STRICT;

CREATE INDEX IF NOT EXISTS unchecked_signatures_patient ON unchecked_signatures (patient);

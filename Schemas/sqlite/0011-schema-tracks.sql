-- Migration 11: each module makes its own tables (issue 14). The store's numbered migrations (this folder, counted by
-- PRAGMA user_version) make the log's tables: events, origins, the registry and sync, tokens and the access log.
-- A module that keeps tables in the store (the treatment projection's read models) publishes its own numbered
-- migrations under Schemas/sqlite/<track>/ and applies them when it opens the store; this table records how far
-- each track has gone. Numbers 2, 6, 9 and 10 of this folder made the projection's tables before it had its track:
-- they are gone from here, and a store that ran them keeps its user_version from then in
-- store_meta.user_version_before_tracks, which tells the projection's track what that store already holds.

CREATE TABLE IF NOT EXISTS schema_tracks (
    track   TEXT PRIMARY KEY,   -- the folder under Schemas/sqlite/, e.g. treatment-projection
    version INTEGER NOT NULL    -- the highest of its migrations applied
) STRICT;

-- Migration 5: a token names its device by origin (the id of the device's public key), not by name: names are
-- not unique, and the server used to take the first device of a token's name (DESIGN §7).
-- A token issued before this migration is bound to the one device of its name that is not revoked, or else to the
-- one device of that name; when its name named no single device, `origin` stays NULL and the server refuses the
-- token with a message that says to issue a new one. `device` keeps the name, for listings and the access log.

ALTER TABLE tokens ADD COLUMN origin TEXT;    -- the enrolled device's origin; NULL: refused (see above)

UPDATE tokens SET origin = CASE
    WHEN (SELECT COUNT(*) FROM origins WHERE name = tokens.device AND revoked_by IS NULL) = 1
        THEN (SELECT origin FROM origins WHERE name = tokens.device AND revoked_by IS NULL)
    WHEN (SELECT COUNT(*) FROM origins WHERE name = tokens.device) = 1
        THEN (SELECT origin FROM origins WHERE name = tokens.device)
END;

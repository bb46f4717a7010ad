-- Reminders are deliveries too, due at the caller's callback time: a
-- `kind` tells them apart (a call may go to one destination both now and
-- as a reminder), and a reminder can also end missed (it came due while
-- callbridge was down, past its grace period) or cancelled by an operator.
-- SQLite cannot change a CHECK or UNIQUE constraint in place, so the table
-- is rebuilt (foreign keys are off while migrations run).
CREATE TABLE deliveries_new (
    id           INTEGER PRIMARY KEY,
    call_id      TEXT NOT NULL REFERENCES calls (id),
    destination  TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'call' CHECK (kind IN ('call', 'reminder')),
    -- The reminder destination that planned it (null for calls).
    reminder     TEXT,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead', 'missed', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       INTEGER NOT NULL,
    lease_until  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (call_id, destination, kind)
);

INSERT INTO deliveries_new (id, call_id, destination, state, attempts, due_at, lease_until,
                            last_error, created_at, updated_at)
SELECT id, call_id, destination, state, attempts, due_at, lease_until,
       last_error, created_at, updated_at
FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (destination, state, due_at);
CREATE INDEX deliveries_reminders ON deliveries (kind, state, due_at);

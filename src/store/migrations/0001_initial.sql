-- Calls as received, their planned deliveries and every attempt made.
-- Instants are unix milliseconds.
CREATE TABLE calls (
    id                 TEXT PRIMARY KEY,
    source             TEXT NOT NULL,
    dedupe_key         TEXT NOT NULL,
    received_at        INTEGER NOT NULL,
    payload            TEXT NOT NULL,
    caller_name        TEXT,
    caller_phone_e164  TEXT,
    routes             TEXT NOT NULL,
    unrouted           INTEGER NOT NULL,
    UNIQUE (source, dedupe_key)
);

CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    call_id      TEXT NOT NULL REFERENCES calls (id),
    destination  TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       INTEGER NOT NULL,
    lease_until  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (call_id, destination)
);

CREATE INDEX deliveries_due ON deliveries (destination, state, due_at);

CREATE TABLE attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES deliveries (id),
    attempt      INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
    status       INTEGER,
    error        TEXT,
    request      TEXT,
    response     TEXT
);

CREATE INDEX attempts_delivery ON attempts (delivery_id);

-- One row that readiness rewrites: ready means a commit reaches the disk.
CREATE TABLE probe (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    at  INTEGER NOT NULL
);

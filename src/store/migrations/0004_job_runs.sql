-- One row per cron-job run: whoever inserts it first runs the job, so a
-- restart or a second replica never runs the same run twice.
CREATE TABLE job_runs (
    job         TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    claimed_at  INTEGER NOT NULL,
    PRIMARY KEY (job, due_at)
);

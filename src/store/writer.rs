//! The one writer: a thread that owns the SQLite write connection and
//! commits whatever work is waiting in one transaction, so one fsync
//! covers every call, claim and attempt that arrived meanwhile (group
//! commit). Each job runs in its own savepoint, so one failing job never
//! takes the others' work with it.

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

/// Work done inside the shared transaction.
type Job = Box<dyn FnOnce(&Connection) -> Ran + Send>;

/// Sends a job's result once the commit is (or is not) on disk.
type Finish = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;

/// A job that ran: whether its statements stand, and its finisher.
struct Ran {
    ok: bool,
    finish: Finish,
}

const MAX_BATCH: usize = 1024;

#[derive(Clone)]
pub(super) struct Writer(mpsc::Sender<Job>);

impl Writer {
    pub(super) fn spawn(mut connection: Connection) -> Result<Self, StoreError> {
        let (sender, mut jobs) = mpsc::channel::<Job>(4 * MAX_BATCH);
        std::thread::Builder::new()
            .name("callbridge-store".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                while jobs.blocking_recv_many(&mut batch, MAX_BATCH) > 0 {
                    commit_batch(&mut connection, &mut batch);
                }
            })
            .map_err(StoreError::Thread)?;
        Ok(Self(sender))
    }

    /// Runs `work` in the next group commit and returns its result once
    /// the commit is durable.
    pub(super) async fn write<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let result = work(connection);
            Ran {
                ok: result.is_ok(),
                finish: Box::new(move |committed| {
                    let outcome = match committed {
                        Ok(()) => result.map_err(StoreError::from),
                        Err(error) => Err(StoreError::Commit(error.to_string())),
                    };
                    let _ = reply.send(outcome);
                }),
            }
        });
        self.0.send(job).await.map_err(|_| StoreError::Closed)?;
        // A dropped reply means the job never ran (logged by the writer).
        answer.await.map_err(|_| StoreError::Aborted)?
    }
}

fn statement(db: &Connection, sql: &'static str) -> rusqlite::Result<()> {
    db.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn commit_batch(connection: &mut Connection, jobs: &mut Vec<Job>) {
    let transaction = match connection.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(transaction) => transaction,
        Err(error) => {
            tracing::error!(%error, jobs = jobs.len(), "cannot begin a store transaction");
            jobs.clear();
            return;
        }
    };
    let mut finishers = Vec::with_capacity(jobs.len());
    for job in jobs.drain(..) {
        // Savepoints by cached statement: rusqlite's own re-parses its SQL
        // for every job.
        if let Err(error) = statement(&transaction, "SAVEPOINT job") {
            tracing::error!(%error, "cannot open a savepoint");
            continue;
        }
        let Ran { ok, finish } = job(&transaction);
        let ended = if ok {
            statement(&transaction, "RELEASE job")
        } else {
            // A failed job leaves nothing behind.
            statement(&transaction, "ROLLBACK TO job").and_then(|()| statement(&transaction, "RELEASE job"))
        };
        match ended {
            Ok(()) => finishers.push(finish),
            Err(error) => {
                let error = StoreError::from(error);
                finishers.push(Box::new(move |_| finish(Err(&error))));
            }
        }
    }
    let committed = transaction.commit().map_err(StoreError::from);
    if let Err(error) = &committed {
        tracing::error!(%error, jobs = finishers.len(), "committing to the store failed");
    }
    for finish in finishers {
        finish(committed.as_ref().map(|_| ()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_job_leaves_nothing_and_takes_no_other_job_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let connection = Connection::open(&path).unwrap();
        connection.execute_batch("CREATE TABLE t (v INTEGER UNIQUE)").unwrap();
        let writer = Writer::spawn(connection).unwrap();
        let insert = |v: i64| move |db: &Connection| db.execute("INSERT INTO t VALUES (?)", [v]);
        let (good, bad, other) = tokio::join!(
            writer.write(insert(1)),
            // Inserts 2, then fails on the duplicate 1: the 2 must go too.
            writer.write(|db: &Connection| {
                db.execute("INSERT INTO t VALUES (2)", [])?;
                db.execute("INSERT INTO t VALUES (1)", [])
            }),
            writer.write(insert(3)),
        );
        assert_eq!(good.unwrap(), 1);
        assert!(matches!(bad, Err(StoreError::Database(_))), "{bad:?}");
        assert_eq!(other.unwrap(), 1);
        let stored: Vec<i64> = Connection::open(&path)
            .unwrap()
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(stored, [1, 3]);
    }
}

//! The store is the single source of truth: calls, their deliveries and
//! every attempt, in an embedded SQLite file. Nothing accepted lives only
//! in memory.

mod calls;
mod deliveries;
mod jobs;
mod log;
mod reminders;
mod stats;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use calls::{IngestOutcome, NewCall, PlannedDelivery};
pub use deliveries::{AttemptRecord, AttemptRow, Claimed, DeliveryRow, NextStep};
pub use jobs::Purged;
pub use log::{CallDetail, CallRow, DeliveryDetail, DeliveryFilter, Replay};
pub use reminders::{CloseError, ReminderRow};
pub use stats::QueueStats;

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_caller_phone_country.sql"),
    include_str!("migrations/0003_reminders.sql"),
    include_str!("migrations/0004_job_runs.sql"),
    include_str!("migrations/0005_call_callback.sql"),
    include_str!("migrations/0006_delivery_progress.sql"),
    include_str!("migrations/0007_partial_indexes.sql"),
    include_str!("migrations/0008_probe.sql"),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("the commit failed: {0}")]
    Commit(String),
    #[error("storage url `{0}` is not supported (use sqlite://PATH)")]
    UnsupportedUrl(String),
    #[error("cannot create the data folder {path}: {error}")]
    DataDir { path: PathBuf, error: std::io::Error },
    #[error("cannot create the database file {path}: {error}")]
    CreateFile { path: PathBuf, error: std::io::Error },
    #[error("cannot start the store writer: {0}")]
    Thread(std::io::Error),
    #[error("the store is shutting down")]
    Closed,
    #[error("the store could not run the write (see the log)")]
    Aborted,
    #[error("another callbridge is already serving {0}")]
    InUse(PathBuf),
    #[error("cannot lock {path}: {error}")]
    Lock { path: PathBuf, error: std::io::Error },
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// Every write goes through one thread that group-commits: SQLite has
    /// one writer, and batching there is what makes fsync'd commits fast.
    writer: writer::Writer,
    /// Reads use their own connection (WAL lets them run beside the writer).
    reader: Arc<Mutex<Connection>>,
    path: PathBuf,
}

/// Held while a process serves a store; released when dropped or when the
/// process dies, however it dies.
pub struct ServeLock(#[allow(dead_code)] std::fs::File);

impl Store {
    /// Opens (creating if needed) the database at `url`; a relative path is
    /// taken from `base_dir`.
    pub async fn open(url: &str, base_dir: &Path) -> Result<Self, StoreError> {
        let path = sqlite_path(url, base_dir)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| StoreError::DataDir {
                path: parent.to_owned(),
                error,
            })?;
        }
        let opened = path.clone();
        let (writer, reader) = tokio::task::spawn_blocking(move || open_connections(&opened))
            .await
            .map_err(|_| StoreError::Closed)??;
        Ok(Self {
            writer: writer::Writer::spawn(writer)?,
            reader: Arc::new(Mutex::new(reader)),
            path,
        })
    }

    /// Runs a query on the read connection, off the async threads.
    async fn read<R, F>(&self, query: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let reader = Arc::clone(&self.reader);
        tokio::task::spawn_blocking(move || {
            let connection = reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            query(&connection).map_err(StoreError::from)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// Claims the store for one serving process: leases are released at
    /// start on the grounds that no other process can hold one.
    pub fn lock_for_serving(&self) -> Result<ServeLock, StoreError> {
        let path = self.path.with_extension("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| StoreError::Lock {
                path: path.clone(),
                error,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(ServeLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse(self.path.clone())),
            Err(std::fs::TryLockError::Error(error)) => Err(StoreError::Lock { path, error }),
        }
    }

    /// Whether a commit reaches the disk now (a full or read-only disk
    /// makes every call refused): one row rewritten, durably.
    pub async fn can_commit(&self) -> bool {
        let now = now_ms();
        self.writer
            .write(move |db| {
                db.prepare_cached("INSERT INTO probe (id, at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET at = ?1")?
                    .execute([now])
            })
            .await
            .is_ok()
    }
}

/// The write connection (migrated) and a read-only one. WAL with
/// synchronous=FULL fsyncs the log at every commit: a 2xx is only sent
/// once the call is on disk.
fn open_connections(path: &Path) -> Result<(Connection, Connection), StoreError> {
    create_private(path).map_err(|error| StoreError::CreateFile {
        path: path.to_owned(),
        error,
    })?;
    let writer = Connection::open(path)?;
    writer.busy_timeout(Duration::from_secs(10))?;
    writer.pragma_update(None, "journal_mode", "WAL")?;
    writer.pragma_update(None, "synchronous", "FULL")?;
    migrate(&writer)?;
    let reader = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    reader.busy_timeout(Duration::from_secs(10))?;
    Ok((writer, reader))
}

/// A new database file is readable by its owner only: it holds callers'
/// names, numbers and words (SQLite gives its -wal and -shm files the
/// same mode).
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

/// Whether `url` names a store callbridge can open (`check` asks before
/// `serve` would find out).
pub fn check_url(url: &str) -> Result<(), StoreError> {
    sqlite_path(url, Path::new(".")).map(drop)
}

fn sqlite_path(url: &str, base_dir: &Path) -> Result<PathBuf, StoreError> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
    Ok(base_dir.join(path))
}

/// Applies the migrations not yet applied, each in its own transaction.
/// Foreign keys are off meanwhile (SQLite's way to rebuild a table) and
/// checked before each commit.
fn migrate(db: &Connection) -> Result<(), StoreError> {
    let version: i64 = db.pragma_query_value(None, "user_version", |row| row.get(0))?;
    db.pragma_update(None, "foreign_keys", false)?;
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = db.unchecked_transaction()?;
        tx.execute_batch(migration)?;
        let violations: i64 = tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |row| row.get(0))?;
        if violations > 0 {
            return Err(StoreError::Commit(format!(
                "migration {} would break {violations} references; nothing was changed",
                i + 1
            )));
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    db.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_file_is_private_and_an_existing_one_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.db");
        create_private(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        create_private(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn migrating_keeps_the_deliveries_of_an_older_store() {
        let db = Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..2] {
            db.execute_batch(migration).unwrap();
        }
        db.pragma_update(None, "user_version", 2).unwrap();
        db.execute_batch(
            "INSERT INTO calls (id, source, dedupe_key, received_at, payload, routes, unrouted)
             VALUES ('c1', 'vm', 'k', 1, '{}', '[]', 0);
             INSERT INTO deliveries (call_id, destination, state, due_at, created_at, updated_at)
             VALUES ('c1', 'slack', 'pending', 1, 1, 1);",
        )
        .unwrap();
        migrate(&db).unwrap();
        let row: (String, String, String, Option<String>) = db
            .query_row("SELECT call_id, destination, kind, reminder FROM deliveries", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap();
        assert_eq!(row, ("c1".into(), "slack".into(), "call".into(), None));
        let version: i64 = db.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let foreign_keys: bool = db.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
        assert!(foreign_keys);
    }

    #[test]
    fn sqlite_urls_resolve_against_the_config_folder() {
        let base = Path::new("/etc/callbridge");
        assert_eq!(
            sqlite_path("sqlite://data/x.db", base).unwrap(),
            Path::new("/etc/callbridge/data/x.db")
        );
        assert_eq!(sqlite_path("sqlite:///tmp/x.db", base).unwrap(), Path::new("/tmp/x.db"));
        assert!(matches!(
            sqlite_path("postgres://db", base),
            Err(StoreError::UnsupportedUrl(_))
        ));
    }
}

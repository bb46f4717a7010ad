//! The store is the single source of truth: calls, their deliveries and
//! every attempt, in an embedded SQLite file. Nothing accepted lives only
//! in memory.

mod deliveries;
mod ingest_batch;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use deliveries::{AttemptRecord, AttemptRow, Claimed, DeliveryRow, NextStep};
pub use ingest_batch::{IngestOutcome, NewCall};

const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_initial.sql")];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("storage url `{0}` is not supported (use sqlite://PATH)")]
    UnsupportedUrl(String),
    #[error("cannot create the data folder {path}: {error}")]
    DataDir { path: PathBuf, error: std::io::Error },
    #[error("the store is shutting down")]
    Closed,
    #[error("another callbridge is already serving {0}")]
    InUse(PathBuf),
    #[error("cannot lock {path}: {error}")]
    Lock { path: PathBuf, error: std::io::Error },
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// One connection: SQLite has one writer, and queueing here is fairer
    /// than retrying on `SQLITE_BUSY`.
    writer: SqlitePool,
    reader: SqlitePool,
    batcher: ingest_batch::Handle,
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
        // WAL with synchronous=FULL fsyncs the log at every commit: a 2xx is
        // only sent once the call is on disk.
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        migrate(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let batcher = ingest_batch::spawn(writer.clone());
        Ok(Self {
            writer,
            reader,
            batcher,
            path,
        })
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

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reader).await.is_ok()
    }
}

fn sqlite_path(url: &str, base_dir: &Path) -> Result<PathBuf, StoreError> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
    Ok(base_dir.join(path))
}

async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let (version,): (i64,) = sqlx::query_as("PRAGMA user_version").fetch_one(pool).await?;
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let mut tx = pool.begin().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(*migration)).execute(&mut *tx).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PRAGMA user_version = {}", i + 1)))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

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

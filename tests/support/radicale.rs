//! A real CalDAV server on loopback: Radicale, from PyPI (installed here
//! on first use if it is missing, and by `.ci/run`), with a calendar
//! collection made for the test.

use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The version the tests were written against.
const RADICALE: &str = "radicale==3.9.0";

fn ensure_installed() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let present = Command::new("python3").args(["-c", "import radicale"]).status();
        if present.is_ok_and(|s| s.success()) {
            return;
        }
        let installed = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", RADICALE])
            .status()
            .expect("python3 -m pip");
        assert!(installed.success(), "could not install {RADICALE}");
    });
}

pub const USER: &str = "office";
pub const PASSWORD: &str = "radicale-secret-1";

pub struct Radicale {
    pub collection: String,
    process: Child,
    _dir: tempfile::TempDir,
}

impl Radicale {
    /// Starts Radicale and makes the calendar `/office/calls/`.
    pub async fn start() -> Self {
        ensure_installed();
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new("python3")
            .args(["-m", "radicale", "--server-hosts"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--storage-filesystem-folder")
            .arg(dir.path())
            .args(["--auth-type", "none", "--logging-level", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m radicale (pip install radicale; .ci/run does)");
        let collection = format!("http://127.0.0.1:{port}/{USER}/calls/");
        let client = reqwest::Client::new();
        let mkcalendar = reqwest::Method::from_bytes(b"MKCALENDAR").unwrap();
        let made = super::poll(Duration::from_secs(20), || async {
            let response = client
                .request(mkcalendar.clone(), &collection)
                .basic_auth(USER, Some(PASSWORD))
                .send()
                .await
                .ok()?;
            (response.status().as_u16() == 201).then_some(())
        })
        .await;
        let mut radicale = Self {
            collection,
            process,
            _dir: dir,
        };
        if made.is_none() {
            let _ = radicale.process.kill();
            panic!("Radicale did not start or did not make the calendar");
        }
        radicale
    }

    /// The stored event `name` (e.g. `callbridge-….ics`), as Radicale serves it.
    pub async fn get(&self, name: &str) -> (u16, String) {
        let response = reqwest::Client::new()
            .get(format!("{}{name}", self.collection))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

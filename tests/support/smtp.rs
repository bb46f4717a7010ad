//! A real SMTP server on loopback (mailin-embedded) that records every
//! message it accepts and answers the end of DATA as a test scripts it.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig};

/// One message as the server accepted it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("the message parses as MIME")
    }

    /// The header section as sent, one entry per physical line.
    pub fn header_lines(&self) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.data);
        let end = text.find("\r\n\r\n").expect("headers end with a blank line");
        text[..end].split("\r\n").map(str::to_owned).collect()
    }
}

#[derive(Default)]
struct Shared {
    /// Answers to the end of DATA, used up in order; then 250 OK.
    script: VecDeque<(u16, &'static str)>,
    /// The answer to every RCPT TO, when recipients are refused.
    rcpt_refusal: Option<(u16, &'static str)>,
    received: Vec<Received>,
    /// Users that logged in (AUTH PLAIN, offered only after STARTTLS).
    logins: Vec<String>,
}

/// The one password a TLS server takes.
pub const PASSWORD: &str = "smtp-secret-password";

/// A STARTTLS server's certificate, for the client to trust.
pub struct Tls {
    pub ca_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

#[derive(Clone)]
struct Recorder {
    shared: Arc<Mutex<Shared>>,
    current: Option<Received>,
}

impl Handler for Recorder {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_owned(),
            to: to.to_vec(),
            data: Vec::new(),
        });
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mut shared = self.shared.lock().unwrap();
        let message = self.current.take();
        match shared.script.pop_front() {
            Some((code, text)) => Response::custom(code, text.to_owned()),
            None => {
                shared.received.extend(message);
                OK
            }
        }
    }

    fn auth_plain(&mut self, _authorization_id: &str, user: &str, password: &str) -> Response {
        if password != PASSWORD {
            return INVALID_CREDENTIALS;
        }
        self.shared.lock().unwrap().logins.push(user.to_owned());
        AUTH_OK
    }

    fn rcpt(&mut self, _to: &str) -> Response {
        match self.shared.lock().unwrap().rcpt_refusal {
            Some((code, text)) => Response::custom(code, text.to_owned()),
            None => OK,
        }
    }
}

pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl SmtpSink {
    /// Starts a server whose first answers to the end of DATA are `script`.
    /// (mailin stays in DATA after refusing there, so 5xx refusals are
    /// tested at RCPT, where real servers give them too.)
    pub fn start(script: &[(u16, &'static str)]) -> Self {
        Self::with(Shared {
            script: script.iter().copied().collect(),
            ..Shared::default()
        })
    }

    /// Starts a server that answers every RCPT TO with `code` and `text`.
    pub fn refusing_recipients(code: u16, text: &'static str) -> Self {
        Self::with(Shared {
            rcpt_refusal: Some((code, text)),
            ..Shared::default()
        })
    }

    /// A server that offers STARTTLS with a fresh self-signed certificate
    /// for 127.0.0.1, and AUTH PLAIN after it.
    pub fn with_starttls() -> (Self, Tls) {
        let dir = tempfile::tempdir().unwrap();
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        let ssl = SslConfig::SelfSigned {
            cert_path: cert.display().to_string(),
            key_path: key.display().to_string(),
        };
        let sink = Self::serve(Shared::default(), ssl, true);
        (
            sink,
            Tls {
                ca_file: cert,
                _dir: dir,
            },
        )
    }

    pub fn logins(&self) -> Vec<String> {
        self.shared.lock().unwrap().logins.clone()
    }

    fn with(shared: Shared) -> Self {
        Self::serve(shared, SslConfig::None, false)
    }

    /// With `auth`, mailin requires a login before MAIL.
    fn serve(shared: Shared, ssl: SslConfig, auth: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(shared));
        let handler = Recorder {
            shared: Arc::clone(&shared),
            current: None,
        };
        // The server blocks and is not Send: it lives on its own thread
        // for the rest of the test process.
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server
                .with_name("smtp.test")
                .with_ssl(ssl)
                .unwrap()
                .with_tcp_listener(listener);
            if auth {
                server.with_auth(AuthMechanism::Plain);
            }
            let _ = server.serve();
        });
        Self { port, shared }
    }

    /// Waits until `n` messages were accepted.
    pub async fn received(&self, n: usize) -> Vec<Received> {
        let found = super::poll(Duration::from_secs(20), || async {
            let received = self.shared.lock().unwrap().received.clone();
            (received.len() >= n).then_some(received)
        })
        .await;
        found.unwrap_or_else(|| panic!("the SMTP server never accepted {n} messages"))
    }
}

/// A server that accepts connections and never says a word.
pub fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().flatten() {
            open.push(stream);
        }
    });
    port
}

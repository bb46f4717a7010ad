//! One configured SMTP server: a pooled lettre transport shared by every
//! email destination that names it, and what its answers mean for a retry.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{ConfigError, SmtpSecurity, SmtpSettings};
use crate::destinations::{Outcome, SendReport};

pub struct SmtpServer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// lettre's own timeout covers only the connect: a whole send is
    /// bounded here.
    timeout: Duration,
}

impl SmtpServer {
    pub fn new(key: &str, settings: &SmtpSettings) -> Result<Self, ConfigError> {
        let host = settings.host.trim();
        if host.is_empty() {
            return Err(ConfigError::key(format!("{key}.host"), "is empty"));
        }
        let extra_root = settings
            .ca
            .as_deref()
            .map(|pem| {
                Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| ConfigError::key(format!("{key}.ca"), format!("is not a PEM certificate: {e}")))
            })
            .transpose()?;
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(host.to_owned());
            if let Some(root) = &extra_root {
                builder = builder.add_root_certificate(root.clone());
            }
            builder
                .build()
                .map_err(|e| ConfigError::key(format!("{key}.security"), format!("cannot set up TLS: {e}")))
        };
        let tls = match settings.security {
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters()?),
            SmtpSecurity::Starttls => Tls::Required(tls_parameters()?),
            SmtpSecurity::StarttlsOpportunistic => Tls::Opportunistic(tls_parameters()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.port.unwrap_or(settings.security.default_port()))
            .tls(tls)
            .timeout(Some(settings.timeout));
        if settings.username.is_some() && !settings.security.always_encrypted() {
            return Err(ConfigError::key(
                format!("{key}.username"),
                "credentials need `security: tls` or `starttls`: without them the password could travel in the clear",
            ));
        }
        match (&settings.username, &settings.password) {
            (Some(user), password) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.clone().unwrap_or_default()));
            }
            (None, Some(_)) => {
                return Err(ConfigError::key(
                    format!("{key}.username"),
                    "is missing: a password is set, so a username is needed too",
                ));
            }
            (None, None) => {}
        }
        Ok(Self {
            transport: builder.build(),
            timeout: settings.timeout,
        })
    }

    pub async fn send(&self, envelope: &Envelope, raw: &[u8]) -> SendReport {
        let sent = tokio::time::timeout(self.timeout, self.transport.send_raw(envelope, raw)).await;
        match sent {
            Err(_) => SendReport {
                outcome: Outcome::Retry { after: None },
                status: None,
                error: Some(format!("timed out: no answer within {:?}", self.timeout)),
                response: None,
                progress: None,
            },
            Ok(Ok(response)) => SendReport {
                outcome: Outcome::Delivered,
                status: Some(u16::from(response.code())),
                error: None,
                response: Some(response.message().collect::<Vec<_>>().join("\n")),
                progress: None,
            },
            Ok(Err(error)) => classify(&error),
        }
    }
}

/// A 5xx reply, or a message the client itself refuses, cannot succeed
/// later; 4xx replies and connection trouble can.
fn classify(error: &lettre::transport::smtp::Error) -> SendReport {
    let outcome = if error.is_permanent() || error.is_client() {
        Outcome::Permanent
    } else {
        Outcome::Retry { after: None }
    };
    // Display shows the reply text or the direct cause; add deeper causes
    // (the I/O or TLS error behind a connection failure).
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error).and_then(|c| c.source());
    while let Some(inner) = cause {
        text.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    SendReport {
        outcome,
        status: error.status().map(u16::from),
        error: Some(text),
        response: None,
        progress: None,
    }
}

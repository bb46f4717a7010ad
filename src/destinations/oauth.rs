//! Access tokens from an OAuth refresh token (RFC 6749 §6), for APIs whose
//! access tokens expire within the hour (Google's do): fetched when first
//! needed, kept until shortly before they expire, and fetched again when
//! the API refuses one.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::{HttpRequest, HttpSender, Outcome, SendReport};
use crate::config::OAuthRefresh;

/// A token is fetched again this long before it would expire, so none
/// runs out between the check and the API's answer.
const EARLY: Duration = Duration::from_secs(60);

/// For a token endpoint that does not say (`expires_in` is optional).
const UNSTATED_LIFETIME: Duration = Duration::from_secs(300);

pub struct AccessTokens {
    /// `destinations.<name>.oauth`, to name what to fix.
    key: String,
    request: HttpRequest,
    sender: HttpSender,
    current: Mutex<Option<Current>>,
}

struct Current {
    token: String,
    fresh_until: Instant,
}

/// What a token endpoint answers, in success or failure.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
}

impl AccessTokens {
    pub fn new(key: &str, settings: &OAuthRefresh, sender: HttpSender) -> Self {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", settings.refresh_token.trim())
            .append_pair("client_id", settings.client_id.trim())
            .append_pair("client_secret", settings.client_secret.trim())
            .finish();
        Self {
            key: key.to_owned(),
            request: HttpRequest {
                method: reqwest::Method::POST,
                url: settings.token_url.clone(),
                headers: vec![(
                    "Content-Type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned(),
                )],
                body: form,
                expected_status: vec![200],
            },
            sender,
            current: Mutex::new(None),
        }
    }

    /// A token fresh enough to use, fetched if need be. Concurrent sends
    /// wait for one fetch rather than each making their own.
    pub async fn token(&self) -> Result<String, SendReport> {
        let mut current = self.current.lock().await;
        if let Some(fresh) = current.as_ref().filter(|c| Instant::now() < c.fresh_until) {
            return Ok(fresh.token.clone());
        }
        let (token, lifetime) = self.fetch().await?;
        *current = Some(Current {
            token: token.clone(),
            fresh_until: Instant::now() + lifetime.saturating_sub(EARLY),
        });
        Ok(token)
    }

    /// The API refused `token`: the next `token()` fetches a new one,
    /// unless another send has done so meanwhile.
    pub async fn refused(&self, token: &str) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| c.token == token) {
            *current = None;
        }
    }

    async fn fetch(&self) -> Result<(String, Duration), SendReport> {
        let failed = |mut report: SendReport| {
            let error = report.error.take().unwrap_or_default();
            report.error = Some(format!("fetching an access token from {}: {error}", self.request.url));
            report
        };
        let answer = self.sender.exchange(&self.request).await.map_err(failed)?;
        let parsed: Option<TokenAnswer> = serde_json::from_str(&answer.body).ok();
        let report = answer.report(&[200], None, |body| match &parsed {
            Some(TokenAnswer { error: Some(error), .. }) => self.explain(error, parsed.as_ref()),
            _ => crate::render::truncate_chars(body, 300),
        });
        if report.outcome != Outcome::Delivered {
            return Err(failed(report));
        }
        match parsed {
            Some(TokenAnswer {
                access_token: Some(token),
                expires_in,
                ..
            }) if !token.is_empty() => Ok((token, expires_in.map_or(UNSTATED_LIFETIME, Duration::from_secs))),
            _ => Err(failed(SendReport {
                outcome: Outcome::Permanent,
                status: Some(200),
                error: Some("HTTP 200 without an access_token".to_owned()),
                response: None,
                progress: None,
            })),
        }
    }

    /// An OAuth error code, with what to change in the config.
    fn explain(&self, error: &str, answer: Option<&TokenAnswer>) -> String {
        let description = answer
            .and_then(|a| a.error_description.as_deref())
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let fix = match error {
            "invalid_grant" => format!(
                ": the refresh token was revoked or has expired; authorise again and set {}.refresh_token",
                self.key
            ),
            "invalid_client" | "unauthorized_client" => {
                format!(": check {0}.client_id and {0}.client_secret", self.key)
            }
            _ => String::new(),
        };
        format!("{error}{description}{fix}")
    }
}

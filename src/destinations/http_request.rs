//! Sending an HTTP request and classifying the answer, shared by every
//! destination that speaks HTTP.

use std::time::Duration;

use super::{Outcome, Rendered, SendReport};
use crate::config::Secrets;

/// A rendered HTTP request.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Statuses that count as delivered; any 2xx when empty.
    pub expected_status: Vec<u16>,
}

/// Header names that hold credentials whatever their source: any name
/// with one of these in it (`Authorization`, `Private-Token`, `X-Api-Key`,
/// `Cookie`, `X-Client-Secret`, …).
const SENSITIVE_HEADER_PARTS: &[&str] = &["auth", "token", "key", "secret", "cookie", "password", "session"];

fn is_sensitive(header: &str) -> bool {
    let header = header.to_ascii_lowercase();
    // callbridge's own key, a hash of call and destination, is worth seeing.
    header != "idempotency-key" && SENSITIVE_HEADER_PARTS.iter().any(|part| header.contains(part))
}

/// How much of a response body is kept with the attempt.
const RESPONSE_EXCERPT: usize = 2000;

/// The URL with the value of every query parameter named like a
/// credential (`api_key`, `token`, `sig`, …) left out, the rest as written.
fn described_url(url: &str) -> String {
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = rest.split_once('#').map_or((rest, None), |(q, f)| (q, Some(f)));
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _))
                if is_sensitive(name) || matches!(name.to_ascii_lowercase().as_str(), "sig" | "signature") =>
            {
                format!("{name}=[redacted]")
            }
            _ => pair.to_owned(),
        })
        .collect();
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    format!("{base}?{}{fragment}", query.join("&"))
}

impl HttpRequest {
    /// What is sent, for the attempt record: configured secrets redacted
    /// first (a webhook URL as a whole), then credential headers and query
    /// values.
    pub fn describe(&self, secrets: &Secrets) -> String {
        let mut text = format!("{} {}\n", self.method, described_url(&secrets.redact(&self.url)));
        for (name, value) in &self.headers {
            let shown = if is_sensitive(name) { "[redacted]" } else { value };
            text.push_str(&format!("{name}: {shown}\n"));
        }
        text.push('\n');
        text.push_str(&self.body);
        secrets.redact(&text)
    }
}

/// A shared client: connection pooling across destinations, fixed
/// timeouts, no redirects (a redirect could leave the configured host).
#[derive(Clone)]
pub struct HttpSender {
    client: reqwest::Client,
}

impl HttpSender {
    pub fn new(connect_timeout: Duration, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("callbridge/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client })
    }

    /// Sends what an HTTP destination rendered.
    pub async fn send_rendered(&self, rendered: &Rendered) -> SendReport {
        match rendered {
            Rendered::Http(request) => self.send(request).await,
            other => SendReport::wrong_kind(other),
        }
    }

    pub async fn send(&self, request: &HttpRequest) -> SendReport {
        match self.exchange(request).await {
            Ok(answer) => {
                let excerpt = crate::render::truncate_chars(&answer.body, RESPONSE_EXCERPT);
                classify(answer.status, &request.expected_status, answer.retry_after, excerpt)
            }
            Err(failed) => failed,
        }
    }

    /// Sends a request and reads the whole answer, for destinations that
    /// need more of it than the outcome (a CRM's new record id). A request
    /// that got no answer is a report worth a retry.
    pub async fn exchange(&self, request: &HttpRequest) -> Result<Answer, SendReport> {
        let mut builder = self.client.request(request.method.clone(), &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder
            .body(request.body.clone())
            .send()
            .await
            .map_err(|error| SendReport {
                // A request that cannot be built (a rendered URL that is
                // not one) never will be: no use trying again.
                outcome: if error.is_builder() {
                    Outcome::Permanent
                } else {
                    Outcome::Retry { after: None }
                },
                status: None,
                error: Some(describe_error(error)),
                response: None,
                progress: None,
            })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = response.text().await.unwrap_or_default();
        Ok(Answer {
            status,
            retry_after,
            headers,
            body,
        })
    }
}

/// What a server answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After`, when it was given.
    pub retry_after: Option<Duration>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    /// The answer as a report, with `error` in place of the raw body
    /// (a vendor's own message, say) when it failed.
    pub fn report(
        &self,
        expected: &[u16],
        retry_after: Option<Duration>,
        error: impl FnOnce(&str) -> String,
    ) -> SendReport {
        let excerpt = crate::render::truncate_chars(&self.body, RESPONSE_EXCERPT);
        let mut report = classify(self.status, expected, retry_after.or(self.retry_after), excerpt);
        if report.error.is_some() {
            report.error = Some(format!("HTTP {}: {}", self.status, error(&self.body)));
        }
        report
    }
}

/// Delivered on an expected status; 408, 429 and 5xx are worth a retry;
/// any other status is permanent.
pub fn classify(status: u16, expected: &[u16], retry_after: Option<Duration>, body: String) -> SendReport {
    let delivered = if expected.is_empty() {
        (200..300).contains(&status)
    } else {
        expected.contains(&status)
    };
    let (outcome, error) = if delivered {
        (Outcome::Delivered, None)
    } else if status == 408 || status == 429 || status >= 500 {
        (
            Outcome::Retry { after: retry_after },
            Some(format!("HTTP {status}: {body}")),
        )
    } else if (300..400).contains(&status) {
        // A redirect could lead off the configured host: never followed.
        let error = format!("HTTP {status}: a redirect, which is not followed; is the destination's URL out of date?");
        (Outcome::Permanent, Some(error))
    } else {
        (Outcome::Permanent, Some(format!("HTTP {status}: {body}")))
    };
    SendReport {
        outcome,
        status: Some(status),
        error,
        response: Some(body),
        progress: None,
    }
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = when.as_millisecond() - jiff::Timestamp::now().as_millisecond();
    Some(Duration::from_millis(wait.max(0) as u64))
}

fn describe_error(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_builder() {
        "the request cannot be made (is the rendered URL or a header value valid?)"
    } else {
        "request failed"
    };
    // The URL may hold a credential (a Slack webhook): leave it out.
    let error = error.without_url();
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_outcomes() {
        let outcome = |status, expected: &[u16]| classify(status, expected, None, String::new()).outcome;
        assert_eq!(outcome(200, &[]), Outcome::Delivered);
        assert_eq!(outcome(204, &[]), Outcome::Delivered);
        assert_eq!(outcome(200, &[201]), Outcome::Permanent);
        for status in [408, 429, 500, 503] {
            assert_eq!(outcome(status, &[]), Outcome::Retry { after: None }, "{status}");
        }
        for status in [400, 401, 403, 404, 410, 422, 301, 302, 307, 308] {
            assert_eq!(outcome(status, &[]), Outcome::Permanent, "{status}");
        }
        assert_eq!(
            classify(302, &[], None, String::new()).error.as_deref(),
            Some("HTTP 302: a redirect, which is not followed; is the destination's URL out of date?")
        );
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn credentials_in_headers_are_not_described() {
        let request = HttpRequest {
            method: reqwest::Method::POST,
            url: "https://x.test/a".into(),
            headers: vec![
                ("Authorization".into(), "Bearer abc".into()),
                ("Private-Token".into(), "glpat-1".into()),
                ("X-Access-Token".into(), "t".into()),
                ("X-Trace".into(), "1".into()),
                ("Idempotency-Key".into(), "cb-1f2e".into()),
            ],
            body: "{}".into(),
            expected_status: vec![],
        };
        assert_eq!(
            request.describe(&Secrets::default()),
            "POST https://x.test/a\nAuthorization: [redacted]\nPrivate-Token: [redacted]\nX-Access-Token: [redacted]\nX-Trace: 1\nIdempotency-Key: cb-1f2e\n\n{}"
        );
    }

    #[test]
    fn credentials_in_the_query_are_not_described() {
        assert_eq!(
            described_url("https://x.test/a?api_key=abc&page=2&access_token=t&sig=s#top"),
            "https://x.test/a?api_key=[redacted]&page=2&access_token=[redacted]&sig=[redacted]#top"
        );
        assert_eq!(
            described_url("https://x.test/a?from=%2B316"),
            "https://x.test/a?from=%2B316"
        );
    }
}

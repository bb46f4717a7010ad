//! Every ingest error is a status and a JSON body that names the problem.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unknown source `{0}`")]
    UnknownSource(String),
    #[error("missing token: pass it as ?token=… or Authorization: Bearer …")]
    MissingToken,
    #[error("wrong token for source `{0}`")]
    WrongToken(String),
    #[error("unsupported content type `{0}`: send the call summary as a JSON body")]
    UnsupportedContentType(String),
    #[error("unsupported content encoding `{0}`: use gzip or none")]
    UnsupportedEncoding(String),
    #[error("body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("gzip body decodes to more than the limit of {limit} bytes")]
    DecodedTooLarge { limit: u64 },
    #[error("gzip body cannot be decoded: {0}")]
    BadGzip(String),
    #[error("{0}")]
    BadBody(String),
    #[error("reading the request body failed: {0}")]
    BodyRead(String),
    #[error("the body did not arrive within {} s of the headers", .0.as_secs_f64())]
    BodyTimeout(std::time::Duration),
    #[error("the call could not be stored; try again")]
    StoreUnavailable,
    #[error("no such endpoint: calls are posted to /hooks/{{source}}")]
    NotFound,
    #[error("no such endpoint: calls are posted to /hooks/{0}, without the trailing slash")]
    TrailingSlash(String),
    #[error("method not allowed: calls are sent with POST")]
    MethodNotAllowed,
}

impl IngestError {
    /// A short fixed name for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownSource(_) => "unknown_source",
            Self::MissingToken => "missing_token",
            Self::WrongToken(_) => "wrong_token",
            Self::UnsupportedContentType(_) => "content_type",
            Self::UnsupportedEncoding(_) => "content_encoding",
            Self::TooLarge { .. } | Self::DecodedTooLarge { .. } => "too_large",
            Self::BadGzip(_) | Self::BadBody(_) => "bad_body",
            // The sender went away mid-body: a network matter, not its JSON.
            Self::BodyRead(_) | Self::BodyTimeout(_) => "body_read",
            Self::StoreUnavailable => "store_unavailable",
            Self::NotFound | Self::TrailingSlash(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
        }
    }
}

impl ResponseError for IngestError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::UnknownSource(_) | Self::NotFound | Self::TrailingSlash(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MissingToken | Self::WrongToken(_) => StatusCode::UNAUTHORIZED,
            Self::UnsupportedContentType(_) | Self::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge { .. } | Self::DecodedTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadGzip(_) | Self::BadBody(_) | Self::BodyRead(_) => StatusCode::BAD_REQUEST,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::StoreUnavailable => {
                response.insert_header(("Retry-After", "5"));
            }
            // The rest of the body may still come: the connection cannot
            // carry another request, and is closed to free it.
            Self::BodyTimeout(_) => {
                response.force_close();
            }
            _ => {}
        }
        response.json(serde_json::json!({ "error": self.to_string() }))
    }
}

//! Reading a webhook body leniently but within limits: any JSON-ish
//! content type, gzip decoded with a cap, a real 413 when too large.

use std::io::Read;

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut, Payload};
use futures_util::StreamExt;

use super::error::IngestError;

#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_body: u64,
    pub max_decoded: u64,
    /// For the whole body, from the end of the headers.
    pub timeout: std::time::Duration,
}

/// Form posts are refused: a sender that form-encodes the summary would
/// have its fields silently lost.
pub fn check_content_type(request: &HttpRequest) -> Result<(), IngestError> {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
    let mime = text.split(';').next().unwrap_or_default().trim();
    if mime == "application/x-www-form-urlencoded" || mime.starts_with("multipart/") {
        return Err(IngestError::UnsupportedContentType(mime.to_owned()));
    }
    Ok(())
}

pub async fn read(request: &HttpRequest, mut payload: Payload, limits: BodyLimits) -> Result<Bytes, IngestError> {
    let encoding = content_encoding(request)?;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_body) {
        return Err(IngestError::TooLarge { limit: limits.max_body });
    }
    let receive = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| IngestError::BodyRead(e.to_string()))?;
            if (body.len() + chunk.len()) as u64 > limits.max_body {
                return Err(IngestError::TooLarge { limit: limits.max_body });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    let body = tokio::time::timeout(limits.timeout, receive)
        .await
        .map_err(|_| IngestError::BodyTimeout(limits.timeout))??;
    match encoding {
        Encoding::Identity => Ok(body.freeze()),
        Encoding::Gzip => gunzip(&body, limits.max_decoded).map(Bytes::from),
    }
}

enum Encoding {
    Identity,
    Gzip,
}

fn content_encoding(request: &HttpRequest) -> Result<Encoding, IngestError> {
    let Some(value) = request.headers().get(header::CONTENT_ENCODING) else {
        return Ok(Encoding::Identity);
    };
    match value.to_str().unwrap_or("").trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(Encoding::Identity),
        "gzip" | "x-gzip" => Ok(Encoding::Gzip),
        other => Err(IngestError::UnsupportedEncoding(other.to_owned())),
    }
}

/// Decodes gzip, stopping as soon as the output passes `limit`, so a small
/// bomb cannot fill memory.
fn gunzip(data: &[u8], limit: u64) -> Result<Vec<u8>, IngestError> {
    let mut decoded = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .take(limit + 1)
        .read_to_end(&mut decoded)
        .map_err(|e| IngestError::BadGzip(e.to_string()))?;
    if decoded.len() as u64 > limit {
        return Err(IngestError::DecodedTooLarge { limit });
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_is_decoded_up_to_the_cap() {
        assert_eq!(gunzip(&gzip(b"{\"a\":1}"), 100).unwrap(), b"{\"a\":1}");
        let bomb = gzip(&vec![b' '; 10_000]);
        assert!(matches!(
            gunzip(&bomb, 1000),
            Err(IngestError::DecodedTooLarge { limit: 1000 })
        ));
        assert!(matches!(gunzip(b"not gzip", 1000), Err(IngestError::BadGzip(_))));
    }
}

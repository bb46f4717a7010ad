//! The call summary a voice assistant posts: parsed tolerantly from the
//! raw body into a domain type, with normalised views for templates and
//! routing. No I/O here.

mod lenient;
pub mod phone;
mod surrogates;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub use phonenumber::country::Id as Region;

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub role: String,
    /// Unix milliseconds.
    pub time_ms: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct CallSummary {
    /// The object as sent, unknown fields included.
    raw: Map<String, Value>,
    pub sort_key: Option<String>,
    pub caller_name: Option<String>,
    pub caller_phone_number: Option<String>,
    /// None for withheld, anonymous or invalid numbers.
    pub caller_phone_e164: Option<String>,
    /// The number's ISO 3166 region ("NL"), when it has one.
    pub caller_phone_country: Option<String>,
    pub summary: Option<String>,
    pub call_reason: Option<String>,
    pub callback_time: Option<String>,
    pub call_back_needed: Option<bool>,
    pub answered: Option<bool>,
    pub read: Option<bool>,
    pub archived: Option<bool>,
    /// When the call happened, unix milliseconds.
    pub call_time_ms: Option<i64>,
    /// `calltimestamp` exactly as a number of seconds, for the callback
    /// resolver, which never guesses milliseconds.
    pub calltimestamp_as_sent: Option<i64>,
    pub duration_secs: Option<u64>,
    pub messages: Vec<Message>,
}

/// Why a body is not a call summary at all.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("body is not valid UTF-8 (first bad byte at offset {0})")]
    NotUtf8(usize),
    #[error("body is not valid JSON: {message} at line {line}, column {column}")]
    NotJson {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("body must be a JSON object, got {0}")]
    NotObject(&'static str),
}

impl CallSummary {
    /// Parses a request body. Only a body that is not a JSON object is an
    /// error; fields of the wrong type are read leniently or left empty.
    pub fn parse(body: &[u8], region: Region) -> Result<Self, ParseError> {
        Self::parse_with(body, |number| phone::normalise(number, region))
    }

    /// Parses a body whose caller number was normalised before (a stored
    /// call): `normalise` supplies that result instead of parsing again.
    pub fn parse_with(
        body: &[u8],
        normalise: impl FnOnce(&str) -> Option<phone::Normalised>,
    ) -> Result<Self, ParseError> {
        let text = std::str::from_utf8(body).map_err(|e| ParseError::NotUtf8(e.valid_up_to()))?;
        let text = text.trim_start_matches('\u{feff}');
        let value: Value = serde_json::from_str(text)
            .or_else(|error| match surrogates::replace_lone(text) {
                // Same length: a later error's position holds for the body as sent.
                Some(repaired) => serde_json::from_str(&repaired),
                None => Err(error),
            })
            .map_err(|e| ParseError::NotJson {
                message: e.to_string().split(" at line").next().unwrap_or_default().to_owned(),
                line: e.line(),
                column: e.column(),
            })?;
        match value {
            Value::Object(raw) => Ok(Self::from_object(raw, normalise)),
            other => Err(ParseError::NotObject(kind_of(&other))),
        }
    }

    fn from_object(raw: Map<String, Value>, normalise: impl FnOnce(&str) -> Option<phone::Normalised>) -> Self {
        let caller_phone_number = lenient::text(raw.get("caller_phone_number"));
        let phone = caller_phone_number.as_deref().and_then(normalise);
        Self {
            sort_key: lenient::text(raw.get("sort_key")),
            caller_name: lenient::text(raw.get("caller_name")),
            caller_phone_e164: phone.as_ref().map(|p| p.e164.clone()),
            caller_phone_country: phone.and_then(|p| p.country),
            caller_phone_number,
            summary: lenient::text(raw.get("callsummary")),
            call_reason: lenient::text(raw.get("call_reason")),
            callback_time: lenient::text(raw.get("callback_time")),
            call_back_needed: lenient::boolean(raw.get("call_back_needed")),
            answered: lenient::boolean(raw.get("answered")),
            read: lenient::boolean(raw.get("read")),
            archived: lenient::boolean(raw.get("archived")),
            call_time_ms: lenient::instant_ms(raw.get("calltimestamp")),
            calltimestamp_as_sent: lenient::unsigned(raw.get("calltimestamp")).and_then(|s| i64::try_from(s).ok()),
            duration_secs: lenient::unsigned(raw.get("callduration")),
            messages: messages(raw.get("messages")),
            raw,
        }
    }

    /// The key that makes a resend recognisable: the sender's `sort_key`,
    /// else a hash of the exact body.
    pub fn dedupe_key(&self, body: &[u8]) -> String {
        match &self.sort_key {
            Some(key) => key.clone(),
            None => format!("sha256:{:x}", Sha256::digest(body)),
        }
    }

    /// The payload as templates and matchers see it: every field as sent,
    /// with the known ones replaced by their normalised values (seconds for
    /// `calltimestamp`, milliseconds for message times, real booleans and
    /// numbers, null when absent) plus `caller_phone_e164` and
    /// `caller_phone_country`.
    pub fn to_context(&self) -> Value {
        let mut object = self.raw.clone();
        let mut set = |key: &str, value: Value| {
            object.insert(key.to_owned(), value);
        };
        set("sort_key", json!(self.sort_key));
        set("caller_name", json!(self.caller_name));
        set("caller_phone_number", json!(self.caller_phone_number));
        set("caller_phone_e164", json!(self.caller_phone_e164));
        set("caller_phone_country", json!(self.caller_phone_country));
        set("callsummary", json!(self.summary));
        set("call_reason", json!(self.call_reason));
        set("callback_time", json!(self.callback_time));
        set("call_back_needed", json!(self.call_back_needed));
        set("answered", json!(self.answered));
        set("read", json!(self.read));
        set("archived", json!(self.archived));
        set("calltimestamp", json!(self.call_time_ms.map(|ms| ms / 1000)));
        set("callduration", json!(self.duration_secs));
        let messages: Vec<Value> = self
            .messages
            .iter()
            .map(|m| json!({"message": m.text, "role": m.role, "time": m.time_ms}))
            .collect();
        set("messages", Value::Array(messages));
        Value::Object(object)
    }
}

fn messages(value: Option<&Value>) -> Vec<Message> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let text = lenient::text(item.get("message"))?;
            Some(Message {
                text,
                role: lenient::text(item.get("role")).unwrap_or_default(),
                time_ms: lenient::instant_ms(item.get("time")),
            })
        })
        .collect()
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl() -> Region {
        phone::region("NL").unwrap()
    }

    #[test]
    fn a_string_cut_mid_emoji_keeps_the_call() {
        let call =
            CallSummary::parse(br#"{"caller_name":"Ann \ud83d","callsummary":"ok \ud83d\ude00"}"#, nl()).unwrap();
        assert_eq!(call.caller_name.as_deref(), Some("Ann \u{fffd}"));
        assert_eq!(call.summary.as_deref(), Some("ok 😀"));
        let broken = CallSummary::parse(br#"{"caller_name":"Ann \ud83d""#, nl()).unwrap_err();
        assert!(broken.to_string().contains("EOF while parsing"), "{broken}");
    }

    #[test]
    fn stringly_typed_fields_are_normalised() {
        let body = br#"{"answered":"false","calltimestamp":"1733245200","callduration":"75",
            "read":0,"call_back_needed":"true","caller_phone_number":"0612345678","extra":{"a":1}}"#;
        let call = CallSummary::parse(body, nl()).unwrap();
        assert_eq!(call.answered, Some(false));
        assert_eq!(call.read, Some(false));
        assert_eq!(call.call_back_needed, Some(true));
        assert_eq!(call.call_time_ms, Some(1_733_245_200_000));
        assert_eq!(call.duration_secs, Some(75));
        let context = call.to_context();
        assert_eq!(context["caller_phone_e164"], "+31612345678");
        assert_eq!(context["caller_phone_country"], "NL");
        assert_eq!(context["calltimestamp"], 1733245200);
        assert_eq!(context["extra"]["a"], 1);
        assert_eq!(context["messages"], json!([]));
        assert_eq!(context["caller_name"], Value::Null);
    }

    #[test]
    fn what_is_not_an_object_is_rejected_with_the_reason() {
        assert_eq!(
            CallSummary::parse(b"[1]", nl()).unwrap_err(),
            ParseError::NotObject("an array")
        );
        assert_eq!(CallSummary::parse(b"\xff{}", nl()).unwrap_err(), ParseError::NotUtf8(0));
        let err = CallSummary::parse(b"{\n \"a\": }", nl()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "body is not valid JSON: expected value at line 2, column 7"
        );
    }

    #[test]
    fn dedupe_key_is_sort_key_or_body_hash() {
        let with_key = CallSummary::parse(br#"{"sort_key":"CALL-1"}"#, nl()).unwrap();
        assert_eq!(with_key.dedupe_key(b"ignored"), "CALL-1");
        let without = CallSummary::parse(b"{}", nl()).unwrap();
        assert_eq!(
            without.dedupe_key(b"{}"),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}

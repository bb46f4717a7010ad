//! Template helpers: dates in the configured zone, durations, phone
//! numbers, truncation, defaults, JSON values and the transcript.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError, RenderErrorReason,
    ScopedJson,
};
use jiff::tz::TimeZone;
use serde_json::Value;

use super::Format;
use crate::call::{Region, phone};

pub fn register(registry: &mut Handlebars<'static>, format: Format, zone: TimeZone, region: Region) {
    registry.register_helper("datetime", Box::new(DateTime { zone }));
    registry.register_helper("phone", Box::new(Phone { region }));
    registry.register_helper("json", Box::new(Json { format }));
    registry.register_helper("duration", Box::new(simple(duration)));
    registry.register_helper("truncate", Box::new(Truncate { format }));
    registry.register_helper("default", Box::new(simple(default)));
    registry.register_helper("transcript", Box::new(simple(transcript)));
    registry.register_helper("html", Box::new(simple(html)));
    registry.register_helper("first_name", Box::new(simple(first_name)));
    registry.register_helper("last_name", Box::new(simple(last_name)));
}

type SimpleFn = fn(&[&Value]) -> Result<Value, String>;

/// A helper that maps its parameters to a value, escaped like any other.
struct Simple(SimpleFn);

fn simple(f: SimpleFn) -> Simple {
    Simple(f)
}

impl HelperDef for Simple {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let params: Vec<&Value> = h.params().iter().map(|p| p.value()).collect();
        (self.0)(&params)
            .map(ScopedJson::Derived)
            .map_err(|m| RenderErrorReason::Other(format!("{}: {m}", h.name())).into())
    }
}

/// `{{datetime calltimestamp}}` or `{{datetime calltimestamp "%H:%M"}}`:
/// seconds or milliseconds, shown in the configured time zone.
struct DateTime {
    zone: TimeZone,
}

impl HelperDef for DateTime {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let format = h
            .param(1)
            .and_then(|p| p.value().as_str())
            .unwrap_or("%Y-%m-%d %H:%M %Z");
        let Some(raw) = h.param(0).and_then(|p| p.value().as_i64()) else {
            return Ok(ScopedJson::Derived(Value::String(String::new())));
        };
        let ms = if raw.abs() >= 1_000_000_000_000 {
            raw
        } else {
            raw * 1000
        };
        let text = jiff::Timestamp::from_millisecond(ms)
            .map(|ts| ts.to_zoned_datetime(self.zone.clone()).strftime(format).to_string())
            .map_err(|e| RenderErrorReason::Other(format!("datetime: {e}")))?;
        Ok(ScopedJson::Derived(Value::String(text)))
    }
}

/// `{{phone caller_phone_number}}`: E.164, empty for withheld or invalid.
struct Phone {
    region: Region,
}

impl HelperDef for Phone {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let e164 = h
            .param(0)
            .and_then(|p| p.value().as_str())
            .and_then(|raw| phone::to_e164(raw, self.region))
            .unwrap_or_default();
        Ok(ScopedJson::Derived(Value::String(e164)))
    }
}

/// `{{json value}}` writes a JSON value as is (never quoted again); in a
/// chat vendor's body its strings get that vendor's markup escaping first.
struct Json {
    format: Format,
}

impl HelperDef for Json {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let value = h.param(0).map(|p| p.value().clone()).unwrap_or(Value::Null);
        let value = match self.format.markup_escape() {
            Some(escape) => map_strings(value, &escape),
            None => value,
        };
        let text = value.to_string();
        let text = match self.format {
            Format::Html => super::escape::html(&text),
            Format::Url => super::escape::url_component(&text),
            _ => text,
        };
        out.write(&text)?;
        Ok(())
    }
}

fn map_strings(value: Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(f(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, map_strings(v, f))).collect()),
        other => other,
    }
}

/// `{{duration callduration}}` → "2m 10s".
fn duration(params: &[&Value]) -> Result<Value, String> {
    let Some(secs) = params.first().and_then(|v| v.as_u64()) else {
        return Ok(Value::String(String::new()));
    };
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let text = match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m"),
    };
    Ok(Value::String(text))
}

/// `{{truncate text 200}}`: at most that many characters, the last one
/// "…" when text was cut; never splits a character. In a Slack, Discord or
/// Teams body the count is taken after the vendor's escaping, which is what
/// its limits see.
struct Truncate {
    format: Format,
}

impl HelperDef for Truncate {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let limit = h
            .param(1)
            .and_then(|p| p.value().as_u64())
            .ok_or_else(|| RenderErrorReason::Other("truncate: needs a character count".into()))?;
        let text = h.param(0).map(|p| render_text(p.value())).unwrap_or_default();
        let limit = limit as usize;
        let cut = match self.format.markup_escape() {
            // Telegram's entities count as one character each.
            Some(escape) if self.format != Format::TelegramJson => {
                truncate_measured(&text, limit, |s| escape(s).chars().count())
            }
            _ => truncate_chars(&text, limit),
        };
        Ok(ScopedJson::Derived(Value::String(cut)))
    }
}

pub fn truncate_chars(text: &str, limit: usize) -> String {
    truncate_measured(text, limit, |s| s.chars().count())
}

/// The longest prefix whose `measure` (which only grows with the text),
/// plus the "…", is within `limit`.
fn truncate_measured(text: &str, limit: usize, measure: impl Fn(&str) -> usize) -> String {
    if measure(text) <= limit {
        return text.to_owned();
    }
    if limit == 0 {
        return String::new();
    }
    let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    // Binary search for the longest prefix (in characters) that fits.
    let (mut fits, mut too_long) = (0, starts.len());
    while too_long - fits > 1 {
        let mid = (fits + too_long) / 2;
        if measure(&text[..starts[mid]]) < limit {
            fits = mid;
        } else {
            too_long = mid;
        }
    }
    format!("{}…", &text[..starts[fits]])
}

/// `{{default caller_name "Unknown caller"}}`: the fallback for null,
/// missing or blank values.
/// `{{html callsummary}}`: HTML-escaped with line breaks as `<br>`, for
/// HTML inside a JSON value (a CRM note); the template's own escaping
/// still applies on top.
fn html(params: &[&Value]) -> Result<Value, String> {
    let text = params.first().map(|v| render_text(v)).unwrap_or_default();
    Ok(Value::String(
        super::escape::html(&text).replace("\r\n", "<br>").replace('\n', "<br>"),
    ))
}

/// `{{first_name caller_name}}` / `{{last_name caller_name}}`: the first
/// word of a name, and the rest (`Sanne` / `de Vries`), for CRMs that keep
/// them apart.
fn first_name(params: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(split_name(params).0))
}

fn last_name(params: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(split_name(params).1))
}

fn split_name(params: &[&Value]) -> (String, String) {
    let name = params.first().map(|v| render_text(v)).unwrap_or_default();
    match name.trim().split_once(char::is_whitespace) {
        Some((first, rest)) => (first.to_owned(), rest.trim().to_owned()),
        None => (name.trim().to_owned(), String::new()),
    }
}

fn default(params: &[&Value]) -> Result<Value, String> {
    let fallback = params
        .get(1)
        .map(|v| (*v).clone())
        .unwrap_or(Value::String(String::new()));
    Ok(match params.first() {
        None | Some(Value::Null) => fallback,
        Some(Value::String(s)) if s.trim().is_empty() => fallback,
        Some(v) => (*v).clone(),
    })
}

/// `{{transcript messages}}`: one "Caller: …" / "Assistant: …" line per
/// message.
fn transcript(params: &[&Value]) -> Result<Value, String> {
    let lines: Vec<String> = params
        .first()
        .and_then(|v| v.as_array())
        .map(|items| {
            items
                .iter()
                .map(|m| {
                    let who = match m.get("role").and_then(Value::as_str) {
                        Some("user") => "Caller",
                        Some("bot" | "assistant") => "Assistant",
                        Some(other) => other,
                        None => "?",
                    };
                    format!("{who}: {}", m.get("message").map(render_text).unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Value::String(lines.join("\n")))
}

fn render_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truncate_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("🔥🔥🔥🔥", 3), "🔥🔥…");
        assert_eq!(truncate_chars("Zoë", 3), "Zoë");
        assert_eq!(truncate_chars("", 0), "");
    }

    #[test]
    fn vendor_truncation_counts_escaped_characters() {
        let slack = |s: &str| crate::render::escape_slack(s).chars().count();
        assert_eq!(truncate_measured("a&b&c", 8, slack), "a&b…");
        assert_eq!(truncate_measured("a&b&c", 7, slack), "a&…");
        assert_eq!(truncate_measured("a&b", 7, slack), "a&b");
        let discord = |s: &str| super::super::escape::discord(s).chars().count();
        assert_eq!(truncate_measured("@@@@@", 6, discord), "@@…");
    }

    #[test]
    fn names_split_into_first_word_and_the_rest() {
        for (name, first, last) in [
            (json!("Sanne de Vries"), "Sanne", "de Vries"),
            (json!("  Bob  "), "Bob", ""),
            (json!(null), "", ""),
        ] {
            assert_eq!(first_name(&[&name]).unwrap(), json!(first), "{name}");
            assert_eq!(last_name(&[&name]).unwrap(), json!(last), "{name}");
        }
    }

    #[test]
    fn durations_read_naturally() {
        for (secs, want) in [(41, "41s"), (130, "2m 10s"), (3720, "1h 2m")] {
            assert_eq!(duration(&[&json!(secs)]).unwrap(), json!(want));
        }
    }

    #[test]
    fn default_replaces_null_and_blank() {
        assert_eq!(default(&[&json!(null), &json!("x")]).unwrap(), json!("x"));
        assert_eq!(default(&[&json!("  "), &json!("x")]).unwrap(), json!("x"));
        assert_eq!(default(&[&json!("Bob"), &json!("x")]).unwrap(), json!("Bob"));
    }
}

//! Handlebars templates, compiled at load, one registry per output format
//! because the escape function belongs to the registry (DESIGN §5).

mod escape;
mod helpers;

use std::collections::HashMap;
use std::path::PathBuf;

/// The data a template renders, built once per message (a deep copy
/// otherwise happens on every render).
pub use handlebars::Context;
use handlebars::Handlebars;
use jiff::tz::TimeZone;

pub use escape::{
    html as escape_html, slack as escape_slack, terminal as escape_terminal, url_component as escape_url_component,
};
pub use helpers::truncate_chars;

use crate::call::Region;

/// Where rendered text goes, which decides how `{{value}}` is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A JSON body: values JSON-escaped; the result must parse.
    Json,
    /// A Slack message body: JSON-escaped and Slack-escaped.
    SlackJson,
    /// A Discord webhook body: JSON-escaped, Discord markdown escaped.
    DiscordJson,
    /// An Adaptive Card for Teams: JSON-escaped, card markdown escaped.
    TeamsJson,
    /// A Telegram `sendMessage` body in HTML parse mode: JSON-escaped and
    /// HTML-escaped.
    TelegramJson,
    Html,
    /// A URL: values percent-encoded, so they stay inside their component.
    Url,
    /// Plain text and headers: values as they are.
    Text,
}

impl Format {
    const ALL: [Format; 8] = [
        Format::Json,
        Format::SlackJson,
        Format::DiscordJson,
        Format::TeamsJson,
        Format::TelegramJson,
        Format::Html,
        Format::Url,
        Format::Text,
    ];

    /// The format a template file is written in, from its name.
    pub fn of_file(path: &str) -> Self {
        if path.ends_with(".json.hbs") {
            Self::Json
        } else if path.ends_with(".html.hbs") {
            Self::Html
        } else {
            Self::Text
        }
    }

    /// The format of a file in the template folder: a chat vendor's
    /// folder (`slack/`, `discord/`, …) holds that vendor's bodies.
    pub fn of_template(path: &str) -> Self {
        let vendor = match path.split('/').next() {
            Some("slack") => Self::SlackJson,
            Some("discord") => Self::DiscordJson,
            Some("teams") => Self::TeamsJson,
            Some("telegram") => Self::TelegramJson,
            _ => return Self::of_file(path),
        };
        match Self::of_file(path) {
            Self::Json => vendor,
            other => other,
        }
    }

    fn escape_fn(self) -> fn(&str) -> String {
        match self {
            Self::Json => escape::json,
            Self::SlackJson => escape::slack_json,
            Self::DiscordJson => escape::discord_json,
            Self::TeamsJson => escape::teams_json,
            Self::TelegramJson => escape::telegram_json,
            Self::Html => escape::html,
            Self::Url => escape::url_component,
            Self::Text => |s: &str| s.to_owned(),
        }
    }

    pub fn is_json(self) -> bool {
        !matches!(self, Self::Html | Self::Url | Self::Text)
    }

    /// The vendor markup escaping inside a JSON body, whose output is what
    /// the vendor's length limits count (Telegram counts the text after
    /// parsing its entities, so its HTML escaping adds nothing).
    fn markup_escape(self) -> Option<fn(&str) -> String> {
        match self {
            Self::SlackJson => Some(escape::slack),
            Self::DiscordJson => Some(escape::discord),
            Self::TeamsJson => Some(escape::teams),
            Self::TelegramJson => Some(escape::telegram_html),
            Self::Json | Self::Html | Self::Url | Self::Text => None,
        }
    }
}

/// A compiled template: which registry, under which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateId {
    pub format: Format,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("template {name} does not compile: {error}")]
    Compile { name: String, error: String },
}

/// A render that failed: the call cannot produce this output.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name}: {error}")]
    Render { name: String, error: String },
    /// Strict mode: the call has no such field (a field only some senders
    /// send, or a misspelt one).
    #[error("template {name}: {error}")]
    MissingField { name: String, error: String },
    #[error("template {name} produced invalid JSON: {error}")]
    InvalidJson { name: String, error: String },
}

pub struct Renderer {
    dir: PathBuf,
    registries: HashMap<Format, Handlebars<'static>>,
}

impl Renderer {
    /// Templates are read from `dir`; dates show in `zone`; national
    /// phone numbers are read in `region`.
    pub fn new(dir: PathBuf, zone: TimeZone, region: Region) -> Self {
        let registries = Format::ALL
            .into_iter()
            .map(|format| {
                let mut registry = Handlebars::new();
                registry.set_strict_mode(true);
                registry.register_escape_fn(format.escape_fn());
                helpers::register(&mut registry, format, zone.clone(), region);
                (format, registry)
            })
            .collect();
        Self { dir, registries }
    }

    /// Compiles the template file at `path` (relative to the template
    /// folder) for `format`.
    pub fn load_file(&mut self, format: Format, path: &str) -> Result<TemplateId, TemplateError> {
        let id = TemplateId {
            format,
            name: path.to_owned(),
        };
        if self.registries[&format].has_template(path) {
            return Ok(id);
        }
        let full = self.dir.join(path);
        let source = std::fs::read_to_string(&full).map_err(|error| TemplateError::Read { path: full, error })?;
        self.compile(&id, &source)?;
        Ok(id)
    }

    /// Compiles a template given in the config itself (a URL, a header).
    pub fn load_inline(&mut self, format: Format, name: &str, source: &str) -> Result<TemplateId, TemplateError> {
        let id = TemplateId {
            format,
            name: name.to_owned(),
        };
        self.compile(&id, source)?;
        Ok(id)
    }

    fn compile(&mut self, id: &TemplateId, source: &str) -> Result<(), TemplateError> {
        let registry = self.registries.get_mut(&id.format).expect("a registry per format");
        registry
            .register_template_string(&id.name, source)
            .map_err(|e| TemplateError::Compile {
                name: id.name.clone(),
                error: e.to_string(),
            })
    }

    /// Renders; a JSON format's output must parse and is sent compact.
    pub fn render(&self, id: &TemplateId, context: &Context) -> Result<String, RenderError> {
        let text = self.registries[&id.format]
            .render_with_context(&id.name, context)
            .map_err(|e| {
                let (name, error) = (id.name.clone(), e.to_string());
                match e.reason() {
                    handlebars::RenderErrorReason::MissingVariable(_) => RenderError::MissingField { name, error },
                    _ => RenderError::Render { name, error },
                }
            })?;
        if !id.format.is_json() {
            return Ok(text);
        }
        compact_json(&text).map_err(|e| RenderError::InvalidJson {
            name: id.name.clone(),
            error: e.to_string(),
        })
    }

    /// Every `*.hbs` file under the template folder, for `check`.
    pub fn template_files(&self) -> Vec<String> {
        let mut found = Vec::new();
        collect_templates(&self.dir, &self.dir, &mut found);
        found.sort();
        found
    }
}

/// The JSON text checked and without the template's layout, in one pass
/// (no tree is built), keys in the template's order.
fn compact_json(text: &str) -> serde_json::Result<String> {
    let mut compact = Vec::with_capacity(text.len());
    let mut input = serde_json::Deserializer::from_str(text);
    serde_transcode::transcode(&mut input, &mut serde_json::Serializer::new(&mut compact))?;
    input.end()?;
    String::from_utf8(compact).map_err(serde::ser::Error::custom)
}

fn collect_templates(root: &std::path::Path, dir: &std::path::Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_templates(root, &path, found);
        } else if path.extension().is_some_and(|e| e == "hbs")
            && let Ok(relative) = path.strip_prefix(root)
        {
            found.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn renderer() -> Renderer {
        Renderer::new(
            PathBuf::from("."),
            TimeZone::get("Europe/Amsterdam").unwrap(),
            crate::call::phone::region("NL").unwrap(),
        )
    }

    fn render(format: Format, source: &str, context: Value) -> Result<String, RenderError> {
        let mut r = renderer();
        let id = r.load_inline(format, "t", source).unwrap();
        r.render(&id, &Context::from(context))
    }

    #[test]
    fn json_values_never_become_html_entities() {
        let out = render(
            Format::Json,
            r#"{"t": "{{name}}"}"#,
            json!({"name": "Zoë \"Z\" O'Brien <a@b.c> = `x`\n"}),
        )
        .unwrap();
        assert_eq!(out, r#"{"t":"Zoë \"Z\" O'Brien <a@b.c> = `x`\n"}"#);
    }

    #[test]
    fn slack_mentions_in_values_are_neutralised_but_template_mentions_stay() {
        let out = render(
            Format::SlackJson,
            r#"{"text": "<!here> {{s}}"}"#,
            json!({"s": "<!channel> <@U024BE7LH> & co"}),
        )
        .unwrap();
        assert_eq!(
            out,
            r#"{"text":"<!here> &lt;!channel&gt; &lt;@U024BE7LH&gt; &amp; co"}"#
        );
    }

    #[test]
    fn json_helper_writes_values_unquoted() {
        let out = render(
            Format::SlackJson,
            r#"{"tags": {{json tags}}}"#,
            json!({"tags": ["<x>", 1]}),
        )
        .unwrap();
        assert_eq!(out, r#"{"tags":["&lt;x&gt;",1]}"#);
    }

    #[test]
    fn helpers_format_in_the_configured_zone() {
        let out = render(
            Format::Text,
            "{{datetime t}}|{{datetime ms \"%H:%M\"}}|{{phone p}}|{{phone w}}|{{duration d}}|{{truncate s 4}}|{{default n \"Unknown\"}}",
            json!({"t": 1733212800, "ms": 1733212801500i64, "p": "06 12 34 56 78", "w": "anonymous", "d": 94, "s": "héllo wörld", "n": null}),
        )
        .unwrap();
        assert_eq!(out, "2024-12-03 09:00 CET|09:00|+31612345678||1m 34s|hél…|Unknown");
    }

    #[test]
    fn strict_mode_names_the_missing_field_and_nulls_render_empty() {
        assert_eq!(render(Format::Text, "[{{n}}]", json!({"n": null})).unwrap(), "[]");
        let err = render(Format::Text, "{{nope}}", json!({})).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn url_values_cannot_leave_their_component() {
        let out = render(
            Format::Url,
            "https://crm.test/calls/{{k}}?q={{q}}",
            json!({"k": "a/b@evil.test", "q": "x&y=z #"}),
        )
        .unwrap();
        assert_eq!(out, "https://crm.test/calls/a%2Fb%40evil.test?q=x%26y%3Dz%20%23");
    }

    #[test]
    fn invalid_json_output_is_an_error() {
        let err = render(Format::Json, r#"{"n": {{n}}}"#, json!({"n": "x y"})).unwrap_err();
        assert!(matches!(err, RenderError::InvalidJson { .. }), "{err}");
        let trailing = render(Format::Json, r#"{"n": 1} {"n": 2}"#, json!({})).unwrap_err();
        assert!(matches!(trailing, RenderError::InvalidJson { .. }), "{trailing}");
    }

    #[test]
    fn json_output_is_compact_and_keeps_the_template_order() {
        let source = "{\n  \"z\": \"{{a}}\",\n  \"a\": [ 1, { \"y\": null } ]\n}\n";
        let out = render(Format::Json, source, json!({"a": "x \" y"})).unwrap();
        assert_eq!(out, r#"{"z":"x \" y","a":[1,{"y":null}]}"#);
    }
}

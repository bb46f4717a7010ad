//! Secret expansion done on the raw config before parsing: `${VAR}` in the
//! file text, and `<key>_file` entries whose file content becomes `<key>`.
//! Every value that comes in this way is remembered so it can be redacted.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::ConfigError;

/// The shortest value redacted; source tokens must be longer (see
/// `Config::require_source_tokens`).
pub const MIN_REDACTED_LEN: usize = 6;

/// A part of a webhook URL this long is taken for its token (Slack's is
/// 24 characters, Discord's 68, a Teams `sig` 43; ids and words are shorter).
const TOKEN_LEN: usize = 16;

/// Values that must never appear in logs or recorded attempts.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: BTreeSet<String>,
}

impl Secrets {
    /// Remembers a secret. Values shorter than [`MIN_REDACTED_LEN`] are too
    /// common to cut out of text (a region code from `${VAR}`, say).
    pub fn add(&mut self, value: &str) {
        let value = value.trim();
        if value.chars().count() >= MIN_REDACTED_LEN {
            self.values.insert(value.to_owned());
        }
    }

    /// Remembers a URL that is itself the credential (a chat webhook), and
    /// the parts of it a server may echo on their own: the path with the
    /// query, and each path segment or query value long enough to be a token.
    pub fn add_url(&mut self, url: &str) {
        self.add(url);
        let Ok(parsed) = url::Url::parse(url.trim()) else {
            return;
        };
        self.add(&parsed[url::Position::BeforePath..]);
        let segments = parsed.path_segments().into_iter().flatten().map(str::to_owned);
        let values = parsed.query_pairs().map(|(_, value)| value.into_owned());
        let tokens: Vec<String> = segments.chain(values).filter(|part| part.len() >= TOKEN_LEN).collect();
        for token in tokens {
            self.add(&token);
        }
    }

    /// Replaces every known secret in `text` with `[redacted]`, longest first
    /// so a secret that contains another is removed whole.
    pub fn redact(&self, text: &str) -> String {
        // Most text holds none: then it costs one scan per secret.
        let mut sorted: Vec<&String> = self.values.iter().filter(|s| text.contains(s.as_str())).collect();
        sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
        sorted.into_iter().fold(text.to_owned(), |acc, secret| {
            acc.replace(secret.as_str(), "[redacted]")
        })
    }
}

/// Expands `${VAR}` and `${VAR:-default}` in the raw file text, except
/// on comment lines.
/// An unset variable without a default becomes empty and is reported in
/// `unset`, so validation can name it when a required value ends up empty.
pub fn expand_env(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
    secrets: &mut Secrets,
    unset: &mut Vec<String>,
) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            if line.trim_start().starts_with('#') {
                line.to_owned()
            } else {
                expand_line(line, &env, secrets, unset)
            }
        })
        .collect()
}

fn expand_line(
    text: &str,
    env: &impl Fn(&str) -> Option<String>,
    secrets: &mut Secrets,
    unset: &mut Vec<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expr = &after[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (expr, None),
        };
        match env(name).filter(|v| !v.is_empty()) {
            Some(value) => {
                secrets.add(&value);
                out.push_str(&value);
            }
            None => match default {
                Some(default) => out.push_str(default),
                None => unset.push(name.to_owned()),
            },
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Replaces each `<key>_file: PATH` with `<key>: <file content>` anywhere in
/// the tree. Relative paths are taken from the config file's folder.
pub fn load_secret_files(
    value: &mut Value,
    base_dir: &Path,
    path: &str,
    secrets: &mut Secrets,
) -> Result<(), ConfigError> {
    match value {
        Value::Object(map) => {
            let file_keys: Vec<String> = map
                .keys()
                .filter(|k| k.ends_with("_file") && map[k.as_str()].is_string())
                .cloned()
                .collect();
            for file_key in file_keys {
                let target = file_key.trim_end_matches("_file").to_owned();
                let key_path = join(path, &file_key);
                if map.contains_key(&target) {
                    return Err(ConfigError::key(
                        key_path,
                        format!("`{target}` is set too: use one of `{target}` and `{file_key}`"),
                    ));
                }
                let file = map.remove(&file_key).and_then(|v| v.as_str().map(str::to_owned));
                let file = base_dir.join(file.unwrap_or_default());
                let content = std::fs::read_to_string(&file).map_err(|e| ConfigError::Key {
                    key: key_path.clone(),
                    message: format!("cannot read secret file {}: {e}", file.display()),
                })?;
                let content = content.trim_end_matches(['\r', '\n']).to_owned();
                secrets.add(&content);
                map.insert(target, Value::String(content));
            }
            for (key, child) in map.iter_mut() {
                load_secret_files(child, base_dir, &join(path, key), secrets)?;
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                load_secret_files(child, base_dir, &format!("{path}[{i}]"), secrets)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_redacted_whole_and_in_the_parts_a_server_may_echo() {
        let mut secrets = Secrets::default();
        secrets.add_url("https://hooks.slack.com/services/T0001/B0002/AbCdEfGhIjKlMnOpQrStUvWx");
        secrets.add_url("https://x.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=Zm9vYmFyYmF6cXV4cXV1eA");
        assert_eq!(
            secrets.redact("400 at https://hooks.slack.com/services/T0001/B0002/AbCdEfGhIjKlMnOpQrStUvWx"),
            "400 at [redacted]"
        );
        assert_eq!(
            secrets.redact("invalid_payload for /services/T0001/B0002/AbCdEfGhIjKlMnOpQrStUvWx"),
            "invalid_payload for [redacted]"
        );
        assert_eq!(
            secrets.redact("token AbCdEfGhIjKlMnOpQrStUvWx revoked; bad sig Zm9vYmFyYmF6cXV4cXV1eA"),
            "token [redacted] revoked; bad sig [redacted]"
        );
        // Short parts (ids, words of the path) stay readable.
        assert_eq!(secrets.redact("team T0001, path invoke"), "team T0001, path invoke");
    }

    #[test]
    fn expands_set_default_and_unset_variables() {
        let env = |name: &str| (name == "TOKEN").then(|| "s3cret-value".to_owned());
        let mut secrets = Secrets::default();
        let mut unset = Vec::new();
        let out = expand_env(
            "a: ${TOKEN}\nb: ${MISSING}\nc: ${OTHER:-fallback}\nd: $HOME\n  # ${COMMENTED}\n",
            env,
            &mut secrets,
            &mut unset,
        );
        assert_eq!(out, "a: s3cret-value\nb: \nc: fallback\nd: $HOME\n  # ${COMMENTED}\n");
        assert_eq!(unset, vec!["MISSING".to_owned()]);
        assert_eq!(secrets.redact("url?token=s3cret-value&x=1"), "url?token=[redacted]&x=1");
    }

    #[test]
    fn secret_file_replaces_key_and_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "file-secret\n").unwrap();
        let mut value = serde_json::json!({"sources": {"vm": {"token_file": "tok"}}});
        let mut secrets = Secrets::default();
        load_secret_files(&mut value, dir.path(), "", &mut secrets).unwrap();
        assert_eq!(value, serde_json::json!({"sources": {"vm": {"token": "file-secret"}}}));
        assert_eq!(secrets.redact("file-secret"), "[redacted]");
    }

    #[test]
    fn missing_secret_file_names_the_key() {
        let mut value = serde_json::json!({"sources": {"vm": {"token_file": "/nonexistent/x"}}});
        let err = load_secret_files(&mut value, Path::new("/"), "", &mut Secrets::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("sources.vm.token_file: cannot read secret file /nonexistent/x"),
            "{err}"
        );
    }
}

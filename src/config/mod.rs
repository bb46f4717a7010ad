//! Loading the config: the YAML file with `${VAR}` and `*_file` secrets,
//! then `CALLBRIDGE__<PATH>` environment overrides, into typed [`Settings`].
//! This is the only module that reads environment variables.

mod model;
mod secrets;

use std::path::{Path, PathBuf};

pub use model::*;
pub use secrets::Secrets;

/// The shortest source token accepted: the token is the whole credential.
pub const MIN_TOKEN_LEN: usize = 12;

/// What went wrong in the config, named by its dotted key where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{key}: {message}")]
    Key { key: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    pub fn key(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Key {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A config error together with the file it is about.
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", file.display())]
pub struct LoadError {
    pub file: PathBuf,
    pub error: ConfigError,
}

/// A loaded config and what is needed to interpret it.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub secrets: Secrets,
    /// The config file, for messages.
    pub file: PathBuf,
    /// Relative paths in the config are taken from here.
    pub base_dir: PathBuf,
    /// `${VAR}` references that were not set.
    pub unset_vars: Vec<String>,
}

impl Config {
    /// Loads `file` with the process environment.
    pub fn load(file: &Path) -> Result<Self, LoadError> {
        Self::load_with_env(file, |name| std::env::var(name).ok(), std::env::vars().collect())
    }

    fn load_with_env(
        file: &Path,
        var: impl Fn(&str) -> Option<String>,
        vars: Vec<(String, String)>,
    ) -> Result<Self, LoadError> {
        let fail = |error| LoadError {
            file: file.to_owned(),
            error,
        };
        let text =
            std::fs::read_to_string(file).map_err(|e| fail(ConfigError::Invalid(format!("cannot read: {e}"))))?;
        let base_dir = file
            .parent()
            .map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p })
            .unwrap_or(Path::new("."))
            .to_owned();

        let mut secrets = Secrets::default();
        let mut unset_vars = Vec::new();
        let text = secrets::expand_env(&text, var, &mut secrets, &mut unset_vars);

        let mut tree: serde_json::Value = config::Config::builder()
            .add_source(config::File::from_str(&text, config::FileFormat::Yaml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| fail(ConfigError::Invalid(readable_duplicate_key(&e.to_string()))))?;
        if tree.is_null() {
            tree = serde_json::json!({});
        }
        secrets::load_secret_files(&mut tree, &base_dir, "", &mut secrets).map_err(fail)?;

        let overrides: Vec<String> = vars
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|name| name.starts_with("CALLBRIDGE__"))
            .collect();
        let env_overrides = config::Environment::with_prefix("CALLBRIDGE")
            .prefix_separator("__")
            .separator("__")
            .source(Some(vars.into_iter().collect()));
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(&tree.to_string(), config::FileFormat::Json))
            .add_source(env_overrides)
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| {
                // The message names the file; the culprit may be an override.
                let hint = match overrides.as_slice() {
                    [] => String::new(),
                    names => format!(" (environment overrides in effect: {})", names.join(", ")),
                };
                let message = dotted_keys(&e.to_string());
                let hint = format!("{}{hint}", defaults_hint(&message));
                fail(ConfigError::Invalid(format!("{message}{hint}")))
            })?;
        for source in settings.sources.values() {
            secrets.add(&source.token);
        }
        for destination in settings.destinations.values() {
            match &destination.kind {
                // A webhook URL is its own credential.
                DestinationKind::Slack { webhook_url, .. }
                | DestinationKind::Teams { webhook_url, .. }
                | DestinationKind::Discord { webhook_url, .. } => secrets.add_url(webhook_url),
                DestinationKind::Telegram(telegram) => secrets.add(&telegram.bot_token),
                DestinationKind::Caldav(CaldavSettings {
                    password: Some(password),
                    ..
                }) => secrets.add(password),
                DestinationKind::GoogleCalendar(google) => {
                    google.token.iter().for_each(|token| secrets.add(token));
                    if let Some(oauth) = &google.oauth {
                        secrets.add(&oauth.client_secret);
                        secrets.add(&oauth.refresh_token);
                    }
                }
                DestinationKind::Hubspot(hubspot) => secrets.add(&hubspot.token),
                DestinationKind::Pipedrive(pipedrive) => secrets.add(&pipedrive.token),
                _ => {}
            }
        }
        secrets.add(&settings.admin.token);
        for server in settings.smtp.values() {
            if let Some(password) = &server.password {
                secrets.add(password);
            }
        }

        Ok(Self {
            settings,
            secrets,
            file: file.to_owned(),
            base_dir,
            unset_vars,
        })
    }

    /// A path from the config, resolved against the config file's folder.
    pub fn resolve_path(&self, path: &str) -> PathBuf {
        self.base_dir.join(path)
    }

    /// The message for a value that is empty, naming the variable that
    /// should have filled it when it came from an unset `${VAR}`.
    pub fn empty_value_hint(&self) -> String {
        match self.unset_vars.as_slice() {
            [] => String::new(),
            vars => format!(" (unset or empty environment variables: {})", vars.join(", ")),
        }
    }

    /// Every source must have a token: the URL is the only credential a
    /// sender like Voice Mate can carry.
    pub fn require_source_tokens(&self) -> Result<(), LoadError> {
        if self.settings.sources.is_empty() {
            return Err(self.error(ConfigError::key(
                "sources",
                "no source is defined: nothing could post calls",
            )));
        }
        for (name, source) in &self.settings.sources {
            let key = format!("sources.{name}.token");
            if source.token.trim().is_empty() {
                let message = format!("is empty: every source needs a token{}", self.empty_value_hint());
                return Err(self.error(ConfigError::key(key, message)));
            }
            self.require_strong(&key, &source.token)?;
        }
        // The admin token is optional (empty: no admin API), but never weak,
        // and never one a sender also holds.
        let admin = self.settings.admin.token.trim();
        if !admin.is_empty() {
            self.require_strong("admin.token", admin)?;
            if self.settings.sources.values().any(|s| s.token.trim() == admin) {
                return Err(self.error(ConfigError::key(
                    "admin.token",
                    "is also a source's token: give the admin API a token of its own",
                )));
            }
        }
        Ok(())
    }

    fn require_strong(&self, key: &str, token: &str) -> Result<(), LoadError> {
        let length = token.trim().chars().count();
        if length < MIN_TOKEN_LEN {
            let message = format!(
                "is {length} characters; use at least {MIN_TOKEN_LEN} (e.g. the output of `openssl rand -hex 16`)"
            );
            return Err(self.error(ConfigError::key(key, message)));
        }
        Ok(())
    }

    pub fn error(&self, error: ConfigError) -> LoadError {
        LoadError {
            file: self.file.clone(),
            error,
        }
    }
}

/// The YAML parser says `String("routes"): duplicated key in mapping at
/// byte 573 line 29 column 1`; users want the key and the line.
fn readable_duplicate_key(message: &str) -> String {
    static DUPLICATE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"String\("(.*)"\): duplicated key in mapping at byte \d+ line (\d+) column \d+"#)
            .expect("a valid pattern")
    });
    DUPLICATE
        .replace(
            message,
            "the key `$1` is given twice in one mapping (the second at line $2)",
        )
        .into_owned()
}

/// The config crate names a key under a list item `routes[0]continue`;
/// users write (and look for) `routes[0].continue`.
/// A key of `defaults` written elsewhere (a source's own time zone, say)
/// is told where it goes: these are set once, for every source.
fn defaults_hint(message: &str) -> &'static str {
    const DEFAULTS: [&str; 5] = ["timezone", "phone_region", "business_hours", "holidays", "horizon_days"];
    let misplaced = DEFAULTS
        .iter()
        .any(|key| message.contains(&format!("unknown field `{key}`")));
    if misplaced && !message.contains("for key `defaults") {
        "; it is set once for every source, under `defaults`"
    } else {
        ""
    }
}

fn dotted_keys(message: &str) -> String {
    for (open, close) in [("for key `", '`'), ("missing configuration field \"", '"')] {
        let Some(start) = message.find(open).map(|at| at + open.len()) else {
            continue;
        };
        let end = message[start..].find(close).map_or(message.len(), |at| start + at);
        let mut dotted = String::with_capacity(end - start + 4);
        let mut after_index = false;
        for c in message[start..end].chars() {
            if after_index && c != '[' && c != '.' {
                dotted.push('.');
            }
            dotted.push(c);
            after_index = c == ']';
        }
        return format!("{}{dotted}{}", &message[..start], &message[end..]);
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str, vars: &[(&str, &str)]) -> Result<Config, LoadError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("callbridge.yaml");
        std::fs::write(&file, yaml).unwrap();
        let owned: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = owned.clone();
        Config::load_with_env(
            &file,
            move |name| lookup.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            owned,
        )
    }

    const YAML: &str = r#"
sources:
  voicemate: { token: "${VM_TOKEN}" }
destinations:
  Team-Slack: { type: slack, webhook_url: "http://127.0.0.1:9/hook" }
routes:
  - name: jobs
    match: { agent.id: agent-7, call_back_needed: true }
    to: [Team-Slack]
"#;

    #[test]
    fn environment_overrides_any_key_and_keeps_names() {
        let config = load(
            YAML,
            &[
                ("VM_TOKEN", "tok-123"),
                ("CALLBRIDGE__SERVER__LISTEN", "127.0.0.1:18080"),
                ("CALLBRIDGE__DELIVERY__MAX_ATTEMPTS", "3"),
            ],
        )
        .unwrap();
        let s = &config.settings;
        assert_eq!(s.server.listen, "127.0.0.1:18080");
        assert_eq!(s.delivery.max_attempts.get(), 3);
        assert_eq!(s.sources["voicemate"].token, "tok-123");
        assert!(s.destinations.contains_key("Team-Slack"));
        let keys: Vec<&String> = s.routes[0].matchers.keys().collect();
        assert_eq!(keys, ["agent.id", "call_back_needed"]);
        assert_eq!(s.routes[0].matchers["call_back_needed"], serde_json::json!(true));
        assert_eq!(
            config.secrets.redact("tok-123 http://127.0.0.1:9/hook"),
            "[redacted] [redacted]"
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load("server: { lisen: x }", &[]).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn zero_attempts_and_a_secret_given_twice_are_refused_with_the_key() {
        let err = load("delivery: { max_attempts: 0 }", &[]).unwrap_err();
        assert!(err.to_string().contains("delivery.max_attempts"), "{err}");
        let err = load("sources: { vm: { token: abc, token_file: t } }", &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("sources.vm.token_file: `token` is set too: use one of `token` and `token_file`"),
            "{err}"
        );
    }

    #[test]
    fn the_admin_token_must_differ_from_every_source_token() {
        let yaml = "sources: { vm: { token: shared-token-0123 } }\nadmin: { token: shared-token-0123 }";
        let err = load(yaml, &[]).unwrap().require_source_tokens().unwrap_err();
        assert!(
            err.to_string()
                .ends_with("admin.token: is also a source's token: give the admin API a token of its own"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_override_is_named_as_one() {
        let err = load("{}", &[("CALLBRIDGE__DELIVERY__MAX_ATEMPTS", "3")]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("max_atempts"), "{message}");
        assert!(
            message.ends_with("(environment overrides in effect: CALLBRIDGE__DELIVERY__MAX_ATEMPTS)"),
            "{message}"
        );
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = load("delivery: { max_attempts: many }", &[]).unwrap_err();
        assert!(err.to_string().contains("delivery.max_attempts"), "{err}");
        let err = load(
            "routes: [ { name: a, to: [a] }, { name: b, to: [b], continue: maybe } ]",
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("invalid type: string \"maybe\", expected a boolean for key `routes[1].continue`"),
            "{err}"
        );
        let err = load("routes: [ { to: [a] } ]", &[]).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("missing configuration field \"routes[0].name\""),
            "{err}"
        );
    }

    #[test]
    fn a_defaults_key_given_to_a_source_is_told_where_it_goes() {
        let yaml = "sources: { dental: { token: abc, business_hours: 'Mon-Fri 08:00-16:00' } }";
        let err = load(yaml, &[]).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "unknown field `business_hours`, expected `token` for key `sources.dental`; it is set once for every source, under `defaults`"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_misspelt_job_key_is_answered_with_the_keys_of_that_job_type() {
        let yaml = "jobs: { nightly: { type: purge, schedule: '0 3 * * *', timezon: UTC, older_than: 30d } }";
        let err = load(yaml, &[]).unwrap_err().to_string();
        assert!(
            err.contains("unknown field `timezon`, expected one of `schedule`, `timezone`, `older_than`"),
            "{err}"
        );
        let yaml = "jobs: { nightly: { type: purge, schedule: '0 3 * * *', older_than: ninety days } }";
        let err = load(yaml, &[]).unwrap_err().to_string();
        assert!(
            err.contains("older_than: `ninety days` is not a duration such as 90d or 12h"),
            "{err}"
        );
        let yaml = "jobs: { nightly: { type: purge, schedule: '0 3 * * *', older_than: 90d } }";
        let job = &load(yaml, &[]).unwrap().settings.jobs["nightly"];
        assert!(matches!(job.kind, JobKind::Purge { older_than } if older_than.as_secs() == 90 * 86400));
        let yaml = "jobs: { nightly: { type: digest, schedule: '0 8 * * *', timezone: UTC, to: [slack] } }";
        let job = &load(yaml, &[]).unwrap().settings.jobs["nightly"];
        assert_eq!(
            (job.schedule.as_str(), job.timezone.as_deref()),
            ("0 8 * * *", Some("UTC"))
        );
        assert!(matches!(&job.kind, JobKind::Digest { to, .. } if to == &["slack"]));
    }

    #[test]
    fn a_key_given_twice_is_named_with_its_line() {
        let err = load("sources: {}\nroutes: []\nroutes: []\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("the key `routes` is given twice in one mapping (the second at line 3)"),
            "{err}"
        );
    }

    #[test]
    fn zero_http_workers_is_refused_with_the_key() {
        let err = load("server: { workers: 0 }", &[]).unwrap_err();
        assert!(err.to_string().contains("server.workers"), "{err}");
        assert_eq!(
            load("server: { workers: 2 }", &[])
                .unwrap()
                .settings
                .server
                .workers
                .get(),
            2
        );
    }
}

//! Routes decide, at ingest, which destinations a call goes to. Matchers
//! look at any field of the call's context by dotted path. No I/O here.

use regex::Regex;
use serde_json::Value;

use crate::config::{ConfigError, RouteSettings};

#[derive(Debug)]
pub struct Router {
    routes: Vec<Route>,
}

#[derive(Debug)]
struct Route {
    name: String,
    conditions: Vec<(String, Condition)>,
    to: Vec<String>,
    continue_matching: bool,
}

#[derive(Debug)]
enum Condition {
    Equals(Value),
    OneOf(Vec<Value>),
    Regex(Regex),
    Exists(bool),
    Empty(bool),
    Compare(Ordering, f64),
}

#[derive(Debug, Clone, Copy)]
enum Ordering {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// Which routes took a call and the destinations they name, in order,
/// each destination once.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    pub routes: Vec<String>,
    pub destinations: Vec<String>,
}

impl Router {
    /// Compiles the routes; `destination_exists` checks every target.
    pub fn new(settings: &[RouteSettings], destination_exists: impl Fn(&str) -> bool) -> Result<Self, ConfigError> {
        let mut routes = Vec::with_capacity(settings.len());
        for (i, route) in settings.iter().enumerate() {
            let key = format!("routes[{i}]");
            let mut conditions = Vec::new();
            for (path, spec) in &route.matchers {
                let condition =
                    Condition::parse(spec).map_err(|m| ConfigError::key(format!("{key}.match.{path}"), m))?;
                conditions.push((path.clone(), condition));
            }
            if route.to.is_empty() {
                return Err(ConfigError::key(format!("{key}.to"), "names no destination"));
            }
            // Calls record the routes they took by name.
            if let Some(first) = settings[..i].iter().position(|earlier| earlier.name == route.name) {
                return Err(ConfigError::key(
                    format!("{key}.name"),
                    format!("`{}` is also the name of routes[{first}]", route.name),
                ));
            }
            if let Some(missing) = route.to.iter().find(|d| !destination_exists(d)) {
                return Err(ConfigError::key(
                    format!("{key}.to"),
                    format!("destination `{missing}` is not defined under destinations"),
                ));
            }
            routes.push(Route {
                name: route.name.clone(),
                conditions,
                to: route.to.clone(),
                continue_matching: route.continue_matching,
            });
        }
        Ok(Self { routes })
    }

    /// Routes are tried in order; the first match wins unless it says
    /// `continue: true`.
    pub fn route(&self, context: &Value) -> Decision {
        let mut decision = Decision::default();
        for route in &self.routes {
            if !route.conditions.iter().all(|(path, c)| c.holds(lookup(context, path))) {
                continue;
            }
            decision.routes.push(route.name.clone());
            for destination in &route.to {
                if !decision.destinations.contains(destination) {
                    decision.destinations.push(destination.clone());
                }
            }
            if !route.continue_matching {
                break;
            }
        }
        decision
    }
}

/// A matcher whose field is missing from a call that has every known
/// field, but nearly matches one there: most likely a misspelling.
#[derive(Debug, PartialEq)]
pub struct LikelyTypo {
    /// `routes[0].match.call_back_neded`
    pub key: String,
    /// `call_back_needed`
    pub meant: String,
}

impl Router {
    /// The matchers that name a field `sample` lacks but nearly has.
    /// Fields a sender adds of its own are not flagged: they resemble
    /// nothing in the sample.
    pub fn likely_typos(&self, sample: &Value) -> Vec<LikelyTypo> {
        let mut typos = Vec::new();
        for (i, route) in self.routes.iter().enumerate() {
            for (path, _) in &route.conditions {
                if let Some(meant) = lookup(sample, path)
                    .is_none()
                    .then(|| resembled(sample, path))
                    .flatten()
                {
                    typos.push(LikelyTypo {
                        key: format!("routes[{i}].match.{path}"),
                        meant,
                    });
                }
            }
        }
        typos
    }
}

/// The path with its first missing part replaced by the key beside it
/// that it is one or two edits away from, if there is one; or the same
/// path under `callbridge` (`source` for `callbridge.source`).
fn resembled(sample: &Value, path: &str) -> Option<String> {
    let under_callbridge = format!("callbridge.{path}");
    if lookup(sample, &under_callbridge).is_some() {
        return Some(under_callbridge);
    }
    let mut node = sample;
    let mut found = Vec::new();
    for part in path.split('.') {
        let Value::Object(map) = node else { return None };
        if let Some(next) = map.get(part) {
            found.push(part.to_owned());
            node = next;
            continue;
        }
        let close = map
            .keys()
            .filter(|key| part.len() > 3 && strsim::damerau_levenshtein(part, key) <= 2)
            .min_by_key(|key| strsim::damerau_levenshtein(part, key))?;
        found.push(close.clone());
        return Some(found.join("."));
    }
    None
}

/// The value at a dotted path (`agent.id`, `tags.0`); a key that itself
/// contains the dots is tried first.
fn lookup<'a>(context: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = context.get(path) {
        return Some(v);
    }
    path.split('.').try_fold(context, |node, part| match node {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

impl Condition {
    fn parse(spec: &Value) -> Result<Self, String> {
        let Value::Object(map) = spec else {
            return Ok(Self::Equals(spec.clone()));
        };
        let [(op, arg)] = map.iter().collect::<Vec<_>>()[..] else {
            return Err(
                "a condition has exactly one operator (equals, one_of, regex, exists, empty, gt, gte, lt, lte)".into(),
            );
        };
        let number = || {
            arg.as_f64()
                .or_else(|| arg.as_str()?.parse().ok())
                .ok_or(format!("`{op}` needs a number"))
        };
        let flag = || as_bool(arg).ok_or(format!("`{op}` needs true or false"));
        Ok(match op.as_str() {
            "equals" => Self::Equals(arg.clone()),
            "one_of" => match arg {
                Value::Array(items) => Self::OneOf(items.clone()),
                _ => return Err("`one_of` needs a list".into()),
            },
            "regex" => {
                let pattern = arg.as_str().ok_or("`regex` needs a string")?;
                Self::Regex(Regex::new(pattern).map_err(|e| format!("invalid regex: {e}"))?)
            }
            "exists" => Self::Exists(flag()?),
            "empty" => Self::Empty(flag()?),
            "gt" => Self::Compare(Ordering::Gt, number()?),
            "gte" => Self::Compare(Ordering::Gte, number()?),
            "lt" => Self::Compare(Ordering::Lt, number()?),
            "lte" => Self::Compare(Ordering::Lte, number()?),
            other => {
                return Err(format!(
                    "unknown operator `{other}` (equals, one_of, regex, exists, empty, gt, gte, lt, lte)"
                ));
            }
        })
    }

    fn holds(&self, value: Option<&Value>) -> bool {
        match self {
            Self::Equals(want) => value.is_some_and(|v| loosely_equal(v, want)),
            Self::OneOf(options) => value.is_some_and(|v| options.iter().any(|o| loosely_equal(v, o))),
            Self::Regex(re) => value.and_then(scalar_text).is_some_and(|t| re.is_match(&t)),
            Self::Exists(want) => value.is_some_and(|v| !v.is_null()) == *want,
            Self::Empty(want) => is_empty(value) == *want,
            Self::Compare(ordering, bound) => value.and_then(as_number).is_some_and(|n| match ordering {
                Ordering::Gt => n > *bound,
                Ordering::Gte => n >= *bound,
                Ordering::Lt => n < *bound,
                Ordering::Lte => n <= *bound,
            }),
        }
    }
}

/// Config values may arrive as strings (environment overrides), payload
/// values as numbers: compare numbers as numbers, everything else as text.
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => match (scalar_text(a), scalar_text(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        _ => None,
    }
}

fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn router(yaml_routes: Value) -> Router {
        let routes: Vec<RouteSettings> = serde_json::from_value(yaml_routes).unwrap();
        Router::new(&routes, |_| true).unwrap()
    }

    #[test]
    fn first_match_wins_unless_continue() {
        let router = router(json!([
            {"name": "callbacks", "match": {"call_back_needed": true}, "to": ["slack", "crm"]},
            {"name": "jobs", "match": {"call_reason": {"regex": "(?i)job"}}, "to": ["email"], "continue": true},
            {"name": "rest", "to": ["email", "archive"]}
        ]));
        let callback = json!({"call_back_needed": true, "call_reason": "Job"});
        assert_eq!(router.route(&callback).destinations, ["slack", "crm"]);
        let job = json!({"call_back_needed": false, "call_reason": "a JOB interview"});
        assert_eq!(
            router.route(&job),
            Decision {
                routes: vec!["jobs".into(), "rest".into()],
                destinations: vec!["email".into(), "archive".into()],
            }
        );
    }

    #[test]
    fn operators_on_dotted_paths() {
        let call = json!({"agent": {"id": "agent-7"}, "tags": ["sales"], "callduration": 75, "language": "nl", "callsummary": ""});
        let holds = |path: &str, spec: Value| {
            let c = Condition::parse(&spec).unwrap();
            c.holds(lookup(&call, path))
        };
        assert!(holds("agent.id", json!("agent-7")));
        assert!(holds("tags.0", json!({"one_of": ["sales", "support"]})));
        assert!(holds("callduration", json!({"gt": 60})));
        assert!(!holds("callduration", json!({"lte": "60"})));
        assert!(holds("callduration", json!("75")));
        assert!(holds("language", json!({"exists": true})));
        assert!(holds("missing", json!({"exists": false})));
        assert!(holds("callsummary", json!({"empty": true})));
        assert!(!holds("agent.name", json!({"regex": "x"})));
    }

    #[test]
    fn bad_routes_name_the_key() {
        let routes: Vec<RouteSettings> = serde_json::from_value(json!([
            {"name": "a", "match": {"x": {"regex": "("}}, "to": ["slack"]}
        ]))
        .unwrap();
        let err = Router::new(&routes, |_| true).unwrap_err().to_string();
        assert!(err.starts_with("routes[0].match.x: invalid regex"), "{err}");
        let routes: Vec<RouteSettings> = serde_json::from_value(json!([{"name": "a", "to": ["nope"]}])).unwrap();
        let err = Router::new(&routes, |d| d == "slack").unwrap_err().to_string();
        assert_eq!(
            err,
            "routes[0].to: destination `nope` is not defined under destinations"
        );
        let routes: Vec<RouteSettings> = serde_json::from_value(
            json!([{"name": "a", "to": ["s"]}, {"name": "b", "to": ["s"]}, {"name": "a", "to": ["s"]}]),
        )
        .unwrap();
        let err = Router::new(&routes, |_| true).unwrap_err().to_string();
        assert_eq!(err, "routes[2].name: `a` is also the name of routes[0]");
    }

    #[test]
    fn a_matcher_on_a_near_miss_of_a_known_field_is_a_likely_typo() {
        let router = router(json!([
            {"name": "a", "match": {"call_back_neded": true, "agent.id": "x"}, "to": ["s"]},
            {"name": "b", "match": {"callback.understod": false, "callsummary": {"exists": true}}, "to": ["s"]},
            {"name": "c", "match": {"source": "acme"}, "to": ["s"]}
        ]));
        let sample = json!({"call_back_needed": true, "callsummary": "hi", "callback": {"understood": true},
            "callbridge": {"source": "check"}});
        assert_eq!(
            router.likely_typos(&sample),
            [
                LikelyTypo {
                    key: "routes[0].match.call_back_neded".into(),
                    meant: "call_back_needed".into()
                },
                LikelyTypo {
                    key: "routes[1].match.callback.understod".into(),
                    meant: "callback.understood".into()
                },
                LikelyTypo {
                    key: "routes[2].match.source".into(),
                    meant: "callbridge.source".into()
                },
            ]
        );
    }
}

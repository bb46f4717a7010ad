//! Table-driven tests of `callbridge::when::resolve`: every row of the
//! shared sample table (../shared/callback-time-cases.jsonl) and of our own
//! table of cases the spec covers but the sample does not
//! (tests/when_cases_extra.jsonl). All failing rows are reported at once.

use std::path::Path;

use callbridge::when::{Settings, resolve};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    callback_time: Option<String>,
    calltimestamp: Option<i64>,
    /// Only our own rows set this, for a missing or bad `calltimestamp`;
    /// otherwise the summary arrives at the call instant.
    received_at: Option<i64>,
    timezone: String,
    business_hours: String,
    #[serde(default)]
    holidays: Vec<String>,
    expect_due: String,
    expect_understood: bool,
    /// Only our own rows check the reason code.
    expect_reason: Option<String>,
    note: String,
}

fn failures(table: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(table).unwrap_or_else(|error| panic!("{}: {error}", table.display()));
    assert!(!text.trim().is_empty(), "{} has no rows", table.display());
    let mut failures = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let row = index + 1;
        let case: Case = serde_json::from_str(line).unwrap_or_else(|error| panic!("row {row}: {error}"));
        let settings = Settings {
            timezone: TimeZone::get(&case.timezone).expect("known time zone"),
            business_hours: case.business_hours.parse().expect("valid business hours"),
            holidays: case
                .holidays
                .iter()
                .map(|day| day.parse::<Date>().expect("YYYY-MM-DD"))
                .collect(),
            horizon_days: 90,
        };
        let received_at = case
            .received_at
            .or(case.calltimestamp)
            .expect("received_at or calltimestamp");
        let received_at = Timestamp::from_second(received_at).expect("received_at in range");
        let resolution = resolve(
            case.callback_time.as_deref(),
            case.calltimestamp,
            received_at,
            &settings,
        );
        let due = resolution.due_rfc3339(&settings.timezone);
        let reason = resolution.reason.map(|reason| reason.as_str().to_owned());
        let reason_ok = case.expect_reason.is_none() || case.expect_reason == reason;
        let original_kept = resolution.original == case.callback_time;
        if due != case.expect_due || resolution.understood != case.expect_understood || !reason_ok || !original_kept {
            failures.push(format!(
                "row {row} {:?}: got {due} understood={} reason={reason:?} original={:?}, \
                 expected {} understood={}{} ({})",
                case.callback_time,
                resolution.understood,
                resolution.original,
                case.expect_due,
                case.expect_understood,
                case.expect_reason
                    .map(|reason| format!(" reason={reason}"))
                    .unwrap_or_default(),
                case.note,
            ));
        }
    }
    failures
}

fn assert_table(table: &Path) {
    let failures = failures(table);
    assert!(
        failures.is_empty(),
        "{} failing rows in {}:\n{}",
        failures.len(),
        table.display(),
        failures.join("\n")
    );
}

#[test]
fn shared_sample_table() {
    assert_table(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/callback-time-cases.jsonl"));
}

#[test]
fn own_table() {
    assert_table(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/when_cases_extra.jsonl"));
}

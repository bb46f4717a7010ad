//! Whether a reminder is still worth sending when a worker picks it up:
//! one that came due while callbridge was down is sent late within its
//! grace period, and marked missed after it.

use std::time::Duration;

/// Past this, a reminder is sent marked late.
const LATE_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, PartialEq)]
pub enum Gate {
    Send { late: bool },
    Missed(String),
}

/// `due_at` and `now` in unix milliseconds; `attempts` made before. A
/// reminder whose first try failed is retried as any delivery is: only a
/// first try can be missed.
pub fn gate(due_at: i64, now: i64, attempts: i64, grace: Duration) -> Gate {
    let late_ms = now.saturating_sub(due_at).max(0);
    let late = Duration::from_millis(late_ms as u64);
    if attempts == 0 && late > grace {
        return Gate::Missed(format!(
            "missed: came due {} ago, past the grace period of {}",
            humantime::format_duration(Duration::from_secs(late.as_secs())),
            humantime::format_duration(grace)
        ));
    }
    Gate::Send {
        late: late > LATE_AFTER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const GRACE: Duration = Duration::from_secs(2 * 3600);

    #[test]
    fn on_time_late_and_missed() {
        let due = 100 * HOUR;
        assert_eq!(gate(due, due + 5_000, 0, GRACE), Gate::Send { late: false });
        assert_eq!(gate(due, due + HOUR, 0, GRACE), Gate::Send { late: true });
        assert_eq!(
            gate(due, due + 3 * HOUR, 0, GRACE),
            Gate::Missed("missed: came due 3h ago, past the grace period of 2h".into())
        );
        // A retry of a reminder tried in time is not missed.
        assert_eq!(gate(due, due + 3 * HOUR, 1, GRACE), Gate::Send { late: true });
    }
}

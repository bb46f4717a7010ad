//! When to try a failed delivery again.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub max_retry_after: Duration,
}

impl Backoff {
    /// The wait before the next try after `attempts` failed ones: what the
    /// destination asked for (bounded), else exponential with jitter so
    /// many failed deliveries do not come back at the same instant.
    pub fn delay(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_retry_after);
        }
        let exponent = attempts.saturating_sub(1).min(30);
        let base = self.initial.saturating_mul(1 << exponent).min(self.max);
        // Equal jitter: half fixed, half random.
        let half = base / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Backoff = Backoff {
        initial: Duration::from_secs(2),
        max: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(30),
    };

    #[test]
    fn doubles_with_jitter_up_to_the_cap() {
        for (attempts, base) in [(1, 2), (2, 4), (3, 8), (6, 60), (40, 60)] {
            let delay = BACKOFF.delay(attempts, None);
            let base = Duration::from_secs(base);
            assert!(delay >= base / 2 && delay <= base, "attempt {attempts}: {delay:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        assert_eq!(BACKOFF.delay(1, Some(Duration::from_secs(5))), Duration::from_secs(5));
        assert_eq!(
            BACKOFF.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }
}

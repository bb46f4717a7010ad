//! Spacing sends to one endpoint, so a burst of calls stays under a
//! vendor's documented rate instead of running into its 429s.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for this send's turn: at least `interval` after the last one,
    /// whichever worker sent it.
    pub async fn wait(&self) {
        let turn = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let turn = (*next).max(Instant::now());
            *next = turn + self.interval;
            turn
        };
        tokio::time::sleep_until(turn).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sends_are_spaced_by_the_interval() {
        let pacer = Pacer::new(Duration::from_millis(20));
        let start = Instant::now();
        for _ in 0..3 {
            pacer.wait().await;
        }
        // The first goes at once, the next two a whole interval apart.
        assert!(start.elapsed() >= Duration::from_millis(40), "{:?}", start.elapsed());
    }
}

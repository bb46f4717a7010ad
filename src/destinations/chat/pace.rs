//! Spacing sends to one endpoint, so a burst of calls stays under a
//! vendor's documented rate instead of running into its 429s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::time::Instant;

pub struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

/// The pacer of one endpoint (a Teams webhook, a Telegram chat), shared by
/// every destination that sends there: the vendor's limit is the
/// endpoint's, not each destination's.
pub fn shared(endpoint: String, interval: Duration) -> Arc<Pacer> {
    static PACERS: OnceLock<Mutex<HashMap<String, Weak<Pacer>>>> = OnceLock::new();
    let mut pacers = PACERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // Pacers of destinations gone with an earlier config.
    pacers.retain(|_, pacer| pacer.strong_count() > 0);
    if let Some(pacer) = pacers.get(&endpoint).and_then(Weak::upgrade) {
        return pacer;
    }
    let pacer = Arc::new(Pacer::new(interval));
    pacers.insert(endpoint, Arc::downgrade(&pacer));
    pacer
}

impl Pacer {
    fn new(interval: Duration) -> Self {
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

    #[test]
    fn destinations_sending_to_one_endpoint_share_its_pacer() {
        let interval = Duration::from_secs(3);
        let (a, b) = (shared("chat-1".into(), interval), shared("chat-1".into(), interval));
        let other = shared("chat-2".into(), interval);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
    }

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

//! One contact per caller under concurrency: finding-or-creating a contact
//! for a number runs one at a time per number, and the id found is reused
//! for a while, because a CRM's search lags behind its creates (a second
//! call seconds after the first would not find the new contact).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a found id is trusted without asking the CRM again: past the
/// search lag, short enough that a contact merged or deleted in the CRM is
/// looked up afresh.
const REMEMBER: Duration = Duration::from_secs(600);
/// Above this many numbers, entries no one is using are dropped.
const PRUNE_ABOVE: usize = 10_000;

type Slot = Arc<tokio::sync::Mutex<Option<(String, Instant)>>>;

#[derive(Default)]
pub struct ContactBook {
    slots: Mutex<HashMap<String, Slot>>,
}

impl ContactBook {
    /// The contact id for `phone`: the one remembered, else what `find`
    /// returns (search, else create: the id and whether it created it),
    /// with no other lookup for the same number running meanwhile. Says
    /// whether this lookup created the contact.
    pub async fn resolve<F, Fut, E>(&self, phone: &str, find: F) -> Result<(String, bool), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(String, bool), E>>,
    {
        let slot = self.slot(phone);
        let mut remembered = slot.lock().await;
        if let Some((id, at)) = remembered.as_ref()
            && at.elapsed() < REMEMBER
        {
            return Ok((id.clone(), false));
        }
        let (id, created) = find().await?;
        *remembered = Some((id.clone(), Instant::now()));
        Ok((id, created))
    }

    /// Forgets `phone`'s id (the CRM no longer knows it).
    pub fn forget(&self, phone: &str) {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).remove(phone);
    }

    fn slot(&self, phone: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() > PRUNE_ABOVE {
            slots.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        Arc::clone(slots.entry(phone.to_owned()).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_lookups_of_one_number_find_once() {
        let book = Arc::new(ContactBook::default());
        let finds = Arc::new(AtomicUsize::new(0));
        let lookups = (0..8).map(|_| {
            let (book, finds) = (Arc::clone(&book), Arc::clone(&finds));
            tokio::spawn(async move {
                book.resolve("+31201234567", || async {
                    tokio::task::yield_now().await;
                    Ok::<_, ()>((format!("id-{}", finds.fetch_add(1, Ordering::SeqCst)), true))
                })
                .await
            })
        });
        let mut created = 0;
        for lookup in lookups {
            let (id, fresh) = lookup.await.unwrap().unwrap();
            assert_eq!(id, "id-0");
            created += fresh as usize;
        }
        assert_eq!(created, 1, "exactly one lookup created the contact");
        assert_eq!(finds.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_lookup_is_not_remembered_and_forget_drops_the_id() {
        let book = ContactBook::default();
        let failed = book.resolve("+1", || async { Err::<(String, bool), _>("down") }).await;
        assert_eq!(failed, Err("down"));
        let found = book
            .resolve("+1", || async { Ok::<_, ()>(("7".to_owned(), false)) })
            .await;
        assert_eq!(found, Ok(("7".to_owned(), false)));
        book.forget("+1");
        let again = book
            .resolve("+1", || async { Ok::<_, ()>(("8".to_owned(), true)) })
            .await;
        assert_eq!(again, Ok(("8".to_owned(), true)));
    }
}

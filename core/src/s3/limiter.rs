//! Adaptive concurrency (§14): when the store throttles (`503 SlowDown`, `429`), the
//! client lowers how many requests it lets into flight, and raises it back slowly once they
//! succeed again: additive increase, multiplicative decrease (AIMD), as TCP's congestion
//! control does (RFC 5681 §3.1). Every request of the client passes through one
//! [`Limiter`], so save, restore, delete, prune and format 2 all slow down together without
//! knowing it.
//!
//! The rules ([`Aimd`]):
//! - until the store first throttles there is no limit: the callers' own caps (a store's
//!   `concurrency`) decide alone;
//! - a throttle answer sets the limit to half the requests then in flight (at least 1);
//!   answers to requests sent before that decrease do not halve it again: they were sent
//!   under the old limit and say nothing new (TCP's "once per window");
//! - after as many successes in a row as the limit, sent while the limit was reached, the
//!   limit grows by one. Successes while fewer requests are wanted than allowed do not count
//!   (RFC 7661: an unused window is not a proven one), so the limit never drifts far above
//!   what the store was seen to bear.
//!
//! A permit is held from before a request is signed until its answer's head has arrived
//! (or, for answers read whole, until the body has): never while its holder waits for
//! another permit, so that a caller that keeps a GetObject body open while it sends other
//! requests (restore into a bucket, format 2 packs) cannot deadlock on a limit of 1.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits of a client that was never throttled: far above any caller's concurrency.
const OPEN: usize = 1 << 20;

/// The AIMD arithmetic, without the waiting (pure, for unit tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Aimd {
    /// Requests allowed in flight; `None` until the store first throttles.
    limit: Option<usize>,
    /// Successes counted towards the next increase since the limit last changed.
    successes: usize,
    /// Bumped by every decrease; a request remembers the epoch it was sent in.
    epoch: u64,
}

impl Aimd {
    /// The current limit, `None` while unlimited.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// The epoch requests sent now belong to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A throttle answer to a request sent in `epoch`, with `in_flight` requests (it
    /// included) in flight. Returns the new limit when it was lowered.
    pub fn on_throttle(&mut self, epoch: u64, in_flight: usize) -> Option<usize> {
        if epoch != self.epoch {
            return None;
        }
        let base = self.limit.map_or(in_flight, |limit| limit.min(in_flight));
        let lowered = (base / 2).max(1);
        self.limit = Some(lowered);
        self.successes = 0;
        self.epoch += 1;
        Some(lowered)
    }

    /// A success of a request sent in `epoch`; `window_full` says whether the limit was
    /// reached when it was sent. Returns the new limit when it was raised.
    pub fn on_success(&mut self, epoch: u64, window_full: bool) -> Option<usize> {
        let limit = self.limit?;
        if epoch != self.epoch || !window_full {
            return None;
        }
        self.successes += 1;
        if self.successes < limit {
            return None;
        }
        self.successes = 0;
        self.limit = Some(limit + 1);
        self.limit
    }
}

/// The client's gate: a semaphore whose size follows [`Aimd`].
pub(crate) struct Limiter {
    enabled: bool,
    semaphore: Arc<Semaphore>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    aimd: Aimd,
    in_flight: usize,
    /// Permits to retire as they come back: a decrease below the requests in flight cannot
    /// take their permits away at once.
    debt: usize,
    /// Throttle answers seen, for diagnostics.
    throttles: u64,
}

/// Leave to send one request; returned to the limiter when dropped.
pub(crate) struct Permit {
    limiter: Option<Arc<Limiter>>,
    permit: Option<OwnedSemaphorePermit>,
    epoch: u64,
    window_full: bool,
}

impl Limiter {
    /// A limiter; a disabled one lets every request through and never changes.
    pub fn new(enabled: bool) -> Arc<Self> {
        Arc::new(Self {
            enabled,
            semaphore: Arc::new(Semaphore::new(OPEN)),
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current limit on requests in flight, `None` while the store never throttled (or
    /// the limiter is disabled).
    pub fn limit(&self) -> Option<usize> {
        self.state().aimd.limit()
    }

    /// Throttle answers seen so far.
    pub fn throttles(&self) -> u64 {
        self.state().throttles
    }

    /// Waits for leave to send one request (first come, first served).
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        if !self.enabled {
            return Permit {
                limiter: None,
                permit: None,
                epoch: 0,
                window_full: false,
            };
        }
        let (permit, waited) = match Arc::clone(&self.semaphore).try_acquire_owned() {
            Ok(permit) => (permit, false),
            Err(_) => {
                let permit = Arc::clone(&self.semaphore)
                    .acquire_owned()
                    .await
                    .expect("the limiter's semaphore is never closed");
                (permit, true)
            }
        };
        let mut state = self.state();
        state.in_flight += 1;
        let window_full = waited || state.aimd.limit().is_some_and(|limit| state.in_flight >= limit);
        Permit {
            limiter: Some(Arc::clone(self)),
            permit: Some(permit),
            epoch: state.aimd.epoch(),
            window_full,
        }
    }

    /// The store answered `permit`'s request with a throttle (503 SlowDown, 429).
    pub fn throttled(&self, permit: &Permit) {
        if permit.limiter.is_none() {
            return;
        }
        let mut state = self.state();
        state.throttles += 1;
        let before = state.aimd.limit().unwrap_or(OPEN);
        let in_flight = state.in_flight;
        if let Some(lowered) = state.aimd.on_throttle(permit.epoch, in_flight) {
            let cut = before.saturating_sub(lowered);
            let retired = self.semaphore.forget_permits(cut);
            state.debt += cut - retired;
            tracing::info!(
                limit = lowered,
                in_flight,
                "the store throttles: lowering the requests in flight"
            );
        }
    }

    /// The store answered `permit`'s request with a success.
    pub fn succeeded(&self, permit: &Permit) {
        if permit.limiter.is_none() {
            return;
        }
        let mut state = self.state();
        if let Some(raised) = state.aimd.on_success(permit.epoch, permit.window_full) {
            if state.debt > 0 {
                state.debt -= 1;
            } else {
                self.semaphore.add_permits(1);
            }
            tracing::debug!(limit = raised, "raising the requests in flight");
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let (Some(limiter), Some(permit)) = (self.limiter.take(), self.permit.take()) else {
            return;
        };
        let mut state = limiter.state();
        state.in_flight -= 1;
        if state.debt > 0 {
            state.debt -= 1;
            permit.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_limit_until_the_first_throttle_then_half_the_requests_in_flight() {
        let mut aimd = Aimd::default();
        assert_eq!(aimd.on_success(0, true), None);
        assert_eq!(aimd.limit(), None);
        assert_eq!(aimd.on_throttle(0, 16), Some(8));
        assert_eq!(aimd.limit(), Some(8));
        assert_eq!(aimd.epoch(), 1);
    }

    #[test]
    fn answers_to_requests_sent_before_a_decrease_do_not_halve_again() {
        let mut aimd = Aimd::default();
        assert_eq!(aimd.on_throttle(0, 16), Some(8));
        for _ in 0..10 {
            assert_eq!(aimd.on_throttle(0, 15), None);
        }
        assert_eq!(aimd.limit(), Some(8));
        assert_eq!(aimd.on_throttle(1, 8), Some(4));
        assert_eq!(aimd.on_throttle(2, 4), Some(2));
        assert_eq!(aimd.on_throttle(3, 2), Some(1));
        assert_eq!(aimd.on_throttle(4, 1), Some(1), "the floor is one request");
    }

    #[test]
    fn the_decrease_starts_from_the_requests_in_flight_when_fewer_than_the_limit() {
        let mut aimd = Aimd::default();
        aimd.on_throttle(0, 20);
        assert_eq!(aimd.limit(), Some(10));
        assert_eq!(aimd.on_throttle(1, 3), Some(1));
    }

    #[test]
    fn one_more_after_as_many_successes_as_the_limit_while_the_window_is_full() {
        let mut aimd = Aimd::default();
        aimd.on_throttle(0, 8);
        let epoch = aimd.epoch();
        let raised: Vec<Option<usize>> = (0..4 + 5).map(|_| aimd.on_success(epoch, true)).collect();
        let mut expected = vec![None; 9];
        expected[3] = Some(5);
        expected[8] = Some(6);
        assert_eq!(raised, expected);
    }

    #[test]
    fn successes_of_an_unused_window_or_an_older_epoch_do_not_raise_the_limit() {
        let mut aimd = Aimd::default();
        aimd.on_throttle(0, 4);
        for _ in 0..100 {
            assert_eq!(aimd.on_success(1, false), None);
            assert_eq!(aimd.on_success(0, true), None);
        }
        assert_eq!(aimd.limit(), Some(2));
    }

    #[test]
    fn a_throttle_resets_the_run_of_successes() {
        let mut aimd = Aimd::default();
        aimd.on_throttle(0, 8);
        aimd.on_success(1, true);
        aimd.on_success(1, true);
        aimd.on_success(1, true);
        aimd.on_throttle(1, 4);
        assert_eq!(aimd.limit(), Some(2));
        assert_eq!(aimd.on_success(2, true), None);
        assert_eq!(aimd.on_success(2, true), Some(3));
    }

    /// A saw-tooth against a store that bears 4 requests: the limit stays within [2, 5].
    #[test]
    fn against_a_fixed_capacity_the_limit_saws_between_half_and_one_above_it() {
        let capacity = 4;
        let mut aimd = Aimd::default();
        aimd.on_throttle(0, 16);
        let mut seen = Vec::new();
        for _ in 0..200 {
            let limit = aimd.limit().unwrap();
            let epoch = aimd.epoch();
            if limit > capacity {
                aimd.on_throttle(epoch, limit);
            } else {
                aimd.on_success(epoch, true);
            }
            seen.push(aimd.limit().unwrap());
        }
        let tail = &seen[50..];
        assert!(tail.iter().all(|l| (2..=capacity + 1).contains(l)), "{tail:?}");
        assert!(tail.contains(&(capacity + 1)) && tail.contains(&2), "{tail:?}");
    }

    #[tokio::test]
    async fn the_limiter_holds_requests_beyond_the_limit_until_permits_return() {
        let limiter = Limiter::new(true);
        let held: Vec<Permit> = futures::future::join_all((0..6).map(|_| limiter.acquire())).await;
        // Six in flight; one is throttled: the limit drops to 3, so three must come back
        // (their permits retired) before a seventh gets in.
        limiter.throttled(&held[0]);
        assert_eq!(limiter.limit(), Some(3));
        let mut held = held;
        for _ in 0..3 {
            held.pop();
        }
        let waiting = limiter.acquire();
        futures::pin_mut!(waiting);
        assert!(
            futures::poll!(waiting.as_mut()).is_pending(),
            "3 in flight is the limit"
        );
        held.pop();
        let permit = waiting.await;
        assert!(permit.window_full);
        assert_eq!(limiter.throttles(), 1);
    }

    #[tokio::test]
    async fn a_disabled_limiter_never_limits() {
        let limiter = Limiter::new(false);
        let held: Vec<Permit> = futures::future::join_all((0..10).map(|_| limiter.acquire())).await;
        limiter.throttled(&held[0]);
        assert_eq!(limiter.limit(), None);
        assert_eq!(limiter.throttles(), 0);
    }
}

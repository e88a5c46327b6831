//! Backoff for retries: exponential with full jitter (AWS Architecture Blog, "Exponential
//! Backoff And Jitter"): sleep a random time in `[0, min(max, base × 2^(attempt-1))]`.

use std::time::Duration;

use crate::error::Error;

/// The sleep before retry number `attempt` (1 = after the first failure).
pub(crate) fn backoff_delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let cap = backoff_cap(attempt, base, max);
    Duration::from_nanos(fastrand::u64(0..=cap.as_nanos() as u64))
}

/// The upper bound of the jittered sleep after `attempt` failures.
pub(crate) fn backoff_cap(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

/// Adds the attempt count and elapsed time to an error's message, as object_store does.
pub(crate) fn with_attempts(mut err: Error, attempts: u32, elapsed: Duration) -> Error {
    let note = format!(" (gave up after {attempts} attempts in {:.1} s)", elapsed.as_secs_f64());
    err.details_mut().message.push_str(&note);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_doubles_until_the_maximum() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let caps: Vec<u128> = (1..=6).map(|a| backoff_cap(a, base, max).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff_cap(200, base, max), max);
    }

    #[test]
    fn delay_is_within_the_cap() {
        let base = Duration::from_millis(50);
        for attempt in 1..10 {
            let cap = backoff_cap(attempt, base, Duration::from_secs(2));
            for _ in 0..50 {
                assert!(backoff_delay(attempt, base, Duration::from_secs(2)) <= cap);
            }
        }
    }
}

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
    fn by_default_a_request_whose_answer_stalled_for_the_read_timeout_is_retried() {
        // A request in flight to a MinIO node that crashes gets no answer at all: only the
        // read timeout ends it, and the retry budget must still hold a retry after that.
        let config = crate::ClientConfig::new("backups");
        let client = crate::s3::S3Client::new(config.clone()).unwrap();
        let stalled = Error::Timeout(crate::ErrorDetails::message("sent nothing"));
        let retry = &config.retry;
        let worst_wait =
            backoff_cap(1, retry.base_delay, retry.max_delay) + backoff_cap(2, retry.base_delay, retry.max_delay);
        for (attempt, elapsed) in [(1, config.read_timeout), (2, config.read_timeout * 2 + worst_wait)] {
            for _ in 0..50 {
                assert!(
                    client.retry_delay(&stalled, attempt, elapsed).is_some(),
                    "attempt {attempt} timed out after {elapsed:?}: not retried within {:?}",
                    retry.max_elapsed
                );
            }
        }
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

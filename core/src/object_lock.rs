//! Object Lock tied to retention (§12): the policy a locked store records in its
//! descriptor, and the minimum age that policy guarantees every backup, which saves set as
//! each object's retain-until date (docs/FORMAT.md, "Object Lock").
//!
//! Pure: no request is sent here.
//!
//! # The minimum age of a policy
//!
//! The earliest a prune under `policy` could delete a `COMPLETED` backup, measured from its
//! `createdAt`, whatever backups come after it:
//!
//! - `keep_within` D: D (a backup is kept while it is within D of the newest);
//! - `keep_hourly` / `keep_daily` / `keep_weekly` / `keep_monthly` / `keep_yearly` N:
//!   N − 1 periods (a bucket's newest backup is kept until N newer buckets hold a backup, and
//!   the N-th newer bucket starts at least N − 1 whole periods after the end of its own);
//!   months count 28 days and years 365 days, their shortest lengths;
//! - `keep_last` N: nothing (N newer backups can come within a second);
//! - the policy: the largest of its rules.
//!
//! A backup that is not the newest of its bucket may be deleted by the policy sooner, yet
//! its objects stay locked for the minimum age: prune then skips it and says until when.

// The crate's one `Error` is large by design (see format2/mod.rs).
#![allow(clippy::result_large_err)]

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::options::values::{format_duration, parse_duration};
use crate::retention::RetentionPolicy;
use crate::s3::{LockMode, Retention};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// The minimum age `policy` guarantees a `COMPLETED` backup (module documentation).
pub fn minimum_age(policy: &RetentionPolicy) -> Duration {
    let periods =
        |n: Option<u32>, period: u64| Duration::from_secs(u64::from(n.unwrap_or(0).saturating_sub(1)) * period);
    [
        policy.keep_within.unwrap_or_default(),
        periods(policy.keep_hourly, HOUR),
        periods(policy.keep_daily, DAY),
        periods(policy.keep_weekly, 7 * DAY),
        periods(policy.keep_monthly, 28 * DAY),
        periods(policy.keep_yearly, 365 * DAY),
    ]
    .into_iter()
    .max()
    .unwrap_or_default()
}

/// Parses the `lock_policy` option: restic's rule names with their values, separated by
/// commas or spaces, `_` or `-` alike: `keep_daily=7,keep_weekly=4` or
/// `keep-within=30d`.
///
/// # Errors
/// [`Error::InvalidInput`] naming the rule or value that is not understood, or when no rule
/// is given.
pub fn parse_lock_policy(text: &str) -> Result<RetentionPolicy> {
    let mut policy = RetentionPolicy::default();
    let bad = |why: String| Err(Error::invalid_input(format!("lock_policy: {why}")));
    for item in text.split([',', ' ']).filter(|s| !s.trim().is_empty()) {
        let Some((rule, value)) = item.split_once('=') else {
            return bad(format!(
                "{} is not RULE=VALUE (e.g. keep_daily=7)",
                crate::options::values::shown(item)
            ));
        };
        let rule = rule.trim().replace('-', "_");
        let value = value.trim();
        let count = || {
            value
                .parse::<u32>()
                .map_err(|_| Error::invalid_input(format!("lock_policy: {rule} takes a count, not {value:?}")))
        };
        match rule.as_str() {
            "keep_last" => policy.keep_last = Some(count()?),
            "keep_hourly" => policy.keep_hourly = Some(count()?),
            "keep_daily" => policy.keep_daily = Some(count()?),
            "keep_weekly" => policy.keep_weekly = Some(count()?),
            "keep_monthly" => policy.keep_monthly = Some(count()?),
            "keep_yearly" => policy.keep_yearly = Some(count()?),
            "keep_within" => policy.keep_within = Some(parse_duration("lock_policy keep_within", value)?),
            _ => {
                return bad(format!(
                "unknown rule {}; the rules are keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within",
                crate::options::values::shown(&rule)
            ))
            }
        }
    }
    if policy.is_empty() {
        return bad("no keep rule given (e.g. keep_daily=7,keep_within=30d)".into());
    }
    Ok(policy)
}

/// The policy as `lock_policy` takes it: `keep_daily=7,keep_within=30d` (unset rules left out).
pub fn format_lock_policy(policy: &RetentionPolicy) -> String {
    let mut out = Vec::new();
    for (name, n) in [
        ("keep_last", policy.keep_last),
        ("keep_hourly", policy.keep_hourly),
        ("keep_daily", policy.keep_daily),
        ("keep_weekly", policy.keep_weekly),
        ("keep_monthly", policy.keep_monthly),
        ("keep_yearly", policy.keep_yearly),
    ] {
        if let Some(n) = n.filter(|n| *n > 0) {
            out.push(format!("{name}={n}"));
        }
    }
    if let Some(d) = policy.keep_within.filter(|d| !d.is_zero()) {
        out.push(format!("keep_within={}", format_duration(d)));
    }
    out.join(",")
}

/// What a locked store promises: the mode of every object it writes and the policy whose
/// minimum age is their retention. Recorded in the descriptor's `retention` member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectLockSettings {
    /// GOVERNANCE or COMPLIANCE.
    pub mode: LockMode,
    /// The policy the store was created with (the `keep_*` rules only).
    pub policy: RetentionPolicy,
    /// [`minimum_age`] of `policy` when the store was created; writers use this recorded
    /// value, so that a later change of the rule cannot shorten an existing store's locks.
    pub minimum_age: Duration,
}

/// The descriptor's JSON shape of [`ObjectLockSettings`] (docs/FORMAT.md).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsJson {
    mode: String,
    minimum_age_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_last: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_hourly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_daily: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_weekly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_monthly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_yearly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_within: Option<String>,
}

impl ObjectLockSettings {
    /// Settings for a new store.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the policy guarantees no minimum age (only `keep_last`):
    /// a lock would then protect nothing.
    pub fn new(mode: LockMode, policy: &RetentionPolicy) -> Result<Self> {
        let policy = RetentionPolicy {
            keep_last: policy.keep_last,
            keep_hourly: policy.keep_hourly,
            keep_daily: policy.keep_daily,
            keep_weekly: policy.keep_weekly,
            keep_monthly: policy.keep_monthly,
            keep_yearly: policy.keep_yearly,
            keep_within: policy.keep_within,
            ..RetentionPolicy::default()
        };
        let minimum_age = minimum_age(&policy);
        if minimum_age < Duration::from_secs(1) {
            return Err(Error::invalid_input(
                "lock_policy guarantees no minimum age (keep_last alone, or one period): add keep_within or a keep_daily/weekly/... count above 1",
            ));
        }
        Ok(Self {
            mode,
            policy,
            minimum_age,
        })
    }

    /// The retention of the objects of a backup created at `created_at`.
    pub fn retention(&self, created_at: OffsetDateTime) -> Retention {
        Retention {
            mode: self.mode,
            retain_until: created_at + self.minimum_age,
        }
    }

    /// The descriptor's `retention` member.
    pub fn to_json(&self) -> serde_json::Value {
        let p = &self.policy;
        let json = SettingsJson {
            mode: self.mode.as_str().to_string(),
            minimum_age_seconds: self.minimum_age.as_secs(),
            keep_last: p.keep_last,
            keep_hourly: p.keep_hourly,
            keep_daily: p.keep_daily,
            keep_weekly: p.keep_weekly,
            keep_monthly: p.keep_monthly,
            keep_yearly: p.keep_yearly,
            keep_within: p.keep_within.map(format_duration),
        };
        serde_json::to_value(json).expect("settings serialise")
    }

    /// Reads the descriptor's `retention` member; `Ok(None)` for `null`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a value this version does not understand (a newer writer's):
    /// it must not write to the store.
    pub fn from_json(value: &serde_json::Value) -> Result<Option<Self>> {
        if value.is_null() {
            return Ok(None);
        }
        let unknown = |why: String| {
            Error::invalid_input(format!(
                "this store's Object Lock retention is not understood by this s3keep ({why}): upgrade s3keep to write to it"
            ))
        };
        let json: SettingsJson = serde_json::from_value(value.clone()).map_err(|e| unknown(e.to_string()))?;
        let mode = match json.mode.as_str() {
            "GOVERNANCE" => LockMode::Governance,
            "COMPLIANCE" => LockMode::Compliance,
            other => return Err(unknown(format!("mode {other:?}"))),
        };
        let keep_within = json
            .keep_within
            .as_deref()
            .map(|w| parse_duration("keepWithin", w))
            .transpose()
            .map_err(|e| unknown(e.details().message.clone()))?;
        Ok(Some(Self {
            mode,
            policy: RetentionPolicy {
                keep_last: json.keep_last,
                keep_hourly: json.keep_hourly,
                keep_daily: json.keep_daily,
                keep_weekly: json.keep_weekly,
                keep_monthly: json.keep_monthly,
                keep_yearly: json.keep_yearly,
                keep_within,
                ..RetentionPolicy::default()
            },
            minimum_age: Duration::from_secs(json.minimum_age_seconds),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn policy(text: &str) -> RetentionPolicy {
        parse_lock_policy(text).unwrap()
    }

    #[test]
    fn minimum_age_is_the_largest_rule_in_whole_periods_minus_one() {
        let days = |n: u64| Duration::from_secs(n * DAY);
        assert_eq!(minimum_age(&policy("keep_within=30d")), days(30));
        assert_eq!(minimum_age(&policy("keep_daily=7")), days(6));
        assert_eq!(minimum_age(&policy("keep_hourly=24")), Duration::from_secs(23 * HOUR));
        assert_eq!(minimum_age(&policy("keep_weekly=4")), days(21));
        assert_eq!(minimum_age(&policy("keep_monthly=12")), days(11 * 28));
        assert_eq!(minimum_age(&policy("keep_yearly=3")), days(730));
        assert_eq!(minimum_age(&policy("keep_last=100")), Duration::ZERO);
        assert_eq!(minimum_age(&policy("keep_daily=1")), Duration::ZERO);
        assert_eq!(
            minimum_age(&policy("keep-daily=7, keep-weekly=5 keep_within=10d keep_last=3")),
            days(28)
        );
        assert_eq!(minimum_age(&RetentionPolicy::default()), Duration::ZERO);
        let text = "keep_last=3,keep_daily=7,keep_within=2w";
        assert_eq!(format_lock_policy(&policy(text)), text);
        let p = policy("keep_within=10d keep_monthly=6");
        assert_eq!(policy(&format_lock_policy(&p)), p);
    }

    #[test]
    fn bad_policies_are_refused_with_the_rule_named() {
        for (text, needle) in [
            ("", "no keep rule"),
            ("keep_daily", "RULE=VALUE"),
            ("keep_dayly=3", "unknown rule \"keep_dayly\""),
            ("keep_daily=x", "keep_daily takes a count"),
            ("keep_within=soon", "keep_within"),
        ] {
            let err = parse_lock_policy(text).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{text}");
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
        let err = ObjectLockSettings::new(LockMode::Governance, &policy("keep_last=5")).unwrap_err();
        assert!(err.to_string().contains("no minimum age"), "{err}");
    }

    #[test]
    fn settings_round_trip_through_the_descriptor_json() {
        let s = ObjectLockSettings::new(LockMode::Compliance, &policy("keep_daily=7,keep_within=36h")).unwrap();
        let json = s.to_json();
        assert_eq!(json["mode"], "COMPLIANCE");
        assert_eq!(json["minimumAgeSeconds"], 6 * DAY);
        assert_eq!(json["keepDaily"], 7);
        assert!(json.get("keepLast").is_none());
        assert_eq!(ObjectLockSettings::from_json(&json).unwrap(), Some(s.clone()));
        assert_eq!(ObjectLockSettings::from_json(&serde_json::Value::Null).unwrap(), None);
        let created = datetime!(2026-11-30 10:00:00.5 UTC);
        let r = s.retention(created);
        assert_eq!(r.retain_until, datetime!(2026-12-06 10:00:00.5 UTC));
        assert_eq!(
            r.retain_until_text(),
            "2026-12-06T10:00:01Z",
            "rounded up, never earlier"
        );
        for bad in [
            serde_json::json!({"mode": "GOVERNANCE", "minimumAgeSeconds": 1, "keepFortnightly": 2}),
            serde_json::json!({"mode": "LEGAL_HOLD", "minimumAgeSeconds": 1}),
            serde_json::json!({"mode": "GOVERNANCE"}),
            serde_json::json!("30d"),
        ] {
            let err = ObjectLockSettings::from_json(&bad).unwrap_err();
            assert!(err.to_string().contains("upgrade s3keep"), "{err}");
        }
    }
}

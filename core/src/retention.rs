//! Retention planning for `prune` (SPEC §4 `prune`, §7): which backups to keep, which to
//! delete, and why.
//!
//! The planner is pure: it takes the policy, the listed backups and the current time and
//! returns a [`Plan`]; it sends no request. `prune` executes the plan's deletes with the
//! delete protocol.
//!
//! # Semantics (restic's `forget`)
//!
//! Backups are planned per `(partition, node)` group, each group independently. Within a
//! group only `COMPLETED` backups take part in the keep rules. They are sorted newest first by
//! `createdAt` (equal timestamps: the higher checkpoint counts as newer) and walked once:
//!
//! - **`keep_last` N** keeps the N newest backups.
//! - **`keep_hourly` / `keep_daily` / `keep_weekly` / `keep_monthly` / `keep_yearly` N**:
//!   each backup falls into a bucket (its UTC hour, day, ISO 8601 week, month or year). A
//!   backup is kept by the rule when its bucket differs from the bucket of the last backup the
//!   rule kept, until the rule has kept N backups. Walking newest first, this keeps the
//!   newest backup of each of the N most recent buckets that hold a backup (buckets without
//!   any backup are skipped, not counted).
//! - **Leftover slots keep the oldest**: when a counted rule still has unused slots when the
//!   walk reaches the oldest backup of the group, that oldest backup is kept by the rule too,
//!   even if its bucket was already used (restic ≥ 0.15 does the same). This keeps the
//!   longest history while slots remain.
//! - **`keep_within` D** keeps every backup whose `createdAt` is at or after `newest - D`,
//!   where `newest` is the newest backup of the group, **not** the current time: a group
//!   whose backups all stopped a year ago still keeps its last D of history. As in restic,
//!   backups dated in the future (after `now`) are not used as `newest`.
//!
//! A backup is kept if **any** rule keeps it. [`PlanEntry::reason`] names the first rule
//! that kept it in the fixed order last, hourly, daily, weekly, monthly, yearly, within;
//! [`PlanEntry::matched`] lists every rule that kept it (restic's "matches").
//!
//! Safety rules, applied on top:
//! - an empty policy (no `keep_*` rule, see [`RetentionPolicy::is_empty`]) deletes no
//!   `COMPLETED` backup ([`Reason::EmptyPolicy`]);
//! - the newest `COMPLETED` backup of a group is never deleted ([`Reason::NewestCompleted`]
//!   if no rule kept it);
//! - `FAILED` backups are deleted only with [`RetentionPolicy::prune_failed`];
//! - `IN_PROGRESS` backups are deleted only with [`RetentionPolicy::prune_stale`] and when
//!   created more than [`RetentionPolicy::stale_after`] before `now`;
//! - `DELETING` backups are always planned for delete, so a half-done delete gets finished;
//! - a backup without a status (`DOES_NOT_EXIST`) is never deleted.
//!
//! Buckets use UTC whatever the offset of the timestamps: hour = (year, day of year, hour),
//! day = (year, day of year), week = (ISO week-based year, ISO week), month = (year, month),
//! year = year.
//!
//! # Example
//!
//! Backups (all `COMPLETED`, one group) at 2024-01-10 18:00, 01-10 06:00, 01-09 18:00,
//! 01-02 12:00, 2023-12-20 12:00 (UTC), policy `keep_daily = 2, keep_weekly = 2`:
//!
//! | backup           | daily bucket  | weekly bucket | decision                       |
//! |------------------|---------------|---------------|--------------------------------|
//! | 2024-01-10 18:00 | 01-10 (new)   | 2024-W02 (new)| keep, `keep-daily` (+weekly)   |
//! | 2024-01-10 06:00 | 01-10 (same)  | 2024-W02      | delete, `no-rule-matched`      |
//! | 2024-01-09 18:00 | 01-09 (new)   | 2024-W02      | keep, `keep-daily` (daily full)|
//! | 2024-01-02 12:00 | —             | 2024-W01 (new)| keep, `keep-weekly` (weekly full)|
//! | 2023-12-20 12:00 | —             | —             | delete, `no-rule-matched`      |
//!
//! ```
//! use s3keep::retention::{plan, Action, Candidate, RetentionPolicy};
//! use s3keep::{BackupId, StatusCode};
//! use time::macros::datetime;
//!
//! let candidates: Vec<Candidate> = [
//!     datetime!(2024-01-10 18:00 UTC),
//!     datetime!(2024-01-10 06:00 UTC),
//!     datetime!(2024-01-09 18:00 UTC),
//!     datetime!(2024-01-02 12:00 UTC),
//!     datetime!(2023-12-20 12:00 UTC),
//! ]
//! .into_iter()
//! .enumerate()
//! .map(|(i, created_at)| Candidate {
//!     id: BackupId::new(0, 100 - i as u64, 0),
//!     status: StatusCode::Completed,
//!     created_at,
//! })
//! .collect();
//! let policy = RetentionPolicy { keep_daily: Some(2), keep_weekly: Some(2), ..Default::default() };
//! let plan = plan(&policy, &candidates, datetime!(2024-01-11 00:00 UTC));
//! let deleted: Vec<u64> = plan.to_delete().map(|e| e.id.checkpoint).collect();
//! assert_eq!(deleted, [96, 99]); // 2023-12-20 12:00 and 2024-01-10 06:00, as in the table
//! assert!(plan.entries.iter().all(|e| e.action == Action::Keep || e.reason.as_str() == "no-rule-matched"));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};
use time::{OffsetDateTime, UtcOffset};

use crate::backup::{BackupId, StatusCode};

/// The default [`RetentionPolicy::stale_after`]: 24 hours.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// What to keep (SPEC §7). Counts are numbers of backups (one per bucket for the periodic
/// rules); `None` or `Some(0)` means the rule is not set, as in restic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Keep the N newest `COMPLETED` backups.
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the N most recent UTC hours that have one.
    pub keep_hourly: Option<u32>,
    /// Keep the newest backup of each of the N most recent UTC days that have one.
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the N most recent ISO 8601 weeks that have one.
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the N most recent UTC months that have one.
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the N most recent UTC years that have one.
    pub keep_yearly: Option<u32>,
    /// Keep every backup created at most this long (wall-clock duration, any precision)
    /// before the group's newest backup (not before now). `Some(0)` means not set.
    pub keep_within: Option<Duration>,
    /// Delete `FAILED` backups. Without it they are kept ([`Reason::FailedKept`]).
    pub prune_failed: bool,
    /// Delete `IN_PROGRESS` backups created more than [`stale_after`](Self::stale_after)
    /// before `now` (orphans of crashed saves).
    pub prune_stale: bool,
    /// Age (since `createdAt`) after which an `IN_PROGRESS` backup counts as stale.
    /// Default [`DEFAULT_STALE_AFTER`] (24 h).
    pub stale_after: Duration,
}

impl Default for RetentionPolicy {
    /// No keep rule, nothing pruned, `stale_after` = 24 h.
    fn default() -> Self {
        Self {
            keep_last: None,
            keep_hourly: None,
            keep_daily: None,
            keep_weekly: None,
            keep_monthly: None,
            keep_yearly: None,
            keep_within: None,
            prune_failed: false,
            prune_stale: false,
            stale_after: DEFAULT_STALE_AFTER,
        }
    }
}

impl RetentionPolicy {
    /// True when no `keep_*` rule is set (`None`, `Some(0)` and a zero `keep_within` count
    /// as unset). An empty policy deletes no `COMPLETED` backup; `prune_failed` /
    /// `prune_stale` still apply.
    pub fn is_empty(&self) -> bool {
        self.counted_rules().iter().all(|(_, n)| *n == 0) && self.within().is_none()
    }

    /// The counted rules in the fixed order, with their counts (0 = unset).
    fn counted_rules(&self) -> [(Rule, u32); 6] {
        let n = |v: Option<u32>| v.unwrap_or(0);
        [
            (Rule::Last, n(self.keep_last)),
            (Rule::Hourly, n(self.keep_hourly)),
            (Rule::Daily, n(self.keep_daily)),
            (Rule::Weekly, n(self.keep_weekly)),
            (Rule::Monthly, n(self.keep_monthly)),
            (Rule::Yearly, n(self.keep_yearly)),
        ]
    }

    /// `keep_within` if set and non-zero.
    fn within(&self) -> Option<Duration> {
        self.keep_within.filter(|d| !d.is_zero())
    }
}

/// One backup as the planner sees it (from `list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Which backup.
    pub id: BackupId,
    /// Its `statusCode`.
    pub status: StatusCode,
    /// Its `createdAt` (any offset; buckets are computed in UTC).
    pub created_at: OffsetDateTime,
}

/// A keep rule of the policy, in the fixed order used to pick [`PlanEntry::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// `keep_last`.
    Last,
    /// `keep_hourly`.
    Hourly,
    /// `keep_daily`.
    Daily,
    /// `keep_weekly`.
    Weekly,
    /// `keep_monthly`.
    Monthly,
    /// `keep_yearly`.
    Yearly,
    /// `keep_within`.
    Within,
}

impl Rule {
    /// Stable name, as in CLI and JSON output: `keep-last`, `keep-hourly`, `keep-daily`,
    /// `keep-weekly`, `keep-monthly`, `keep-yearly`, `keep-within`.
    pub fn as_str(&self) -> &'static str {
        Reason::from(*self).as_str()
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Keep or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Leave the backup alone.
    Keep,
    /// Delete it with the delete protocol (SPEC §4).
    Delete,
}

impl Action {
    /// `keep` or `delete`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Delete => "delete",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a backup is kept or deleted. [`as_str`](Self::as_str) (also `Display` and `Serialize`)
/// is stable: it is shown by the CLI and written in JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Kept: among the `keep_last` newest (`keep-last`).
    KeepLast,
    /// Kept by `keep_hourly` (`keep-hourly`).
    KeepHourly,
    /// Kept by `keep_daily` (`keep-daily`).
    KeepDaily,
    /// Kept by `keep_weekly` (`keep-weekly`).
    KeepWeekly,
    /// Kept by `keep_monthly` (`keep-monthly`).
    KeepMonthly,
    /// Kept by `keep_yearly` (`keep-yearly`).
    KeepYearly,
    /// Kept by `keep_within` (`keep-within`).
    KeepWithin,
    /// Kept: the newest `COMPLETED` backup of its group, which is never deleted
    /// (`newest-completed`).
    NewestCompleted,
    /// Kept: the policy has no keep rule, so no `COMPLETED` backup is deleted (`empty-policy`).
    EmptyPolicy,
    /// Deleted: a `COMPLETED` backup no rule keeps (`no-rule-matched`).
    NoRuleMatched,
    /// Deleted: `FAILED`, and the policy says `prune_failed` (`failed`).
    Failed,
    /// Kept: `FAILED`, but the policy does not say `prune_failed` (`failed-kept`).
    FailedKept,
    /// Deleted: `IN_PROGRESS` for longer than `stale_after`, and the policy says
    /// `prune_stale` (`stale-in-progress`).
    StaleInProgress,
    /// Kept: `IN_PROGRESS`, either fresh or without `prune_stale` (`in-progress`).
    InProgress,
    /// Deleted: a delete was started (`DELETING`); it is finished (`deleting`).
    Deleting,
    /// Kept: no `status.json` (`DOES_NOT_EXIST`); never deleted by retention (`no-status`).
    NoStatus,
}

impl Reason {
    /// The stable name, e.g. `keep-daily`, `newest-completed`, `stale-in-progress`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::KeepLast => "keep-last",
            Reason::KeepHourly => "keep-hourly",
            Reason::KeepDaily => "keep-daily",
            Reason::KeepWeekly => "keep-weekly",
            Reason::KeepMonthly => "keep-monthly",
            Reason::KeepYearly => "keep-yearly",
            Reason::KeepWithin => "keep-within",
            Reason::NewestCompleted => "newest-completed",
            Reason::EmptyPolicy => "empty-policy",
            Reason::NoRuleMatched => "no-rule-matched",
            Reason::Failed => "failed",
            Reason::FailedKept => "failed-kept",
            Reason::StaleInProgress => "stale-in-progress",
            Reason::InProgress => "in-progress",
            Reason::Deleting => "deleting",
            Reason::NoStatus => "no-status",
        }
    }
}

impl From<Rule> for Reason {
    fn from(rule: Rule) -> Self {
        match rule {
            Rule::Last => Reason::KeepLast,
            Rule::Hourly => Reason::KeepHourly,
            Rule::Daily => Reason::KeepDaily,
            Rule::Weekly => Reason::KeepWeekly,
            Rule::Monthly => Reason::KeepMonthly,
            Rule::Yearly => Reason::KeepYearly,
            Rule::Within => Reason::KeepWithin,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The decision for one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEntry {
    /// Which backup.
    pub id: BackupId,
    /// Its status when planned.
    pub status: StatusCode,
    /// Its `createdAt`, as given.
    pub created_at: OffsetDateTime,
    /// Keep or delete.
    pub action: Action,
    /// The deciding reason: for a kept `COMPLETED` backup, the first rule of
    /// [`matched`](Self::matched) in the order last, hourly, daily, weekly, monthly, yearly,
    /// within.
    pub reason: Reason,
    /// Every rule that kept the backup, in that order; empty when no rule did (including
    /// every backup that is not `COMPLETED`).
    pub matched: Vec<Rule>,
}

/// The outcome of [`plan`]: one entry per candidate, sorted by (partition, node, checkpoint).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Every candidate with its decision.
    pub entries: Vec<PlanEntry>,
}

impl Plan {
    /// The entries planned for delete, in plan order.
    pub fn to_delete(&self) -> impl Iterator<Item = &PlanEntry> + '_ {
        self.entries.iter().filter(|e| e.action == Action::Delete)
    }

    /// The entries kept, in plan order.
    pub fn to_keep(&self) -> impl Iterator<Item = &PlanEntry> + '_ {
        self.entries.iter().filter(|e| e.action == Action::Keep)
    }
}

/// Plans retention for `candidates` under `policy` (see the [module docs](self)).
///
/// `now` is only used for the stale threshold of `IN_PROGRESS` backups and to ignore
/// future-dated backups as the `keep_within` reference; the keep rules themselves never
/// depend on it. Every candidate gets exactly one entry; the result is sorted by
/// (partition, node, checkpoint) and is deterministic for a given input.
pub fn plan(policy: &RetentionPolicy, candidates: &[Candidate], now: OffsetDateTime) -> Plan {
    let mut groups: BTreeMap<(u32, u32), Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        groups
            .entry((c.id.partition, c.id.node))
            .or_default()
            .push(c);
    }

    let mut entries = Vec::with_capacity(candidates.len());
    for group in groups.values() {
        plan_group(policy, group, now, &mut entries);
    }
    entries.sort_by_key(|e| (e.id.partition, e.id.node, e.id.checkpoint));
    Plan { entries }
}

/// Plans one (partition, node) group, appending an entry per backup to `out`.
fn plan_group(
    policy: &RetentionPolicy,
    group: &[&Candidate],
    now: OffsetDateTime,
    out: &mut Vec<PlanEntry>,
) {
    let entry = |c: &Candidate, action, reason, matched| PlanEntry {
        id: c.id,
        status: c.status,
        created_at: c.created_at,
        action,
        reason,
        matched,
    };

    // Everything that is not COMPLETED is decided by its status alone.
    let stale_cutoff = time::Duration::try_from(policy.stale_after)
        .ok()
        .and_then(|d| now.checked_sub(d));
    let mut completed: Vec<&Candidate> = Vec::new();
    for &c in group {
        let (action, reason) = match c.status {
            StatusCode::Completed => {
                completed.push(c);
                continue;
            }
            StatusCode::Failed if policy.prune_failed => (Action::Delete, Reason::Failed),
            StatusCode::Failed => (Action::Keep, Reason::FailedKept),
            StatusCode::InProgress => {
                // Stale = created strictly more than `stale_after` before `now`. With a
                // threshold beyond the representable range nothing is stale.
                let stale = stale_cutoff.is_some_and(|cut| c.created_at < cut);
                if policy.prune_stale && stale {
                    (Action::Delete, Reason::StaleInProgress)
                } else {
                    (Action::Keep, Reason::InProgress)
                }
            }
            StatusCode::Deleting => (Action::Delete, Reason::Deleting),
            StatusCode::DoesNotExist => (Action::Keep, Reason::NoStatus),
        };
        out.push(entry(c, action, reason, Vec::new()));
    }

    // Newest first; equal timestamps: the higher checkpoint is newer.
    completed.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id.checkpoint)));

    if policy.is_empty() {
        for c in completed {
            out.push(entry(c, Action::Keep, Reason::EmptyPolicy, Vec::new()));
        }
        return;
    }

    let mut matched: Vec<Vec<Rule>> = vec![Vec::new(); completed.len()];
    let last_index = completed.len().saturating_sub(1);

    // Counted rules: keep when the bucket changes (or, with slots left, at the oldest).
    for (rule, count) in policy.counted_rules() {
        let mut left = count;
        let mut last_bucket: Option<Bucket> = None;
        for (nr, c) in completed.iter().enumerate() {
            if left == 0 {
                break;
            }
            let b = bucket(rule, c.created_at, nr);
            if last_bucket != Some(b) || nr == last_index {
                matched[nr].push(rule);
                last_bucket = Some(b);
                left -= 1;
            }
        }
    }

    // keep_within, from the newest backup that is not in the future (restic's rule).
    if let Some(within) = policy.within() {
        let reference = completed.iter().map(|c| c.created_at).find(|t| *t <= now);
        // No usable reference or a cutoff out of range: everything is within.
        let cutoff = reference.and_then(|newest| {
            time::Duration::try_from(within)
                .ok()
                .and_then(|d| newest.checked_sub(d))
        });
        for (nr, c) in completed.iter().enumerate() {
            if cutoff.is_none_or(|cut| c.created_at >= cut) {
                matched[nr].push(Rule::Within);
            }
        }
    }

    for (nr, (c, rules)) in completed.into_iter().zip(matched).enumerate() {
        let (action, reason) = match rules.first() {
            Some(&rule) => (Action::Keep, Reason::from(rule)),
            // Unreachable with a non-empty policy (any set rule keeps the newest), kept as
            // the last line of defence of the "newest COMPLETED is never deleted" rule.
            None if nr == 0 => (Action::Keep, Reason::NewestCompleted),
            None => (Action::Delete, Reason::NoRuleMatched),
        };
        out.push(entry(c, action, reason, rules));
    }
}

/// A bucket of a counted rule; equal buckets = same period.
type Bucket = (i64, u32, u32);

/// The bucket of a backup created at `t` (at position `nr`, newest first) for `rule`, in UTC.
fn bucket(rule: Rule, t: OffsetDateTime, nr: usize) -> Bucket {
    let t = t.to_offset(UtcOffset::UTC);
    let year = i64::from(t.year());
    match rule {
        // Every backup is its own bucket.
        Rule::Last | Rule::Within => (nr as i64, 0, 0),
        Rule::Hourly => (year, u32::from(t.ordinal()), u32::from(t.hour())),
        Rule::Daily => (year, u32::from(t.ordinal()), 0),
        Rule::Weekly => {
            let (iso_year, week, _) = t.to_iso_week_date();
            (i64::from(iso_year), u32::from(week), 0)
        }
        Rule::Monthly => (year, u32::from(u8::from(t.month())), 0),
        Rule::Yearly => (year, 0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn now() -> OffsetDateTime {
        datetime!(2030-01-01 00:00 UTC)
    }

    /// A COMPLETED backup in group (0, 0); the checkpoint is the Unix time in ms.
    fn done(t: OffsetDateTime) -> Candidate {
        at(0, 0, StatusCode::Completed, t)
    }

    fn at(partition: u32, node: u32, status: StatusCode, t: OffsetDateTime) -> Candidate {
        let ms = (t.unix_timestamp_nanos() / 1_000_000) as u64;
        Candidate {
            id: BackupId::new(partition, ms, node),
            status,
            created_at: t,
        }
    }

    /// The created_at of every kept entry, newest first.
    fn kept(plan: &Plan) -> Vec<OffsetDateTime> {
        let mut v: Vec<_> = plan.to_keep().map(|e| e.created_at).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }

    fn entry_at(plan: &Plan, t: OffsetDateTime) -> &PlanEntry {
        plan.entries.iter().find(|e| e.created_at == t).unwrap()
    }

    /// One backup per `step`, `n` of them, the first at `start`.
    fn series(start: OffsetDateTime, step: Duration, n: usize) -> Vec<Candidate> {
        (0..n).map(|i| done(start + step * i as u32)).collect()
    }

    #[test]
    fn keep_last_keeps_the_n_newest() {
        let c = series(datetime!(2024-03-01 00:00 UTC), HOUR, 5);
        let p = RetentionPolicy {
            keep_last: Some(2),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(
            kept(&plan),
            vec![
                datetime!(2024-03-01 04:00 UTC),
                datetime!(2024-03-01 03:00 UTC)
            ]
        );
        assert!(plan
            .to_keep()
            .all(|e| e.reason == Reason::KeepLast && e.matched == [Rule::Last]));
        assert!(plan
            .to_delete()
            .all(|e| e.reason == Reason::NoRuleMatched && e.matched.is_empty()));
        assert_eq!(plan.to_delete().count(), 3);
    }

    #[test]
    fn keep_last_larger_than_the_group_keeps_all() {
        let c = series(datetime!(2024-03-01 00:00 UTC), HOUR, 3);
        let p = RetentionPolicy {
            keep_last: Some(10),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(plan.to_keep().count(), 3);
        assert!(plan.to_keep().all(|e| e.reason == Reason::KeepLast));
    }

    #[test]
    fn keep_hourly_keeps_the_newest_of_each_hour() {
        // 10:00, 10:30, 10:59:59, 11:00, 11:45, 12:15
        let times = [
            datetime!(2024-03-01 10:00 UTC),
            datetime!(2024-03-01 10:30 UTC),
            datetime!(2024-03-01 10:59:59 UTC),
            datetime!(2024-03-01 11:00 UTC),
            datetime!(2024-03-01 11:45 UTC),
            datetime!(2024-03-01 12:15 UTC),
        ];
        let c: Vec<_> = times.iter().map(|&t| done(t)).collect();
        let p = RetentionPolicy {
            keep_hourly: Some(2),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(kept(&plan), vec![times[5], times[4]]);
        // Three hours: the 10:59:59 one is the newest of hour 10, kept with 3 slots.
        let p = RetentionPolicy {
            keep_hourly: Some(3),
            ..Default::default()
        };
        let plan = super::plan(&p, &c, now());
        assert_eq!(kept(&plan), vec![times[5], times[4], times[2]]);
        assert!(plan.to_keep().all(|e| e.reason == Reason::KeepHourly));
    }

    #[test]
    fn keep_daily_keeps_the_newest_of_each_day() {
        // Every 8 hours for 4 days: 00, 08, 16 of 03-01..03-04.
        let c = series(datetime!(2024-03-01 00:00 UTC), 8 * HOUR, 12);
        let p = RetentionPolicy {
            keep_daily: Some(3),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(
            kept(&plan),
            vec![
                datetime!(2024-03-04 16:00 UTC),
                datetime!(2024-03-03 16:00 UTC),
                datetime!(2024-03-02 16:00 UTC),
            ]
        );
        assert!(plan.to_keep().all(|e| e.reason == Reason::KeepDaily));
    }

    #[test]
    fn day_boundary_is_midnight_utc() {
        let c = [
            done(datetime!(2024-03-01 12:00 UTC)),
            done(datetime!(2024-03-01 23:59:59 UTC)),
            done(datetime!(2024-03-02 00:00 UTC)),
        ];
        let p = RetentionPolicy {
            keep_daily: Some(2),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(
            kept(&plan),
            vec![
                datetime!(2024-03-02 00:00 UTC),
                datetime!(2024-03-01 23:59:59 UTC)
            ]
        );
    }

    #[test]
    fn buckets_are_computed_in_utc() {
        // 2021-01-01 01:00 at +02:00 is 2020-12-31 23:00 UTC: year 2020, ISO 2020-W53.
        let t = datetime!(2021-01-01 01:00 +02:00);
        assert_eq!(bucket(Rule::Yearly, t, 0), (2020, 0, 0));
        assert_eq!(bucket(Rule::Monthly, t, 0), (2020, 12, 0));
        assert_eq!(bucket(Rule::Daily, t, 0), (2020, 366, 0));
        assert_eq!(bucket(Rule::Hourly, t, 0), (2020, 366, 23));
        assert_eq!(bucket(Rule::Weekly, t, 0), (2020, 53, 0));

        let c = [
            done(datetime!(2020-06-01 00:00 UTC)),
            done(t),
            done(datetime!(2021-01-01 00:30 UTC)),
        ];
        let p = RetentionPolicy {
            keep_yearly: Some(2),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(kept(&plan), vec![datetime!(2021-01-01 00:30 UTC), t]);
    }

    #[test]
    fn iso_week_boundaries() {
        // 2020-12-31 (Thu) and 2021-01-03 (Sun) are 2020-W53; 2021-01-04 (Mon) is 2021-W01.
        let thu = datetime!(2020-12-31 12:00 UTC);
        let sun = datetime!(2021-01-03 23:59 UTC);
        let mon = datetime!(2021-01-04 00:00 UTC);
        assert_eq!(bucket(Rule::Weekly, thu, 0), (2020, 53, 0));
        assert_eq!(bucket(Rule::Weekly, sun, 0), (2020, 53, 0));
        assert_eq!(bucket(Rule::Weekly, mon, 0), (2021, 1, 0));
        // 2019-12-30 (Mon) already belongs to 2020-W01.
        assert_eq!(
            bucket(Rule::Weekly, datetime!(2019-12-30 00:00 UTC), 0),
            (2020, 1, 0)
        );

        let c = [done(thu), done(sun), done(mon)];
        let p = RetentionPolicy {
            keep_weekly: Some(2),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        // W01 -> mon, W53 -> sun (its newest); thu shares W53 and no slot is left.
        assert_eq!(kept(&plan), vec![mon, sun]);
        assert_eq!(entry_at(&plan, thu).reason, Reason::NoRuleMatched);
    }

    #[test]
    fn month_boundaries() {
        let mid = datetime!(2024-01-15 12:00 UTC);
        let end = datetime!(2024-01-31 23:59 UTC);
        let first = datetime!(2024-02-01 00:00 UTC);
        let c = [done(mid), done(end), done(first)];
        let p = RetentionPolicy {
            keep_monthly: Some(2),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(kept(&plan), vec![first, end]);
        assert_eq!(entry_at(&plan, mid).action, Action::Delete);
        assert!(plan.to_keep().all(|e| e.reason == Reason::KeepMonthly));
    }

    #[test]
    fn year_boundaries() {
        let mid = datetime!(2020-06-01 00:00 UTC);
        let end = datetime!(2020-12-31 23:59:59 UTC);
        let first = datetime!(2021-01-01 00:00 UTC);
        let c = [done(mid), done(end), done(first)];
        let p = RetentionPolicy {
            keep_yearly: Some(2),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(kept(&plan), vec![first, end]);
        assert_eq!(entry_at(&plan, mid).action, Action::Delete);
        assert!(plan.to_keep().all(|e| e.reason == Reason::KeepYearly));
    }

    #[test]
    fn leftover_slots_keep_the_oldest_backup() {
        // Two backups a day (06:00, 18:00) over 3 days, keep_daily = 5: the newest of each
        // day uses 3 slots; 2 are left when the walk reaches the oldest (03-01 06:00), which
        // shares its day with an already kept backup, so it is kept by the leftover rule.
        let c = series(datetime!(2024-03-01 06:00 UTC), 12 * HOUR, 6);
        let p = RetentionPolicy {
            keep_daily: Some(5),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(
            kept(&plan),
            vec![
                datetime!(2024-03-03 18:00 UTC),
                datetime!(2024-03-02 18:00 UTC),
                datetime!(2024-03-01 18:00 UTC),
                datetime!(2024-03-01 06:00 UTC),
            ]
        );
        assert_eq!(
            entry_at(&plan, datetime!(2024-03-01 06:00 UTC)).reason,
            Reason::KeepDaily
        );

        // With exactly 3 slots nothing is left over: the oldest goes.
        let p = RetentionPolicy {
            keep_daily: Some(3),
            ..Default::default()
        };
        let plan = super::plan(&p, &c, now());
        assert_eq!(plan.to_keep().count(), 3);
        assert_eq!(
            entry_at(&plan, datetime!(2024-03-01 06:00 UTC)).action,
            Action::Delete
        );
    }

    #[test]
    fn keep_within_is_measured_from_the_newest_backup_not_now() {
        // Every 12 h over 10 days, all about a year before `now`.
        let c = series(datetime!(2028-12-01 00:00 UTC), 12 * HOUR, 20);
        let newest = datetime!(2028-12-10 12:00 UTC);
        let p = RetentionPolicy {
            keep_within: Some(2 * DAY),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        // newest - 2 days = 12-08 12:00, inclusive.
        assert_eq!(
            kept(&plan),
            vec![
                newest,
                datetime!(2028-12-10 00:00 UTC),
                datetime!(2028-12-09 12:00 UTC),
                datetime!(2028-12-09 00:00 UTC),
                datetime!(2028-12-08 12:00 UTC),
            ]
        );
        assert!(plan
            .to_keep()
            .all(|e| e.reason == Reason::KeepWithin && e.matched == [Rule::Within]));
        assert_eq!(plan.to_delete().count(), 15);
    }

    #[test]
    fn keep_within_ignores_future_backups_as_reference() {
        // A backup dated after `now` (clock skew) does not shift the window.
        let now = datetime!(2024-03-10 00:00 UTC);
        let c = [
            done(datetime!(2024-03-01 00:00 UTC)),
            done(datetime!(2024-03-08 00:00 UTC)),
            done(datetime!(2024-03-09 00:00 UTC)),
            done(datetime!(2024-06-01 00:00 UTC)),
        ];
        let p = RetentionPolicy {
            keep_within: Some(DAY),
            ..Default::default()
        };
        let plan = plan(&p, &c, now);
        assert_eq!(
            kept(&plan),
            vec![
                datetime!(2024-06-01 00:00 UTC),
                datetime!(2024-03-09 00:00 UTC),
                datetime!(2024-03-08 00:00 UTC),
            ]
        );
    }

    #[test]
    fn rules_combine_as_a_union_with_ordered_reasons() {
        // Daily at 12:00 from 2024-01-01 to 2024-03-31 (91 backups).
        let c = series(datetime!(2024-01-01 12:00 UTC), DAY, 91);
        let p = RetentionPolicy {
            keep_last: Some(2),
            keep_daily: Some(3),
            keep_monthly: Some(3),
            keep_within: Some(4 * DAY),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        let d = |t| entry_at(&plan, t).clone();
        // last: 03-31, 03-30; daily: 03-31, 03-30, 03-29; within 4 d: 03-27..03-31;
        // monthly: 03-31, 02-29, 01-31.
        assert_eq!(
            kept(&plan),
            vec![
                datetime!(2024-03-31 12:00 UTC),
                datetime!(2024-03-30 12:00 UTC),
                datetime!(2024-03-29 12:00 UTC),
                datetime!(2024-03-28 12:00 UTC),
                datetime!(2024-03-27 12:00 UTC),
                datetime!(2024-02-29 12:00 UTC),
                datetime!(2024-01-31 12:00 UTC),
            ]
        );
        let newest = d(datetime!(2024-03-31 12:00 UTC));
        assert_eq!(newest.reason, Reason::KeepLast);
        assert_eq!(
            newest.matched,
            [Rule::Last, Rule::Daily, Rule::Monthly, Rule::Within]
        );
        let e = d(datetime!(2024-03-29 12:00 UTC));
        assert_eq!(
            (e.reason, e.matched),
            (Reason::KeepDaily, vec![Rule::Daily, Rule::Within])
        );
        let e = d(datetime!(2024-03-28 12:00 UTC));
        assert_eq!(
            (e.reason, e.matched),
            (Reason::KeepWithin, vec![Rule::Within])
        );
        let e = d(datetime!(2024-02-29 12:00 UTC));
        assert_eq!(
            (e.reason, e.matched),
            (Reason::KeepMonthly, vec![Rule::Monthly])
        );
        assert_eq!(plan.to_delete().count(), 91 - 7);
    }

    #[test]
    fn equal_timestamps_break_ties_by_checkpoint() {
        let t = datetime!(2024-03-01 12:00 UTC);
        let mk = |cp| Candidate {
            id: BackupId::new(0, cp, 0),
            status: StatusCode::Completed,
            created_at: t,
        };
        let c = [mk(7), mk(9), mk(8)];
        for p in [
            RetentionPolicy {
                keep_last: Some(1),
                ..Default::default()
            },
            RetentionPolicy {
                keep_daily: Some(1),
                ..Default::default()
            },
        ] {
            let plan = plan(&p, &c, now());
            let keep: Vec<u64> = plan.to_keep().map(|e| e.id.checkpoint).collect();
            assert_eq!(keep, [9], "{p:?}");
        }
        // Two slots: the higher two checkpoints.
        let p = RetentionPolicy {
            keep_last: Some(2),
            ..Default::default()
        };
        let keep: Vec<u64> = plan(&p, &c, now())
            .to_keep()
            .map(|e| e.id.checkpoint)
            .collect();
        assert_eq!(keep, [8, 9]);
    }

    #[test]
    fn empty_policy_keeps_every_completed_backup() {
        let c = series(datetime!(2020-01-01 00:00 UTC), DAY, 30);
        for p in [
            RetentionPolicy::default(),
            // Zero counts are unset, as in restic.
            RetentionPolicy {
                keep_daily: Some(0),
                keep_within: Some(Duration::ZERO),
                ..Default::default()
            },
        ] {
            assert!(p.is_empty());
            let plan = plan(&p, &c, now());
            assert_eq!(plan.to_delete().count(), 0);
            assert!(plan.entries.iter().all(|e| e.reason == Reason::EmptyPolicy));
        }
        assert!(!RetentionPolicy {
            keep_within: Some(HOUR),
            ..Default::default()
        }
        .is_empty());
        assert!(!RetentionPolicy {
            keep_yearly: Some(1),
            ..Default::default()
        }
        .is_empty());
    }

    #[test]
    fn newest_completed_survives_a_policy_without_keep_rules() {
        // Only prune_failed: failed backups go, every COMPLETED one (the newest included) stays.
        let c = [
            done(datetime!(2024-03-01 00:00 UTC)),
            done(datetime!(2024-03-02 00:00 UTC)),
            at(0, 0, StatusCode::Failed, datetime!(2024-03-03 00:00 UTC)),
        ];
        let p = RetentionPolicy {
            prune_failed: true,
            ..Default::default()
        };
        assert!(p.is_empty());
        let plan = plan(&p, &c, now());
        let del: Vec<_> = plan.to_delete().map(|e| (e.status, e.reason)).collect();
        assert_eq!(del, [(StatusCode::Failed, Reason::Failed)]);
        let newest = entry_at(&plan, datetime!(2024-03-02 00:00 UTC));
        assert_eq!(newest.action, Action::Keep);
    }

    #[test]
    fn newest_completed_is_kept_by_every_policy() {
        // Irregular times across year/month/week boundaries, plus non-COMPLETED noise that is
        // newer than every COMPLETED backup.
        let mut c: Vec<Candidate> = (0..60u32)
            .map(|i| {
                done(
                    datetime!(2019-11-03 07:00 UTC)
                        + Duration::from_secs(u64::from(i * i) * 3 * 3600 + 61),
                )
            })
            .collect();
        let newest = c.iter().map(|c| c.created_at).max().unwrap();
        c.push(at(0, 0, StatusCode::Failed, newest + HOUR));
        c.push(at(0, 0, StatusCode::Deleting, newest + 2 * HOUR));
        for mask in 0u32..128 {
            for n in [1, 2, 5] {
                let set = |bit: u32| (mask & (1 << bit) != 0).then_some(n);
                let p = RetentionPolicy {
                    keep_last: set(0),
                    keep_hourly: set(1),
                    keep_daily: set(2),
                    keep_weekly: set(3),
                    keep_monthly: set(4),
                    keep_yearly: set(5),
                    keep_within: (mask & 64 != 0).then_some(Duration::from_secs(u64::from(n))),
                    prune_failed: true,
                    prune_stale: true,
                    ..Default::default()
                };
                let plan = plan(&p, &c, now());
                let e = entry_at(&plan, newest);
                assert_eq!(e.action, Action::Keep, "{p:?}");
                if !p.is_empty() {
                    assert!(!e.matched.is_empty(), "{p:?}");
                }
                assert_eq!(plan.entries.len(), c.len());
            }
        }
    }

    #[test]
    fn failed_backups_are_deleted_only_with_prune_failed() {
        let c = [
            done(datetime!(2024-03-02 00:00 UTC)),
            at(0, 0, StatusCode::Failed, datetime!(2024-03-01 00:00 UTC)),
        ];
        let p = RetentionPolicy {
            keep_last: Some(5),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        let f = &plan.entries[0];
        assert_eq!(
            (f.status, f.action, f.reason),
            (StatusCode::Failed, Action::Keep, Reason::FailedKept)
        );

        let p = RetentionPolicy {
            keep_last: Some(5),
            prune_failed: true,
            ..Default::default()
        };
        let plan = super::plan(&p, &c, now());
        let f = &plan.entries[0];
        assert_eq!((f.action, f.reason), (Action::Delete, Reason::Failed));
        // FAILED backups do not use keep_last slots nor count as the newest.
        assert_eq!(plan.entries[1].reason, Reason::KeepLast);
    }

    #[test]
    fn in_progress_is_deleted_only_when_stale_and_prune_stale() {
        let now = datetime!(2024-03-10 12:00 UTC);
        let stale = at(0, 0, StatusCode::InProgress, now - 25 * HOUR);
        let fresh = at(0, 0, StatusCode::InProgress, now - 23 * HOUR);
        let exactly = at(0, 0, StatusCode::InProgress, now - 24 * HOUR);
        let c = [stale, fresh, exactly, done(now - 48 * HOUR)];
        let get = |plan: &Plan, c: &Candidate| {
            let e = plan.entries.iter().find(|e| e.id == c.id).unwrap();
            (e.action, e.reason)
        };

        let p = RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        };
        let plan = plan(&p, &c, now);
        for x in [&stale, &fresh, &exactly] {
            assert_eq!(get(&plan, x), (Action::Keep, Reason::InProgress));
        }

        let p = RetentionPolicy {
            keep_last: Some(1),
            prune_stale: true,
            ..Default::default()
        };
        let plan = super::plan(&p, &c, now);
        assert_eq!(
            get(&plan, &stale),
            (Action::Delete, Reason::StaleInProgress)
        );
        assert_eq!(get(&plan, &fresh), (Action::Keep, Reason::InProgress));
        assert_eq!(get(&plan, &exactly), (Action::Keep, Reason::InProgress));

        // A custom threshold; an unrepresentable one makes nothing stale.
        let p = RetentionPolicy {
            prune_stale: true,
            stale_after: 22 * HOUR,
            ..Default::default()
        };
        let plan = super::plan(&p, &c, now);
        assert_eq!(
            get(&plan, &fresh),
            (Action::Delete, Reason::StaleInProgress)
        );
        let p = RetentionPolicy {
            prune_stale: true,
            stale_after: Duration::MAX,
            ..Default::default()
        };
        let plan = super::plan(&p, &c, now);
        assert_eq!(plan.to_delete().count(), 0);
    }

    #[test]
    fn deleting_is_always_planned_for_delete_and_no_status_never() {
        let c = [
            done(datetime!(2024-03-01 00:00 UTC)),
            at(0, 0, StatusCode::Deleting, datetime!(2024-03-02 00:00 UTC)),
            at(
                0,
                0,
                StatusCode::DoesNotExist,
                datetime!(2020-01-01 00:00 UTC),
            ),
        ];
        for p in [
            RetentionPolicy::default(),
            RetentionPolicy {
                keep_last: Some(100),
                prune_failed: true,
                prune_stale: true,
                ..Default::default()
            },
        ] {
            let plan = plan(&p, &c, now());
            let del: Vec<_> = plan.to_delete().map(|e| (e.status, e.reason)).collect();
            assert_eq!(del, [(StatusCode::Deleting, Reason::Deleting)]);
            assert_eq!(plan.entries[0].reason, Reason::NoStatus);
        }
    }

    #[test]
    fn groups_are_planned_independently_and_output_is_sorted() {
        let t = datetime!(2024-03-01 00:00 UTC);
        let mut c = Vec::new();
        // Group (1, 0) has old backups only, group (0, 1) new ones, group (0, 0) in between.
        for (p, n, base) in [(1, 0, t - 100 * DAY), (0, 1, t + 10 * DAY), (0, 0, t)] {
            for i in 0..3u32 {
                c.push(at(p, n, StatusCode::Completed, base + HOUR * i));
            }
        }
        let p = RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        let keys: Vec<_> = plan
            .entries
            .iter()
            .map(|e| (e.id.partition, e.id.node, e.id.checkpoint))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let keep: Vec<_> = plan
            .to_keep()
            .map(|e| (e.id.partition, e.id.node, e.created_at))
            .collect();
        assert_eq!(
            keep,
            [
                (0, 0, t + 2 * HOUR),
                (0, 1, t + 10 * DAY + 2 * HOUR),
                (1, 0, t - 100 * DAY + 2 * HOUR)
            ]
        );
        // keep_within from each group's own newest.
        let p = RetentionPolicy {
            keep_within: Some(HOUR),
            ..Default::default()
        };
        let plan = super::plan(&p, &c, now());
        assert_eq!(plan.to_keep().count(), 6);
    }

    #[test]
    fn daily_and_weekly_over_forty_backups() {
        // 40 backups, one every 6 hours, from Wed 2024-01-03 06:00 UTC to
        // Sat 2024-01-13 00:00 UTC (06:00 + 39 * 6 h = +9 d 18 h).
        // ISO weeks: 2024-W01 = Mon 01-01 .. Sun 01-07, 2024-W02 = Mon 01-08 .. Sun 01-14.
        //
        // Walk newest first with keep_daily = 3:
        //   01-13 00:00  day 01-13 (new)   -> keep (daily 1/3)
        //   01-12 18:00  day 01-12 (new)   -> keep (daily 2/3)
        //   01-12 12:00, 06:00, 00:00      -> same day, not kept
        //   01-11 18:00  day 01-11 (new)   -> keep (daily 3/3, rule full)
        // keep_weekly = 2:
        //   01-13 00:00  2024-W02 (new)    -> keep (weekly 1/2)
        //   01-12 18:00 .. 01-08 00:00     -> same week
        //   01-07 18:00  2024-W01 (new)    -> keep (weekly 2/2, rule full)
        // No slots are left, so the oldest (01-03 06:00) is not kept.
        // Kept: 01-13 00:00 (daily+weekly), 01-12 18:00, 01-11 18:00 (daily),
        //       01-07 18:00 (weekly); the other 36 are deleted.
        let c = series(datetime!(2024-01-03 06:00 UTC), 6 * HOUR, 40);
        assert_eq!(
            c.last().unwrap().created_at,
            datetime!(2024-01-13 00:00 UTC)
        );
        let p = RetentionPolicy {
            keep_daily: Some(3),
            keep_weekly: Some(2),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        assert_eq!(
            kept(&plan),
            vec![
                datetime!(2024-01-13 00:00 UTC),
                datetime!(2024-01-12 18:00 UTC),
                datetime!(2024-01-11 18:00 UTC),
                datetime!(2024-01-07 18:00 UTC),
            ]
        );
        assert_eq!(plan.to_delete().count(), 36);
        assert!(plan.to_delete().all(|e| e.reason == Reason::NoRuleMatched));
        let e = entry_at(&plan, datetime!(2024-01-13 00:00 UTC));
        assert_eq!(
            (e.reason, e.matched.clone()),
            (Reason::KeepDaily, vec![Rule::Daily, Rule::Weekly])
        );
        assert_eq!(
            entry_at(&plan, datetime!(2024-01-07 18:00 UTC)).reason,
            Reason::KeepWeekly
        );

        // keep_weekly = 3 with only 2 weeks: the leftover slot keeps the oldest backup.
        let p = RetentionPolicy {
            keep_daily: Some(3),
            keep_weekly: Some(3),
            ..Default::default()
        };
        let plan = super::plan(&p, &c, now());
        assert_eq!(plan.to_keep().count(), 5);
        assert_eq!(
            entry_at(&plan, datetime!(2024-01-03 06:00 UTC)).reason,
            Reason::KeepWeekly
        );
    }

    #[test]
    fn module_doc_example() {
        let c = [
            done(datetime!(2024-01-10 18:00 UTC)),
            done(datetime!(2024-01-10 06:00 UTC)),
            done(datetime!(2024-01-09 18:00 UTC)),
            done(datetime!(2024-01-02 12:00 UTC)),
            done(datetime!(2023-12-20 12:00 UTC)),
        ];
        let p = RetentionPolicy {
            keep_daily: Some(2),
            keep_weekly: Some(2),
            ..Default::default()
        };
        let plan = plan(&p, &c, now());
        let got: Vec<_> = plan
            .entries
            .iter()
            .rev()
            .map(|e| (e.action, e.reason))
            .collect();
        assert_eq!(
            got,
            [
                (Action::Keep, Reason::KeepDaily),
                (Action::Delete, Reason::NoRuleMatched),
                (Action::Keep, Reason::KeepDaily),
                (Action::Keep, Reason::KeepWeekly),
                (Action::Delete, Reason::NoRuleMatched),
            ]
        );
    }

    #[test]
    fn reason_names_are_stable() {
        assert_eq!(Reason::KeepLast.to_string(), "keep-last");
        assert_eq!(Reason::NewestCompleted.as_str(), "newest-completed");
        assert_eq!(Reason::EmptyPolicy.as_str(), "empty-policy");
        assert_eq!(Reason::NoRuleMatched.as_str(), "no-rule-matched");
        assert_eq!(Reason::FailedKept.as_str(), "failed-kept");
        assert_eq!(Reason::StaleInProgress.as_str(), "stale-in-progress");
        assert_eq!(Rule::Within.to_string(), "keep-within");
        assert_eq!(Action::Delete.to_string(), "delete");
        assert_eq!(RetentionPolicy::default().stale_after, 24 * HOUR);
    }

    #[test]
    fn empty_input_gives_an_empty_plan() {
        let p = RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        };
        assert!(plan(&p, &[], now()).entries.is_empty());
    }
}

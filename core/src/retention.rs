//! Retention planning for `prune` (§4 `prune`, §7): which backups to keep, which to
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
//! - a backup without a status (`DOES_NOT_EXIST`) is never deleted, nor one whose status
//!   cannot be read (`CORRUPT`: its state is unknown; a forced delete removes it).
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

use crate::error::Error;
use crate::id::BackupId;
use crate::options::values::{parse_bool, parse_count};
use crate::options::{parse_duration, ValueKind};
use crate::status::StatusCode;

/// The default [`RetentionPolicy::stale_after`]: 24 hours.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// What to keep (§7). Counts are numbers of backups (one per bucket for the periodic
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
    /// Age (since `createdAt`) after which an `IN_PROGRESS` backup counts as stale. `None`:
    /// the store's `stale_after` option ([`BackupStore::prune`](crate::BackupStore::prune)),
    /// [`DEFAULT_STALE_AFTER`] (24 h) for the planner alone.
    pub stale_after: Option<Duration>,
}

impl Default for RetentionPolicy {
    /// No keep rule, nothing pruned, `stale_after` from the store.
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
            stale_after: None,
        }
    }
}

/// The value of one setting of a [`RetentionPolicy`] ([`RetentionPolicy::get`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// A `keep_*` count; `None`: not set.
    Count(Option<u32>),
    /// `keep_within` or `stale_after`; `None`: not set.
    Duration(Option<Duration>),
    /// `prune_failed` or `prune_stale`.
    Flag(bool),
}

impl Setting {
    /// How a face writes a value of this setting for [`RetentionPolicy::set`].
    pub fn kind(self) -> ValueKind {
        match self {
            Setting::Count(_) => ValueKind::Count,
            Setting::Duration(_) => ValueKind::Duration,
            Setting::Flag(_) => ValueKind::Bool,
        }
    }
}

/// The settings of a policy as the faces name them (§10): the Python keyword arguments and
/// the CLI flags (snake_case, as below), the JS fields (camelCase). A face passes each value
/// as text to [`RetentionPolicy::set`] and reads it back with [`RetentionPolicy::get`].
impl RetentionPolicy {
    /// Every setting: (snake_case, camelCase) names, in the order of the fields.
    pub const SETTINGS: [(&'static str, &'static str); 10] = [
        ("keep_last", "keepLast"),
        ("keep_hourly", "keepHourly"),
        ("keep_daily", "keepDaily"),
        ("keep_weekly", "keepWeekly"),
        ("keep_monthly", "keepMonthly"),
        ("keep_yearly", "keepYearly"),
        ("keep_within", "keepWithin"),
        ("prune_failed", "pruneFailed"),
        ("prune_stale", "pruneStale"),
        ("stale_after", "staleAfter"),
    ];

    /// Sets `name` (either spelling) from its text: a count (`3`), `true`/`false`, or a
    /// duration in the options' grammar (`90s`, `7d`, `1h30m`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the setting: an unknown name, or a value outside its
    /// grammar (a count above 2^32 - 1, a bare number as a duration...).
    pub fn set(&mut self, name: &str, text: &str) -> crate::Result<()> {
        let name = Self::setting_name(name)
            .ok_or_else(|| Error::invalid_input(format!("unknown retention setting {name:?}")))?;
        let count = || parse_count(name, text, 0, u64::from(u32::MAX)).map(|n| Some(n as u32));
        let duration = || parse_duration(name, text).map(Some);
        match name {
            "keep_last" => self.keep_last = count()?,
            "keep_hourly" => self.keep_hourly = count()?,
            "keep_daily" => self.keep_daily = count()?,
            "keep_weekly" => self.keep_weekly = count()?,
            "keep_monthly" => self.keep_monthly = count()?,
            "keep_yearly" => self.keep_yearly = count()?,
            "keep_within" => self.keep_within = duration()?,
            "prune_failed" => self.prune_failed = parse_bool(name, text)?,
            "prune_stale" => self.prune_stale = parse_bool(name, text)?,
            _ => self.stale_after = duration()?,
        }
        Ok(())
    }

    /// The value of setting `name` (either spelling); `None` for an unknown name.
    pub fn get(&self, name: &str) -> Option<Setting> {
        Some(match Self::setting_name(name)? {
            "keep_last" => Setting::Count(self.keep_last),
            "keep_hourly" => Setting::Count(self.keep_hourly),
            "keep_daily" => Setting::Count(self.keep_daily),
            "keep_weekly" => Setting::Count(self.keep_weekly),
            "keep_monthly" => Setting::Count(self.keep_monthly),
            "keep_yearly" => Setting::Count(self.keep_yearly),
            "keep_within" => Setting::Duration(self.keep_within),
            "prune_failed" => Setting::Flag(self.prune_failed),
            "prune_stale" => Setting::Flag(self.prune_stale),
            _ => Setting::Duration(self.stale_after),
        })
    }

    /// The snake_case name of setting `name` given in either spelling.
    fn setting_name(name: &str) -> Option<&'static str> {
        Self::SETTINGS
            .into_iter()
            .find(|(snake, camel)| *snake == name || *camel == name)
            .map(|(snake, _)| snake)
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
    /// Delete it with the delete protocol (§4).
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
    /// Kept: its `status.json` is not a status document (`CORRUPT`), so its state is
    /// unknown; retention leaves it to a forced delete (`corrupt-status`).
    CorruptStatus,
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
            Reason::CorruptStatus => "corrupt-status",
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
        groups.entry((c.id.partition, c.id.node)).or_default().push(c);
    }

    let mut entries = Vec::with_capacity(candidates.len());
    for group in groups.values() {
        plan_group(policy, group, now, &mut entries);
    }
    entries.sort_by_key(|e| (e.id.partition, e.id.node, e.id.checkpoint));
    Plan { entries }
}

/// Plans one (partition, node) group, appending an entry per backup to `out`.
fn plan_group(policy: &RetentionPolicy, group: &[&Candidate], now: OffsetDateTime, out: &mut Vec<PlanEntry>) {
    let entry = |c: &Candidate, action, reason, matched| PlanEntry {
        id: c.id,
        status: c.status,
        created_at: c.created_at,
        action,
        reason,
        matched,
    };

    // Everything that is not COMPLETED is decided by its status alone.
    let stale_cutoff = time::Duration::try_from(policy.stale_after.unwrap_or(DEFAULT_STALE_AFTER))
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
            StatusCode::Corrupt => (Action::Keep, Reason::CorruptStatus),
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
#[path = "retention_tests.rs"]
mod tests;

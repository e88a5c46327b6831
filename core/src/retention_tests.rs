//! Unit tests of the retention planner (split out to keep retention.rs readable).

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
        vec![datetime!(2024-03-01 04:00 UTC), datetime!(2024-03-01 03:00 UTC)]
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
        vec![datetime!(2024-03-02 00:00 UTC), datetime!(2024-03-01 23:59:59 UTC)]
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
    assert_eq!(bucket(Rule::Weekly, datetime!(2019-12-30 00:00 UTC), 0), (2020, 1, 0));

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
    assert_eq!(entry_at(&plan, datetime!(2024-03-01 06:00 UTC)).action, Action::Delete);
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
    assert_eq!(newest.matched, [Rule::Last, Rule::Daily, Rule::Monthly, Rule::Within]);
    let e = d(datetime!(2024-03-29 12:00 UTC));
    assert_eq!(
        (e.reason, e.matched),
        (Reason::KeepDaily, vec![Rule::Daily, Rule::Within])
    );
    let e = d(datetime!(2024-03-28 12:00 UTC));
    assert_eq!((e.reason, e.matched), (Reason::KeepWithin, vec![Rule::Within]));
    let e = d(datetime!(2024-02-29 12:00 UTC));
    assert_eq!((e.reason, e.matched), (Reason::KeepMonthly, vec![Rule::Monthly]));
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
    let keep: Vec<u64> = plan(&p, &c, now()).to_keep().map(|e| e.id.checkpoint).collect();
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
        .map(|i| done(datetime!(2019-11-03 07:00 UTC) + Duration::from_secs(u64::from(i * i) * 3 * 3600 + 61)))
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
    assert_eq!(get(&plan, &stale), (Action::Delete, Reason::StaleInProgress));
    assert_eq!(get(&plan, &fresh), (Action::Keep, Reason::InProgress));
    assert_eq!(get(&plan, &exactly), (Action::Keep, Reason::InProgress));

    // A custom threshold; an unrepresentable one makes nothing stale.
    let p = RetentionPolicy {
        prune_stale: true,
        stale_after: Some(22 * HOUR),
        ..Default::default()
    };
    let plan = super::plan(&p, &c, now);
    assert_eq!(get(&plan, &fresh), (Action::Delete, Reason::StaleInProgress));
    let p = RetentionPolicy {
        prune_stale: true,
        stale_after: Some(Duration::MAX),
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
        at(0, 0, StatusCode::DoesNotExist, datetime!(2020-01-01 00:00 UTC)),
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
fn a_corrupt_status_is_kept_with_its_reason_whatever_the_policy() {
    let c = [
        done(datetime!(2024-03-01 00:00 UTC)),
        done(datetime!(2024-03-02 00:00 UTC)),
        at(0, 0, StatusCode::Corrupt, datetime!(2020-01-01 00:00 UTC)),
    ];
    let p = RetentionPolicy {
        keep_last: Some(1),
        prune_failed: true,
        prune_stale: true,
        stale_after: Some(Duration::ZERO),
        ..Default::default()
    };
    let plan = plan(&p, &c, now());
    let corrupt: Vec<_> = plan
        .entries
        .iter()
        .filter(|e| e.status == StatusCode::Corrupt)
        .map(|e| (e.action, e.reason.as_str()))
        .collect();
    assert_eq!(corrupt, [(Action::Keep, "corrupt-status")]);
    // The rest is planned as without it: the older COMPLETED backup goes.
    assert_eq!(plan.to_delete().count(), 1);
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
    assert_eq!(c.last().unwrap().created_at, datetime!(2024-01-13 00:00 UTC));
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
    let got: Vec<_> = plan.entries.iter().rev().map(|e| (e.action, e.reason)).collect();
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
    assert_eq!(RetentionPolicy::default().stale_after, None);
}

#[test]
fn empty_input_gives_an_empty_plan() {
    let p = RetentionPolicy {
        keep_last: Some(1),
        ..Default::default()
    };
    assert!(plan(&p, &[], now()).entries.is_empty());
}

#[test]
fn settings_parse_from_text_by_either_name_and_read_back() {
    let mut p = RetentionPolicy::default();
    for (name, text) in [("keep_daily", "7"), ("keepWithin", "2d"), ("prune_failed", "true")] {
        p.set(name, text).unwrap();
    }
    assert_eq!(
        (p.keep_daily, p.keep_within, p.prune_failed),
        (Some(7), Some(2 * DAY), true)
    );
    assert_eq!(p.get("keepDaily"), Some(Setting::Count(Some(7))));
    assert_eq!(p.get("stale_after").map(Setting::kind), Some(ValueKind::Duration));
    for (name, text) in [
        ("keep_last", "-1"),
        ("keep_within", "7"),
        ("prune_stale", "1"),
        ("colour", "1"),
    ] {
        let err = p.set(name, text).unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput(_)) && err.to_string().contains(name),
            "{err}"
        );
    }
    assert_eq!(p.get("colour"), None);
}

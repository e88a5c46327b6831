//! Unit tests of `lock.rs`: lock documents, timing, ages, the taker's next step, holders that are gone.

use super::*;
use time::macros::datetime;

#[test]
fn lock_documents_have_the_documented_shape() {
    let doc = LockDoc {
        kind: LockKind::Exclusive,
        operation: "prune".into(),
        backup_id: None,
        host: "db-1".into(),
        pid: 42,
        pid_namespace: None,
        created_at: Some(datetime!(2026-11-30 10:00:00 UTC)),
        writer: "s3keep/0.1.0".into(),
    };
    let json: serde_json::Value = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["kind"], "exclusive");
    assert_eq!(json["operation"], "prune");
    assert_eq!(json["createdAt"], "2026-11-30T10:00:00Z");
    assert!(json.get("backupId").is_none());
    let back: LockDoc = serde_json::from_value(json).unwrap();
    assert_eq!(back, doc);
    assert_eq!(
        back.describe(Duration::from_secs(7)),
        "exclusive prune by db-1 pid 42 (7 s old)"
    );
    let shared: LockDoc = serde_json::from_str(r#"{"kind":"shared","operation":"save"}"#).unwrap();
    assert_eq!(shared.kind, LockKind::Shared);
}

#[test]
fn lock_timing_follows_stale_after_up_to_30_minutes() {
    let day = LockTiming::from_stale_after(Duration::from_secs(86_400));
    assert_eq!(day.stale, Duration::from_secs(1800));
    assert_eq!(day.refresh, Duration::from_secs(300));
    assert_eq!(day.hold, Duration::from_secs(900));
    let short = LockTiming::from_stale_after(Duration::from_secs(6));
    assert_eq!(
        (short.stale, short.refresh, short.hold),
        (Duration::from_secs(6), Duration::from_secs(1), Duration::from_secs(3))
    );
    assert_eq!(
        LockTiming::from_stale_after(Duration::ZERO).stale,
        Duration::from_secs(1)
    );
}

#[test]
fn an_exclusive_taker_waits_for_shared_locks_and_the_smaller_key_goes_first() {
    let holder = |key: &str, exclusive: bool| Holder {
        key: key.into(),
        exclusive,
        description: String::new(),
    };
    let (shared, exclusive) = (LockKind::Shared, LockKind::Exclusive);
    assert_eq!(next_step(exclusive, "m", &[]), Next::Take);
    assert_eq!(next_step(shared, "m", &[]), Next::Take);
    // Saves holding shared locks: prune keeps its lock (new saves wait) until they end.
    assert_eq!(
        next_step(exclusive, "m", &[holder("a", false), holder("z", false)]),
        Next::Wait
    );
    // An exclusive lock with a larger key yields to this one.
    assert_eq!(
        next_step(exclusive, "m", &[holder("a", false), holder("z", true)]),
        Next::Wait
    );
    assert_eq!(next_step(exclusive, "m", &[holder("a", true)]), Next::BackOff);
    assert_eq!(next_step(shared, "m", &[holder("z", true)]), Next::BackOff);
    // Two exclusive takers that see each other: exactly one waits.
    for (one, other) in [("a", "b"), ("b", "a")] {
        let steps = (
            next_step(exclusive, one, &[holder(other, true)]),
            next_step(exclusive, other, &[holder(one, true)]),
        );
        assert!(
            matches!(steps, (Next::Wait, Next::BackOff) | (Next::BackOff, Next::Wait)),
            "{steps:?}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_lock_of_a_process_of_this_host_that_is_gone_is_stale_whatever_its_age() {
    let here = |pid: u32| LockDoc {
        kind: LockKind::Shared,
        operation: "save".into(),
        backup_id: None,
        host: host_name(),
        pid,
        pid_namespace: pid_namespace(),
        created_at: None,
        writer: String::new(),
    };
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let gone = child.id();
    child.wait().unwrap();
    assert!(pid_namespace().is_some());
    assert!(holder_is_gone(&here(gone)), "pid {gone} exited");
    assert!(!holder_is_gone(&here(std::process::id())), "this process runs");
    assert!(!holder_is_gone(&here(1)), "init runs");
    assert!(!holder_is_gone(&here(0)), "no pid (WebAssembly)");
    let elsewhere = LockDoc {
        host: "another-host".into(),
        ..here(gone)
    };
    assert!(!holder_is_gone(&elsewhere), "another host's pids mean nothing here");
    let other_namespace = LockDoc {
        pid_namespace: Some("pid:[1]".into()),
        ..here(gone)
    };
    assert!(
        !holder_is_gone(&other_namespace),
        "another container's pids mean nothing here"
    );
    let older_writer = LockDoc {
        pid_namespace: None,
        ..here(gone)
    };
    assert!(
        !holder_is_gone(&older_writer),
        "without its namespace a pid is not judged"
    );
}

#[test]
fn ages_are_never_negative() {
    let t = datetime!(2026-11-30 10:00:00 UTC);
    assert_eq!(age_of(t, t + time::Duration::seconds(5)), Duration::ZERO);
    assert_eq!(age_of(t + time::Duration::seconds(5), t), Duration::from_secs(5));
}

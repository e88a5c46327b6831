//! What the command line accepts and how it prints, without a server: the clap definition,
//! the value parsers, the tables, the exit codes, and the `save` arguments the binary
//! rejects before any request.

use std::path::PathBuf;
use std::process::Command as Process;
use std::time::Duration;

use clap::Parser as _;
use s3keep::{BackupId, Error, ErrorDetails};
use s3keep_cli::args::{Cli, Command};
use s3keep_cli::exit::code_for;
use s3keep_cli::output::{render_pairs, render_table, short_time, size};
use s3keep_cli::parse::{backup_id, duration, meta_arg, set_arg};

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("s3keep").chain(args.iter().copied()))
}

/// Runs the binary with an empty environment: (exit code, stderr).
fn run(args: &[&str]) -> (i32, String) {
    let out = Process::new(env!("CARGO_BIN_EXE_s3keep"))
        .env_clear()
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn global_options_are_accepted_before_and_after_the_command() {
    let before = parse(&["--bucket", "b", "--json", "list"]).unwrap();
    let after = parse(&["list", "--bucket", "b", "--json"]).unwrap();
    for cli in [before, after] {
        assert_eq!(cli.global.options.pairs, [("bucket".to_string(), "b".to_string())]);
        assert!(cli.global.json);
    }
}

#[test]
fn save_collects_sets_and_metadata() {
    let args = [
        "save",
        "1/2/3",
        "/data",
        "--set",
        "snapshot=/s",
        "--meta",
        "a=1",
        "--meta",
        "b=x=y",
    ];
    let Command::Save(save) = parse(&args).unwrap().command else {
        panic!("not save")
    };
    assert_eq!(save.id.as_deref(), Some("1/2/3"));
    assert_eq!(save.dir, Some(PathBuf::from("/data")));
    assert_eq!(save.sets, vec![("snapshot".to_string(), PathBuf::from("/s"))]);
    assert_eq!(save.meta, vec![("a".into(), "1".into()), ("b".into(), "x=y".into())]);
}

#[test]
fn bad_values_are_usage_errors() {
    for args in [
        &["status", "1/2"][..],
        &["restore", "x/y/z", "dir"],
        &["save", "--meta", "novalue"],
        &["save", "--set", "nopath"],
        &["prune", "--keep-within", "7"],
        &["prune", "--dry-run", "--yes"],
        &["cleanup-uploads", "--older-than", "1y"],
        &["list", "--partition", "-1"],
        &["frobnicate"],
    ] {
        let err = parse(args).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
    }
}

#[test]
fn prune_reads_the_whole_policy() {
    let args = [
        "prune",
        "--keep-last",
        "3",
        "--keep-daily",
        "7",
        "--keep-within",
        "2d",
        "--prune-failed",
        "--yes",
    ];
    let Command::Prune(p) = parse(&args).unwrap().command else {
        panic!("not prune")
    };
    let policy = p.policy();
    assert_eq!(policy.keep_last, Some(3));
    assert_eq!(policy.keep_daily, Some(7));
    assert_eq!(policy.keep_within, Some(Duration::from_secs(2 * 86_400)));
    assert!(policy.prune_failed && p.yes && !p.dry_run && !policy.prune_stale);
    assert_eq!(policy.stale_after, None, "stale after the store's option");
}

#[test]
fn cleanup_defaults_to_the_stale_after_option() {
    let Command::CleanupUploads(c) = parse(&["cleanup-uploads"]).unwrap().command else {
        panic!("not cleanup-uploads")
    };
    assert_eq!(c.older_than, None);
}

#[test]
fn durations_use_the_core_grammar() {
    assert_eq!(duration("1h30m"), Ok(Duration::from_secs(5400)));
    for bad in ["7", "1y", "1.5h", ""] {
        assert!(duration(bad).unwrap_err().contains("give e.g. 90s"), "{bad:?}");
    }
}

#[test]
fn backup_ids_parse_and_bad_ones_explain_the_form() {
    assert_eq!(
        backup_id("1/1700000000000/2"),
        Ok(BackupId::new(1, 1_700_000_000_000, 2))
    );
    let err = backup_id("1/2").unwrap_err();
    assert!(err.contains("PARTITION/CHECKPOINT/NODE"), "{err}");
    assert!(backup_id("a/b/c").is_err());
}

#[test]
fn set_args_split_at_the_first_equals() {
    assert_eq!(
        set_arg("snapshot=/data/snap"),
        Ok(("snapshot".into(), PathBuf::from("/data/snap")))
    );
    assert_eq!(set_arg("x=a=b"), Ok(("x".into(), PathBuf::from("a=b"))));
    for bad in ["snapshot", "=path", "name=", ""] {
        assert!(set_arg(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn meta_args_allow_empty_values_and_equals_in_values() {
    assert_eq!(meta_arg("k=v"), Ok(("k".into(), "v".into())));
    assert_eq!(meta_arg("k="), Ok(("k".into(), String::new())));
    assert_eq!(meta_arg("url=a=b"), Ok(("url".into(), "a=b".into())));
    assert!(meta_arg("novalue").is_err());
    assert!(meta_arg("=v").is_err());
}

#[test]
fn save_refuses_a_bad_id_before_a_dir_and_a_metadata_key_given_twice() {
    let (code, stderr) = run(&["save", "1/2", "/d"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("PARTITION/CHECKPOINT/NODE"), "{stderr}");
    let (code, stderr) = run(&["save", "--meta", "a=1", "--meta", "a=2", "/d"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--meta \"a\" is given twice"), "{stderr}");
}

#[test]
fn tables_pad_columns_to_the_widest_cell() {
    let rows = [
        vec!["0/1/0".into(), "COMPLETED".into()],
        vec!["0/12345/0".into(), "FAILED".into()],
    ];
    let text = render_table(&["ID", "STATUS"], &rows);
    assert_eq!(text, "ID         STATUS\n0/1/0      COMPLETED\n0/12345/0  FAILED\n");
}

#[test]
fn values_from_the_store_are_printed_escaped() {
    let pairs = [("meta k\u{1b}".to_string(), "a\nforged: line\u{1b}[2J".to_string())];
    let text = render_pairs(&pairs);
    assert_eq!(text, "meta k\\u{1b}:  a\\nforged: line\\u{1b}[2J\n");
    let table = render_table(&["ID", "FAILURE REASON"], &[vec!["1/2/3".into(), "x\ny\u{7}".into()]]);
    assert_eq!(table.lines().count(), 2, "{table:?}");
    assert!(table.contains("x\\ny\\u{7}"), "{table:?}");
}

#[test]
fn human_times_and_sizes_are_short() {
    let created = time::macros::datetime!(2024-05-01 13:45:12.5 UTC);
    assert_eq!(short_time(Some(created)), "2024-05-01 13:45:12Z");
    assert_eq!(short_time(None), "-");
    assert_eq!(size(Some(1536)), "1.50 KiB");
    assert_eq!(size(None), "-");
}

#[test]
fn errors_map_to_the_exit_codes_of_the_spec() {
    let d = || ErrorDetails::message("x");
    let cases = [
        (Error::NotFound(d()), 3),
        (Error::NoSuchBucket(d()), 3),
        (Error::BackupAlreadyExists(d()), 4),
        (Error::Conflict(d()), 4),
        (Error::InvalidInput(d()), 2),
        (Error::Cancelled(d()), 130),
        (Error::AccessDenied(d()), 1),
        (Error::InvalidCredentials(d()), 1),
        (Error::BackupNotCompleted(d()), 1),
        (Error::Network(d()), 1),
        (Error::Integrity(d()), 1),
        (Error::Io(d()), 1),
        (Error::Redirect(d()), 1),
        (Error::S3(d()), 1),
    ];
    for (error, code) in cases {
        assert_eq!(code_for(&error), code, "{}", error.kind());
    }
}

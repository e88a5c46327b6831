//! Kill points (§4: every operation may be killed at any moment; what was COMPLETED stays
//! intact and the next call finishes or cleans up what the killed one left; issue 16 item 5).
//!
//! For each operation of [`scenarios`] the sweep first runs the `s3keep` command once through
//! `support::steps::StepProxy` to number its requests (1..=N, at `--concurrency 1` so that
//! the numbering is the protocol's order), then, for every k in 1..=N and both cuts (the
//! request never reaches MinIO / MinIO acted and the answer is lost), starts from a fresh
//! bucket, runs the command again and SIGKILLs it at request k. After each kill a checker
//! asserts that every COMPLETED backup in the bucket verifies deep and that the backups the
//! operation must not touch are still COMPLETED; then it recovers as a user would (the next
//! call: cleanup-uploads, delete, prune or restore again), asserts that this finished the
//! job, and checks the COMPLETED backups again. The table of points is printed.
//!
//! To sweep another operation (format 2's save, say), add a [`Scenario`].

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use support::steps::{Cut, StepProxy};

const MIB: usize = 1024 * 1024;
/// Part size and multipart threshold of every run (S3's minimum part size).
const PART: usize = 5 * MIB;

/// One operation swept.
struct Scenario {
    /// The command's name, as the table shows it.
    operation: &'static str,
    /// Backups that exist before the command runs (saved directly, not through the proxy).
    prepare: fn(&World),
    /// The command killed (the world's global options are added).
    args: fn(&World) -> Vec<String>,
    /// Backups the command must leave COMPLETED, whenever it dies.
    survivors: &'static [&'static str],
    /// After the kill: the next call(s) a user makes, with assertions that they finished the
    /// job; returns what was found and done, for the table.
    recover: fn(&World) -> String,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            operation: "save",
            prepare: |w| w.save("1/1/0", &small_dir()),
            args: |_| strings(&["save", "1/2/0", path_str(&big_dir())]),
            survivors: &["1/1/0"],
            recover: recover_save,
        },
        Scenario {
            operation: "delete",
            prepare: |w| {
                w.save("1/1/0", &small_dir());
                w.save("1/2/0", &small_dir());
            },
            args: |_| strings(&["delete", "1/2/0"]),
            survivors: &["1/1/0"],
            recover: recover_delete,
        },
        Scenario {
            operation: "prune",
            prepare: |w| {
                for id in ["2/1/0", "1/1/0", "1/2/0", "1/3/0"] {
                    w.save(id, &small_dir());
                }
            },
            args: |_| strings(&["prune", "--keep-last", "1", "--yes"]),
            survivors: &["2/1/0", "1/3/0"],
            recover: recover_prune,
        },
        Scenario {
            operation: "restore",
            prepare: |w| w.save("1/1/0", &big_dir()),
            args: |w| strings(&["restore", "1/1/0", path_str(&w.target())]),
            survivors: &["1/1/0"],
            recover: recover_restore,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Recovery after a kill, per operation

/// A killed save of 1/2/0: nothing, IN_PROGRESS (files and an open multipart upload may be
/// there), or COMPLETED (the kill came after the last write). The next calls: cleanup-uploads
/// and delete --force for a half-done save, then the same save again.
fn recover_save(w: &World) -> String {
    let id = "1/2/0";
    let found = w.status(id);
    if found == "COMPLETED" {
        return "COMPLETED (verified deep)".into();
    }
    let aborted = w.ok(&["cleanup-uploads", "--older-than", "0s"])["aborted"]
        .as_array()
        .unwrap()
        .len();
    let mut done = format!("{found}; cleanup-uploads aborted {aborted}");
    if found != "DOES_NOT_EXIST" {
        assert_eq!(found, "IN_PROGRESS", "a killed save leaves IN_PROGRESS");
        w.ok(&["delete", id, "--force"]);
        done.push_str(", delete --force");
    }
    assert_eq!(
        w.keys_under(id),
        Vec::<String>::new(),
        "{done}: objects left under {id}"
    );
    let again = w.ok(&["cleanup-uploads", "--older-than", "0s"]);
    assert_eq!(again["aborted"], serde_json::json!([]), "{done}: uploads left");
    assert_eq!(w.ok(&["save", id, path_str(&big_dir())])["status"], "COMPLETED");
    done.push_str(", save again: COMPLETED");
    done
}

/// A killed delete of 1/2/0: still COMPLETED (the kill came before DELETING was written:
/// verified deep), DELETING, or gone. The next call: delete again.
fn recover_delete(w: &World) -> String {
    let id = "1/2/0";
    let found = w.status(id);
    let done = match found.as_str() {
        "DOES_NOT_EXIST" => "gone".to_string(),
        "COMPLETED" | "DELETING" => {
            let deleted = w.ok(&["delete", id]);
            format!("{found}; delete again: {} objects", deleted["objectsDeleted"])
        }
        other => panic!("a killed delete left {other}"),
    };
    assert_eq!(w.status(id), "DOES_NOT_EXIST");
    assert_eq!(
        w.keys_under(id),
        Vec::<String>::new(),
        "{done}: objects left under {id}"
    );
    done
}

/// A killed `prune --keep-last 1` (1/1/0 and 1/2/0 to delete): each COMPLETED, DELETING or
/// gone. The next call: the same prune, which must finish both.
fn recover_prune(w: &World) -> String {
    let doomed = ["1/1/0", "1/2/0"];
    let found: Vec<String> = doomed.iter().map(|id| format!("{id} {}", w.status(id))).collect();
    w.ok(&["prune", "--keep-last", "1", "--yes"]);
    for id in doomed {
        assert_eq!(w.status(id), "DOES_NOT_EXIST", "{id} after the second prune");
        assert_eq!(w.keys_under(id), Vec::<String>::new(), "objects left under {id}");
    }
    format!("{}; prune again: done", found.join(", "))
}

/// A killed restore of 1/1/0: every file under its own name in the target is whole (others
/// are only temporary `.s3keep-partial` files). The next call: restore again, which must
/// leave exactly the backup's files.
fn recover_restore(w: &World) -> String {
    let expected = support::tree(&big_dir());
    let before = support::tree(&w.target());
    let (mut whole, mut partial) = (0, 0);
    for (name, bytes) in &before {
        if name.ends_with(".s3keep-partial") {
            partial += 1;
        } else {
            assert!(expected.get(name) == Some(bytes), "{name} is in place but not whole");
            whole += 1;
        }
    }
    let again = w.ok(&["restore", "1/1/0", path_str(&w.target())]);
    let after = support::tree(&w.target());
    let names = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&after), names(&expected), "the target after restoring again");
    assert!(after == expected, "restored bytes differ");
    format!(
        "{whole} in place, {partial} partial; restore again: {} skipped, {} restored",
        again["filesSkipped"], again["filesRestored"]
    )
}

// ---------------------------------------------------------------------------------------------
// The world of one kill point

/// A fresh bucket and restore target. Seeding and checking go through the core library
/// in this process (direct to MinIO); the command killed and the next calls are `s3keep`.
struct World {
    bucket: String,
    store: s3keep::BackupStore,
    target: tempfile::TempDir,
    runtime: &'static tokio::runtime::Runtime,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn id(text: &str) -> s3keep::BackupId {
    text.parse().unwrap()
}

impl World {
    fn new() -> World {
        let runtime = runtime();
        let store = runtime.block_on(async {
            let mut config = support::fresh_store_config().await;
            config.part_size = PART as u64;
            config.multipart_threshold = PART as u64;
            support::store_for(config).await
        });
        World {
            bucket: store.config().client.bucket.clone(),
            store,
            target: tempfile::tempdir().unwrap(),
            runtime,
        }
    }

    fn target(&self) -> PathBuf {
        self.target.path().join("out")
    }

    /// `s3keep --endpoint ENDPOINT --bucket B --prefix P --concurrency 1 --part-size 5MiB
    /// --multipart-threshold 5MiB --json ARGS`.
    fn command(&self, endpoint: &str, args: &[String]) -> Command {
        let m = support::minio();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3keep"));
        cmd.args(["--endpoint", endpoint, "--bucket", &self.bucket])
            .args(["--prefix", &self.store.config().prefix])
            .args([
                "--concurrency",
                "1",
                "--part-size",
                "5MiB",
                "--multipart-threshold",
                "5MiB",
                "--json",
            ])
            .args(args)
            .stdin(Stdio::null())
            .env("AWS_ACCESS_KEY_ID", &m.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &m.secret_key)
            .env("AWS_REGION", &m.region)
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3keep-test-credentials");
        for var in [
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
        ] {
            cmd.env_remove(var);
        }
        // Every store option has an S3KEEP_* variable: none of the caller's may leak in.
        for (var, _) in std::env::vars() {
            if var.starts_with("S3KEEP_") && !var.starts_with("S3KEEP_TEST_") {
                cmd.env_remove(var);
            }
        }
        cmd
    }

    /// Runs `s3keep ARGS` directly against MinIO; asserts exit 0 and returns the JSON printed.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> Value {
        let out = self
            .command(&support::minio().endpoint, &strings(args))
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "s3keep {args:?}: {:?}\n{stdout}\n{stderr}",
            out.status
        );
        serde_json::from_str(&stdout).unwrap_or(Value::Null)
    }

    /// Saves `dir` as the set `files` of backup `text`, as `s3keep save ID DIR` does.
    fn save(&self, text: &str, dir: &Path) {
        let set = s3keep::backup::FileSet::from_dir("files", dir).unwrap();
        let saved = self
            .runtime
            .block_on(self.store.save(id(text), vec![set], Default::default()));
        assert_eq!(saved.unwrap().status, s3keep::StatusCode::Completed);
    }

    fn status(&self, text: &str) -> String {
        let info = self.runtime.block_on(self.store.status(id(text))).unwrap();
        info.status.as_str().to_string()
    }

    /// Every key below backup `text`'s folder.
    fn keys_under(&self, text: &str) -> Vec<String> {
        let folder = self.store.layout().backup_prefix(&id(text));
        let keys = self.runtime.block_on(support::all_keys(self.store.client()));
        keys.into_iter().filter(|k| k.starts_with(&folder)).collect()
    }

    /// The checker: every COMPLETED backup verifies deep, and `survivors` are COMPLETED.
    #[track_caller]
    fn assert_completed_intact(&self, survivors: &[&str], context: &str) {
        let listed = self.runtime.block_on(self.store.list(Default::default())).unwrap();
        let mut completed = Vec::new();
        for backup in listed.iter().filter(|b| b.status == s3keep::StatusCode::Completed) {
            let report = self.runtime.block_on(self.store.verify(backup.id, true)).unwrap();
            assert!(
                report.is_ok(),
                "{context}: COMPLETED backup {} does not verify deep: {:?}",
                backup.id,
                report.problems
            );
            completed.push(backup.id);
        }
        for text in survivors {
            assert!(
                completed.contains(&id(text)),
                "{context}: {text} is no longer COMPLETED: {listed:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Source data (written once, read by every point)

/// Three small files: text, empty, 100 KiB.
fn small_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", b"small file\n".to_vec());
        write(dir.path(), "empty.bin", Vec::new());
        write(dir.path(), "sub/c.bin", pattern(100 * 1024, 7));
        dir
    });
    dir.path().to_path_buf()
}

/// Two small files and one of 6 MiB: a multipart upload of two parts of at most [`PART`],
/// and two ranged GetObjects on restore.
fn big_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", b"next to a big one\n".to_vec());
        write(dir.path(), "big.bin", pattern(PART + MIB, 13));
        write(dir.path(), "sub/c.bin", pattern(300 * 1024, 29));
        dir
    });
    dir.path().to_path_buf()
}

fn pattern(size: usize, seed: u32) -> Vec<u8> {
    (0..size as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13 ^ seed) as u8)
        .collect()
}

fn write(dir: &Path, name: &str, bytes: Vec<u8>) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------------------------------------
// The sweep

/// One row of the table.
struct Point {
    operation: &'static str,
    request: usize,
    kind: String,
    cut: Cut,
    outcome: String,
}

#[test]
#[ignore = "slow: kills the s3keep command at every request of save, delete, prune and restore; run by scripts/test.sh"]
fn a_kill_at_any_request_of_save_delete_prune_restore_loses_no_completed_backup_and_the_next_call_finishes() {
    let rt = runtime();
    let mut points: Vec<Point> = Vec::new();
    let mut unreached: Vec<String> = Vec::new();
    for scenario in scenarios() {
        // The requests of an uninterrupted run, numbered.
        let world = World::new();
        (scenario.prepare)(&world);
        let proxy = rt.block_on(StepProxy::start());
        proxy.watch();
        let args = (scenario.args)(&world);
        let out = world.command(&proxy.endpoint, &args).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            scenario.operation,
            String::from_utf8_lossy(&out.stderr)
        );
        let total = proxy.steps().len();
        assert!(total > 0, "{}: no request seen", scenario.operation);

        let steps = proxy.steps();
        for k in 1..=total {
            // For a request that changes nothing (GET, HEAD, a listing) both cuts leave the
            // same state: one kill is enough.
            let read_only = ["Get", "Head", "List"].iter().any(|p| steps[k - 1].kind.starts_with(p));
            let cuts: &[Cut] = if read_only {
                &[Cut::Before]
            } else {
                &[Cut::Before, Cut::AfterStore]
            };
            for &cut in cuts {
                let world = World::new();
                (scenario.prepare)(&world);
                let proxy = rt.block_on(StepProxy::start());
                proxy.arm(k, cut);
                let child = world
                    .command(&proxy.endpoint, &(scenario.args)(&world))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                if !proxy.wait_for_victim(child) {
                    // The command ended on its own before request k: this run made fewer
                    // requests than the measured one (seen for save: 15 or 16, not yet
                    // explained). Nothing to kill; what it left must still be intact.
                    world.assert_completed_intact(
                        scenario.survivors,
                        &format!("{} ended before its request {k} of {total}", scenario.operation),
                    );
                    unreached.push(format!("{} request {k} ({})", scenario.operation, cut.as_str()));
                    continue;
                }
                let kind = proxy.steps()[k - 1].kind.clone();
                let context = format!("{} killed {} request {k} ({kind})", scenario.operation, cut.as_str());
                world.assert_completed_intact(scenario.survivors, &context);
                let outcome = (scenario.recover)(&world);
                world.assert_completed_intact(scenario.survivors, &format!("{context}, after recovery"));
                points.push(Point {
                    operation: scenario.operation,
                    request: k,
                    kind,
                    cut,
                    outcome,
                });
            }
        }
    }

    println!(
        "\nkill points: {} runs (SIGKILL at request k of the command)",
        points.len()
    );
    println!(
        "{:<8} {:>3}  {:<60} {:<12} outcome",
        "command", "k", "request k", "killed"
    );
    for p in &points {
        println!(
            "{:<8} {:>3}  {:<60} {:<12} {}",
            p.operation,
            p.request,
            p.kind,
            p.cut.as_str(),
            p.outcome
        );
    }
    let distinct: std::collections::BTreeSet<(&str, usize)> = points.iter().map(|p| (p.operation, p.request)).collect();
    println!(
        "kill points: {} distinct (command, request) points, {} kills, no COMPLETED backup lost or corrupted, every next call finished",
        distinct.len(),
        points.len()
    );
    println!("kill points not reached (the command ended first): {unreached:?}");
    assert!(unreached.len() <= 4, "too many points not reached: {unreached:?}");
    assert!(distinct.len() >= 20, "only {} distinct kill points", distinct.len());
}

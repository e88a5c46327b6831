//! The Rust runner of the shared conformance suite (conformance/README.md, §9).
//!
//! `cargo test -p s3keep --test conformance [-- FILTER]` runs every case of
//! `conformance/cases/` (those whose name contains FILTER) against a fresh bucket of the
//! harness MinIO, prints one line per case and `N passed, N failed, N skipped`, and exits
//! non-zero if any case failed or none passed. With `S3KEEP_INTEROP_BUCKET` and `S3KEEP_INTEROP_PHASE`
//! set it runs the interop phase instead (README, "Interop").
//!
//! `harness = false` (core/Cargo.toml): this file is the whole test binary, so it prints
//! its own summary in the suite's format.

#[path = "../support/mod.rs"]
mod support;

mod bucket;
mod case;
mod check;
mod gen;
mod interop;
mod interop_encrypted;
mod raw;
mod steps;

use std::path::{Path, PathBuf};
use std::time::Instant;

use case::Case;

/// What this runner can do (README, "Capabilities"): Rust has a filesystem and the core's
/// S3 client for raw access, names a prefix of the case bucket as an S3 source or target,
/// and the native core writes stores with Object Lock.
const CAPABILITIES: &[&str] = &["rawS3", "filesystem", "s3Bucket", "lockedStores"];

/// The capabilities in effect: all of ours, or those listed (comma-separated) in
/// `S3KEEP_CONFORMANCE_CAPABILITIES`, to rehearse what a runner with fewer would skip.
fn capabilities() -> Vec<String> {
    match std::env::var("S3KEEP_CONFORMANCE_CAPABILITIES") {
        Ok(list) => list
            .split(',')
            .map(str::trim)
            .filter(|c| CAPABILITIES.contains(c))
            .map(str::to_string)
            .collect(),
        Err(_) => CAPABILITIES.iter().map(|c| c.to_string()).collect(),
    }
}

enum Verdict {
    Passed,
    Failed(String),
    Skipped(String),
}

/// `conformance/cases/`, or the directory named by `S3KEEP_CONFORMANCE_CASES`.
fn cases_dir() -> PathBuf {
    match std::env::var_os("S3KEEP_CONFORMANCE_CASES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/cases"),
    }
}

/// Case files in name order; a file that does not parse is a failed "case" of its own.
fn load_all() -> Vec<Result<Case, (String, String)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("conformance/cases exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let label = file.file_name().unwrap().to_string_lossy().to_string();
        match case::load(&file) {
            Ok(cases) => out.extend(cases.into_iter().map(Ok)),
            Err(why) => out.push(Err((label, format!("invalid case file: {why}")))),
        }
    }
    out
}

/// Why `case` is skipped: a capability neither this runner nor the harness's provider has
/// (README, "Runner contract" 2 and "Providers").
fn skip_reason(case: &Case, capabilities: &[String]) -> Option<String> {
    let provider = support::minio();
    let missing = case
        .requires
        .iter()
        .find(|c| !capabilities.contains(c) && !provider.has(c))?;
    Some(if support::store_capabilities().contains(missing) {
        format!("requires {missing}, which the provider {} lacks", provider.provider)
    } else {
        format!("requires {missing}, which this runner lacks")
    })
}

async fn run_case(case: &Case, capabilities: &[String]) -> Verdict {
    if let Some(why) = skip_reason(case, capabilities) {
        return Verdict::Skipped(why);
    }
    let mut run = match steps::CaseRun::new(&case.config).await {
        Ok(run) => run,
        Err(why) => return Verdict::Failed(why),
    };
    for (i, step) in case.steps.iter().enumerate() {
        if let Err(why) = run.step(step).await {
            return Verdict::Failed(format!("step {} ({}): {why}", i + 1, step.op.name()));
        }
    }
    Verdict::Passed
}

/// The case filter: the first argument that is neither a flag nor a flag's value (cargo
/// passes libtest flags such as `--include-ignored` through), else
/// `S3KEEP_CONFORMANCE_FILTER`.
fn filter() -> Option<String> {
    const TAKE_VALUE: &[&str] = &["--skip", "--test-threads", "--color", "--format", "--logfile", "-Z"];
    let mut args = std::env::args().skip(1);
    let mut found = None;
    while let Some(arg) = args.next() {
        if TAKE_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            found = Some(arg);
            break;
        }
    }
    found
        .or_else(|| std::env::var("S3KEEP_CONFORMANCE_FILTER").ok())
        .filter(|f| !f.is_empty())
}

async fn run_suite() -> bool {
    let filter = filter();
    let capabilities = capabilities();
    let provider = support::minio();
    eprintln!(
        "conformance: provider {} ({})",
        provider.provider,
        provider.capabilities.join(", ")
    );
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let started = Instant::now();
    for loaded in load_all() {
        let (name, verdict, took) = match loaded {
            Err((file, why)) => (file, Verdict::Failed(why), 0.0),
            Ok(case) => {
                if filter.as_ref().is_some_and(|f| !case.name.contains(f.as_str())) {
                    continue;
                }
                let t = Instant::now();
                let verdict = run_case(&case, &capabilities).await;
                (
                    format!("{} [{}]", case.name, case.family),
                    verdict,
                    t.elapsed().as_secs_f64(),
                )
            }
        };
        match verdict {
            Verdict::Passed => {
                passed += 1;
                println!("{name} ... ok ({took:.2} s)");
            }
            Verdict::Failed(why) => {
                failed += 1;
                println!("{name} ... FAILED: {why}");
            }
            Verdict::Skipped(why) => {
                skipped += 1;
                println!("{name} ... skipped: {why}");
            }
        }
    }
    eprintln!("conformance: {:.1} s", started.elapsed().as_secs_f64());
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if passed == 0 {
        // A filter that matches nothing, or a runner that skips everything, proves nothing.
        eprintln!("conformance: no case passed: failing");
    }
    failed == 0 && passed > 0
}

fn main() {
    if let Err(why) = gen::self_check() {
        eprintln!("the generator does not match the README: {why}");
        std::process::exit(1);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ok = runtime.block_on(async {
        match interop::Mode::from_env() {
            Some(mode) => interop::run(mode).await,
            None => run_suite().await,
        }
    });
    std::process::exit(if ok { 0 } else { 1 });
}

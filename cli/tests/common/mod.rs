//! Helpers of the CLI test files that run the binary against the harness MinIO.
#![allow(dead_code)] // each test binary uses a different part

#[path = "../../../core/tests/support/mod.rs"]
pub mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", self.stdout))
    }

    /// No raw control character anywhere in what was printed (newlines end lines only).
    #[track_caller]
    pub fn printable(&self) -> &Self {
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            for line in text.lines() {
                assert!(
                    !line.chars().any(|c| c.is_control() && c != '\t'),
                    "{name} holds a raw control character: {line:?}"
                );
            }
        }
        self
    }
}

/// A fresh bucket, created through the command.
pub struct Store {
    pub bucket: String,
}

impl Store {
    pub fn new() -> Self {
        let store = Self {
            bucket: support::fresh_bucket_name(),
        };
        store.run(&["list", "--create-bucket", "--json"]).expect(0);
        store
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// `run` with extra environment variables.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_at(&support::minio().endpoint, args, env)
    }

    /// `run_with` against `endpoint` (a proxy in front of the harness server) instead of the
    /// harness server itself. The harness's credentials; no other AWS_* or S3KEEP_* setting
    /// of the caller's environment leaks in.
    pub fn run_at(&self, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let m = support::minio();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3keep"));
        cmd.args(["--endpoint", endpoint, "--bucket", &self.bucket])
            .args(args)
            .stdin(Stdio::null())
            .env("AWS_ACCESS_KEY_ID", &m.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &m.secret_key)
            .env("AWS_REGION", &m.region)
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3keep-test-credentials");
        for var in [
            "S3KEEP_URL",
            "S3KEEP_SINGLE_WRITER",
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "RUST_LOG",
        ] {
            cmd.env_remove(var);
        }
        let out = cmd.envs(env.iter().copied()).output().expect("cannot run s3keep");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!run.stderr.contains("panicked"), "{run:?}");
        run
    }

    /// `mc` path of a key of this bucket.
    pub fn mc_path(&self, key: &str) -> String {
        format!("{}/{}/{key}", support::minio().mc_alias, self.bucket)
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

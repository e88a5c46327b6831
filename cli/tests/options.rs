//! The option table reaches every face: the CLI runs the conformance suite's `options` group
//! through `s3keep config --json` (flags, `--url`, a cleared environment), and the Python
//! stubs and the JS typings name every key. No server is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{CommandFactory, Parser};
use s3keep::ConfigKey;
use s3keep_cli::args::Cli;
use s3keep_cli::options::has_flag;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One `config` step run by the binary: the URL as `--url`, each option as its flag (or
/// `-o` for the credentials, which have none), `env` as the whole environment.
fn run_config_step(step: &Value) -> Result<(), String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3keep"));
    cmd.env_clear().args(["config", "--json"]);
    if let Some(url) = step["url"].as_str() {
        cmd.arg(format!("--url={url}"));
    }
    for (name, value) in step["options"].as_object().into_iter().flatten() {
        let key: ConfigKey = name.parse().map_err(|e| format!("{e}"))?;
        let value = value.as_str().ok_or("option values are strings")?;
        match has_flag(key) {
            true => cmd.arg(format!("--{}={value}", key.kebab_name())),
            false => cmd.args(["-o", &format!("{name}={value}")]),
        };
    }
    for (name, value) in step["env"].as_object().into_iter().flatten() {
        cmd.env(name, value.as_str().ok_or("env values are strings")?);
    }
    let out = cmd.output().map_err(|e| format!("cannot run s3keep: {e}"))?;
    let doc: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)))?;
    if let Some(kind) = step["expectError"].as_str() {
        let error = &doc["error"];
        if out.status.code() != Some(2) || error["kind"] != kind {
            return Err(format!("expected {kind} (exit 2), got {:?}: {doc}", out.status.code()));
        }
        if let Some(message) = step["expectMessage"].as_str() {
            if error["message"] != message {
                return Err(format!("expected the message {message:?}, got {}", error["message"]));
            }
        }
        return Ok(());
    }
    if !out.status.success() {
        return Err(format!("exit {:?}: {doc}", out.status.code()));
    }
    for (key, want) in step["expect"].as_object().into_iter().flatten() {
        if &doc[key.as_str()] != want {
            return Err(format!("config {key}: expected {want}, got {}", doc[key.as_str()]));
        }
    }
    Ok(())
}

#[test]
fn the_cli_gives_the_options_group_the_same_documents_and_errors() {
    let dir = repo().join("conformance/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("options_"))
        .collect();
    files.sort();
    let (mut steps, mut failures) = (0, Vec::new());
    for file in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let cases = match doc {
            Value::Array(cases) => cases,
            case => vec![case],
        };
        for case in cases {
            for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
                assert_eq!(step["op"], "config", "the options group has only config steps");
                steps += 1;
                if let Err(why) = run_config_step(step) {
                    failures.push(format!("{} step {}: {why}", case["name"], i + 1));
                }
            }
        }
    }
    assert!(steps >= 30, "only {steps} steps found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The field names inside `class NAME(TypedDict...):` or `interface NAME {` of a stub file.
fn declared_fields(text: &str, opening: &str) -> Vec<String> {
    let start = text.find(opening).unwrap_or_else(|| panic!("{opening} not found"));
    text[start + opening.len()..]
        .lines()
        .skip(1)
        .take_while(|line| line.is_empty() || line.starts_with(char::is_whitespace))
        .filter_map(|line| {
            let line = line.trim();
            let name = line.split([':', '?']).next()?;
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| name.to_string())
        })
        .collect()
}

#[test]
fn every_key_is_a_python_keyword_and_a_js_field() {
    let pyi = std::fs::read_to_string(repo().join("bindings-python/python/s3keep/_s3keep.pyi")).unwrap();
    let python = declared_fields(&pyi, "class _StoreOptions(TypedDict, total=False):");
    let dts = std::fs::read_to_string(repo().join("bindings-wasm/index.d.ts")).unwrap();
    let js = declared_fields(&dts, "export interface BackupStoreOptions {");
    for key in ConfigKey::ALL {
        // `bucket` and `url` are the constructors' positional arguments in Python.
        let positional = matches!(key, ConfigKey::Bucket | ConfigKey::Url);
        assert!(
            positional || python.iter().any(|n| n == key.name()),
            "Python keyword {key}"
        );
        assert_eq!(
            js.iter().any(|n| n == key.camel_name()),
            !key.native_only(),
            "JS field {}",
            key.camel_name()
        );
    }
    let known = |name: &String| {
        ConfigKey::ALL
            .iter()
            .any(|k| k.name() == name || k.camel_name() == name)
    };
    assert!(
        python.iter().all(known),
        "a Python keyword that is no option: {python:?}"
    );
    assert!(
        js.iter().all(|n| known(n) || n == "env"),
        "a JS field that is no option: {js:?}"
    );
    assert!(python.len() >= 15 && js.len() >= 15, "{python:?} {js:?}");
}

#[test]
fn docs_options_md_lists_every_option_and_variable() {
    let doc = std::fs::read_to_string(repo().join("docs/OPTIONS.md")).unwrap();
    for key in ConfigKey::ALL {
        let row = format!("| `{}` |", key.name());
        let line = doc
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("no row for {key}"));
        for env in key.env_names() {
            assert!(line.contains(&format!("`{env}`")), "{key}: {env} missing from its row");
        }
        if !key.default_text().is_empty() {
            assert!(
                line.contains(&format!("`{}`", key.default_text())),
                "{key}: default missing"
            );
        }
    }
}

#[test]
fn every_key_but_the_credentials_has_a_flag_named_after_it() {
    let cmd = Cli::command();
    for key in ConfigKey::ALL {
        let flag = cmd.get_arguments().find(|a| a.get_long() == Some(key.kebab_name()));
        assert_eq!(flag.is_some(), has_flag(key), "--{}", key.kebab_name());
        assert_eq!(has_flag(key), !key.is_secret() && key != ConfigKey::AccessKeyId);
    }
}

#[test]
fn flags_and_dash_o_become_pairs_before_or_after_the_command() {
    let cli = Cli::try_parse_from([
        "s3keep",
        "-o",
        "region=from-o",
        "list",
        "--part-size",
        "32MiB",
        "--create-bucket",
        "--signed-payload=false",
        "--region",
        "from-flag",
    ])
    .unwrap();
    let pairs = &cli.global.options.pairs;
    let get = |k: &str| {
        pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("region"), ["from-o", "from-flag"]);
    assert_eq!(get("part_size"), ["32MiB"]);
    assert_eq!(get("create_bucket"), ["true"]);
    assert_eq!(get("signed_payload"), ["false"]);
}

#[test]
fn a_dash_o_without_equals_is_a_usage_error_that_does_not_echo_it() {
    let err = Cli::try_parse_from(["s3keep", "-o", "hunter2", "list"]).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

//! How a step fails and the comparisons the steps share: [`Failure`], `ensure!`, the
//! restored-tree comparison and the subset match of JSON documents (conformance/README.md).

use std::collections::BTreeMap;
use std::path::Path;

use s3keep::Error;
use serde_json::Value;

use crate::gen::Content;

/// Why a step did not pass: the binding raised an error, or a result was not as expected.
pub enum Failure {
    Api(Box<Error>),
    Check(String),
}

impl Failure {
    pub fn message(&self) -> String {
        match self {
            Failure::Api(e) => format!("unexpected error {e}"),
            Failure::Check(why) => why.clone(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Api(Box::new(e))
    }
}

pub type StepResult = Result<(), Failure>;

/// Returns a [`Failure::Check`] with the message unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::check::Failure::Check(format!($($fmt)+)));
        }
    };
}

/// Compares an expected value with the actual one, if one was expected.
pub fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, expected: &Option<T>, actual: &T) -> StepResult {
    if let Some(expected) = expected {
        ensure!(expected == actual, "{what}: expected {expected:?}, got {actual:?}");
    }
    Ok(())
}

pub fn fail(message: impl Into<String>) -> Failure {
    Failure::Check(message.into())
}

/// Every regular file below `root` ('/'-separated relative path → bytes) against `expected`.
pub fn compare_tree(root: &Path, expected: &BTreeMap<String, Content>) -> StepResult {
    let mut actual = BTreeMap::new();
    walk(root, root, &mut actual).map_err(|e| fail(format!("reading the restored tree: {e}")))?;
    let missing: Vec<&String> = expected.keys().filter(|k| !actual.contains_key(*k)).collect();
    let extra: Vec<&String> = actual.keys().filter(|k| !expected.contains_key(*k)).collect();
    ensure!(
        missing.is_empty() && extra.is_empty(),
        "restored tree: missing {missing:?}, unexpected {extra:?}"
    );
    for (path, content) in expected {
        let bytes = &actual[path];
        if *bytes != content.bytes() {
            return Err(fail(format!(
                "restored {path} differs from {content:?} ({} bytes, expected {})",
                bytes.len(),
                content.size()
            )));
        }
    }
    Ok(())
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("below the root")
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(relative, std::fs::read(&path)?);
        }
    }
    Ok(())
}

/// README, "Subset match": how every `expect` (a result document) and getObject's
/// `expectJson` are compared.
pub fn json_matches(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(s), _) if s == "$any" => Ok(()),
        (Value::String(s), a) if s == "$notNull" => match a {
            Value::Null => Err(format!("{at}: expected a value, got null")),
            _ => Ok(()),
        },
        (Value::Object(e), a) if e.len() == 1 && e.contains_key("$contains") => match (&e["$contains"], a) {
            (Value::String(part), Value::String(text)) if text.contains(part.as_str()) => Ok(()),
            (part, a) => Err(format!("{at}: expected a string containing {part}, got {a}")),
        },
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let Some(av) = a.get(k) else {
                    return Err(format!("{at}.{k} is missing"));
                };
                json_matches(v, av, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{at}: expected {} items, got {}", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                json_matches(ev, av, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{at}: expected {e}, got {a}")),
    }
}

/// README, `config`: every field of `expect` equals the document's (objects exactly).
pub fn config_matches(expect: Option<&serde_json::Map<String, Value>>, actual: &Value) -> StepResult {
    for (key, want) in expect.into_iter().flatten() {
        let got = &actual[key.as_str()];
        if !json_equal(want, got) {
            return Err(fail(format!("config {key}: expected {want}, got {got}")));
        }
    }
    Ok(())
}

/// JSON equality with numbers compared as numbers.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_equal(v, w)),
        _ => a == b,
    }
}

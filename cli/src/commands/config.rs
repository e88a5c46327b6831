//! `config`: the effective store options (the core's `ConfigReport`) and where each came
//! from, without sending a request and without secrets.

use s3keep::{ConfigKey, Result};
use serde_json::Value;

use crate::args::GlobalArgs;
use crate::exit;
use crate::output::Output;

/// Prints the report: the JSON document with `--json`, else one row per option.
pub fn config(global: &GlobalArgs, out: Output) -> Result<i32> {
    let report = crate::options::store_config(&global.options)?.describe();
    let document = serde_json::to_value(&report).expect("a report serialises");
    if out.json {
        out.document(&document);
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = ConfigKey::ALL
        .into_iter()
        .filter(|k| *k != ConfigKey::Url)
        .map(|key| {
            let value = match &document[key.camel_name()] {
                Value::String(s) => s.clone(),
                Value::Null => "-".into(),
                other => other.to_string(),
            };
            let source = report
                .sources
                .get(key.camel_name())
                .map_or("default".into(), |s| s.to_string());
            vec![key.kebab_name().to_string(), value, source]
        })
        .collect();
    out.table(&["OPTION", "VALUE", "FROM"], &rows);
    Ok(exit::OK)
}

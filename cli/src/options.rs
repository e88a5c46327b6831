//! The store options on the command line, generated from the core's option table: one
//! `--kebab-name` flag per key (`--part-size 32MiB`, `--stale-after 2d`), credentials
//! excepted (give them by environment or profile), and `-o KEY=VALUE` for any key. Values go to the core as
//! strings; the core parses them and applies the precedence of §2 (flags and `-o` >
//! `--url` > `S3KEEP_*` > `AWS_*` > profile > defaults).

use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use s3keep::options::ValueKind;
use s3keep::{ConfigKey, Result, StoreConfig};

const OPTION: &str = "option";

/// The options given: `(name, value)` pairs, `-o` ones first, so a flag wins over `-o`.
#[derive(Debug, Clone, Default)]
pub struct OptionArgs {
    /// As given; the names are checked by the core.
    pub pairs: Vec<(String, String)>,
}

/// Whether `key` has a flag of its own: every key but the credentials, which come from the
/// environment or the profile (a secret on the command line shows in `ps` and the shell
/// history; `-o` still takes them, discouraged).
pub fn has_flag(key: ConfigKey) -> bool {
    // Secrets (the passphrase, an identity, the MAC key) have no flag either: a command line
    // shows in `ps` and shell history. They come by environment, a file option or `-o`.
    !key.is_secret() && key != ConfigKey::AccessKeyId
}

fn help(key: ConfigKey) -> String {
    let doc = key.doc();
    let mut text = format!("{}{}", doc[..1].to_uppercase(), &doc[1..]);
    if !key.default_text().is_empty() {
        text.push_str(&format!(" [default: {}]", key.default_text()));
    }
    if !key.env_names().is_empty() {
        text.push_str(&format!(" [env: {}]", key.env_names().join(", ")));
    }
    text
}

impl Args for OptionArgs {
    fn augment_args(mut cmd: Command) -> Command {
        cmd = cmd.next_help_heading("Store options");
        for key in ConfigKey::ALL.into_iter().filter(|k| has_flag(*k)) {
            let mut arg = Arg::new(key.name())
                .long(key.kebab_name())
                .global(true)
                .value_name(key.value_name())
                .help(help(key));
            if key.kind() == ValueKind::Bool {
                // `--create-bucket` or `--create-bucket=false`; never the next word.
                arg = arg.num_args(0..=1).require_equals(true).default_missing_value("true");
            }
            cmd = cmd.arg(arg);
        }
        cmd.arg(
            Arg::new(OPTION)
                .short('o')
                .long(OPTION)
                .global(true)
                .action(ArgAction::Append)
                .value_name("KEY=VALUE")
                .help("any option by its name, e.g. -o part_size=32MiB (see docs/OPTIONS.md)"),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for OptionArgs {
    fn from_arg_matches(matches: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        let mut options = Self::default();
        options.update_from_arg_matches(matches)?;
        Ok(options)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> std::result::Result<(), clap::Error> {
        for text in matches.get_many::<String>(OPTION).into_iter().flatten() {
            // The text is not repeated: it may be a secret.
            let (name, value) = text.split_once('=').ok_or_else(|| {
                clap::Error::raw(ErrorKind::InvalidValue, "-o needs KEY=VALUE, e.g. -o part_size=32MiB\n")
            })?;
            self.pairs.push((name.to_string(), value.to_string()));
        }
        for key in ConfigKey::ALL.into_iter().filter(|k| has_flag(*k)) {
            if let Some(value) = matches.get_one::<String>(key.name()) {
                self.pairs.push((key.name().to_string(), value.clone()));
            }
        }
        Ok(())
    }
}

/// The store configuration of the options and the process environment.
///
/// # Errors
/// The core's [`s3keep::Error::InvalidInput`] (exit 2): no bucket, an unknown option, a
/// value outside its grammar.
pub fn store_config(options: &OptionArgs) -> Result<StoreConfig> {
    let builder = StoreConfig::builder().with_env(|name| std::env::var(name).ok());
    options
        .pairs
        .iter()
        .fold(builder, |b, (name, value)| b.with_option(name, value.as_str()))
        .build()
}

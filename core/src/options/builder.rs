//! [`ConfigBuilder`]: `(key, value)` strings, an `s3://` URL and an environment in, one
//! [`StoreConfig`] out, with the precedence of the module documentation.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use super::values::{check_endpoint, check_region, parse_bool, parse_count, parse_duration, parse_size, shown};
use super::ConfigKey as K;
use crate::config::{normalize_prefix, Credentials, Secret, StoreConfig};
use crate::error::{Error, Result};

/// Where an effective value came from (reported by [`StoreConfig::describe`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An explicit option (`with_config`: a CLI flag, a Python keyword, a JS field).
    Option,
    /// The URL given with `with_url` (its bucket, prefix or query).
    Url,
    /// This environment variable (`S3KEEP_URL` for the parts of that URL).
    Env(&'static str),
    /// The shared credentials file.
    Profile,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Option => "option",
            Source::Url => "url",
            Source::Env(name) => name,
            Source::Profile => "profile",
        })
    }
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The values of one precedence level.
type Layer = BTreeMap<K, (String, Source)>;

/// Builds a [`StoreConfig`] from strings, like object_store's `AmazonS3Builder`:
///
/// ```
/// use s3keep::options::ConfigKey;
/// use s3keep::StoreConfig;
///
/// let config = StoreConfig::builder()
///     .with_url("s3://backups/db?endpoint=http://127.0.0.1:9000&region=eu-west-1")
///     .with_config(ConfigKey::PartSize, "32MiB")
///     .with_option("requestTimeout", "2m")
///     .with_env(|name| std::env::var(name).ok())
///     .build()?;
/// assert_eq!(config.part_size, 32 << 20);
/// assert_eq!(config.client.region, "eu-west-1"); // the URL's, over AWS_REGION
/// # Ok::<(), s3keep::Error>(())
/// ```
///
/// The order of the calls does not matter: [`build`](Self::build) applies the precedence
/// of the [module](super) (explicit > URL > `S3KEEP_*` > `AWS_*` > profile > default).
/// Errors of the calls (an unknown key, a malformed URL) are reported by `build`, first one
/// first, before any request is sent.
#[derive(Default)]
pub struct ConfigBuilder {
    explicit: Layer,
    url: Option<Result<Layer>>,
    env: Layer,
    env_url: Option<Result<Layer>>,
    aws: Layer,
    #[cfg(not(target_arch = "wasm32"))]
    profile_file: Option<std::path::PathBuf>,
    error: Option<Error>,
}

impl fmt::Debug for ConfigBuilder {
    /// Names the keys given, never their values (some are secrets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = |layer: &Layer| layer.keys().map(|k| k.name()).collect::<Vec<_>>();
        f.debug_struct("ConfigBuilder")
            .field("explicit", &keys(&self.explicit))
            .field("url", &self.url.is_some())
            .field("env", &keys(&self.env))
            .field("aws", &keys(&self.aws))
            .finish_non_exhaustive()
    }
}

impl StoreConfig {
    /// A [`ConfigBuilder`]: the one way the CLI, Python and JS make a configuration.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }
}

impl ConfigBuilder {
    /// Sets `key` explicitly (the highest precedence). [`ConfigKey::Url`] is the same as
    /// [`with_url`](Self::with_url).
    pub fn with_config(mut self, key: K, value: impl Into<String>) -> Self {
        let value = value.into();
        if key == K::Url {
            self.url = Some(parse_url(&value, Source::Url));
        } else {
            self.explicit.insert(key, (value, Source::Option));
        }
        self
    }

    /// Sets the option named `name` (any spelling [`ConfigKey`]'s `FromStr` reads); an
    /// unknown name makes [`build`](Self::build) fail.
    pub fn with_option(self, name: &str, value: impl Into<String>) -> Self {
        match name.parse::<K>() {
            Ok(key) => self.with_config(key, value),
            Err(e) => self.fail(e),
        }
    }

    /// The store as `s3://BUCKET[/PREFIX][?key=value&...]`: the URL sets the bucket and the
    /// prefix (`""` when it has none) and every option of its query, which may be any key
    /// but the URL's own parts and the credentials.
    pub fn with_url(self, url: &str) -> Self {
        self.with_config(K::Url, url)
    }

    /// Reads the variables of every key (`S3KEEP_*`, `AWS_*`) through `get`, and on native
    /// targets where the shared credentials file is (`AWS_SHARED_CREDENTIALS_FILE`, else
    /// `$HOME/.aws/credentials`). Empty values count as unset. Native faces pass
    /// `|name| std::env::var(name).ok()`; wasm32 passes the variables JS gave.
    pub fn with_env(mut self, get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| get(name).filter(|v| !v.is_empty());
        for key in K::ALL {
            for &name in key.env_names() {
                let layer = if name.starts_with("S3KEEP_") {
                    &mut self.env
                } else {
                    &mut self.aws
                };
                if let (false, Some(value)) = (layer.contains_key(&key), get(name)) {
                    layer.insert(key, (value, Source::Env(name)));
                }
            }
        }
        if let Some((url, _)) = self.env.remove(&K::Url) {
            self.env_url = Some(parse_url(&url, Source::Env("S3KEEP_URL")));
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.profile_file = get("AWS_SHARED_CREDENTIALS_FILE")
                .map(std::path::PathBuf::from)
                .or_else(|| get("HOME").map(|home| std::path::Path::new(&home).join(".aws/credentials")));
        }
        self
    }

    fn fail(mut self, error: Error) -> Self {
        self.error.get_or_insert(error);
        self
    }

    /// Parses every value and applies the precedence.
    ///
    /// # Errors
    /// [`Error::InvalidInput`], one line naming the option and the accepted form: no
    /// bucket, an unknown key, a malformed URL, a value outside its grammar or range, half
    /// a key pair, a bad bucket name or endpoint.
    pub fn build(self) -> Result<StoreConfig> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let url = self.url.transpose()?;
        // One URL replaces the other whole: S3KEEP_URL is not read when a URL is given.
        let env_url = if url.is_some() { None } else { self.env_url.transpose()? };
        let layers: Vec<Layer> = [Some(self.explicit), url, Some(self.env), env_url, Some(self.aws)]
            .into_iter()
            .flatten()
            .collect();
        let lookup = |key: K| layers.iter().find_map(|l| l.get(&key)).map(|(v, s)| (v.as_str(), *s));

        let (bucket, source) = lookup(K::Bucket).ok_or_else(|| {
            Error::invalid_input(
                "no bucket given: give the option bucket or url (s3://BUCKET/PREFIX), or set S3KEEP_BUCKET or S3KEEP_URL",
            )
        })?;
        let mut config = StoreConfig::new(bucket);
        config.sources.insert(K::Bucket, source);
        for key in K::ALL {
            if let (true, Some((value, source))) = (is_plain(key), lookup(key)) {
                apply(&mut config, key, value)?;
                config.sources.insert(key, source);
            }
        }
        config.client.credentials = layer_credentials(&layers, &mut config)?;
        #[cfg(not(target_arch = "wasm32"))]
        if config.client.credentials.is_none() {
            let profile = lookup(K::Profile);
            let name = profile.map_or("default", |(name, _)| name);
            let text = self
                .profile_file
                .as_ref()
                .and_then(|path| std::fs::read_to_string(path).ok());
            match text.and_then(|text| crate::config::parse_credentials_file(&text, name)) {
                Some(credentials) => {
                    let token = credentials.session_token.is_some().then_some(K::SessionToken);
                    for key in [K::AccessKeyId, K::SecretAccessKey].into_iter().chain(token) {
                        config.sources.insert(key, Source::Profile);
                    }
                    if let Some((_, source)) = profile {
                        config.sources.insert(K::Profile, source);
                    }
                    config.client.credentials = Some(credentials);
                    config.profile = Some(name.to_string());
                }
                None if profile.is_some() => {
                    return Err(Error::invalid_input(format!(
                        "profile: the shared credentials file has no profile {} with aws_access_key_id and aws_secret_access_key",
                        shown(name)
                    )))
                }
                None => {}
            }
        }
        let remote = [
            K::SourceAccessKeyId,
            K::SourceSecretAccessKey,
            K::SourceSessionToken,
            K::SourceProfile,
        ];
        config.remote = remote_credentials(remote.map(|key| lookup(key).map(|(value, _)| value.to_string())))?;
        #[cfg(not(target_arch = "wasm32"))]
        {
            config.remote.credentials_file = self.profile_file;
        }
        config.client.validate()?;
        if config.format == Some(1) && config.encryption.any() {
            return Err(Error::invalid_input(crate::config::FORMAT1_ENCRYPTED));
        }
        match (&config.object_lock.mode, &config.object_lock.policy) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::invalid_input(
                    "object_lock and lock_policy go together: give both (e.g. object_lock=governance lock_policy=keep_daily=7) or neither",
                ))
            }
            (Some(mode), Some(policy)) => {
                if config.format == Some(1) {
                    return Err(Error::invalid_input(
                        "Object Lock needs format 2 (its retention follows the store's policy); drop format=1",
                    ));
                }
                crate::object_lock::ObjectLockSettings::new(*mode, policy)?;
            }
            (None, None) => {}
        }
        Ok(config)
    }
}

/// The URL, the bucket and the credentials: read by `build` itself, never by [`apply`].
const NOT_PLAIN: [K; 10] = [
    K::Url,
    K::Bucket,
    K::AccessKeyId,
    K::SecretAccessKey,
    K::SessionToken,
    K::Profile,
    K::SourceAccessKeyId,
    K::SourceSecretAccessKey,
    K::SourceSessionToken,
    K::SourceProfile,
];

/// Keys applied one by one by [`apply`].
fn is_plain(key: K) -> bool {
    !NOT_PLAIN.contains(&key)
}

/// Parses `value` of `key` into `config`.
fn apply(c: &mut StoreConfig, key: K, value: &str) -> Result<()> {
    let name = key.name();
    let positive = |value: &str| {
        let d = parse_duration(name, value)?;
        if d.is_zero() {
            return Err(Error::invalid_input(format!(
                "{name}: {} is zero; give e.g. 30s",
                shown(value)
            )));
        }
        Ok(d)
    };
    match key {
        K::Prefix => c.prefix = normalize_prefix(value),
        K::Endpoint => {
            check_endpoint(value)?;
            c.client.endpoint = Some(value.to_string());
        }
        K::Region => {
            check_region(value)?;
            c.client.region = value.to_string();
        }
        K::Addressing => c.client.addressing = value.parse()?,
        K::CreateBucket => c.create_bucket = parse_bool(name, value)?,
        K::Concurrency => c.concurrency = parse_count(name, value, 1, u64::from(u16::MAX))? as usize,
        K::PartSize => {
            let size = parse_size(name, value)?;
            if !(crate::s3::MIN_PART_SIZE..=crate::s3::MAX_PART_SIZE).contains(&size) {
                return Err(Error::invalid_input(format!(
                    "{name}: {} is out of range; give 5MiB to 5GiB (S3's limits)",
                    shown(value)
                )));
            }
            c.part_size = size;
        }
        K::MultipartThreshold => c.multipart_threshold = parse_size(name, value)?,
        K::MaxAttempts => c.client.retry.max_attempts = parse_count(name, value, 1, u64::from(u32::MAX))? as u32,
        K::MaxElapsed => c.client.retry.max_elapsed = positive(value)?,
        K::ConnectTimeout => c.client.connect_timeout = positive(value)?,
        K::RequestTimeout => c.client.request_timeout = positive(value)?,
        K::ReadTimeout => c.client.read_timeout = positive(value)?,
        K::Checksum => c.client.checksum = value.parse()?,
        K::SignedPayload => c.client.signed_payload = parse_bool(name, value)?,
        K::StaleAfter => c.stale_after = parse_duration(name, value)?,
        K::Format => c.format = Some(parse_count(name, value, 1, 2)? as u8),
        K::CaBundle => c.client.ca_bundle = Some(std::path::PathBuf::from(value)),
        K::FollowSymlinks => c.scan.follow_symlinks = parse_bool(name, value)?,
        K::OnFileError => c.scan.on_file_error = value.parse()?,
        K::SingleWriter => c.single_writer = parse_bool(name, value)?,
        K::Password => c.encryption.password = Some(Secret::new(value)),
        K::PasswordFile => c.encryption.password_file = Some(std::path::PathBuf::from(value)),
        K::Recipients => c.encryption.recipients = crate::format2::keys::parse_recipients(value)?,
        K::Identity => {
            crate::format2::keys::parse_identities(name, value)?;
            c.encryption.identity = Some(Secret::new(value));
        }
        K::IdentityFile => c.encryption.identity_file = Some(std::path::PathBuf::from(value)),
        K::MacKey => {
            crate::format2::id::MacKey::from_hex(value)?;
            c.encryption.mac_key = Some(Secret::new(value));
        }
        K::ObjectLock => c.object_lock.mode = Some(value.parse()?),
        K::LockPolicy => c.object_lock.policy = Some(crate::object_lock::parse_lock_policy(value)?),
        // NOT_PLAIN: the caller filters them out.
        _ => unreachable!("{name} is not applied by apply()"),
    }
    Ok(())
}

/// The credentials of the highest layer that has any: the access key id and the secret
/// come together, with that layer's session token.
fn layer_credentials(layers: &[Layer], config: &mut StoreConfig) -> Result<Option<Credentials>> {
    for layer in layers {
        let get = |key| layer.get(&key);
        match (get(K::AccessKeyId), get(K::SecretAccessKey)) {
            (Some((id, id_source)), Some((secret, secret_source))) => {
                config.sources.insert(K::AccessKeyId, *id_source);
                config.sources.insert(K::SecretAccessKey, *secret_source);
                let token = get(K::SessionToken).map(|(token, source)| {
                    config.sources.insert(K::SessionToken, *source);
                    Secret::new(token.clone())
                });
                return Ok(Some(Credentials {
                    access_key_id: id.clone(),
                    secret_access_key: Secret::new(secret.clone()),
                    session_token: token,
                }));
            }
            (None, None) if get(K::SessionToken).is_some() => {
                return Err(Error::invalid_input(
                    "session_token: it needs access_key_id and secret_access_key from the same place",
                ))
            }
            (None, None) => {}
            _ => {
                return Err(Error::invalid_input(
                    "access_key_id and secret_access_key go together: give both or neither",
                ))
            }
        }
    }
    Ok(None)
}

/// Reads `s3://BUCKET[/PREFIX][?key=value&...]` naming the other bucket of an S3-to-S3
/// transfer (§13) with the store URL's grammar, alone: no environment, no explicit options.
/// Its `profile` is returned rather than read (the store's builder knows the credentials file).
///
/// # Errors
/// As [`ConfigBuilder::build`] for a URL.
pub(crate) fn parse_bucket_url(text: &str) -> Result<(StoreConfig, Option<String>)> {
    let mut layer = parse_url(text, Source::Url)?;
    let profile = layer.remove(&K::Profile).map(|(profile, _)| profile);
    let builder = ConfigBuilder {
        url: Some(Ok(layer)),
        ..ConfigBuilder::default()
    };
    Ok((builder.build()?, profile))
}

/// The other bucket's credentials from the `source_*` options, in [`ConfigKey::ALL`] order.
fn remote_credentials([id, secret, token, profile]: [Option<String>; 4]) -> Result<crate::config::RemoteCredentials> {
    let credentials = match (id, secret) {
        (Some(id), Some(secret)) => Some(Credentials {
            access_key_id: id,
            secret_access_key: Secret::new(secret),
            session_token: token.map(Secret::new),
        }),
        (None, None) if token.is_none() => None,
        _ => {
            return Err(Error::invalid_input(
                "source_access_key_id and source_secret_access_key go together (with source_session_token if any): give both or neither (S3KEEP_SOURCE_ACCESS_KEY_ID, S3KEEP_SOURCE_SECRET_ACCESS_KEY)",
            ))
        }
    };
    Ok(crate::config::RemoteCredentials {
        credentials,
        profile,
        credentials_file: None,
    })
}

/// Parses `s3://BUCKET[/PREFIX][?key=value&...]` into a layer. The messages name the wrong
/// part and never repeat the URL or a query value (either may hold a secret).
fn parse_url(text: &str, source: Source) -> Result<Layer> {
    let bad = |why: &str| Error::invalid_input(format!("url: {why}; give s3://BUCKET[/PREFIX][?key=value&...]"));
    let url = url::Url::parse(text).map_err(|e| bad(&format!("it is not a URL ({e})")))?;
    if url.scheme() != "s3" {
        return Err(bad("the scheme is not s3"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the URL"));
    }
    if url.port().is_some() {
        return Err(bad("it has a port; give the endpoint as ?endpoint=http(s)://host:port"));
    }
    if url.fragment().is_some() {
        return Err(bad("it has a fragment (#...)"));
    }
    let bucket = url
        .host_str()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| bad("the bucket is missing"))?;
    let prefix = percent_encoding::percent_decode_str(url.path())
        .decode_utf8()
        .map_err(|_| bad("the prefix is not UTF-8"))?;
    let mut layer = Layer::new();
    layer.insert(K::Bucket, (bucket.to_string(), source));
    layer.insert(K::Prefix, (prefix.into_owned(), source));
    for (name, value) in url.query_pairs() {
        let key = K::ALL
            .into_iter()
            .find(|k| k.names().contains(&name.as_ref()))
            .ok_or_else(|| bad(&format!("the query has the unknown option {}", shown(&name))))?;
        if !key.allowed_in_url() {
            return Err(bad(&format!("{key} cannot be in the query")));
        }
        if layer.insert(key, (value.into_owned(), source)).is_some() {
            return Err(bad(&format!("{key} is given twice")));
        }
    }
    Ok(layer)
}

#[cfg(test)]
#[path = "builder_tests.rs"]
mod tests;

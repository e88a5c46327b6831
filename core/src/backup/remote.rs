//! S3 to S3 (§13): a bucket and prefix on any endpoint as the source of a file set, or as
//! the target of a restore.
//!
//! The bucket is named by the store URL's grammar, `s3://BUCKET[/PREFIX][?endpoint=...&
//! region=...&profile=...]` ([`BucketUrl::parse`]). Its credentials (first that applies):
//! the `profile` of its URL; the `S3KEEP_SOURCE_*` variables; `S3KEEP_SOURCE_PROFILE`; the
//! store's own credentials only when the bucket is on the store's endpoint; else none
//! (unsigned requests). The store's credentials are never sent to another endpoint.
//!
//! A source prefix is listed through every page; a key outside the prefix is refused (a
//! store that does not filter listings), a folder marker (a key ending in `/`, 0 bytes) is
//! left out, and every other key must make a valid file name (§3).

use futures::TryStreamExt as _;

use super::layout::validate_relative_path;
use super::source::{FileSpec, Source};
use crate::config::{ClientConfig, Credentials, StoreConfig};
use crate::error::{Error, ErrorDetails, Result};
use crate::s3::{CopySource, ListOptions, S3Client};

/// Whether a source or target given as text names a bucket (`s3://...`) rather than a path:
/// the one test every face applies before handing the text to [`BucketUrl::parse`] or
/// [`FileSet::from_url`](super::FileSet::from_url).
pub fn is_s3_url(text: &str) -> bool {
    text.starts_with("s3://")
}

/// The other bucket of an S3-to-S3 transfer, parsed, its credentials not yet chosen.
#[derive(Clone)]
pub struct BucketUrl {
    /// Bucket, endpoint, region and tuning from the URL; no credentials.
    config: ClientConfig,
    /// Normalised prefix (`""` or `a/b/`).
    prefix: String,
    /// The URL's `profile`, if any.
    profile: Option<String>,
}

impl std::fmt::Debug for BucketUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BucketUrl({})", self.shown())
    }
}

impl BucketUrl {
    /// Parses `s3://BUCKET[/PREFIX][?key=value&...]`: the store URL's grammar (docs/OPTIONS.md),
    /// where `profile` names the bucket's own profile of the shared credentials file.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed URL or option, before any request.
    pub fn parse(url: &str) -> Result<Self> {
        let (config, profile) = crate::options::builder::parse_bucket_url(url)?;
        Ok(Self {
            config: config.client,
            prefix: config.prefix,
            profile,
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.config.bucket
    }

    /// The normalised prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `s3://bucket/prefix` for messages (no query: nothing secret).
    pub fn shown(&self) -> String {
        crate::escape::escape_controls(&format!("s3://{}/{}", self.config.bucket, self.prefix)).into_owned()
    }

    /// The bucket's client configuration, with its credentials chosen as the module says.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a profile is named but the shared credentials file does
    /// not have it (or cannot be read: always so in wasm32).
    pub fn client_config(&self, store: &StoreConfig) -> Result<ClientConfig> {
        let mut config = self.config.clone();
        let remote = &store.remote;
        config.credentials = if let Some(profile) = &self.profile {
            Some(read_profile(store, profile)?)
        } else if let Some(credentials) = &remote.credentials {
            Some(credentials.clone())
        } else if let Some(profile) = &remote.profile {
            Some(read_profile(store, profile)?)
        } else if same_endpoint(&config, &store.client) {
            store.client.credentials.clone()
        } else {
            None
        };
        if config.ca_bundle.is_none() {
            config.ca_bundle.clone_from(&store.client.ca_bundle);
        }
        Ok(config)
    }

    /// A client for the bucket ([`client_config`](Self::client_config)).
    ///
    /// # Errors
    /// As `client_config`, and a bad bucket name or endpoint.
    pub fn client(&self, store: &StoreConfig) -> Result<S3Client> {
        S3Client::new(self.client_config(store)?)
    }
}

fn read_profile(store: &StoreConfig, profile: &str) -> Result<Credentials> {
    let missing = || {
        Error::invalid_input(format!(
            "profile: the shared credentials file has no profile {} with aws_access_key_id and aws_secret_access_key (for the S3 source or target)",
            crate::options::values::shown(profile)
        ))
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        let text = store
            .remote
            .credentials_file
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .ok_or_else(missing)?;
        crate::config::parse_credentials_file(&text, profile).ok_or_else(missing)
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = store;
        Err(missing())
    }
}

/// Whether two clients talk to the same endpoint (scheme, host and port; AWS when unset).
pub(crate) fn same_endpoint(a: &ClientConfig, b: &ClientConfig) -> bool {
    let origin = |c: &ClientConfig| {
        c.endpoint
            .as_deref()
            .map(|e| url::Url::parse(e).map(|u| u.origin().ascii_serialization()).ok())
    };
    match (origin(a), origin(b)) {
        (None, None) => true,
        (Some(Some(x)), Some(Some(y))) => x == y,
        _ => false,
    }
}

/// Whether a server-side copy from `source` into the store may be used (§13): the same
/// endpoint and the same access key, so that the store's identity reads nothing the
/// source's credentials could not.
pub(crate) fn can_copy_server_side(source: &ClientConfig, store: &ClientConfig) -> bool {
    let key = |c: &ClientConfig| c.credentials.as_ref().map(|c| c.access_key_id.clone());
    same_endpoint(source, store) && key(source).is_some() && key(source) == key(store)
}

/// One object of a source prefix, as listed.
#[derive(Clone)]
pub struct RemoteObject {
    /// The source bucket's client.
    pub(crate) client: S3Client,
    /// The object's key.
    pub key: String,
    /// Its size as listed.
    pub size: u64,
    /// Its ETag as listed, quotes included.
    pub etag: Option<String>,
}

impl RemoteObject {
    /// The object as the source of a server-side copy, pinned to its listed ETag.
    pub(crate) fn copy_source(&self) -> CopySource {
        CopySource {
            bucket: self.client.config().bucket.clone(),
            key: self.key.clone(),
            etag: self.etag.clone(),
        }
    }
}

impl std::fmt::Debug for RemoteObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RemoteObject({}, {} bytes)",
            crate::escape::escape_controls(&self.key),
            self.size
        )
    }
}

/// Lists every object under `url`'s prefix (every page) as files named by their key
/// without the prefix, each joined below `under` (a name given to the whole prefix, or "").
///
/// # Errors
/// Listing errors; [`Error::S3`] naming a key the store listed outside the prefix;
/// [`Error::InvalidInput`] for a key that is not a valid file name (§3).
pub(crate) async fn list_source(client: &S3Client, url: &BucketUrl, under: &str) -> Result<Vec<FileSpec>> {
    let options = ListOptions {
        prefix: url.prefix.clone(),
        ..ListOptions::default()
    };
    let mut files = Vec::new();
    let mut pages = std::pin::pin!(client.list_objects_v2(options));
    while let Some(page) = pages.try_next().await? {
        for object in page.objects {
            let Some(relative) = object.key.strip_prefix(url.prefix.as_str()) else {
                return Err(Error::S3(ErrorDetails {
                    message: format!(
                        "the ListObjectsV2 of {} named the key {} outside that prefix; the store does not filter listings by prefix",
                        url.shown(),
                        crate::escape::escape_controls(&object.key)
                    ),
                    endpoint: Some(client.endpoint().to_string()),
                    key: Some(object.key.clone()),
                    ..ErrorDetails::default()
                }));
            };
            if relative.ends_with('/') && object.size == 0 {
                continue; // a folder marker: object storage has no directories (§3)
            }
            let name = if under.is_empty() {
                relative.to_string()
            } else {
                format!("{under}/{relative}")
            };
            validate_relative_path(&name).map_err(|e| {
                Error::invalid_input(format!(
                    "the source {} holds a key that is not a valid file name: {}",
                    url.shown(),
                    e.details().message
                ))
            })?;
            files.push(FileSpec {
                name,
                source: Source::Object(RemoteObject {
                    client: client.clone(),
                    key: object.key,
                    size: object.size,
                    etag: Some(object.etag).filter(|e| !e.is_empty()),
                }),
            });
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Credentials;

    fn store(endpoint: &str) -> StoreConfig {
        let mut config = StoreConfig::new("store");
        config.client.endpoint = Some(endpoint.to_string());
        config.client.credentials = Some(Credentials::new("STORE", "store-secret"));
        config
    }

    fn key_of(config: &ClientConfig) -> Option<&str> {
        config.credentials.as_ref().map(|c| c.access_key_id.as_str())
    }

    #[test]
    fn the_url_gives_bucket_normalised_prefix_endpoint_and_profile() {
        let url = BucketUrl::parse("s3://src-bucket/a/b?endpoint=http://127.0.0.1:9000&region=eu-west-1&profile=src")
            .unwrap();
        assert_eq!(url.bucket(), "src-bucket");
        assert_eq!(url.prefix(), "a/b/");
        assert_eq!(url.config.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(url.config.region, "eu-west-1");
        assert_eq!(url.profile.as_deref(), Some("src"));
        assert_eq!(BucketUrl::parse("s3://src-bucket").unwrap().prefix(), "");
        for bad in ["s3://AK:SECRET@bucket/p", "http://bucket/p", "s3://bucket/p?nonsense=1"] {
            let err = BucketUrl::parse(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err:?}");
            assert!(!err.to_string().contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn the_store_credentials_serve_only_the_store_endpoint() {
        let store = store("http://127.0.0.1:9000");
        let same = BucketUrl::parse("s3://src/p?endpoint=http://127.0.0.1:9000/").unwrap();
        assert_eq!(key_of(&same.client_config(&store).unwrap()), Some("STORE"));
        for other in [
            "s3://src/p?endpoint=http://127.0.0.1:9001",
            "s3://src/p?endpoint=https://127.0.0.1:9000",
            "s3://src/p?endpoint=http://localhost:9000",
            "s3://src/p",
        ] {
            let url = BucketUrl::parse(other).unwrap();
            assert_eq!(key_of(&url.client_config(&store).unwrap()), None, "{other}");
        }
    }

    #[test]
    fn source_credentials_come_first_and_a_missing_profile_is_an_error() {
        let mut store = store("http://127.0.0.1:9000");
        store.remote.credentials = Some(Credentials::new("SOURCE", "source-secret"));
        let same = BucketUrl::parse("s3://src/p?endpoint=http://127.0.0.1:9000").unwrap();
        let config = same.client_config(&store).unwrap();
        assert_eq!(key_of(&config), Some("SOURCE"));
        assert!(!can_copy_server_side(&config, &store.client));
        store.remote.credentials = Some(Credentials::new("STORE", "store-secret"));
        assert!(can_copy_server_side(
            &same.client_config(&store).unwrap(),
            &store.client
        ));

        let named = BucketUrl::parse("s3://src/p?profile=nowhere").unwrap();
        let err = named.client_config(&store).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        assert!(err.to_string().contains("\"nowhere\""), "{err}");
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_profile_is_read_from_the_store_builder_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "[src]\naws_access_key_id = FROMFILE\naws_secret_access_key = s\n",
        )
        .unwrap();
        let env = |name: &str| match name {
            "AWS_SHARED_CREDENTIALS_FILE" => Some(file.to_string_lossy().into_owned()),
            "S3KEEP_SOURCE_PROFILE" => Some("src".to_string()),
            _ => None,
        };
        let store = StoreConfig::builder()
            .with_url("s3://store")
            .with_env(env)
            .build()
            .unwrap();
        assert_eq!(store.remote.profile.as_deref(), Some("src"));
        let url = BucketUrl::parse("s3://src/p?endpoint=http://10.0.0.1:9000").unwrap();
        assert_eq!(key_of(&url.client_config(&store).unwrap()), Some("FROMFILE"));

        let half = |name: &str| (name == "S3KEEP_SOURCE_ACCESS_KEY_ID").then(|| "AK".to_string());
        let err = StoreConfig::builder()
            .with_url("s3://store")
            .with_env(half)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("S3KEEP_SOURCE_SECRET_ACCESS_KEY"), "{err}");
    }
}

//! Global options → [`StoreConfig`] (SPEC §2): `--url` as the base, `--bucket`, `--prefix`,
//! `--endpoint` and `--region` over it, then whatever is still unset from the environment
//! (region, endpoint, credentials, shared profile) through [`StoreConfig::fill_from_env`].

use s3keep::{Error, Result, StoreConfig};

use crate::args::GlobalArgs;

/// Builds the store configuration from the global options and the environment.
///
/// # Errors
/// [`Error::InvalidInput`] (exit 2) when no bucket is given or `--url` is malformed.
pub fn store_config(args: &GlobalArgs) -> Result<StoreConfig> {
    let mut explicit_region = args.region.is_some();
    let mut config =
        match (&args.url, &args.bucket) {
            (Some(url), _) => {
                explicit_region |= url_has_query_key(url, "region");
                let mut config = StoreConfig::from_url(url)?;
                if let Some(bucket) = &args.bucket {
                    config.client.bucket = bucket.clone();
                }
                config
            }
            (None, Some(bucket)) => StoreConfig::new(bucket.as_str()),
            (None, None) => return Err(Error::invalid_input(
                "no bucket given: pass --bucket BUCKET or --url s3://BUCKET/PREFIX (or set S3KEEP_BUCKET / S3KEEP_URL)",
            )),
        };
    if let Some(prefix) = &args.prefix {
        config = config.with_prefix(prefix);
    }
    if let Some(endpoint) = &args.endpoint {
        config.client.endpoint = Some(endpoint.clone());
    }
    if let Some(region) = &args.region {
        config.client.region = region.clone();
    }
    config.create_bucket = args.create_bucket;
    if let Some(n) = args.concurrency {
        config.concurrency = usize::from(n);
    }
    config.format = args.format;
    Ok(config.fill_from_env(explicit_region))
}

/// Whether the query of an `s3://` URL names `key` (so the environment must not override it).
fn url_has_query_key(url: &str, key: &str) -> bool {
    url.split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|pair| pair.split('=').next() == Some(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> GlobalArgs {
        GlobalArgs::default()
    }

    #[test]
    fn flags_override_the_parts_of_the_url() {
        let a = GlobalArgs {
            url: Some("s3://from-url/p1?endpoint=http://a:9000&region=eu-west-1".into()),
            prefix: Some("/p2/".into()),
            endpoint: Some("http://b:9000".into()),
            ..args()
        };
        let c = store_config(&a).unwrap();
        assert_eq!(c.client.bucket, "from-url");
        assert_eq!(c.prefix, "p2/");
        assert_eq!(c.client.endpoint.as_deref(), Some("http://b:9000"));
        assert_eq!(c.client.region, "eu-west-1");
    }

    #[test]
    fn bucket_flag_and_options_apply() {
        let a = GlobalArgs {
            bucket: Some("bk".into()),
            region: Some("ap-south-1".into()),
            create_bucket: true,
            concurrency: Some(3),
            ..args()
        };
        let c = store_config(&a).unwrap();
        assert_eq!(c.client.bucket, "bk");
        assert_eq!(c.prefix, "");
        assert_eq!(c.client.region, "ap-south-1");
        assert!(c.create_bucket);
        assert_eq!(c.concurrency, 3);
    }

    #[test]
    fn a_missing_bucket_is_a_usage_error() {
        let err = store_config(&args()).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        assert!(err.to_string().contains("--bucket"), "{err}");
    }

    #[test]
    fn region_in_the_url_query_is_detected() {
        assert!(url_has_query_key("s3://b/p?endpoint=x&region=r", "region"));
        assert!(!url_has_query_key("s3://b/region=x", "region"));
        assert!(!url_has_query_key("s3://b?endpoint=http://h/?region", "region"));
    }
}

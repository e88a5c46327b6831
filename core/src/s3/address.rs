//! Request URLs: endpoint, path-style or virtual-hosted addressing, key encoding.
//!
//! Keys are percent-encoded once, leaving only RFC 3986 unreserved characters and `/`; the
//! signer then uses that path as the canonical URI unchanged (S3 is single-encoded and not
//! path-normalised: AWS "Create a canonical request", S3 exception).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::{Addressing, ClientConfig};
use crate::error::{Error, Result};

/// Everything but unreserved characters (`A-Z a-z 0-9 - . _ ~`) is encoded.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// In paths `/` separates segments and stays as it is.
const PATH: &AsciiSet = &QUERY.remove(b'/');

/// Percent-encodes an object key for the URL path.
pub(crate) fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, PATH).to_string()
}

/// Percent-encodes a query parameter name or value.
pub(crate) fn encode_query(value: &str) -> String {
    utf8_percent_encode(value, QUERY).to_string()
}

/// Checks a key before it goes into a URL.
///
/// S3 accepts any UTF-8 key of 1 to 1024 bytes, but `.` and `..` segments would be resolved
/// away by URL parsers (WHATWG URL, which reqwest uses) and address another object.
pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 1024 {
        return Err(
            Error::invalid_input(format!("object key must be 1 to 1024 bytes, got {} bytes", key.len())).with_key(key),
        );
    }
    if key.split('/').any(|s| s == "." || s == "..") {
        return Err(
            Error::invalid_input("object keys with '.' or '..' path segments cannot be addressed by URL").with_key(key),
        );
    }
    Ok(())
}

/// The scheme + authority and the path prefix that bucket requests start with.
#[derive(Clone, Debug)]
pub(crate) struct BucketAddress {
    /// `http(s)://host[:port]`, with the bucket in the host when virtual-hosted.
    pub origin: String,
    /// `/bucket` (path-style) or `` (virtual-hosted).
    pub bucket_path: String,
    /// What errors name as the endpoint.
    pub endpoint: String,
}

impl BucketAddress {
    /// Resolves the addressing style of §2.
    pub fn new(config: &ClientConfig) -> Result<Self> {
        config.validate()?;
        let (endpoint, default_style) = match &config.endpoint {
            Some(e) => (e.trim_end_matches('/').to_string(), Addressing::Path),
            None => (
                format!("https://s3.{}.amazonaws.com", config.region),
                Addressing::VirtualHosted,
            ),
        };
        let style = match config.addressing {
            Addressing::Auto => default_style,
            other => other,
        };
        let bucket = &config.bucket;
        Ok(match style {
            Addressing::VirtualHosted => {
                let (scheme, host) = endpoint.split_once("://").unwrap_or(("https", &endpoint));
                BucketAddress {
                    origin: format!("{scheme}://{bucket}.{host}"),
                    bucket_path: String::new(),
                    endpoint,
                }
            }
            _ => BucketAddress {
                origin: endpoint.clone(),
                bucket_path: format!("/{}", encode_key(bucket)),
                endpoint,
            },
        })
    }

    /// The full URL of `key` (or of the bucket when `None`) with an encoded query string.
    pub fn url(&self, key: Option<&str>, query: &[(&str, String)]) -> String {
        let mut url = self.origin.clone();
        url.push_str(&self.bucket_path);
        url.push('/');
        if let Some(key) = key {
            url.push_str(&encode_key(key));
        }
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&encode_query(k));
            url.push('=');
            url.push_str(&encode_query(v));
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_slashes_and_unreserved_and_encode_the_rest() {
        assert_eq!(encode_key("a b+c%d=e~f"), "a%20b%2Bc%25d%3De~f");
        assert_eq!(encode_key("dir//file"), "dir//file");
        assert_eq!(encode_key("é/ü"), "%C3%A9/%C3%BC");
        assert_eq!(encode_query("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn path_style_for_custom_endpoints_virtual_for_aws() {
        let mut c = ClientConfig::new("bkt");
        c.endpoint = Some("http://127.0.0.1:9000/".into());
        let a = BucketAddress::new(&c).unwrap();
        assert_eq!(
            a.url(Some("x/y z"), &[("uploads", String::new())]),
            "http://127.0.0.1:9000/bkt/x/y%20z?uploads="
        );
        let a = BucketAddress::new(&ClientConfig::new("bkt")).unwrap();
        assert_eq!(a.url(None, &[]), "https://bkt.s3.us-east-1.amazonaws.com/");
    }

    #[test]
    fn endpoints_with_credentials_or_a_query_are_refused_without_echoing_them() {
        for endpoint in [
            "http://AK:SECRET@127.0.0.1:9000",
            "http://127.0.0.1:9000/?X-Amz-Signature=SIG&X-Amz-Security-Token=TOKEN",
        ] {
            let mut c = ClientConfig::new("bkt");
            c.endpoint = Some(endpoint.into());
            let err = BucketAddress::new(&c).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(matches!(err, Error::InvalidInput(_)), "{text}");
            assert!(
                !["SECRET", "SIG", "TOKEN", "AK:"].iter().any(|s| text.contains(s)),
                "{text}"
            );
        }
    }

    #[test]
    fn dot_segments_and_oversized_keys_are_rejected() {
        assert!(check_key("a/../b").is_err());
        assert!(check_key("./a").is_err());
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(1025)).is_err());
        assert!(check_key("a/.hidden/..x").is_ok());
    }
}

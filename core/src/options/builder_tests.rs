//! The builder's precedence, URL parsing and credentials, without a server.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::{Addressing, ChecksumMode, StoreConfig};
use crate::error::Error;
use crate::options::{ConfigKey as K, Source};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.get(name).cloned()
}

fn message(result: crate::Result<StoreConfig>) -> String {
    match result {
        Err(Error::InvalidInput(d)) => d.message,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn every_option_parses_from_its_string() {
    let mut b = StoreConfig::builder().with_config(K::Bucket, "bkt");
    for (key, value) in [
        (K::Prefix, "/a/b"),
        (K::Endpoint, "http://127.0.0.1:9000"),
        (K::Region, "eu-west-1"),
        (K::Addressing, "virtual"),
        (K::CreateBucket, "true"),
        (K::Concurrency, "3"),
        (K::PartSize, "5MiB"),
        (K::MultipartThreshold, "64MB"),
        (K::MaxAttempts, "2"),
        (K::MaxElapsed, "90s"),
        (K::ConnectTimeout, "2s"),
        (K::RequestTimeout, "1h30m"),
        (K::Checksum, "md5"),
        (K::SignedPayload, "true"),
        (K::StaleAfter, "2d"),
        (K::Format, "1"),
        (K::SingleWriter, "true"),
    ] {
        b = b.with_config(key, value);
    }
    let c = b.build().unwrap();
    assert_eq!(c.prefix, "a/b/");
    assert_eq!(c.client.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(c.client.region, "eu-west-1");
    assert_eq!(c.client.addressing, Addressing::VirtualHosted);
    assert!(c.create_bucket && c.client.signed_payload && c.single_writer);
    assert_eq!(
        (c.concurrency, c.part_size, c.multipart_threshold),
        (3, 5 << 20, 64_000_000)
    );
    assert_eq!(c.client.retry.max_attempts, 2);
    assert_eq!(c.client.retry.max_elapsed, Duration::from_secs(90));
    assert_eq!(c.client.connect_timeout, Duration::from_secs(2));
    assert_eq!(c.client.request_timeout, Duration::from_secs(5400));
    assert_eq!(c.client.checksum, ChecksumMode::ContentMd5);
    assert_eq!(c.stale_after, Duration::from_secs(2 * 86_400));
    assert_eq!(c.format, Some(1));
    assert!(c.sources.values().all(|s| *s == Source::Option));
}

#[test]
fn the_url_gives_bucket_prefix_and_query_options() {
    let c = StoreConfig::builder()
        .with_url("s3://bkt/x/my%20dir?endpoint=http://127.0.0.1:9000&region=eu-west-1&part_size=32MiB")
        .build()
        .unwrap();
    assert_eq!(c.client.bucket, "bkt");
    assert_eq!(c.prefix, "x/my dir/");
    assert_eq!(c.client.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(c.client.region, "eu-west-1");
    assert_eq!(c.part_size, 32 << 20);
    assert_eq!(c.sources[&K::Region], Source::Url);
}

#[test]
fn malformed_urls_name_the_part_and_never_repeat_the_url() {
    for (url, why) in [
        ("http://bk/p", "the scheme is not s3"),
        ("s3://", "the bucket is missing"),
        ("s3://KEY:hunter2@bk/p", "credentials do not belong"),
        ("s3://bkt:9000/p", "it has a port"),
        ("s3://bkt/p?colour=hunter2", "unknown option \"colour\""),
        (
            "s3://bkt/p?secret_access_key=hunter2",
            "secret_access_key cannot be in the query",
        ),
        ("s3://bkt/p?bucket=other", "bucket cannot be in the query"),
        ("s3://bkt/p?region=a&region=b", "region is given twice"),
        ("not a url hunter2", "it is not a URL"),
    ] {
        let m = message(StoreConfig::builder().with_url(url).build());
        assert!(m.starts_with("url: ") && m.contains(why), "{url}: {m}");
        assert!(!m.contains("hunter2"), "{m}");
    }
}

#[test]
fn explicit_options_win_over_the_url_which_wins_over_the_environment() {
    let c = StoreConfig::builder()
        .with_env(env(&[
            ("S3KEEP_BUCKET", "from-env"),
            ("S3KEEP_REGION", "env-region"),
            ("AWS_REGION", "aws-region"),
            ("S3KEEP_CONCURRENCY", "4"),
            ("AWS_ENDPOINT_URL", "http://aws-env:9000"),
        ]))
        .with_config(K::Bucket, "explicit")
        .with_url("s3://from-url/p?region=url-region")
        .build()
        .unwrap();
    assert_eq!(c.client.bucket, "explicit");
    assert_eq!(c.prefix, "p/");
    assert_eq!(c.client.region, "url-region");
    assert_eq!(c.concurrency, 4);
    assert_eq!(c.client.endpoint.as_deref(), Some("http://aws-env:9000"));
    assert_eq!(c.sources[&K::Bucket], Source::Option);
    assert_eq!(c.sources[&K::Prefix], Source::Url);
    assert_eq!(c.sources[&K::Concurrency], Source::Env("S3KEEP_CONCURRENCY"));
    assert_eq!(c.sources[&K::Endpoint], Source::Env("AWS_ENDPOINT_URL"));
}

#[test]
fn region_in_the_url_is_read_from_the_parsed_query_not_the_text() {
    // "region=" in the path is a prefix, not the region: AWS_REGION applies.
    let c = StoreConfig::builder()
        .with_url("s3://bkt/myregion=x")
        .with_env(env(&[("AWS_REGION", "eu-north-1")]))
        .build()
        .unwrap();
    assert_eq!(
        (c.prefix.as_str(), c.client.region.as_str()),
        ("myregion=x/", "eu-north-1")
    );
}

#[test]
fn aws_variables_apply_in_their_order_under_the_s3keep_ones() {
    let c = StoreConfig::builder()
        .with_config(K::Bucket, "bkt")
        .with_env(env(&[
            ("AWS_DEFAULT_REGION", "default-region"),
            ("AWS_REGION", "aws-region"),
            ("AWS_ENDPOINT_URL", "http://generic:1"),
            ("AWS_ENDPOINT_URL_S3", "http://s3-specific:2"),
        ]))
        .build()
        .unwrap();
    assert_eq!(c.client.region, "aws-region");
    assert_eq!(c.client.endpoint.as_deref(), Some("http://s3-specific:2"));
    let c = StoreConfig::builder()
        .with_config(K::Bucket, "bkt")
        .with_env(env(&[("AWS_DEFAULT_REGION", "default-region"), ("AWS_REGION", "")]))
        .build()
        .unwrap();
    assert_eq!(c.client.region, "default-region", "an empty variable counts as unset");
}

#[test]
fn s3keep_url_is_below_the_specific_variables_and_ignored_under_an_explicit_url() {
    let vars = env(&[
        ("S3KEEP_URL", "s3://env-bucket/env-prefix?region=env-url-region"),
        ("S3KEEP_PREFIX", "specific"),
    ]);
    let c = StoreConfig::builder().with_env(&vars).build().unwrap();
    assert_eq!(c.client.bucket, "env-bucket");
    assert_eq!(c.prefix, "specific/");
    assert_eq!(c.client.region, "env-url-region");
    assert_eq!(c.sources[&K::Region], Source::Env("S3KEEP_URL"));
    let c = StoreConfig::builder()
        .with_env(&vars)
        .with_url("s3://other")
        .build()
        .unwrap();
    assert_eq!((c.client.bucket.as_str(), c.prefix.as_str()), ("other", ""));
    assert_eq!(c.client.region, "us-east-1");
}

#[test]
fn credentials_come_whole_from_one_place() {
    let vars = env(&[("AWS_ACCESS_KEY_ID", "ENVID"), ("AWS_SECRET_ACCESS_KEY", "envsecret")]);
    let c = StoreConfig::builder()
        .with_config(K::Bucket, "bkt")
        .with_env(&vars)
        .build()
        .unwrap();
    assert_eq!(c.client.credentials.as_ref().unwrap().access_key_id, "ENVID");
    let c = StoreConfig::builder()
        .with_config(K::Bucket, "bkt")
        .with_config(K::AccessKeyId, "MINE")
        .with_config(K::SecretAccessKey, "mysecret")
        .with_config(K::SessionToken, "mytoken")
        .with_env(&vars)
        .build()
        .unwrap();
    let k = c.client.credentials.unwrap();
    assert_eq!(
        (k.access_key_id.as_str(), k.secret_access_key.expose()),
        ("MINE", "mysecret")
    );
    assert_eq!(k.session_token.unwrap().expose(), "mytoken");
    let m = message(
        StoreConfig::builder()
            .with_config(K::Bucket, "bkt")
            .with_config(K::AccessKeyId, "only-the-id")
            .with_env(&vars)
            .build(),
    );
    assert_eq!(
        m,
        "access_key_id and secret_access_key go together: give both or neither"
    );
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn the_profile_is_read_last_and_a_named_missing_profile_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        "[default]\naws_access_key_id = DEF\naws_secret_access_key = s1\n[prod]\naws_access_key_id=PROD\naws_secret_access_key=s2\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let build = |vars: &[(&str, &str)]| {
        StoreConfig::builder()
            .with_config(K::Bucket, "bkt")
            .with_env(env(vars))
            .build()
    };
    let c = build(&[("AWS_SHARED_CREDENTIALS_FILE", path)]).unwrap();
    assert_eq!(c.client.credentials.unwrap().access_key_id, "DEF");
    assert_eq!(
        (c.profile.as_deref(), c.sources[&K::AccessKeyId]),
        (Some("default"), Source::Profile)
    );
    let c = build(&[("AWS_SHARED_CREDENTIALS_FILE", path), ("AWS_PROFILE", "prod")]).unwrap();
    assert_eq!(c.client.credentials.unwrap().access_key_id, "PROD");
    let c = build(&[
        ("AWS_SHARED_CREDENTIALS_FILE", path),
        ("AWS_ACCESS_KEY_ID", "ENV"),
        ("AWS_SECRET_ACCESS_KEY", "s3"),
    ])
    .unwrap();
    assert_eq!(c.client.credentials.unwrap().access_key_id, "ENV");
    let m = message(build(&[("AWS_SHARED_CREDENTIALS_FILE", path), ("AWS_PROFILE", "nope")]));
    assert!(
        m.starts_with("profile: the shared credentials file has no profile \"nope\""),
        "{m}"
    );
    assert!(
        build(&[]).unwrap().client.credentials.is_none(),
        "no HOME, no file: unsigned"
    );
}

#[test]
fn bad_values_are_one_line_errors_naming_the_key() {
    let bad = |key, value| {
        message(
            StoreConfig::builder()
                .with_config(K::Bucket, "bkt")
                .with_config(key, value)
                .build(),
        )
    };
    assert_eq!(bad(K::PartSize, "16"), "part_size: \"16\" has no unit; give e.g. 16MiB");
    assert_eq!(
        bad(K::PartSize, "1MiB"),
        "part_size: \"1MiB\" is out of range; give 5MiB to 5GiB (S3's limits)"
    );
    assert_eq!(
        bad(K::Concurrency, "0"),
        "concurrency: \"0\" is out of range; give 1 to 65535"
    );
    assert_eq!(
        bad(K::RequestTimeout, "0s"),
        "request_timeout: \"0s\" is zero; give e.g. 30s"
    );
    assert!(bad(K::StaleAfter, "1y").starts_with("stale_after: \"1y\" has the unit \"y\""));
    assert_eq!(bad(K::Format, "3"), "format: \"3\" is out of range; give 1 to 2");
    assert_eq!(
        bad(K::CreateBucket, "yes"),
        "create_bucket: \"yes\" is not true or false"
    );
    assert!(bad(K::Region, "eu west").starts_with("region: \"eu west\" is not a region name"));
    let m = bad(K::Endpoint, "ftp://user:hunter2@host");
    assert!(m.starts_with("endpoint: ") && !m.contains("hunter2"), "{m}");
    let m = message(
        StoreConfig::builder()
            .with_option("colour", "red")
            .with_config(K::Bucket, "bkt")
            .build(),
    );
    assert!(m.starts_with("unknown option \"colour\""), "{m}");
    let m = message(StoreConfig::builder().build());
    assert!(m.starts_with("no bucket given"), "{m}");
    let m = message(StoreConfig::builder().with_config(K::Bucket, "Not_A_Bucket!").build());
    assert!(m.starts_with("bucket: \"Not_A_Bucket!\" is not a bucket name"), "{m}");
}

#[test]
fn with_option_takes_every_spelling() {
    let c = StoreConfig::builder()
        .with_option("bucket", "bkt")
        .with_option("partSize", "8MiB")
        .with_option("multipart-threshold", "8MiB")
        .with_option("S3KEEP_CONCURRENCY", "2")
        .build()
        .unwrap();
    assert_eq!(
        (c.part_size, c.multipart_threshold, c.concurrency),
        (8 << 20, 8 << 20, 2)
    );
}

#[test]
fn the_builder_debug_never_shows_values() {
    let b = StoreConfig::builder()
        .with_config(K::Bucket, "bkt")
        .with_config(K::SecretAccessKey, "hunter2");
    let text = format!("{b:?}");
    assert!(
        text.contains("secret_access_key") && !text.contains("hunter2"),
        "{text}"
    );
}

#[test]
fn the_other_buckets_credentials_are_options_of_the_table() {
    // Explicit (Python keyword, JS field, CLI `-o`) over the S3KEEP_SOURCE_* variables.
    let config = StoreConfig::builder()
        .with_config(K::Bucket, "bkt")
        .with_option("sourceAccessKeyId", "AKEXPLICIT")
        .with_option("source-secret-access-key", "SKEXPLICIT")
        .with_env(env(&[
            ("S3KEEP_SOURCE_ACCESS_KEY_ID", "AKENV"),
            ("S3KEEP_SOURCE_SECRET_ACCESS_KEY", "SKENV"),
            ("S3KEEP_SOURCE_SESSION_TOKEN", "TOKENV"),
            ("S3KEEP_SOURCE_PROFILE", "src"),
        ]))
        .build()
        .unwrap();
    let remote = config.remote.credentials.as_ref().unwrap();
    assert_eq!(remote.access_key_id, "AKEXPLICIT");
    assert_eq!(remote.secret_access_key.expose(), "SKEXPLICIT");
    assert_eq!(remote.session_token.as_ref().map(|t| t.expose()), Some("TOKENV"));
    assert_eq!(config.remote.profile.as_deref(), Some("src"));
    let report = serde_json::to_string(&config.describe()).unwrap();
    assert!(report.contains(r#""sourceAccessKeyId":"AKEXPLICIT""#), "{report}");
    assert!(report.contains(r#""sourceSecretAccessKey":"***""#), "{report}");
    assert!(!report.contains("SKEXPLICIT") && !report.contains("TOKENV"), "{report}");

    let half = StoreConfig::builder()
        .with_config(K::Bucket, "bkt")
        .with_config(K::SourceAccessKeyId, "AK")
        .build();
    assert!(message(half).contains("give both or neither"));
    let in_url = StoreConfig::builder()
        .with_url("s3://bkt/p?source_secret_access_key=SK")
        .build();
    let text = message(in_url);
    assert!(
        text.contains("cannot be in the query") && !text.contains("=SK"),
        "{text}"
    );
}

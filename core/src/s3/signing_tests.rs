//! SigV4 signing against published vectors and an independent signer (no server).
//!
//! URLs are built by `BucketAddress::url`, as in production, so each case checks the key and
//! query encoding together with the canonical request and signature that aws-sigv4 makes of it.

use std::time::SystemTime;

use aws_sigv4::http_request::PayloadChecksumKind;
use aws_smithy_runtime_api::client::identity::Identity;

use super::{sign_request, SigningContext};
use crate::config::{Addressing, ClientConfig};
use crate::s3::address::BucketAddress;

/// The example key pair of AWS's S3 signing examples.
const AWS_DOC_KEY: (&str, &str) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn identity((id, secret): (&str, &str)) -> Identity {
    aws_credential_types::Credentials::new(id, secret, None, None, "test").into()
}

fn at(http_date: &str) -> SystemTime {
    httpdate::parse_http_date(http_date).expect("valid HTTP date")
}

/// A URL builder for `bucket` at `endpoint` with the given addressing.
fn address(bucket: &str, endpoint: &str, addressing: Addressing) -> BucketAddress {
    let mut config = ClientConfig::new(bucket);
    config.endpoint = Some(endpoint.into());
    config.addressing = addressing;
    BucketAddress::new(&config).expect("valid test address")
}

/// What signing added, by header name.
struct Signed(Vec<(&'static str, String)>);

impl Signed {
    fn header(&self, name: &str) -> &str {
        let found = self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
        found
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.0))
    }

    /// `(credential scope, signed headers, signature)` from the Authorization header.
    fn authorization(&self) -> (String, String, String) {
        let value = self.header("authorization");
        let rest = value.strip_prefix("AWS4-HMAC-SHA256 ").expect("SigV4 authorization");
        let field = |name: &str| {
            rest.split(',')
                .map(str::trim)
                .find_map(|f| f.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {value}"))
                .to_string()
        };
        (field("Credential="), field("SignedHeaders="), field("Signature="))
    }

    fn signature(&self) -> String {
        self.authorization().2
    }
}

fn sign(
    context: &SigningContext<'_>,
    method: &str,
    url: &str,
    headers: &[(&'static str, &str)],
    body: &[u8],
) -> Signed {
    let mut all: Vec<(&'static str, String)> = headers.iter().map(|(k, v)| (*k, v.to_string())).collect();
    sign_request(context, method, url, &mut all, body).expect("signable request");
    Signed(all)
}

// AWS S3 API Reference, "Signature Calculations for the Authorization Header: Transferring
// Payload in a Single Chunk (AWS Signature Version 4)", examples for examplebucket at
// 20130524T000000Z in us-east-1. The signatures below are the ones printed there.
mod aws_s3_examples {
    use super::*;

    fn examplebucket() -> BucketAddress {
        address("examplebucket", "https://s3.amazonaws.com", Addressing::VirtualHosted)
    }

    fn context(identity: &Identity, signed_payload: bool) -> SigningContext<'_> {
        SigningContext::s3(
            identity,
            "us-east-1",
            at("Fri, 24 May 2013 00:00:00 GMT"),
            signed_payload,
        )
    }

    #[test]
    fn get_object_with_range_matches_the_published_signature() {
        let id = identity(AWS_DOC_KEY);
        let url = examplebucket().url(Some("test.txt"), &[]);
        assert_eq!(url, "https://examplebucket.s3.amazonaws.com/test.txt");
        let signed = sign(&context(&id, false), "GET", &url, &[("range", "bytes=0-9")], b"");
        let (credential, signed_headers, signature) = signed.authorization();
        assert_eq!(credential, "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
        assert_eq!(signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
        assert_eq!(
            signature,
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(signed.header("x-amz-date"), "20130524T000000Z");
        assert_eq!(signed.header("x-amz-content-sha256"), EMPTY_SHA256);
    }

    #[test]
    fn put_object_with_storage_class_and_signed_payload_matches_the_published_signature() {
        let id = identity(AWS_DOC_KEY);
        // The key's `$` must reach the canonical URI as %24.
        let url = examplebucket().url(Some("test$file.text"), &[]);
        assert_eq!(url, "https://examplebucket.s3.amazonaws.com/test%24file.text");
        let headers = [
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ];
        let signed = sign(&context(&id, true), "PUT", &url, &headers, b"Welcome to Amazon S3.");
        let (_, signed_headers, signature) = signed.authorization();
        assert_eq!(
            signed_headers,
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"
        );
        assert_eq!(
            signature,
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );
        assert_eq!(
            signed.header("x-amz-content-sha256"),
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
    }

    #[test]
    fn put_object_without_signed_payload_signs_unsigned_payload_instead() {
        let id = identity(AWS_DOC_KEY);
        let url = examplebucket().url(Some("test$file.text"), &[]);
        let headers = [
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ];
        let signed = sign(&context(&id, false), "PUT", &url, &headers, b"Welcome to Amazon S3.");
        assert_eq!(signed.header("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
        // Another payload hash, so not the published (signed-payload) signature.
        assert_ne!(
            signed.signature(),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );
    }

    #[test]
    fn get_bucket_lifecycle_matches_the_published_signature() {
        let id = identity(AWS_DOC_KEY);
        let url = examplebucket().url(None, &[("lifecycle", String::new())]);
        let signed = sign(&context(&id, false), "GET", &url, &[], b"");
        let (_, signed_headers, signature) = signed.authorization();
        assert_eq!(signed_headers, "host;x-amz-content-sha256;x-amz-date");
        assert_eq!(
            signature,
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        );
    }

    #[test]
    fn list_objects_with_max_keys_and_prefix_matches_the_published_signature() {
        let id = identity(AWS_DOC_KEY);
        // Given out of order: the canonical query string sorts them.
        let url = examplebucket().url(None, &[("prefix", "J".into()), ("max-keys", "2".into())]);
        let signed = sign(&context(&id, false), "GET", &url, &[], b"");
        assert_eq!(
            signed.signature(),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
    }

    #[test]
    fn another_secret_or_time_gives_another_signature() {
        let url = examplebucket().url(Some("test.txt"), &[]);
        let wrong = identity(("AKIAIOSFODNN7EXAMPLE", "not-the-secret"));
        let signed = sign(&context(&wrong, false), "GET", &url, &[("range", "bytes=0-9")], b"");
        assert_ne!(
            signed.signature(),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        let id = identity(AWS_DOC_KEY);
        let later = SigningContext::s3(&id, "us-east-1", at("Fri, 24 May 2013 00:00:01 GMT"), false);
        let signed = sign(&later, "GET", &url, &[("range", "bytes=0-9")], b"");
        assert_ne!(
            signed.signature(),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }
}

// The aws-c-auth SigV4 test suite (github.com/awslabs/aws-c-auth, tests/aws-signing-test-suite/
// v4/<case>/: request.txt, header-canonical-request.txt, header-signature.txt; commit 495329c).
// Its cases are for service `service` without `x-amz-content-sha256` ("sign_body": false); only
// those whose result S3's settings (single encoding, no path normalisation) do not change are
// used, in particular the `-unnormalized` ones, which are S3's behaviour.
mod aws_c_auth_suite {
    use super::*;

    fn check(key: Option<&str>, query: &[(&str, String)], headers: &[(&'static str, &str)], expected: &str) {
        let id = identity(("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
        let mut context = SigningContext::s3(&id, "us-east-1", at("Sun, 30 Aug 2015 12:36:00 GMT"), false);
        context.service = "service";
        context.settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        // Host example.amazonaws.com, as a virtual-hosted bucket "example".
        let url = address("example", "https://amazonaws.com", Addressing::VirtualHosted).url(key, query);
        let signed = sign(&context, "GET", &url, headers, b"");
        assert_eq!(signed.signature(), expected, "{url}");
    }

    #[test]
    fn get_vanilla() {
        check(
            None,
            &[],
            &[],
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        );
    }

    #[test]
    fn get_space_unnormalized_encodes_the_space_once() {
        // GET /example space/  →  canonical URI /example%20space/
        check(
            Some("example space/"),
            &[],
            &[],
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
        );
    }

    #[test]
    fn get_slashes_unnormalized_keeps_double_slashes() {
        // GET //example//  →  canonical URI //example// (a normalising signer would sign /example/)
        check(
            Some("/example//"),
            &[],
            &[],
            "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5",
        );
    }

    #[test]
    fn get_utf8_path_is_percent_encoded_utf8() {
        check(
            Some("ሴ"),
            &[],
            &[],
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
        );
    }

    #[test]
    fn get_unreserved_characters_stay_as_they_are() {
        let unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        check(
            Some(unreserved),
            &[],
            &[],
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        );
        check(
            None,
            &[(unreserved, unreserved.to_string())],
            &[],
            "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        );
    }

    #[test]
    fn get_vanilla_utf8_query_name_is_percent_encoded_utf8() {
        check(
            None,
            &[("ሴ", "bar".into())],
            &[],
            "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case_sorts_by_code_point() {
        check(
            None,
            &[("Param2", "value2".into()), ("Param1", "value1".into())],
            &[],
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        );
    }

    #[test]
    fn get_header_value_trim_collapses_inner_spaces() {
        let headers = [("my-header1", " value1"), ("my-header2", "\"a   b   c\"")];
        check(
            None,
            &[],
            &headers,
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        );
    }
}

// Keys with characters that URL encoders disagree on. The expected signatures were computed
// with botocore 1.44.5's S3SigV4Auth (the Python SDK's signer), independently of aws-sigv4 and
// of our key encoding: same credentials and time as the AWS examples, region us-east-1, URL
// http://127.0.0.1:9000/examplebucket/ + urllib.parse.quote(key, safe="/~") (query values
// quoted with safe="-_.~"), with `botocore.auth.get_current_datetime` patched to
// 2013-05-24T00:00:00. The same script reproduces AWS's GET Object example above.
mod keys_against_botocore {
    use super::*;

    fn minio_style() -> BucketAddress {
        address("examplebucket", "http://127.0.0.1:9000", Addressing::Path)
    }

    fn get(key: &str) -> Signed {
        let id = identity(AWS_DOC_KEY);
        let context = SigningContext::s3(&id, "us-east-1", at("Fri, 24 May 2013 00:00:00 GMT"), false);
        let url = minio_style().url(Some(key), &[]);
        let signed = sign(&context, "GET", &url, &[], b"");
        assert_eq!(signed.header("x-amz-date"), "20130524T000000Z");
        signed
    }

    #[test]
    fn each_special_character_is_signed_as_botocore_signs_it() {
        let cases = [
            // key, canonical URI (as botocore printed it), signature
            (
                "a b",
                "/examplebucket/a%20b",
                "eca4d05ef194250d2cfe0017f069386dd279bf6ae52a65cfdf105b6092dce248",
            ),
            (
                "a+b",
                "/examplebucket/a%2Bb",
                "7ca3d706797d771606cd1b0b22caa693360d07b65e8d5e6973f4b3bd2773e145",
            ),
            (
                "100%",
                "/examplebucket/100%25",
                "4b0e5697f50c50851dd36321c2590a3030a5335f2162790ec4b955cd9a5c8cdf",
            ),
            (
                "k=v",
                "/examplebucket/k%3Dv",
                "779a4a878c9099e8ca32b464c509f753b09d2226285c834ccde874903a172f19",
            ),
            (
                "~tilde",
                "/examplebucket/~tilde",
                "1c502d03a3b2c51a6a86d1a5488c2d6844f107dd686b99a627defa1e3a901b0e",
            ),
            (
                "é/ü/日本",
                "/examplebucket/%C3%A9/%C3%BC/%E6%97%A5%E6%9C%AC",
                "374acd5a1dc09b671b40768bc620b58324bb2f00184ddb011e0b6a57a901a5bf",
            ),
            (
                "dir//file",
                "/examplebucket/dir//file",
                "b860d14f3a535cebce54f7b25b09b5ee493616f9a7f827bc4e5f3c4545f4238a",
            ),
            (
                "dir//a b+c%d=e~f/é.txt",
                "/examplebucket/dir//a%20b%2Bc%25d%3De~f/%C3%A9.txt",
                "d045b9d1917f53408adf9ec02113a9369f44e099120b87071fb534ab7bce2eea",
            ),
        ];
        for (key, canonical_uri, expected) in cases {
            let url = minio_style().url(Some(key), &[]);
            assert_eq!(url, format!("http://127.0.0.1:9000{canonical_uri}"), "URL of {key:?}");
            assert_eq!(get(key).signature(), expected, "signature of {key:?}");
        }
    }

    #[test]
    fn put_object_with_checksum_and_unsigned_payload_is_signed_as_botocore_signs_it() {
        // botocore with payload_signing_enabled=False: x-amz-content-sha256 UNSIGNED-PAYLOAD.
        let id = identity(AWS_DOC_KEY);
        let context = SigningContext::s3(&id, "us-east-1", at("Fri, 24 May 2013 00:00:00 GMT"), false);
        let url = minio_style().url(Some("dir//a b+c%d=e~f/é.txt"), &[]);
        let signed = sign(
            &context,
            "PUT",
            &url,
            &[("x-amz-checksum-crc32c", "yZRlqg==")],
            b"hello world",
        );
        let (_, signed_headers, signature) = signed.authorization();
        assert_eq!(
            signed_headers,
            "host;x-amz-checksum-crc32c;x-amz-content-sha256;x-amz-date"
        );
        assert_eq!(
            signature,
            "4053cc426cf57ee02edd12e4d42d6833098d8421d80d0020b39f432ab7e2d4af"
        );
    }

    #[test]
    fn list_objects_v2_query_with_special_prefix_is_signed_as_botocore_signs_it() {
        // Canonical query: encoding-type=url&list-type=2&prefix=dir%2F%2Fa%20b%2Bc%25d%3De~f%2F%C3%A9
        let id = identity(AWS_DOC_KEY);
        let context = SigningContext::s3(&id, "us-east-1", at("Fri, 24 May 2013 00:00:00 GMT"), false);
        let query = [
            ("list-type", "2".to_string()),
            ("encoding-type", "url".to_string()),
            ("prefix", "dir//a b+c%d=e~f/é".to_string()),
        ];
        let url = minio_style().url(None, &query);
        let signed = sign(&context, "GET", &url, &[], b"");
        assert_eq!(
            signed.signature(),
            "1bec6e60df66675935bcaae6c7a30465fcd58e3e13a44aba9779597dbbd88174"
        );
    }
}

//! Tests of `xml.rs`, with bodies in the shape AWS S3 and MinIO send them.

use super::*;

const NS: &str = r#"xmlns="http://s3.amazonaws.com/doc/2006-03-01/""#;

fn doc(root: &str, inner: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} {NS}>{inner}</{root}>").into_bytes()
}

#[test]
fn list_objects_v2_aws_page() {
    let body = doc(
        "ListBucketResult",
        r#"<Name>backups</Name><Prefix>snap/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated><Contents><Key>snap/a.bin</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><ChecksumAlgorithm>CRC32C</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><Size>434234</Size><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Owner><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>snap/b.bin</Key><LastModified>2024-05-01T10:00:01.000Z</LastModified><ETag>"599bab3ed2c697f1d26842727561fd94-2"</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>snap/dir/</Prefix></CommonPrefixes>"#,
    );
    let r = parse_list_bucket_result(&body).unwrap();
    assert_eq!(r.name.as_deref(), Some("backups"));
    assert_eq!((r.key_count, r.max_keys), (Some(2), Some(1000)));
    assert_eq!(r.delimiter.as_deref(), Some("/"));
    assert_eq!(r.contents[0].storage_class.as_deref(), Some("STANDARD"));
    assert_eq!(r.contents[0].checksum_algorithm, vec!["CRC32C".to_owned()]);
    let page = ListPage::from(r);
    assert_eq!(
        page.objects[0],
        ObjectInfo {
            key: "snap/a.bin".into(),
            size: 434234,
            etag: "\"fba9dede5f27731c9771645a39863328\"".into(),
            last_modified: "2024-05-01T10:00:00.000Z".into(),
        }
    );
    assert_eq!(page.objects[1].etag, "\"599bab3ed2c697f1d26842727561fd94-2\"");
    assert_eq!(page.common_prefixes, vec!["snap/dir/".to_owned()]);
    assert!(!page.is_truncated);
    assert_eq!(page.next_continuation_token, None);
}

#[test]
fn list_objects_v2_minio_truncated_with_continuation() {
    // MinIO (Go encoding/xml) writes quotes as &#34; and empty elements as start/end pairs.
    let body = doc(
        "ListBucketResult",
        r#"<Name>b</Name><Prefix></Prefix><ContinuationToken>MTIz</ContinuationToken><NextContinuationToken>1cF2vJ8kT0hFr3nUa9SxgYXd2Yi5iaW4=</NextContinuationToken><KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><Delimiter></Delimiter><IsTruncated>true</IsTruncated><Contents><Key>a.bin</Key><LastModified>2024-05-01T10:00:00.123Z</LastModified><ETag>&#34;d41d8cd98f00b204e9800998ecf8427e&#34;</ETag><Size>18446744073709551615</Size><Owner><ID>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</ID><DisplayName>minio</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>"#,
    );
    let page = parse_list_objects_v2(&body).unwrap();
    assert!(page.is_truncated);
    assert_eq!(
        page.next_continuation_token.as_deref(),
        Some("1cF2vJ8kT0hFr3nUa9SxgYXd2Yi5iaW4=")
    );
    assert_eq!(page.objects.len(), 1);
    assert_eq!(page.objects[0].size, u64::MAX);
    assert_eq!(page.objects[0].etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
}

#[test]
fn list_objects_v2_empty_pages() {
    let aws = doc(
        "ListBucketResult",
        "<Name>b</Name><Prefix>none/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>",
    );
    let minio = doc(
        "ListBucketResult",
        "\n  <Name>b</Name>\n  <Prefix/>\n  <KeyCount>0</KeyCount>\n  <IsTruncated>false</IsTruncated>\n",
    );
    for body in [aws, minio] {
        assert_eq!(parse_list_objects_v2(&body).unwrap(), ListPage::default());
    }
}

#[test]
fn list_objects_v2_url_encoded_keys() {
    // Keys: "a b+c%d=e~f", "ünï/cødé", "x//y" and prefix "dir one/"; MinIO encodes `~`, AWS not.
    let body = doc(
        "ListBucketResult",
        "<Name>b</Name><Prefix>p%2B+q</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>%2F</Delimiter><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><StartAfter>s%3Dt</StartAfter>\
         <Contents><Key>a+b%2Bc%25d%3De%7Ef</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>1</Size></Contents>\
         <Contents><Key>%C3%BCn%C3%AF/c%C3%B8d%C3%A9~</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>2</Size></Contents>\
         <Contents><Key>x//y</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>3</Size></Contents>\
         <CommonPrefixes><Prefix>dir+one/</Prefix></CommonPrefixes>",
    );
    let r = parse_list_bucket_result(&body).unwrap();
    assert_eq!(r.prefix.as_deref(), Some("p+ q"));
    assert_eq!(r.delimiter.as_deref(), Some("/"));
    assert_eq!(r.start_after.as_deref(), Some("s=t"));
    let keys: Vec<_> = r.contents.iter().map(|c| c.object.key.as_str()).collect();
    assert_eq!(keys, ["a b+c%d=e~f", "ünï/cødé~", "x//y"]);
    assert_eq!(r.common_prefixes, ["dir one/"]);
}

#[test]
fn list_objects_v2_without_encoding_keeps_plus_and_percent() {
    let body = doc(
        "ListBucketResult",
        "<Name>b</Name><IsTruncated>false</IsTruncated><Contents><Key> a+b%20&amp;&lt;c&gt;&#13;&#10;\t </Key><Size>5</Size></Contents>",
    );
    let page = parse_list_objects_v2(&body).unwrap();
    // Untrimmed, entities resolved, CR kept through its character reference.
    assert_eq!(page.objects[0].key, " a+b%20&<c>\r\n\t ");
    assert_eq!(page.objects[0].etag, "");
}

#[test]
fn list_objects_v2_rejects_bad_pages() {
    let truncated_without_token = doc("ListBucketResult", "<IsTruncated>true</IsTruncated>");
    let err = parse_list_objects_v2(&truncated_without_token).unwrap_err();
    assert!(
        matches!(
            err,
            XmlError::InvalidField {
                element: "NextContinuationToken",
                ..
            }
        ),
        "{err}"
    );
    let no_truncated = doc("ListBucketResult", "<Name>b</Name>");
    assert!(parse_list_objects_v2(&no_truncated).is_err());
    let bad_size = doc(
        "ListBucketResult",
        "<IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>-1</Size></Contents>",
    );
    let err = parse_list_objects_v2(&bad_size).unwrap_err();
    assert!(err.to_string().contains("ListObjectsV2: element <Size>"), "{err}");
    let bad_utf8 = doc(
        "ListBucketResult",
        "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><Contents><Key>%FF</Key><Size>1</Size></Contents>",
    );
    assert!(parse_list_objects_v2(&bad_utf8).is_err());
    let unclosed = b"<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name>";
    assert!(matches!(
        parse_list_objects_v2(unclosed),
        Err(XmlError::Malformed { .. })
    ));
    let wrong = doc("ListAllMyBucketsResult", "");
    assert!(matches!(
        parse_list_objects_v2(&wrong),
        Err(XmlError::UnexpectedRoot { .. })
    ));
    assert!(matches!(parse_list_objects_v2(b"  "), Err(XmlError::Empty { .. })));
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    assert!(parse_list_objects_v2(deep.as_bytes()).is_err());
}

#[test]
fn error_root_in_place_of_a_result() {
    let body = doc("Error", "<Code>AccessDenied</Code><Message>Access Denied</Message>");
    match parse_list_objects_v2(&body) {
        Err(XmlError::ErrorDocument { document, error }) => {
            assert_eq!(document, "ListObjectsV2");
            assert_eq!(error.code.as_deref(), Some("AccessDenied"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn list_multipart_uploads_page() {
    let body = doc(
        "ListMultipartUploadsResult",
        r#"<Bucket>backups</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>my+movie.m2ts</NextKeyMarker><NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker><Prefix>my%2F</Prefix><EncodingType>url</EncodingType><MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated><Upload><Key>my%2Fdivisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId><Initiator><ID>arn:aws:iam::111122223333:user/user1</ID><DisplayName>user1</DisplayName></Initiator><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Owner><StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload><Upload><Key>my+movie.m2ts</Key><UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId><StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:48:34.000Z</Initiated></Upload>"#,
    );
    let r = parse_list_multipart_uploads_result(&body).unwrap();
    assert_eq!(r.prefix.as_deref(), Some("my/"));
    assert_eq!(r.key_marker.as_deref(), Some(""));
    assert_eq!(r.max_uploads, Some(2));
    let page = r.page;
    assert!(page.is_truncated);
    assert_eq!(page.next_key_marker.as_deref(), Some("my movie.m2ts"));
    assert_eq!(
        page.next_upload_id_marker.as_deref(),
        Some("YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ")
    );
    assert_eq!(
        page.uploads[0],
        UploadInfo {
            key: "my/divisor".into(),
            upload_id: "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw".into(),
            initiated: "2010-11-10T20:48:33.000Z".into(),
        }
    );
    assert_eq!(page.uploads[1].key, "my movie.m2ts");
}

#[test]
fn list_multipart_uploads_minio_truncated_page_has_an_empty_next_key_marker() {
    // As MinIO answered max-uploads=2 for a key with three uploads.
    let body = doc(
        "ListMultipartUploadsResult",
        "<Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker></NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker><Delimiter></Delimiter><Prefix>k</Prefix><MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated><Upload><Key>k</Key><UploadId>u1</UploadId></Upload><Upload><Key>k</Key><UploadId>u2</UploadId></Upload>",
    );
    let page = parse_list_multipart_uploads(&body).unwrap();
    assert!(page.is_truncated);
    assert_eq!(page.next_key_marker, None);
    assert_eq!(page.next_upload_id_marker.as_deref(), Some("u2"));
    assert_eq!(page.uploads.len(), 2);
}

#[test]
fn list_multipart_uploads_empty_and_invalid() {
    let minio = doc(
        "ListMultipartUploadsResult",
        "<Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker></NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker><Delimiter></Delimiter><Prefix></Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>",
    );
    assert_eq!(parse_list_multipart_uploads(&minio).unwrap(), UploadsPage::default());
    let truncated = doc("ListMultipartUploadsResult", "<IsTruncated>true</IsTruncated>");
    assert!(parse_list_multipart_uploads(&truncated).is_err());
    let no_id = doc(
        "ListMultipartUploadsResult",
        "<IsTruncated>false</IsTruncated><Upload><Key>k</Key></Upload>",
    );
    let err = parse_list_multipart_uploads(&no_id).unwrap_err();
    assert!(
        matches!(
            err,
            XmlError::InvalidField {
                element: "UploadId",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn delete_objects_body_escapes_and_validates() {
    let body = delete_objects_body(["a&b<c>d\"e'f", "x\r\ny\tz", "ünï //k"], true).unwrap();
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>\
         <Object><Key>a&amp;b&lt;c&gt;d&quot;e&apos;f</Key></Object>\
         <Object><Key>x&#13;&#10;y\tz</Key></Object>\
         <Object><Key>ünï //k</Key></Object></Delete>"
    );
    // What is written reads back as the same keys.
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct DeleteXml {
        object: Vec<ObjectXml>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct ObjectXml {
        key: String,
    }
    let read: DeleteXml = read_document(body.as_bytes(), "test", "Delete").unwrap();
    let keys: Vec<_> = read.object.into_iter().map(|o| o.key).collect();
    assert_eq!(keys, ["a&b<c>d\"e'f", "x\r\ny\tz", "ünï //k"]);

    let loud = delete_objects_body(vec!["k".to_owned()], false).unwrap();
    assert!(!loud.contains("<Quiet>"));
    for bad in ["nul\u{0}", "bell\u{7}", "esc\u{1b}", "\u{FFFF}"] {
        let err = delete_objects_body([bad], true).unwrap_err();
        assert!(err.to_string().contains("XML 1.0 cannot carry"), "{err}");
    }
    assert!(delete_objects_body(Vec::<String>::new(), true).is_err());
    let many: Vec<String> = (0..=MAX_DELETE_KEYS).map(|i| i.to_string()).collect();
    assert!(delete_objects_body(&many[1..], true).is_ok());
    assert!(delete_objects_body(&many, true).is_err());
}

#[test]
fn delete_result_mixed_and_quiet() {
    // Ceph RGW writes entries in request order, so <Deleted> and <Error> interleave.
    let body = doc(
        "DeleteResult",
        "<Deleted><Key>sample1.txt</Key></Deleted>\
         <Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>\
         <Deleted><Key>a&amp;b</Key><VersionId>3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo</VersionId><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>NeQt5xeFTfgPJD8B4CGWnkSLtluMr11s</DeleteMarkerVersionId></Deleted>\
         <Error><Key>c</Key><VersionId>v1</VersionId><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>",
    );
    let out = parse_delete_result(&body).unwrap();
    assert_eq!(out.deleted, ["sample1.txt", "a&b"]);
    assert_eq!(
        out.errors,
        [
            DeleteError {
                key: "sample2.txt".into(),
                code: Some("AccessDenied".into()),
                message: Some("Access Denied".into())
            },
            DeleteError {
                key: "c".into(),
                code: Some("InternalError".into()),
                message: Some("We encountered an internal error. Please try again.".into())
            },
        ]
    );
    let quiet = doc("DeleteResult", "");
    assert_eq!(parse_delete_result(&quiet).unwrap(), DeleteOutcome::default());
    let minio_quiet = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>";
    assert_eq!(parse_delete_result(minio_quiet).unwrap(), DeleteOutcome::default());
}

#[test]
fn create_multipart_upload_result() {
    let body = doc(
        "InitiateMultipartUploadResult",
        "<Bucket>example-bucket</Bucket><Key>example-object</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>",
    );
    assert_eq!(
        parse_initiate_multipart_upload(&body).unwrap(),
        MultipartUploadInit {
            bucket: "example-bucket".into(),
            key: "example-object".into(),
            upload_id: "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA".into(),
        }
    );
    let empty_id = doc("InitiateMultipartUploadResult", "<Bucket>b</Bucket><UploadId/>");
    assert!(parse_initiate_multipart_upload(&empty_id).is_err());
}

#[test]
fn complete_multipart_upload_body_parts() {
    let parts = [
        CompletedPart {
            part_number: 1,
            etag: "\"a54357aff0632cce46d942af68356b38\"".into(),
            checksum_crc32c: Some("yZRlqg==".into()),
        },
        CompletedPart {
            part_number: 2,
            etag: "\"0c78aef83f66abc1fa1e8477f296d394\"".into(),
            checksum_crc32c: None,
        },
    ];
    assert_eq!(
        complete_multipart_upload_body(&parts),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;</ETag><ChecksumCRC32C>yZRlqg==</ChecksumCRC32C></Part>\
         <Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag></Part></CompleteMultipartUpload>"
    );
    // Values are escaped; what XML cannot carry becomes U+FFFD for the store to reject.
    let odd = [CompletedPart {
        part_number: 3,
        etag: "\"a&b\u{1}\"".into(),
        checksum_crc32c: None,
    }];
    let body = complete_multipart_upload_body(&odd);
    assert!(body.contains("<ETag>&quot;a&amp;b\u{FFFD}&quot;</ETag>"), "{body}");
}

#[test]
fn complete_multipart_upload_result_or_error() {
    let ok = doc(
        "CompleteMultipartUploadResult",
        "<Location>https://example-bucket.s3.eu-west-1.amazonaws.com/big%2Bobject</Location><Bucket>example-bucket</Bucket><Key>big+object</Key><ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag><ChecksumCRC32C>kA8tfg==-9</ChecksumCRC32C><ChecksumType>COMPOSITE</ChecksumType>",
    );
    assert_eq!(
        parse_complete_multipart_upload(&ok).unwrap(),
        CompleteOutcome::Completed(CompletedUpload {
            location: Some("https://example-bucket.s3.eu-west-1.amazonaws.com/big%2Bobject".into()),
            bucket: Some("example-bucket".into()),
            key: Some("big+object".into()),
            etag: Some("\"3858f62230ac3c915f300c664312c11f-9\"".into()),
            checksum_crc32c: Some("kA8tfg==-9".into()),
        })
    );
    // 200 OK, whitespace sent while S3 worked, then an <Error> document.
    let failed = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n                    \n<Error>\n<Code>InternalError</Code>\n<Message>We encountered an internal error. Please try again.</Message>\n<RequestId>656c76696e6727732072657175657374</RequestId>\n<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>\n</Error>";
    match parse_complete_multipart_upload(failed).unwrap() {
        CompleteOutcome::Failed(e) => {
            assert_eq!(e.code.as_deref(), Some("InternalError"));
            assert_eq!(e.request_id.as_deref(), Some("656c76696e6727732072657175657374"));
        }
        other => panic!("{other:?}"),
    }
    let padded = [b"   \n  ".as_slice(), &ok].concat();
    assert!(matches!(
        parse_complete_multipart_upload(&padded),
        Ok(CompleteOutcome::Completed(_))
    ));
    assert!(matches!(
        parse_complete_multipart_upload(b""),
        Err(XmlError::Empty { .. })
    ));
    assert!(parse_complete_multipart_upload(b"   \n   ").is_err());
    let no_etag = doc("CompleteMultipartUploadResult", "<Bucket>b</Bucket>");
    match parse_complete_multipart_upload(&no_etag).unwrap() {
        CompleteOutcome::Completed(c) => {
            assert_eq!((c.etag, c.bucket.as_deref()), (None, Some("b")))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn error_bodies() {
    let skewed = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message><RequestTime>20240501T100000Z</RequestTime><ServerTime>2024-05-01T10:20:00Z</ServerTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds><RequestId>4442587FB7D0A2F9</RequestId><HostId>abc=</HostId></Error>";
    let e = parse_error(skewed).unwrap();
    assert_eq!(e.code.as_deref(), Some("RequestTimeTooSkewed"));
    assert_eq!(e.request_time.as_deref(), Some("20240501T100000Z"));
    assert_eq!(e.server_time.as_deref(), Some("2024-05-01T10:20:00Z"));
    assert_eq!(
        e.to_string(),
        "RequestTimeTooSkewed: The difference between the request time and the current time is too large. (request id 4442587FB7D0A2F9)"
    );

    let region = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region><RequestId>R</RequestId><HostId>H</HostId></Error>";
    assert_eq!(parse_error(region).unwrap().region.as_deref(), Some("eu-west-1"));

    let redirect = b"<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>b</Bucket></Error>";
    assert_eq!(
        parse_error(redirect).unwrap().endpoint.as_deref(),
        Some("b.s3.eu-west-1.amazonaws.com")
    );

    let minio = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>dir/a&amp;b.bin</Key><BucketName>backups</BucketName><Resource>/backups/dir/a&amp;b.bin</Resource><Region>us-east-1</Region><RequestId>17C6F4A4B1D4E2C3</RequestId><HostId>dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8</HostId></Error>";
    let e = parse_error(minio).unwrap();
    assert_eq!(e.key.as_deref(), Some("dir/a&b.bin"));
    assert_eq!(e.bucket_name.as_deref(), Some("backups"));
    assert_eq!(e.resource.as_deref(), Some("/backups/dir/a&b.bin"));
    assert_eq!(e.host_id.as_deref().map(str::len), Some(64));

    let bare = parse_error(b"<Error/>").unwrap();
    assert_eq!(bare, S3ErrorBody::default());
    assert_eq!(bare.to_string(), "(no code)");
    for junk in [
        &b""[..],
        b"   ",
        b"Service Unavailable",
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        b"<?xml version=\"1.0\"?><Error><Code>SlowDown",
        b"\xFF\xFE<\x00E\x00",
        b"<ListBucketResult/>",
    ] {
        assert_eq!(parse_error(junk), None, "{:?}", String::from_utf8_lossy(junk));
    }
}

#[test]
fn create_bucket_configuration() {
    assert_eq!(create_bucket_body("us-east-1"), None);
    assert_eq!(create_bucket_body(""), None);
    let odd = create_bucket_body("eu\u{1}<x>").unwrap();
    assert!(
        odd.contains("<LocationConstraint>eu\u{FFFD}&lt;x&gt;</LocationConstraint>"),
        "{odd}"
    );
    assert_eq!(
        create_bucket_body("eu-west-1").as_deref(),
        Some(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
        )
    );
}

// What reading through quick-xml's serde support must keep or change.

#[test]
fn unknown_elements_and_attributes_are_ignored_even_when_they_nest_known_names() {
    let body = doc(
        "ListBucketResult",
        r#"<Future a="1"><Key>not/an/object</Key><Size>9</Size></Future><IsTruncated>false</IsTruncated><Contents x="y"><Owner><ID>o</ID><Key>owner-key</Key></Owner><Key>real</Key><RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress></RestoreStatus><Size>7</Size><ChecksumType>FULL_OBJECT</ChecksumType></Contents><Extra/>"#,
    );
    let page = parse_list_objects_v2(&body).unwrap();
    assert_eq!(page.objects.len(), 1);
    assert_eq!((page.objects[0].key.as_str(), page.objects[0].size), ("real", 7));
}

#[test]
fn missing_optional_fields_take_their_defaults() {
    let body = doc(
        "ListBucketResult",
        "<IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents>",
    );
    let r = parse_list_bucket_result(&body).unwrap();
    assert_eq!(
        (r.name, r.prefix, r.key_count, r.encoding_type),
        (None, None, None, None)
    );
    assert_eq!(r.contents[0].object.etag, "");
    assert_eq!(r.contents[0].object.last_modified, "");
    assert_eq!(r.contents[0].storage_class, None);
    assert!(r.contents[0].checksum_algorithm.is_empty());
    let no_key = doc(
        "ListBucketResult",
        "<IsTruncated>false</IsTruncated><Contents><Size>1</Size></Contents>",
    );
    let err = parse_list_objects_v2(&no_key).unwrap_err();
    assert!(matches!(err, XmlError::InvalidField { element: "Key", .. }), "{err}");
    let upload = doc(
        "ListMultipartUploadsResult",
        "<IsTruncated>false</IsTruncated><Upload><Key>k</Key><UploadId>u</UploadId></Upload>",
    );
    let page = parse_list_multipart_uploads(&upload).unwrap();
    assert_eq!(page.uploads[0].initiated, "");
    let partial = parse_error(b"<Error><Code>SlowDown</Code></Error>").unwrap();
    assert_eq!((partial.code.as_deref(), partial.message), (Some("SlowDown"), None));
    let no_etag = doc("CompleteMultipartUploadResult", "<ETag></ETag>");
    assert!(matches!(
        parse_complete_multipart_upload(&no_etag).unwrap(),
        CompleteOutcome::Completed(CompletedUpload { etag: None, .. })
    ));
}

#[test]
fn encoding_type_url_decodes_keys_wherever_the_element_comes() {
    // EncodingType after the entries (element order is free): the keys are still decoded.
    let list = doc(
        "ListBucketResult",
        "<IsTruncated>true</IsTruncated><Contents><Key>a%2Fb+c%2B</Key><Size>1</Size></Contents><NextContinuationToken>t+1%2B</NextContinuationToken><EncodingType>url</EncodingType>",
    );
    let page = parse_list_objects_v2(&list).unwrap();
    assert_eq!(page.objects[0].key, "a/b c+");
    // Tokens are opaque: never decoded.
    assert_eq!(page.next_continuation_token.as_deref(), Some("t+1%2B"));
    let uploads = doc(
        "ListMultipartUploadsResult",
        "<IsTruncated>false</IsTruncated><Upload><Key>x%20y+z</Key><UploadId>u%2B</UploadId></Upload><EncodingType>URL</EncodingType>",
    );
    let page = parse_list_multipart_uploads(&uploads).unwrap();
    assert_eq!(page.uploads[0].key, "x y z");
    assert_eq!(page.uploads[0].upload_id, "u%2B");
}

#[test]
fn namespace_prefixes_do_not_matter() {
    let body = br#"<?xml version="1.0"?><s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:IsTruncated>false</s3:IsTruncated><s3:Contents><s3:Key>k</s3:Key><s3:Size>3</s3:Size></s3:Contents></s3:ListBucketResult>"#;
    let page = parse_list_objects_v2(body).unwrap();
    assert_eq!((page.objects[0].key.as_str(), page.objects[0].size), ("k", 3));
}

#[test]
fn ok_answers_with_an_error_document_are_errors_for_every_result() {
    let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message><RequestId>R1</RequestId></Error>";
    let check = |err: XmlError, document: &str| match err {
        XmlError::ErrorDocument { document: d, error } => {
            assert_eq!(d, document);
            assert_eq!(error.code.as_deref(), Some("InternalError"));
            assert_eq!(error.request_id.as_deref(), Some("R1"));
        }
        other => panic!("{document}: {other:?}"),
    };
    check(parse_list_objects_v2(body).unwrap_err(), "ListObjectsV2");
    check(parse_list_multipart_uploads(body).unwrap_err(), "ListMultipartUploads");
    check(parse_delete_result(body).unwrap_err(), "DeleteObjects");
    check(
        parse_initiate_multipart_upload(body).unwrap_err(),
        "CreateMultipartUpload",
    );
    assert!(matches!(
        parse_complete_multipart_upload(body).unwrap(),
        CompleteOutcome::Failed(S3ErrorBody { code: Some(_), .. })
    ));
}

#[test]
fn declared_entities_are_refused_and_a_bare_doctype_is_inert() {
    let xxe = br#"<?xml version="1.0"?><!DOCTYPE ListBucketResult [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&xxe;</Key><Size>1</Size></Contents></ListBucketResult>"#;
    let err = parse_list_objects_v2(xxe).unwrap_err();
    assert!(matches!(err, XmlError::Malformed { .. }), "{err}");
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE Error [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><Error><Code>&c;</Code></Error>"#;
    assert_eq!(parse_error(laughs), None);
    let complete = br#"<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:1/">]><CompleteMultipartUploadResult><ETag>&e;</ETag></CompleteMultipartUploadResult>"#;
    assert!(parse_complete_multipart_upload(complete).is_err());
    let inert = br#"<?xml version="1.0"?><!DOCTYPE DeleteResult [<!ENTITY unused "x">]><DeleteResult><Error><Key>k</Key><Code>AccessDenied</Code></Error></DeleteResult>"#;
    assert_eq!(parse_delete_result(inert).unwrap().errors[0].key, "k");
}

#[test]
fn every_truncation_of_a_document_is_an_error() {
    let list = doc(
        "ListBucketResult",
        "<Name>b</Name><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken><Contents><Key>a</Key><Size>1</Size></Contents><Contents><Key>b</Key><Size>2</Size></Contents>",
    );
    let delete = doc(
        "DeleteResult",
        "<Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code></Error>",
    );
    let complete = doc("CompleteMultipartUploadResult", "<ETag>\"e-2\"</ETag>");
    for cut in 0..list.len() {
        assert!(parse_list_objects_v2(&list[..cut]).is_err(), "list cut at {cut}");
    }
    for cut in 0..delete.len() {
        assert!(parse_delete_result(&delete[..cut]).is_err(), "delete cut at {cut}");
    }
    for cut in 0..complete.len() {
        assert!(
            parse_complete_multipart_upload(&complete[..cut]).is_err(),
            "complete cut at {cut}"
        );
    }
}

#[test]
fn a_full_page_of_interleaved_delete_results_is_read_and_padding_between_items_is_bounded() {
    let mut inner = String::new();
    for i in 0..1000 {
        if i % 2 == 0 {
            inner.push_str(&format!("<Deleted><Key>k{i}</Key><VersionId>v</VersionId></Deleted>"));
        } else {
            inner.push_str(&format!(
                "<Error><Key>k{i}</Key><VersionId>v</VersionId><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
            ));
        }
    }
    let out = parse_delete_result(&doc("DeleteResult", &inner)).unwrap();
    assert_eq!((out.deleted.len(), out.errors.len()), (500, 500));
    assert_eq!(out.errors[499].key, "k999");
    // A body that makes the lookahead buffer more events than any real page needs.
    let padding = "<X/>".repeat(MAX_BUFFERED_EVENTS);
    let hostile = doc(
        "DeleteResult",
        &format!("<Deleted><Key>a</Key></Deleted>{padding}<Deleted><Key>b</Key></Deleted>"),
    );
    let err = parse_delete_result(&hostile).unwrap_err();
    assert!(matches!(err, XmlError::Malformed { .. }), "{err}");
}

#[test]
fn object_lock_configuration_with_and_without_default_retention() {
    // AWS's example (GetObjectLockConfiguration), and MinIO's answer for a bucket created with
    // Object Lock but no default rule.
    let aws = doc(
        "ObjectLockConfiguration",
        "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>50</Days></DefaultRetention></Rule>",
    );
    let c = parse_object_lock_configuration(&aws).unwrap();
    assert!(c.enabled);
    assert_eq!(
        (c.mode.as_deref(), c.days, c.years),
        (Some("COMPLIANCE"), Some(50), None)
    );
    let minio = doc(
        "ObjectLockConfiguration",
        "<ObjectLockEnabled>Enabled</ObjectLockEnabled>",
    );
    let c = parse_object_lock_configuration(&minio).unwrap();
    assert!(c.enabled && c.mode.is_none());
    assert!(parse_object_lock_configuration(&doc("ListBucketResult", "")).is_err());
}

#[test]
fn object_retention_under_either_root_name() {
    // AWS and MinIO answer GetObjectRetention with <Retention>, versitygw v1.8.0 with
    // <ObjectLockRetention>; any other root is still refused.
    let fields = "<Mode>GOVERNANCE</Mode><RetainUntilDate>2026-12-01T10:00:00Z</RetainUntilDate>";
    for root in ["Retention", "ObjectLockRetention"] {
        let (mode, until) = parse_retention(&doc(root, fields)).unwrap();
        assert_eq!(
            (mode.as_deref(), until.as_deref()),
            (Some("GOVERNANCE"), Some("2026-12-01T10:00:00Z"))
        );
    }
    assert!(matches!(
        parse_retention(&doc("LegalHold", fields)),
        Err(XmlError::UnexpectedRoot { .. })
    ));
}

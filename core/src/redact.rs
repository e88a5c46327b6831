//! Redaction of user-typed URLs before they reach an error, a log, `Debug` output or JSON.
//!
//! An endpoint or `s3://` URL may carry secrets: userinfo (`user:password@`) and query
//! strings (presigned-style `X-Amz-Signature=`, `X-Amz-Credential=`,
//! `X-Amz-Security-Token=`). Every message that names such a URL shows [`redact_url`]'s
//! form instead; free text that may embed URLs (a transport error: reqwest, and Deno's
//! fetch, quote the request URL) goes through [`redact_urls_in`].

/// `text` as a URL fit to print: scheme, host, port and path, with any userinfo shown as
/// `***@`, any query as `?***` and any fragment as `#***`
/// (`http://AK:SECRET@host:9000/b?X-Amz-Signature=S` → `http://***@host:9000/b?***`).
///
/// A string that does not parse as a URL with a host (it might still hold a secret, e.g.
/// `AK:SECRET@host`) is never echoed: the result only says what kind of string it was.
pub fn redact_url(text: &str) -> String {
    let Some(url) = url::Url::parse(text.trim()).ok().filter(|u| u.has_host()) else {
        return match scheme_of(text) {
            Some(scheme) => format!("<an unparsable {scheme}:// URL>"),
            None => "<an unparsable URL>".to_string(),
        };
    };
    let mut out = format!("{}://", url.scheme());
    if !url.username().is_empty() || url.password().is_some() {
        out.push_str("***@");
    }
    out.push_str(url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    match url.path() {
        "" | "/" => {}
        // `@` in a path is where a mistyped userinfo would land (`http://host/AK:S@x`).
        path if path.contains('@') => out.push_str("/***"),
        path => out.push_str(path),
    }
    if url.query().is_some() {
        out.push_str("?***");
    }
    if url.fragment().is_some() {
        out.push_str("#***");
    }
    out
}

/// `text` with every `scheme://...` token in it replaced by its [`redact_url`] form.
///
/// A token runs to the next whitespace or quote; punctuation that closes it in prose
/// (`)`, `,`, `.`, `:`, `;`, `]`) is kept outside. Used on messages written by others
/// (transport errors), which quote the URL of the request.
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
            .map_or(0, |j| j + 1);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || "\"'<>`".contains(c))
            .map_or(rest.len(), |j| i + j);
        let token = &rest[start..end];
        let url = token.trim_end_matches([')', ',', '.', ':', ';', ']']);
        out.push_str(&rest[..start]);
        // Also without a scheme before `://`: what follows may still be userinfo.
        out.push_str(&redact_url(url));
        out.push_str(&token[url.len()..]);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A name typed by the user (an option, a bucket), quoted, when it cannot hold a secret:
/// up to 64 characters of letters, digits, `-`, `_` and `.`. Otherwise `None`.
pub fn shown_name(name: &str) -> Option<String> {
    let plain =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    plain.then(|| format!("{name:?}"))
}

/// The scheme of `text` if it starts with `scheme://` (RFC 3986 scheme characters).
fn scheme_of(text: &str) -> Option<&str> {
    let (scheme, _) = text.trim().split_once("://")?;
    let mut chars = scheme.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    ok.then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_query_and_fragment_are_hidden() {
        assert_eq!(
            redact_url("http://AK:SECRET@host:9000/b?X-Amz-Signature=SIG&X-Amz-Credential=AK#frag"),
            "http://***@host:9000/b?***#***"
        );
        assert_eq!(redact_url("ftp://AK:SECRET@host"), "ftp://***@host");
        assert_eq!(redact_url("https://AK@host/"), "https://***@host");
        assert_eq!(
            redact_url("s3://AK:SECRET@bucket/prefix?endpoint=http://AK:SECRET@h"),
            "s3://***@bucket/prefix?***"
        );
        assert_eq!(redact_url("http://host/AK:SECRET@x"), "http://host/***");
    }

    #[test]
    fn plain_urls_stay_readable() {
        assert_eq!(redact_url("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(
            redact_url("https://s3.eu-west-1.amazonaws.com/"),
            "https://s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(redact_url("s3://bucket/a/b"), "s3://bucket/a/b");
    }

    #[test]
    fn unparsable_strings_are_never_echoed() {
        for text in [
            "http://AK:SECRET@[::1",
            "http://AK:SECRET@host:99999",
            "AK:SECRET@host",
            "AK:SECRET@host:9000",
            "",
            "SECRET",
        ] {
            let shown = redact_url(text);
            assert!(
                !shown.contains("SECRET") && !shown.contains("AK"),
                "{text:?} → {shown:?}"
            );
        }
        assert_eq!(redact_url("http://AK:SECRET@host:99999"), "<an unparsable http:// URL>");
        assert_eq!(redact_url("AK:SECRET@host"), "<an unparsable URL>");
    }

    #[test]
    fn urls_inside_messages_are_redacted() {
        let text = "error sending request for url (http://AK:SECRET@127.0.0.1:1/bkt/k?X-Amz-Signature=SIG): \
                    client error (Connect): tcp connect error";
        assert_eq!(
            redact_urls_in(text),
            "error sending request for url (http://***@127.0.0.1:1/bkt/k?***): client error (Connect): tcp connect error"
        );
        assert_eq!(redact_urls_in("no url here"), "no url here");
        assert_eq!(
            redact_urls_in("a http://h/x?q=1, then https://u:p@g/."),
            "a http://h/x?***, then https://***@g."
        );
        assert!(!redact_urls_in("oops ://AK:SECRET@h").contains("SECRET"));
    }

    #[test]
    fn only_plain_names_are_shown() {
        assert_eq!(shown_name("colour").as_deref(), Some("\"colour\""));
        assert_eq!(shown_name("http://AK:SECRET@host"), None);
        assert_eq!(shown_name(""), None);
    }
}

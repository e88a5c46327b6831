//! Guarding paginated listings (ListObjectsV2, ListMultipartUploads) against a store whose
//! pages never end: a continuation token or marker handed out twice means the listing loops
//! (a hostile or broken server answered `IsTruncated=true` with the same token 1,052 times
//! in 0.2 s), and no listing goes on past [`MAX_LIST_PAGES`] pages.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hash};

use super::operation::Operation;
use crate::error::{Error, ErrorDetails, Result};

/// The most pages one listing follows: 100,000 (100 million keys at S3's 1,000 per page).
/// A listing that needs more stops with [`Error::S3`].
pub const MAX_LIST_PAGES: u64 = 100_000;

/// The pages of one listing so far: how many, and a hash of every token or marker seen (a
/// 64-bit hash each, so a server sending huge tokens cannot make this grow with them).
pub(crate) struct PageGuard {
    operation: Operation,
    endpoint: String,
    pages: u64,
    max_pages: u64,
    seen: HashSet<u64>,
    hasher: RandomState,
}

impl PageGuard {
    /// A guard for a new listing of `operation` at `endpoint` (named in errors).
    pub fn new(operation: Operation, endpoint: &str) -> Self {
        Self::with_max_pages(operation, endpoint, MAX_LIST_PAGES)
    }

    fn with_max_pages(operation: Operation, endpoint: &str, max_pages: u64) -> Self {
        Self {
            operation,
            endpoint: endpoint.to_string(),
            pages: 1,
            max_pages,
            seen: HashSet::new(),
            hasher: RandomState::new(),
        }
    }

    /// Accounts for the page that `marker` (`what`: "continuation token"...) asks for next.
    ///
    /// # Errors
    /// [`Error::S3`] when `marker` was handed out before or the page cap is reached.
    pub fn next_page(&mut self, what: &str, marker: &impl Hash) -> Result<()> {
        let operation = self.operation;
        let pages = self.pages;
        if !self.seen.insert(self.hasher.hash_one(marker)) {
            return Err(self.error(format!(
                "{operation} handed out the {what} of an earlier page again after {pages} pages: the listing would never end"
            )));
        }
        if pages >= self.max_pages {
            return Err(self.error(format!(
                "{operation} is still truncated after {pages} pages, the most s3keep follows"
            )));
        }
        self.pages += 1;
        Ok(())
    }

    fn error(&self, message: String) -> Error {
        Error::S3(ErrorDetails {
            message,
            endpoint: Some(self.endpoint.clone()),
            ..ErrorDetails::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_handed_out_again_stops_the_listing() {
        let mut guard = PageGuard::new(Operation::ListObjectsV2, "http://h");
        guard.next_page("continuation token", &"a").unwrap();
        guard.next_page("continuation token", &"b").unwrap();
        let err = guard.next_page("continuation token", &"a").unwrap_err();
        assert!(matches!(err, Error::S3(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("ListObjectsV2 handed out the continuation token of an earlier page again"),
            "{text}"
        );
        assert!(text.contains("after 3 pages"), "{text}");
        let mut markers = PageGuard::new(Operation::ListMultipartUploads, "http://h");
        markers.next_page("markers", &("k", "u1")).unwrap();
        markers.next_page("markers", &("k", "u2")).unwrap();
        assert!(markers.next_page("markers", &("k", "u2")).is_err());
    }

    #[test]
    fn distinct_tokens_stop_at_the_page_cap() {
        let mut guard = PageGuard::with_max_pages(Operation::ListObjectsV2, "http://h", 5);
        for token in 0..4 {
            guard.next_page("continuation token", &token).unwrap();
        }
        let err = guard.next_page("continuation token", &99).unwrap_err();
        assert!(err.to_string().contains("still truncated after 5 pages"), "{err}");
    }
}

//! ListObjectsV2 as a paged stream (AWS S3 API Reference: ListObjectsV2).

use futures::stream::{self, Stream};
use http::Method;

use super::body::{too_large, MAX_XML_BYTES};
use super::client::{Request, S3Client};
use super::operation::Operation;
use super::paging::PageGuard;
pub use super::paging::MAX_LIST_PAGES;
use super::xml::{self, ListPage};
use crate::error::{Error, ErrorDetails, Result};

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// Only keys starting with this.
    pub prefix: String,
    /// Group keys up to the next delimiter into `common_prefixes` (usually `/`).
    pub delimiter: Option<String>,
    /// Only keys after this one (lexicographically).
    pub start_after: Option<String>,
    /// Keys per page (S3's maximum and default: 1000).
    pub max_keys: Option<u32>,
}

impl S3Client {
    /// One ListObjectsV2 page, continuing from `continuation_token`.
    ///
    /// Sends `encoding-type=url` so that any key survives the XML, and decodes the answer.
    pub async fn list_objects_v2_page(
        &self,
        options: &ListOptions,
        continuation_token: Option<&str>,
    ) -> Result<ListPage> {
        let mut request = Request::new(Operation::ListObjectsV2, Method::GET, None)
            .query("list-type", "2")
            .query("encoding-type", "url");
        if !options.prefix.is_empty() {
            request = request.query("prefix", options.prefix.clone());
        }
        if let Some(d) = &options.delimiter {
            request = request.query("delimiter", d.clone());
        }
        if let Some(s) = &options.start_after {
            request = request.query("start-after", s.clone());
        }
        if let Some(m) = options.max_keys {
            request = request.query("max-keys", m.to_string());
        }
        if let Some(token) = continuation_token {
            request = request.query("continuation-token", token.to_string());
        }
        let answer = self
            .send_read(request, MAX_XML_BYTES, || self.xml_too_large("ListObjectsV2"))
            .await?;
        xml::parse_list_objects_v2(&answer.body).map_err(|e| bad_xml("ListObjectsV2", e))
    }

    /// Every page of a ListObjectsV2, following continuation tokens until the last one.
    ///
    /// # Errors
    /// Those of [`list_objects_v2_page`](Self::list_objects_v2_page); [`Error::S3`] when the
    /// store hands out a continuation token it gave before (the listing would never end), or
    /// after [`MAX_LIST_PAGES`] pages.
    pub fn list_objects_v2(&self, options: ListOptions) -> impl Stream<Item = Result<ListPage>> + '_ {
        let guard = PageGuard::new(Operation::ListObjectsV2, self.endpoint());
        // State: None = done; Some(token) = next page to fetch (Some(None) = the first one).
        stream::try_unfold((Some(None::<String>), guard), move |(state, mut guard)| {
            let options = options.clone();
            async move {
                let Some(token) = state else {
                    return Ok(None);
                };
                let page = self.list_objects_v2_page(&options, token.as_deref()).await?;
                let next = match (&page.next_continuation_token, page.is_truncated) {
                    (Some(t), true) => {
                        guard.next_page("continuation token", t)?;
                        Some(Some(t.clone()))
                    }
                    _ => None,
                };
                Ok(Some((page, (next, guard))))
            }
        })
    }

    /// The error of an XML result larger than [`MAX_XML_BYTES`].
    pub(crate) fn xml_too_large(&self, operation: &str) -> Error {
        Error::S3(too_large(
            &format!("the {operation} answer"),
            MAX_XML_BYTES,
            self.endpoint(),
            None,
        ))
    }
}

/// An unparseable answer: the store is not S3-compatible enough, or a proxy answered.
pub(crate) fn bad_xml(operation: &str, err: impl std::fmt::Display) -> Error {
    Error::S3(ErrorDetails::message(format!(
        "{operation} answered with a body that is not the expected XML: {err}"
    )))
}

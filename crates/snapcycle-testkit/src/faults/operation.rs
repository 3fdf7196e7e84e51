//! Identifying the AWS operation of a request (query protocol, JSON target, or REST path).

use super::*;

/// The AWS operation a request calls: the part after the last dot of `X-Amz-Target` (JSON
/// protocols), else the URL-decoded `Action` form field of a query-protocol body (EC2, SNS),
/// else an `Action` in the URL's query string; `None` for anything else (REST protocols).
pub fn operation_name(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Option<String> {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let operation = target.rsplit_once('.').map_or(target, |(_, op)| op).trim();
        if !operation.is_empty() {
            return Some(operation.to_owned());
        }
    }
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if is_form {
        if let Some(action) = form_value(body, "Action") {
            return Some(action);
        }
    }
    query.and_then(|q| form_value(q.as_bytes(), "Action"))
}

/// Whether an operation changes state (`Create*`, `Delete*`, `Modify*`, `Copy*`): the calls
/// whose retries can duplicate or lose work.
pub fn is_mutating(operation: &str) -> bool {
    ["Create", "Delete", "Modify", "Copy"].iter().any(|prefix| operation.starts_with(prefix))
}

/// The first non-empty value of `name` in an `application/x-www-form-urlencoded` string
/// (`+` is a space, `%XX` a byte, a malformed escape stays literal: `form_urlencoded`'s rules).
pub(crate) fn form_value(form: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(form).find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.into_owned())
}

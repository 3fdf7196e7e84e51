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

/// The first non-empty value of `name` in an `application/x-www-form-urlencoded` string.
pub(crate) fn form_value(form: &[u8], name: &str) -> Option<String> {
    form.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        if form_decode(key) == name {
            Some(form_decode(value)).filter(|v| !v.is_empty())
        } else {
            None
        }
    })
}

/// Decodes one form component: `+` is a space, `%XX` a byte; malformed escapes stay literal.
pub(crate) fn form_decode(input: &[u8]) -> String {
    pub(crate) fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

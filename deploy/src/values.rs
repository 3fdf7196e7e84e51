//! Flag values that clap parses into types: a bad value is refused by clap itself, with the
//! flag's name and the reason (exit 2), before any command runs or any AWS call is made.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use snapcycle_core::config::MAX_CONCURRENCY;
use snapcycle_core::event::{identity, parse_time, MAX_YEAR, MIN_YEAR};
use snapcycle_core::{Keyword, KeywordError};
use snapcycle_stack::Schedule;

/// An RFC 3339 time, in whole seconds and within the years a run id holds (the same rule as the
/// event's `ScheduledTime`).
pub(crate) fn time(raw: &str) -> Result<DateTime<Utc>, String> {
    let t = parse_time(raw).ok_or("expected an RFC 3339 time such as 2026-11-26T00:00:00Z")?;
    identity(t).ok_or_else(|| format!("the time must fall between {MIN_YEAR} and {MAX_YEAR} in UTC"))
}

/// An IANA time zone such as `Asia/Shanghai`.
pub(crate) fn time_zone(raw: &str) -> Result<chrono_tz::Tz, String> {
    raw.trim().parse().map_err(|_| "not an IANA time zone such as Asia/Shanghai".to_owned())
}

/// An orphan expiry such as `90d` (a day or more).
pub(crate) fn orphan_expiry(raw: &str) -> Result<snapcycle_core::OrphanExpiry, String> {
    raw.parse().map_err(|e: snapcycle_core::OrphanExpiryError| e.to_string())
}

/// Calls in flight at once: from 1 to [`MAX_CONCURRENCY`].
pub(crate) fn concurrency(raw: &str) -> Result<usize, String> {
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from 1 to {MAX_CONCURRENCY}")),
    }
}

/// `--time-limit`: seconds above 0 and at most a day.
pub(crate) fn time_limit(raw: &str) -> Result<Duration, String> {
    snapcycle_core::event::parse_time_limit(raw, 86_400.0)
        .ok_or_else(|| format!("{raw:?} is not a number of seconds from 0 (exclusive) to 86400"))
}

/// `KEYWORD=EXPRESSION`, with the whole chain of reasons (clap prints only the top one).
pub(crate) fn schedule(raw: &str) -> Result<Schedule, String> {
    raw.parse::<Schedule>().map_err(|e| chain(&e))
}

/// An error and its sources, `outer: inner: ...`, as anyhow's `{:#}` prints them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A comma-separated keyword list, as the stack passes it in `SNAPCYCLE_KEYWORDS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeywordList(pub(crate) Vec<Keyword>);

impl FromStr for KeywordList {
    type Err = KeywordError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Keyword::parse_list(raw).map(KeywordList)
    }
}

//! The Lambda's event contract: `{"SnapshotKeyWord": "SnapshotDaily"}` (the classic lab's), with
//! optional `"ScheduledTime"` and `"DryRun"`.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::Value;

use crate::{Keyword, KeywordError};

/// Field naming the schedule keyword (spelled as in the classic lab).
pub const FIELD_KEYWORD: &str = "SnapshotKeyWord";
/// Field carrying the rule's scheduled time, so retried deliveries share one run identity.
pub const FIELD_SCHEDULED_TIME: &str = "ScheduledTime";
/// Field asking for a plan without changes.
pub const FIELD_DRY_RUN: &str = "DryRun";
/// Field numbering the invocations of one run: a run that runs short of time hands the rest to a
/// new invocation with the same scheduled time and the next number.
pub const FIELD_INVOCATION: &str = "Invocation";
/// Field set on a hand-over made while deleting: every creation is done, so the next invocation
/// reads the keyword's history at once instead of this run's snapshots first. Only a hint for
/// what to read first; either value gives the same result.
pub const FIELD_ROTATING: &str = "Rotating";
/// Most invocations one run may chain (a guard against a hand-over loop).
pub const MAX_INVOCATIONS: u32 = 100;
const FIELDS: [&str; 5] = [FIELD_KEYWORD, FIELD_SCHEDULED_TIME, FIELD_DRY_RUN, FIELD_INVOCATION, FIELD_ROTATING];

/// A validated request to run one keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    /// The schedule keyword.
    pub keyword: Keyword,
    /// The scheduled time, when the caller knows it.
    pub scheduled_time: Option<DateTime<Utc>>,
    /// Plan only, change nothing.
    pub dry_run: bool,
    /// Which invocation of the run this is (1 for the scheduled one).
    pub invocation: u32,
    /// The previous invocation handed over while deleting: read the history first.
    pub rotating: bool,
    /// The Lambda request id, set by the function (never by the event) when the event had no
    /// `ScheduledTime`: it is written on the run's snapshots so that Lambda's retries of the
    /// event find the run again.
    pub request_id: Option<String>,
}

impl RunRequest {
    /// A request for a scheduled (first) invocation.
    pub fn new(keyword: Keyword, scheduled_time: Option<DateTime<Utc>>, dry_run: bool) -> Self {
        RunRequest { keyword, scheduled_time, dry_run, invocation: 1, rotating: false, request_id: None }
    }

    /// The event that hands the rest of this run to the next invocation; `rotating` when this
    /// one had finished creating.
    pub fn continuation_event(&self, scheduled_time: DateTime<Utc>, rotating: bool) -> Value {
        let mut event = serde_json::json!({
            FIELD_KEYWORD: self.keyword.as_str(),
            FIELD_SCHEDULED_TIME: crate::run_id(scheduled_time),
            FIELD_INVOCATION: self.invocation + 1,
        });
        if rotating {
            event[FIELD_ROTATING] = Value::Bool(true);
        }
        event
    }
}

/// What is wrong with an event. Each message names the field and shows the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The event is not a JSON object (a string, an array, …).
    #[error("the event must be a JSON object like {{\"SnapshotKeyWord\": \"SnapshotDaily\"}}, got {0}")]
    NotAnObject(&'static str),
    /// `SnapshotKeyWord` is absent.
    #[error("the event has no \"SnapshotKeyWord\"; expected {{\"SnapshotKeyWord\": \"SnapshotDaily\"}}")]
    MissingKeyword,
    /// `SnapshotKeyWord` is present but not a string.
    #[error("\"SnapshotKeyWord\" must be a string, got {0}")]
    KeywordNotString(&'static str),
    /// `SnapshotKeyWord` is a string but not a usable tag key.
    #[error("\"SnapshotKeyWord\" is invalid: {0}")]
    BadKeyword(#[from] KeywordError),
    /// `ScheduledTime` is not an RFC 3339 time.
    #[error("\"ScheduledTime\" must be an RFC 3339 time such as \"2026-11-26T00:00:00Z\", got {0}")]
    BadScheduledTime(String),
    /// `ScheduledTime` is RFC 3339 but outside the years its run id can hold.
    #[error("\"ScheduledTime\" must fall between {MIN_YEAR} and {MAX_YEAR} in UTC, got {0:?}")]
    ScheduledTimeOutOfRange(String),
    /// `DryRun` is not a boolean.
    #[error("\"DryRun\" must be true or false, got {0}")]
    BadDryRun(String),
    /// `Rotating` is not a boolean.
    #[error("\"Rotating\" must be true or false, got {0}")]
    BadRotating(String),
    /// `Invocation` is not a whole number from 1 to [`MAX_INVOCATIONS`].
    #[error("\"Invocation\" must be a whole number from 1 to {MAX_INVOCATIONS}, got {0}")]
    BadInvocation(String),
    /// A field the contract does not know: refused, because a misspelt `"Dryrun": true` must not
    /// turn into a real run that deletes snapshots.
    #[error("the event has an unknown field {0:?}; known fields are \"SnapshotKeyWord\", \"ScheduledTime\", \"DryRun\", \"Invocation\" and \"Rotating\"")]
    UnknownField(String),
    /// The keyword is valid but not one of the stack's schedules.
    #[error("\"SnapshotKeyWord\" {keyword:?} is not one of this stack's schedules ({known})")]
    UnknownKeyword {
        /// The keyword given.
        keyword: String,
        /// The stack's keywords, comma separated.
        known: String,
    },
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses and validates an event. `known` is the stack's keyword list; when it is empty any valid
/// keyword is accepted (a hand-run `snapcycle run` outside a stack).
pub fn parse_event(event: &Value, known: &[Keyword]) -> Result<RunRequest, EventError> {
    let obj = event.as_object().ok_or_else(|| EventError::NotAnObject(kind(event)))?;
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(EventError::UnknownField(unknown.clone()));
    }
    let keyword = match obj.get(FIELD_KEYWORD) {
        None => return Err(EventError::MissingKeyword),
        Some(Value::String(s)) => Keyword::new(s)?,
        Some(other) => return Err(EventError::KeywordNotString(kind(other))),
    };
    if !known.is_empty() && !known.contains(&keyword) {
        let known = known.iter().map(Keyword::as_str).collect::<Vec<_>>().join(", ");
        return Err(EventError::UnknownKeyword { keyword: keyword.to_string(), known });
    }
    let scheduled_time = match obj.get(FIELD_SCHEDULED_TIME) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let t = parse_time(s).ok_or_else(|| EventError::BadScheduledTime(format!("{s:?}")))?;
            Some(identity(t).ok_or_else(|| EventError::ScheduledTimeOutOfRange(s.clone()))?)
        }
        Some(other) => return Err(EventError::BadScheduledTime(other.to_string())),
    };
    let dry_run = match obj.get(FIELD_DRY_RUN) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(EventError::BadDryRun(other.to_string())),
    };
    let invocation = match obj.get(FIELD_INVOCATION) {
        None | Some(Value::Null) => 1,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(i) if (1..=u64::from(MAX_INVOCATIONS)).contains(&i) => i as u32,
            _ => return Err(EventError::BadInvocation(n.to_string())),
        },
        Some(other) => return Err(EventError::BadInvocation(other.to_string())),
    };
    let rotating = match obj.get(FIELD_ROTATING) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(EventError::BadRotating(other.to_string())),
    };
    Ok(RunRequest { keyword, scheduled_time, dry_run, invocation, rotating, request_id: None })
}

/// First and last years a scheduled time may have: `snapcycle:run` holds four-digit years, and
/// EC2 reports no snapshot before 1970.
pub const MIN_YEAR: i32 = 1970;
/// See [`MIN_YEAR`].
pub const MAX_YEAR: i32 = 9999;

/// A scheduled time as the run's identity: whole seconds (what `snapcycle:run` holds), within
/// [`MIN_YEAR`]..=[`MAX_YEAR`] in UTC so that its run id parses back to the same time.
/// (`9999-12-31T23:00:00-14:00` is year 10000 in UTC, and would not.)
pub fn identity(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    use chrono::{Datelike, Timelike};
    // Not `duration_trunc`: it works in i64 nanoseconds, which end in 2262.
    let t = t.with_nanosecond(0)?;
    (MIN_YEAR..=MAX_YEAR).contains(&t.year()).then_some(t)
}

/// Parses an RFC 3339 time into UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// A time limit in seconds (`--time-limit`, `SNAPCYCLE_TIME_LIMIT_SECONDS`): a finite number above
/// 0 and at most `max_seconds`; anything else is `None`, for the caller to refuse with its name.
pub fn parse_time_limit(raw: &str, max_seconds: f64) -> Option<std::time::Duration> {
    let s = raw.trim().parse::<f64>().ok()?;
    (s.is_finite() && s > 0.0 && s <= max_seconds).then(|| std::time::Duration::from_secs_f64(s))
}

/// The run time when the event has none: the current time truncated to the minute, so two
/// deliveries of one unscheduled invocation within a minute still share an identity.
pub fn default_scheduled_time(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kws(list: &[&str]) -> Vec<Keyword> {
        list.iter().map(|k| Keyword::new(k).unwrap()).collect()
    }

    #[test]
    fn accepts_the_classic_contract() {
        let r = parse_event(&json!({"SnapshotKeyWord": "SnapshotDaily"}), &[]).unwrap();
        assert_eq!(r.keyword.as_str(), "SnapshotDaily");
        assert_eq!(r.scheduled_time, None);
        assert!(!r.dry_run);
    }

    #[test]
    fn accepts_scheduled_time_and_dry_run() {
        let e =
            json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": "2026-11-26T08:00:00+08:00", "DryRun": true});
        let r = parse_event(&e, &kws(&["SnapshotDaily"])).unwrap();
        assert_eq!(r.scheduled_time.unwrap().to_rfc3339(), "2026-11-26T00:00:00+00:00");
        assert!(r.dry_run);
    }

    #[test]
    fn refuses_bad_events_with_a_message_naming_the_field() {
        let cases = [
            (json!({}), "no \"SnapshotKeyWord\""),
            (json!({"SnapshotKeyWord": ""}), "empty"),
            (json!({"SnapshotKeyWord": 7}), "must be a string, got a number"),
            (json!({"SnapshotKeyWord": null}), "must be a string, got null"),
            (json!({"SnapshotKeyWord": ["a"]}), "got an array"),
            (json!({"SnapshotKeyWord": "aws:x"}), "reserved"),
            (json!({"SnapshotKeyWord": "SnapshotDaily", "Dryrun": true}), "unknown field \"Dryrun\""),
            (json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": "yesterday"}), "RFC 3339"),
            (json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": 5}), "RFC 3339"),
            (
                json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": "9999-12-31T23:00:00-14:00"}),
                "between 1970 and 9999 in UTC",
            ),
            (
                json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": "0000-01-01T00:00:00+01:00"}),
                "between 1970 and 9999 in UTC",
            ),
            (
                json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": "1969-12-31T23:59:59Z"}),
                "between 1970 and 9999 in UTC",
            ),
            (json!({"SnapshotKeyWord": "SnapshotDaily", "DryRun": "yes"}), "true or false"),
            (json!({"SnapshotKeyWord": "SnapshotWeekly"}), "not one of this stack's schedules (SnapshotDaily)"),
            (json!("SnapshotDaily"), "JSON object"),
            (json!(null), "got null"),
            (json!({"SnapshotKeyWord": "SnapshotDaily", "Invocation": 0}), "\"Invocation\" must be"),
            (json!({"SnapshotKeyWord": "SnapshotDaily", "Invocation": 101}), "\"Invocation\" must be"),
            (json!({"SnapshotKeyWord": "SnapshotDaily", "Invocation": "2"}), "\"Invocation\" must be"),
            (json!({"SnapshotKeyWord": "SnapshotDaily", "Rotating": "yes"}), "\"Rotating\" must be true or false"),
        ];
        for (event, want) in cases {
            let err = parse_event(&event, &kws(&["SnapshotDaily"])).expect_err(&event.to_string());
            assert!(err.to_string().contains(want), "{event}: {err}");
        }
    }

    #[test]
    fn a_continuation_event_parses_back_as_the_next_invocation() {
        let first = parse_event(&json!({"SnapshotKeyWord": "SnapshotDaily"}), &[]).unwrap();
        let t = parse_time("2026-11-26T00:00:00Z").unwrap();
        let next = parse_event(&first.continuation_event(t, false), &[]).unwrap();
        assert_eq!((next.invocation, next.scheduled_time, next.dry_run, next.rotating), (2, Some(t), false, false));
        let last = parse_event(&next.continuation_event(t, true), &[]).unwrap();
        assert_eq!((last.invocation, last.scheduled_time, last.rotating), (3, Some(t), true));
    }

    #[test]
    fn every_accepted_time_keeps_its_identity_through_a_hand_over() {
        for raw in
            ["9999-12-31T23:59:59Z", "9999-12-31T23:00:00+14:00", "1970-01-01T00:00:00Z", "2026-11-26T00:00:00.75Z"]
        {
            let first = parse_event(&json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": raw}), &[]).unwrap();
            let t = first.scheduled_time.unwrap();
            let next = parse_event(&first.continuation_event(t, false), &[]).unwrap();
            assert_eq!(next.scheduled_time, Some(t), "{raw}");
            assert_eq!(parse_time(&crate::run_id(t)), Some(t), "{raw}: the run id parses back");
        }
    }

    #[test]
    fn default_time_is_truncated_to_the_minute() {
        let now = parse_time("2026-11-26T09:41:27.123Z").unwrap();
        assert_eq!(crate::run_id(default_scheduled_time(now)), "2026-11-26T09:41:00Z");
    }
}

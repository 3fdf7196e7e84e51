//! The Lambda's event contract: `{"SnapshotKeyWord": "SnapshotDaily"}` (the classic lab's), with
//! optional `"ScheduledTime"` and `"DryRun"`, and the hand-over's `"Invocation"` and `"Rotating"`.
//!
//! [`Event`] is the one type for it: the Lambda deserializes it, `snapcycle run` builds it from
//! its flags, and a hand-over serializes the next one. Each field's deserializer is its
//! validation, so a refused event says which field was wrong and what was expected.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::{Keyword, KeywordError};

/// Field naming the schedule keyword (spelled as in the classic lab).
pub const FIELD_KEYWORD: &str = "SnapshotKeyWord";
/// Field carrying the rule's scheduled time, so retried deliveries share one run identity.
pub const FIELD_SCHEDULED_TIME: &str = "ScheduledTime";
/// Most invocations one run may chain (a guard against a hand-over loop).
pub const MAX_INVOCATIONS: u32 = 100;

/// A request to run one keyword, as it travels in the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The schedule keyword.
    #[serde(rename = "SnapshotKeyWord", deserialize_with = "field::keyword")]
    pub keyword: Keyword,
    /// The scheduled time (the run's identity), when the caller knows it; in whole seconds.
    #[serde(
        rename = "ScheduledTime",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::scheduled_time",
        serialize_with = "field::serialize_time"
    )]
    pub scheduled_time: Option<DateTime<Utc>>,
    /// Plan only, change nothing.
    #[serde(rename = "DryRun", default, skip_serializing_if = "is_false", deserialize_with = "field::dry_run")]
    pub dry_run: bool,
    /// Which invocation of the run this is (1 for the scheduled one): a run that runs short of
    /// time hands the rest to a new invocation with the same scheduled time and the next number.
    #[serde(
        rename = "Invocation",
        default = "first",
        skip_serializing_if = "is_first",
        deserialize_with = "field::invocation"
    )]
    pub invocation: u32,
    /// Set on a hand-over with only deletions left. Every invocation reads the whole history
    /// first now, so it changes nothing; kept so that a hand-over from an older version parses.
    #[serde(rename = "Rotating", default, skip_serializing_if = "is_false", deserialize_with = "field::rotating")]
    pub rotating: bool,
    /// The Lambda request id, set by the function (never by the event: a `request_id` field is
    /// refused as unknown) when the event had no `ScheduledTime`: it is written on the run's
    /// snapshots so that Lambda's retries of the event find the run again.
    #[serde(skip)]
    pub request_id: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn first() -> u32 {
    1
}

fn is_first(i: &u32) -> bool {
    *i == 1
}

impl Event {
    /// A request for a scheduled (first) invocation.
    pub fn new(keyword: Keyword, scheduled_time: Option<DateTime<Utc>>, dry_run: bool) -> Self {
        Event { keyword, scheduled_time, dry_run, invocation: 1, rotating: false, request_id: None }
    }

    /// Reads an event as the Lambda receives it. A JSON value that is not an object, or that
    /// lacks the keyword, gets a message with the expected shape; every other mistake is named
    /// by its field.
    pub fn from_value(event: &Value) -> Result<Event, EventError> {
        let obj = event.as_object().ok_or_else(|| EventError::NotAnObject(kind(event)))?;
        if !obj.contains_key(FIELD_KEYWORD) {
            return Err(EventError::MissingKeyword);
        }
        Event::deserialize(event).map_err(|e| EventError::Field(e.to_string()))
    }

    /// [`Event::from_value`], then [`Event::check_keyword`].
    pub fn parse(event: &Value, known: &[Keyword]) -> Result<Event, EventError> {
        let event = Event::from_value(event)?;
        event.check_keyword(known)?;
        Ok(event)
    }

    /// Refuses a keyword that is not one of the stack's: its instances would be snapshotted with
    /// the other schedules' tags copied on, and nothing would rotate them. `known` empty accepts
    /// any valid keyword (a hand-run `snapcycle run` outside a stack).
    pub fn check_keyword(&self, known: &[Keyword]) -> Result<(), EventError> {
        if known.is_empty() || known.contains(&self.keyword) {
            return Ok(());
        }
        let known = known.iter().map(Keyword::as_str).collect::<Vec<_>>().join(", ");
        Err(EventError::UnknownKeyword { keyword: self.keyword.to_string(), known })
    }

    /// The event that hands the rest of this run to the next invocation; `rotating` when this
    /// one had finished creating.
    pub fn continuation(&self, scheduled_time: DateTime<Utc>, rotating: bool) -> Event {
        Event {
            keyword: self.keyword.clone(),
            scheduled_time: Some(scheduled_time),
            dry_run: false,
            invocation: self.invocation + 1,
            rotating,
            request_id: None,
        }
    }
}

/// EventBridge's `detail-type` of EC2's event for a CreateSnapshot that ended ("Amazon EBS
/// events", EBS User Guide).
pub const DETAIL_SNAPSHOT: &str = "EBS Snapshot Notification";
/// EventBridge's `detail-type` of EC2's event for a CreateSnapshots set that ended.
pub const DETAIL_SET: &str = "EBS Multi-Volume Snapshots Completion Status";

/// What one invocation is asked to do: run a keyword (a schedule's event or a hand-over), or copy
/// the snapshots EC2 says just completed (its event, forwarded by the stack's rule when copies
/// to other regions are on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Run one keyword.
    Run(Event),
    /// Copy these completed snapshots.
    Copy(Completed),
}

impl Invocation {
    /// Reads an invocation's payload: EC2's event when it comes from `aws.ec2`, else
    /// [`Event::parse`]'s contract.
    pub fn parse(event: &Value, known: &[Keyword]) -> Result<Invocation, EventError> {
        match event.get("source").and_then(Value::as_str) {
            Some("aws.ec2") => Completed::from_value(event).map(Invocation::Copy),
            _ => Event::parse(event, known).map(Invocation::Run),
        }
    }
}

/// EC2's event that a snapshot, or a set of them, has been created ("Amazon EBS events", EBS User
/// Guide): `detail.snapshot_id` for one (`createSnapshot`), `detail.snapshots[]` for a set
/// (`createSnapshots`), each snapshot named by its ARN. Only what a copy needs is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The region of the snapshots (the event's `region`).
    pub region: String,
    /// Whether EC2 says the creation succeeded (`detail.result`); a failed one has nothing to copy.
    pub succeeded: bool,
    /// The snapshots that completed, as ids (`snap-…`); for a copy, the copy.
    pub snapshot_ids: Vec<String>,
    /// For EC2's `copySnapshot` event, the snapshot copied (`detail.source`): with `--encrypt`,
    /// the unencrypted original that the completed copy now replaces.
    pub copy_of: Option<String>,
}

impl Completed {
    /// Reads EC2's event; a malformed one names what is missing.
    pub fn from_value(event: &Value) -> Result<Completed, EventError> {
        let bad = |what: &str| EventError::Field(format!("EC2's snapshot event {what}"));
        let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or_default();
        if detail_type != DETAIL_SNAPSHOT && detail_type != DETAIL_SET {
            return Err(bad(&format!(
                "has detail-type {detail_type:?}; expected {DETAIL_SNAPSHOT:?} or {DETAIL_SET:?}"
            )));
        }
        let region = event.get("region").and_then(Value::as_str).ok_or_else(|| bad("has no \"region\""))?;
        let detail = event.get("detail").and_then(Value::as_object).ok_or_else(|| bad("has no \"detail\" object"))?;
        let succeeded = detail.get("result").and_then(Value::as_str) == Some("succeeded");
        let arns: Vec<&str> = match detail.get("snapshots").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .filter(|s| s.get("status").and_then(Value::as_str).is_none_or(|st| st == "completed"))
                .filter_map(|s| s.get("snapshot_id").and_then(Value::as_str))
                .collect(),
            None => detail.get("snapshot_id").and_then(Value::as_str).into_iter().collect(),
        };
        // `arn:aws:ec2::us-east-1:snapshot/snap-…`, or a bare id.
        let snapshot_id = |arn: &str| {
            let id = arn.rsplit_once("snapshot/").map_or(arn, |(_, id)| id);
            if !id.starts_with("snap-") || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(bad(&format!("names {arn:?}, which is not a snapshot")));
            }
            Ok(id.to_owned())
        };
        let snapshot_ids = arns.into_iter().map(snapshot_id).collect::<Result<Vec<_>, _>>()?;
        if succeeded && snapshot_ids.is_empty() {
            return Err(bad("says a creation succeeded but names no snapshot"));
        }
        let copy_of = match detail.get("event").and_then(Value::as_str) {
            Some("copySnapshot") => Some(snapshot_id(
                detail.get("source").and_then(Value::as_str).ok_or_else(|| bad("of a copy has no \"source\""))?,
            )?),
            _ => None,
        };
        Ok(Completed { region: region.to_owned(), succeeded, snapshot_ids, copy_of })
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
    /// A field has a bad value ([`FieldError`]'s message), or the event has a field the contract
    /// does not know: refused, because a misspelt `"Dryrun": true` must not turn into a real run
    /// that deletes snapshots.
    #[error("{0}")]
    Field(String),
    /// The keyword is valid but not one of the stack's schedules.
    #[error("\"SnapshotKeyWord\" {keyword:?} is not one of this stack's schedules ({known})")]
    UnknownKeyword {
        /// The keyword given.
        keyword: String,
        /// The stack's keywords, comma separated.
        known: String,
    },
}

/// What is wrong with one field's value; the deserializer of [`Event`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
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

/// The fields' deserializers: each reads the raw JSON value, so that a wrong type gets the
/// field's own message ("must be true or false, got \"yes\"") instead of serde's generic one.
/// `null` is the same as absent for every optional field.
mod field {
    use super::*;

    fn read<'de, D: Deserializer<'de>, T>(
        d: D,
        check: impl FnOnce(Value) -> Result<T, FieldError>,
    ) -> Result<T, D::Error> {
        check(Value::deserialize(d)?).map_err(D::Error::custom)
    }

    pub(super) fn keyword<'de, D: Deserializer<'de>>(d: D) -> Result<Keyword, D::Error> {
        read(d, |v| match v {
            Value::String(s) => Ok(Keyword::new(&s)?),
            other => Err(FieldError::KeywordNotString(kind(&other))),
        })
    }

    pub(super) fn scheduled_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        read(d, |v| match v {
            Value::Null => Ok(None),
            Value::String(s) => {
                let t = parse_time(&s).ok_or_else(|| FieldError::BadScheduledTime(format!("{s:?}")))?;
                Ok(Some(identity(t).ok_or(FieldError::ScheduledTimeOutOfRange(s))?))
            }
            other => Err(FieldError::BadScheduledTime(other.to_string())),
        })
    }

    pub(super) fn serialize_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&crate::run_id(*t)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn dry_run<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        read(d, |v| match v {
            Value::Null => Ok(false),
            Value::Bool(b) => Ok(b),
            other => Err(FieldError::BadDryRun(other.to_string())),
        })
    }

    pub(super) fn rotating<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        read(d, |v| match v {
            Value::Null => Ok(false),
            Value::Bool(b) => Ok(b),
            other => Err(FieldError::BadRotating(other.to_string())),
        })
    }

    pub(super) fn invocation<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        read(d, |v| match &v {
            Value::Null => Ok(1),
            Value::Number(n) => match n.as_u64() {
                Some(i) if (1..=u64::from(MAX_INVOCATIONS)).contains(&i) => Ok(i as u32),
                _ => Err(FieldError::BadInvocation(n.to_string())),
            },
            other => Err(FieldError::BadInvocation(other.to_string())),
        })
    }
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

    fn parse(event: &Value, known: &[Keyword]) -> Result<Event, EventError> {
        Event::parse(event, known)
    }

    /// The hand-over's payload, as the Lambda sends it.
    fn hand_over(event: &Event, t: DateTime<Utc>, rotating: bool) -> Value {
        serde_json::to_value(event.continuation(t, rotating)).unwrap()
    }

    #[test]
    fn accepts_the_classic_contract() {
        let r = parse(&json!({"SnapshotKeyWord": "SnapshotDaily"}), &[]).unwrap();
        assert_eq!(r.keyword.as_str(), "SnapshotDaily");
        assert_eq!(r.scheduled_time, None);
        assert!(!r.dry_run);
    }

    #[test]
    fn accepts_scheduled_time_and_dry_run() {
        let e =
            json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": "2026-11-26T08:00:00+08:00", "DryRun": true});
        let r = parse(&e, &kws(&["SnapshotDaily"])).unwrap();
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
            (json!({"SnapshotKeyWord": "SnapshotDaily", "Dryrun": true}), "unknown field `Dryrun`"),
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
            (json!({"SnapshotKeyWord": "SnapshotDaily", "request_id": "r-1"}), "unknown field `request_id`"),
        ];
        for (event, want) in cases {
            let err = parse(&event, &kws(&["SnapshotDaily"])).expect_err(&event.to_string());
            assert!(err.to_string().contains(want), "{event}: {err}");
        }
    }

    #[test]
    fn a_continuation_event_parses_back_as_the_next_invocation() {
        let first = parse(&json!({"SnapshotKeyWord": "SnapshotDaily"}), &[]).unwrap();
        let t = parse_time("2026-11-26T00:00:00Z").unwrap();
        let next = parse(&hand_over(&first, t, false), &[]).unwrap();
        assert_eq!((next.invocation, next.scheduled_time, next.dry_run, next.rotating), (2, Some(t), false, false));
        let last = parse(&hand_over(&next, t, true), &[]).unwrap();
        assert_eq!((last.invocation, last.scheduled_time, last.rotating), (3, Some(t), true));
    }

    #[test]
    fn every_accepted_time_keeps_its_identity_through_a_hand_over() {
        for raw in
            ["9999-12-31T23:59:59Z", "9999-12-31T23:00:00+14:00", "1970-01-01T00:00:00Z", "2026-11-26T00:00:00.75Z"]
        {
            let first = parse(&json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": raw}), &[]).unwrap();
            let t = first.scheduled_time.unwrap();
            let next = parse(&hand_over(&first, t, false), &[]).unwrap();
            assert_eq!(next.scheduled_time, Some(t), "{raw}");
            assert_eq!(parse_time(&crate::run_id(t)), Some(t), "{raw}: the run id parses back");
        }
    }

    #[test]
    fn a_request_serializes_to_the_classic_contract_and_a_hand_over_to_its_fields() {
        let first = Event::new(Keyword::new("SnapshotDaily").unwrap(), None, false);
        assert_eq!(serde_json::to_value(&first).unwrap(), json!({"SnapshotKeyWord": "SnapshotDaily"}));
        let t = parse_time("2026-11-26T00:00:00.5Z").unwrap();
        assert_eq!(
            hand_over(&first, identity(t).unwrap(), true),
            json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": "2026-11-26T00:00:00Z", "Invocation": 2, "Rotating": true})
        );
    }

    #[test]
    fn null_is_the_same_as_absent_for_the_optional_fields() {
        let e = json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": null, "DryRun": null, "Invocation": null, "Rotating": null});
        assert_eq!(parse(&e, &[]).unwrap(), Event::new(Keyword::new("SnapshotDaily").unwrap(), None, false));
    }

    #[test]
    fn default_time_is_truncated_to_the_minute() {
        let now = parse_time("2026-11-26T09:41:27.123Z").unwrap();
        assert_eq!(crate::run_id(default_scheduled_time(now)), "2026-11-26T09:41:00Z");
    }

    /// EC2's event for a completed CreateSnapshot, as the EBS User Guide's "Amazon EventBridge
    /// events for Amazon EBS" shows it (its ARN puts the region where the account goes).
    const SNAPSHOT_EVENT: &str = r#"{"version":"0","id":"01234567-0123-0123-0123-012345678901",
      "detail-type":"EBS Snapshot Notification","source":"aws.ec2","account":"012345678901",
      "time":"2026-11-26T00:05:00Z","region":"us-east-1",
      "resources":["arn:aws:ec2::us-east-1:snapshot/snap-01234567"],
      "detail":{"event":"createSnapshot","result":"succeeded","cause":"","request-id":"",
        "snapshot_id":"arn:aws:ec2::us-east-1:snapshot/snap-01234567",
        "source":"arn:aws:ec2::us-east-1:volume/vol-01234567",
        "startTime":"2026-11-26T00:00:01Z","endTime":"2026-11-26T00:05:00Z"}}"#;

    /// The same page's event for a CreateSnapshots set.
    const SET_EVENT: &str = r#"{"version":"0","id":"01234567-0123-0123-0123-012345678902",
      "detail-type":"EBS Multi-Volume Snapshots Completion Status","source":"aws.ec2",
      "account":"012345678901","time":"2026-11-26T00:05:00Z","region":"cn-north-1",
      "resources":["arn:aws-cn:ec2::cn-north-1:snapshot/snap-0a","arn:aws-cn:ec2::cn-north-1:snapshot/snap-0b"],
      "detail":{"event":"createSnapshots","result":"succeeded","cause":"","request-id":"",
        "startTime":"2026-11-26T00:00:01Z","endTime":"2026-11-26T00:05:00Z",
        "snapshots":[
          {"snapshot_id":"arn:aws-cn:ec2::cn-north-1:snapshot/snap-0a","source":"arn:aws-cn:ec2::cn-north-1:volume/vol-0a","status":"completed"},
          {"snapshot_id":"arn:aws-cn:ec2:cn-north-1:012345678901:snapshot/snap-0b","source":"arn:aws-cn:ec2::cn-north-1:volume/vol-0b","status":"completed"}]}}"#;

    #[test]
    fn ec2s_completion_events_are_copies_and_name_their_snapshots() {
        let one: Value = serde_json::from_str(SNAPSHOT_EVENT).unwrap();
        let Invocation::Copy(c) = Invocation::parse(&one, &[]).unwrap() else { panic!("a copy") };
        assert_eq!(
            c,
            Completed {
                region: "us-east-1".into(),
                succeeded: true,
                snapshot_ids: vec!["snap-01234567".into()],
                copy_of: None
            }
        );
        let set: Value = serde_json::from_str(SET_EVENT).unwrap();
        let Invocation::Copy(c) = Invocation::parse(&set, &[]).unwrap() else { panic!("a copy") };
        assert_eq!(
            (c.region.as_str(), c.snapshot_ids.as_slice()),
            ("cn-north-1", &["snap-0a".to_owned(), "snap-0b".to_owned()][..])
        );
        // A schedule's event is still a run.
        let run = serde_json::json!({"SnapshotKeyWord": "SnapshotDaily"});
        assert!(matches!(Invocation::parse(&run, &[]).unwrap(), Invocation::Run(_)));
    }

    /// EC2's `copySnapshot` event as the EBS User Guide ("Amazon EBS events", Copy snapshot)
    /// shows it, in one region: `snapshot_id` is the copy, `detail.source` the original.
    const COPY_EVENT: &str = r#"{"version":"0","id":"01234567-0123-0123-0123-012345678901",
      "detail-type":"EBS Snapshot Notification","source":"aws.ec2","account":"123456789012",
      "time":"2026-11-26T00:20:00Z","region":"cn-north-1",
      "resources":["arn:aws-cn:ec2::cn-north-1:snapshot/snap-0c0py"],
      "detail":{"event":"copySnapshot","result":"succeeded","cause":"","request-id":"",
        "snapshot_id":"arn:aws-cn:ec2::cn-north-1:snapshot/snap-0c0py",
        "source":"arn:aws-cn:ec2::cn-north-1:snapshot/snap-0a","startTime":"2026-11-26T00:05:01Z",
        "endTime":"2026-11-26T00:20:00Z","incremental":"false","transferType":"standard"}}"#;

    #[test]
    fn ec2s_copy_event_names_the_copy_and_its_original() {
        let v: Value = serde_json::from_str(COPY_EVENT).unwrap();
        let Invocation::Copy(c) = Invocation::parse(&v, &[]).unwrap() else { panic!("a copy event") };
        assert_eq!(
            (c.snapshot_ids.as_slice(), c.copy_of.as_deref()),
            (&["snap-0c0py".to_owned()][..], Some("snap-0a"))
        );
        let mut no_source = v.clone();
        no_source["detail"].as_object_mut().unwrap().remove("source");
        let e = Invocation::parse(&no_source, &[]).unwrap_err().to_string();
        assert!(e.contains("of a copy has no \"source\""), "{e}");
        let mut bad_source = v;
        bad_source["detail"]["source"] = "arn:aws-cn:ec2::cn-north-1:volume/vol-0a".into();
        let e = Invocation::parse(&bad_source, &[]).unwrap_err().to_string();
        assert!(e.contains("which is not a snapshot"), "{e}");
    }

    #[test]
    fn a_failed_set_copies_nothing_and_a_malformed_event_says_what_is_wrong() {
        let mut failed: Value = serde_json::from_str(SET_EVENT).unwrap();
        failed["detail"]["result"] = "failed".into();
        for s in failed["detail"]["snapshots"].as_array_mut().unwrap() {
            s["status"] = "error".into();
        }
        let Invocation::Copy(c) = Invocation::parse(&failed, &[]).unwrap() else { panic!("a copy") };
        assert!(!c.succeeded && c.snapshot_ids.is_empty(), "{c:?}");
        type Break = fn(&mut Value);
        let cases: [(&str, Break); 5] = [
            ("detail-type \"EC2 Instance State-change Notification\"", |v| {
                v["detail-type"] = "EC2 Instance State-change Notification".into()
            }),
            ("no \"region\"", |v| {
                v.as_object_mut().unwrap().remove("region");
            }),
            ("no \"detail\" object", |v| v["detail"] = Value::Null),
            ("which is not a snapshot", |v| v["detail"]["snapshot_id"] = "arn:aws:ec2::us-east-1:volume/vol-1".into()),
            ("names no snapshot", |v| {
                v["detail"].as_object_mut().unwrap().remove("snapshot_id");
            }),
        ];
        for (want, break_it) in cases {
            let mut v: Value = serde_json::from_str(SNAPSHOT_EVENT).unwrap();
            break_it(&mut v);
            let e = Invocation::parse(&v, &[]).unwrap_err().to_string();
            assert!(e.starts_with("EC2's snapshot event") && e.contains(want), "{want}: {e}");
        }
    }
}

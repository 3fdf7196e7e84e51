//! EventBridge schedule expressions: parsing `rate(...)` and six-field `cron(...)` text, and working
//! out when a schedule fires.
//!
//! The parser is strict on purpose. What it accepts is meant to be what `PutRule` accepts, so a bad
//! schedule is reported by `snapcycle` with the field at fault before CloudFormation fails with
//! "Parameter ScheduleExpression is not valid". It follows AWS's documentation (field table and
//! wildcards of the "cron expressions" and "rate expressions" references) and cases others have
//! checked against the live service: no white space before `rate(`/`cron(` or inside the parentheses' ends,
//! one space between fields, `rate` units in lower case, month and day names in any case.
//!
//! Times are UTC, as EventBridge evaluates rule schedules. Fire times are whole minutes.
//! [`ScheduleExpression::fires_after_in`] reads a cron on a time zone's clock instead, as EventBridge
//! Scheduler does with `ScheduleExpressionTimezone` (daylight-saving gaps and overlaps included).
//!
//! Two points where we have to choose, documented where they live:
//! - a rate schedule really fires relative to when the rule was created, which we do not know; we
//!   anchor it at whole multiples of its interval since the Unix epoch ([`Rate`]);
//! - [`ScheduleExpression::min_interval`] of a cron is exact over every fire from 1970 to 2199.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};

/// The first year a cron expression may name; EventBridge rejects earlier ones.
pub const MIN_YEAR: i32 = 1970;
/// The last year a cron expression may name; no cron schedule fires after this year ends.
pub const MAX_YEAR: i32 = 2199;

/// A parsed EventBridge schedule: what a rule's `ScheduleExpression` holds.
///
/// Parse with [`str::parse`]; [`fmt::Display`] gives back the canonical text to put in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleExpression {
    /// `rate(value unit)`: a fixed interval.
    Rate(Rate),
    /// `cron(minutes hours day-of-month month day-of-week year)`: calendar times.
    Cron(Cron),
}

/// A fixed interval, `rate(5 minutes)`.
///
/// EventBridge starts counting when the rule is created, which a pure function cannot know. Fire
/// times here are therefore anchored at whole multiples of the interval since 1970-01-01T00:00Z:
/// `rate(1 hour)` fires on the hour, `rate(1 day)` at 00:00 UTC, `rate(7 days)` on Thursdays (the
/// epoch was a Thursday). The spacing of fires, which is what the checks care about, is exact.
///
/// The fields are private so that a zero interval cannot exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    value: u32,
    unit: RateUnit,
}

/// The unit of a [`Rate`]; EventBridge offers no seconds, weeks or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateUnit {
    /// `minute` / `minutes`.
    Minute,
    /// `hour` / `hours`.
    Hour,
    /// `day` / `days`.
    Day,
}

/// Calendar fire times, `cron(0 18 ? * MON-FRI *)`, kept as the sets of values each field allows.
///
/// Exactly one of day-of-month and day-of-week is `?`, so the days are one of the two, never both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// Bit `m` set for each allowed minute.
    minutes: u64,
    /// Bit `h` set for each allowed hour.
    hours: u64,
    /// Bit `m` (1..=12) set for each allowed month.
    months: u64,
    /// Index `year - MIN_YEAR` set for each allowed year.
    years: Bits,
    days: Days,
    /// The six fields as written, upper-cased: Display gives them back.
    text: String,
}

/// One field of an expression, named in errors so a person knows where to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The number in `rate(value unit)`.
    RateValue,
    /// The unit in `rate(value unit)`.
    RateUnit,
    /// Cron field 1, 0-59.
    Minutes,
    /// Cron field 2, 0-23.
    Hours,
    /// Cron field 3, 1-31.
    DayOfMonth,
    /// Cron field 4, 1-12 or JAN-DEC.
    Month,
    /// Cron field 5, 1-7 or SUN-SAT (1 is Sunday).
    DayOfWeek,
    /// Cron field 6, 1970-2199.
    Year,
}

impl ScheduleExpression {
    /// The first fire time strictly after `after`, or `None` when the schedule never fires again
    /// (a cron whose years are past, or a rate beyond the representable calendar). Lets a run tell
    /// which scheduled time it belongs to, and the CLI show what comes next.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            ScheduleExpression::Rate(rate) => rate.next_after(after),
            ScheduleExpression::Cron(cron) => cron.next_after(after),
        }
    }

    /// Fire times strictly after `after`, in order; finite for a cron (nothing after 2199).
    pub fn fires_after(&self, after: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        std::iter::successors(self.next_after(after), move |t| self.next_after(*t))
    }

    /// The shortest gap between two consecutive fires, so the deploy can refuse a Lambda timeout
    /// longer than it (runs would overlap). For a rate it is the interval. For a cron it is exact:
    /// the shortest gap within a day combined with the shortest gap between consecutive firing days
    /// over every allowed year 1970-2199, found day by day (a few thousand steps), not by scanning
    /// minutes. `None` when the schedule fires at most once.
    pub fn min_interval(&self) -> Option<Duration> {
        match self {
            ScheduleExpression::Rate(rate) => Some(rate.interval()),
            ScheduleExpression::Cron(cron) => cron.min_interval(),
        }
    }
}

impl FromStr for ScheduleExpression {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s).map_err(|kind| ScheduleError { expression: s.to_owned(), kind })
    }
}

impl fmt::Display for ScheduleExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleExpression::Rate(rate) => rate.fmt(f),
            ScheduleExpression::Cron(cron) => cron.fmt(f),
        }
    }
}

impl Rate {
    /// A rate of `value` units; `None` for zero, which EventBridge rejects.
    pub fn new(value: u32, unit: RateUnit) -> Option<Self> {
        (value > 0).then_some(Rate { value, unit })
    }

    /// How many units between fires (at least 1).
    pub fn value(&self) -> u32 {
        self.value
    }

    /// The unit the value counts.
    pub fn unit(&self) -> RateUnit {
        self.unit
    }

    /// The time between fires.
    pub fn interval(&self) -> Duration {
        // At most u32::MAX days, about 3.7e14 s: far inside Duration's range.
        Duration::seconds(self.interval_seconds())
    }

    fn interval_seconds(&self) -> i64 {
        i64::from(self.value) * self.unit.seconds()
    }

    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let step = self.interval_seconds();
        // Whole seconds: a fractional `after` lies strictly between two whole seconds, so the next
        // multiple above its whole-second floor is also strictly after it.
        let k = after.timestamp().div_euclid(step).checked_add(1)?;
        DateTime::from_timestamp(k.checked_mul(step)?, 0)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.value == 1 { self.unit.singular() } else { self.unit.plural() };
        write!(f, "rate({} {unit})", self.value)
    }
}

impl RateUnit {
    fn seconds(self) -> i64 {
        match self {
            RateUnit::Minute => 60,
            RateUnit::Hour => 3_600,
            RateUnit::Day => 86_400,
        }
    }

    fn singular(self) -> &'static str {
        match self {
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
            RateUnit::Day => "day",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            RateUnit::Minute => "minutes",
            RateUnit::Hour => "hours",
            RateUnit::Day => "days",
        }
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cron({})", self.text)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::RateValue => "rate value",
            Field::RateUnit => "rate unit",
            Field::Minutes => "minutes",
            Field::Hours => "hours",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
            Field::Year => "year",
        })
    }
}

mod error;
mod fire;
mod parse;
#[cfg(test)]
mod tests;
mod zone;

pub use error::{FieldProblem, ScheduleError, ScheduleErrorKind};
use fire::*;
use parse::*;

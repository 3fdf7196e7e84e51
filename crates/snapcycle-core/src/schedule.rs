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
//!
//! Two points where we have to choose, documented where they live:
//! - a rate schedule really fires relative to when the rule was created, which we do not know; we
//!   anchor it at whole multiples of its interval since the Unix epoch ([`Rate`]);
//! - [`ScheduleExpression::min_interval`] of a cron is exact over every fire from 1970 to 2199.

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

/// Why a schedule expression was rejected. Display quotes the whole expression and names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule expression {expression:?}: {kind}")]
pub struct ScheduleError {
    expression: String,
    kind: ScheduleErrorKind,
}

/// What is wrong with an expression as a whole, or which field is wrong and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleErrorKind {
    /// Nothing was given.
    #[error("it is empty; expected rate(value unit) or cron(minutes hours day-of-month month day-of-week year)")]
    Empty,
    /// EventBridge rejects white space around the expression.
    #[error("leading or trailing white space is not allowed")]
    SurroundingWhitespace,
    /// Neither `rate(` nor `cron(` (both lower case).
    #[error("expected rate(value unit) or cron(minutes hours day-of-month month day-of-week year)")]
    UnknownForm,
    /// The opening parenthesis is never closed.
    #[error("missing the closing ')'")]
    MissingClosingParen,
    /// Something follows the closing parenthesis, or a parenthesis appears inside.
    #[error("unexpected text around the parentheses")]
    StrayText,
    /// `rate(...)` that is not a value, one space and a unit.
    #[error("expected rate(value unit) with one space between them, e.g. rate(5 minutes)")]
    RateShape,
    /// A cron expression with other than six fields (a Unix crontab line has five).
    #[error(
        "cron needs 6 fields (minutes hours day-of-month month day-of-week year) separated by single spaces, found {found}"
    )]
    FieldCount {
        /// How many fields were found.
        found: usize,
    },
    /// Fields separated by something other than single spaces.
    #[error("cron fields must be separated by single spaces")]
    Spacing,
    /// One field is wrong.
    #[error("{field}: {problem}")]
    Field {
        /// The field at fault.
        field: Field,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// `*` in both day fields.
    #[error("'*' in both day-of-month and day-of-week; one of them must be '?'")]
    BothDaysStar,
    /// `?` in both day fields.
    #[error("'?' in both day-of-month and day-of-week; exactly one of them must be '?'")]
    BothDaysAny,
    /// Values in both day fields; EventBridge cannot combine them.
    #[error("day-of-month ({day_of_month}) and day-of-week ({day_of_week}) are both set; one of them must be '?'")]
    BothDaysSet {
        /// The day-of-month field as written.
        day_of_month: String,
        /// The day-of-week field as written.
        day_of_week: String,
    },
}

/// What is wrong within one field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldProblem {
    /// An empty field or list entry, as in `1,,2`.
    #[error("an entry is empty")]
    Empty,
    /// A number outside the field's range.
    #[error("'{text}' is out of range {min}-{max}")]
    OutOfRange {
        /// The number as written.
        text: String,
        /// The smallest allowed value.
        min: u32,
        /// The largest allowed value.
        max: u32,
    },
    /// Neither a number nor a name the field knows.
    #[error("'{text}' is not {expected}")]
    NotAValue {
        /// The text as written (upper-cased for cron fields).
        text: String,
        /// What the field takes.
        expected: &'static str,
    },
    /// A wildcard the field does not support, like `?` in hours or `/` in day-of-week.
    #[error("'{0}' is not allowed in this field")]
    NotAllowed(char),
    /// A step after `/` that is not a whole number in range.
    #[error("the step in '{text}' must be a whole number from 1 to {max}")]
    BadStep {
        /// The list entry holding the step.
        text: String,
        /// The largest allowed step.
        max: u32,
    },
    /// A year range whose end comes before its start.
    #[error("the range '{0}' runs backwards")]
    Backwards(String),
    /// `?`, `L`, `W` or `#` combined with other entries.
    #[error("'{0}' must be the only entry in the field")]
    MustStandAlone(String),
    /// The occurrence after `#` is not 1-5.
    #[error("in '{0}' the number after '#' must be 1-5")]
    BadOccurrence(String),
    /// `rate(0 ...)`.
    #[error("must be at least 1, found {0}")]
    Zero(String),
    /// A rate unit EventBridge does not have.
    #[error("'{0}' is not one of minute, minutes, hour, hours, day, days")]
    UnknownUnit(String),
    /// `rate(1 hours)`.
    #[error("a value of 1 takes the singular '{singular}', not '{found}'")]
    NeedsSingular {
        /// The unit to use instead.
        singular: &'static str,
        /// The unit as written.
        found: String,
    },
    /// `rate(2 hour)`.
    #[error("a value of {value} takes the plural '{plural}', not '{found}'")]
    NeedsPlural {
        /// The rate's value.
        value: u32,
        /// The unit to use instead.
        plural: &'static str,
        /// The unit as written.
        found: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Public behaviour
// ---------------------------------------------------------------------------------------------

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

impl ScheduleError {
    /// The expression as it was given, so a caller can say where it came from.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// What is wrong, for callers that react to particular mistakes.
    pub fn kind(&self) -> &ScheduleErrorKind {
        &self.kind
    }

    /// The field at fault; `None` when the problem is the expression's shape or the pairing of
    /// day-of-month with day-of-week (the message then names both).
    pub fn field(&self) -> Option<Field> {
        match &self.kind {
            ScheduleErrorKind::Field { field, .. } => Some(*field),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

fn parse(s: &str) -> Result<ScheduleExpression, ScheduleErrorKind> {
    if s.is_empty() {
        return Err(ScheduleErrorKind::Empty);
    }
    if s.trim() != s {
        return Err(ScheduleErrorKind::SurroundingWhitespace);
    }
    let (is_rate, rest) = if let Some(rest) = s.strip_prefix("rate(") {
        (true, rest)
    } else if let Some(rest) = s.strip_prefix("cron(") {
        (false, rest)
    } else {
        return Err(ScheduleErrorKind::UnknownForm);
    };
    let inner = match rest.strip_suffix(')') {
        Some(inner) if !inner.contains(['(', ')']) => inner,
        Some(_) => return Err(ScheduleErrorKind::StrayText),
        None if rest.contains(')') => return Err(ScheduleErrorKind::StrayText),
        None => return Err(ScheduleErrorKind::MissingClosingParen),
    };
    if is_rate {
        parse_rate(inner).map(ScheduleExpression::Rate)
    } else {
        parse_cron(inner).map(ScheduleExpression::Cron)
    }
}

fn field_err(field: Field, problem: FieldProblem) -> ScheduleErrorKind {
    ScheduleErrorKind::Field { field, problem }
}

fn parse_rate(inner: &str) -> Result<Rate, ScheduleErrorKind> {
    let Some((value_text, unit_text)) = inner.split_once(' ') else {
        return Err(ScheduleErrorKind::RateShape);
    };
    if value_text.is_empty() || unit_text.is_empty() || unit_text.contains(char::is_whitespace) {
        return Err(ScheduleErrorKind::RateShape);
    }
    let value_err = |problem| field_err(Field::RateValue, problem);
    if !value_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(value_err(FieldProblem::NotAValue {
            text: value_text.to_owned(),
            expected: "a positive whole number",
        }));
    }
    let value: u32 = value_text
        .parse()
        .map_err(|_| value_err(FieldProblem::OutOfRange { text: value_text.to_owned(), min: 1, max: u32::MAX }))?;
    if value == 0 {
        return Err(value_err(FieldProblem::Zero(value_text.to_owned())));
    }
    let (unit, plural) = match unit_text {
        "minute" => (RateUnit::Minute, false),
        "minutes" => (RateUnit::Minute, true),
        "hour" => (RateUnit::Hour, false),
        "hours" => (RateUnit::Hour, true),
        "day" => (RateUnit::Day, false),
        "days" => (RateUnit::Day, true),
        _ => return Err(field_err(Field::RateUnit, FieldProblem::UnknownUnit(unit_text.to_owned()))),
    };
    if value == 1 && plural {
        return Err(field_err(
            Field::RateUnit,
            FieldProblem::NeedsSingular { singular: unit.singular(), found: unit_text.to_owned() },
        ));
    }
    if value > 1 && !plural {
        return Err(field_err(
            Field::RateUnit,
            FieldProblem::NeedsPlural { value, plural: unit.plural(), found: unit_text.to_owned() },
        ));
    }
    Ok(Rate { value, unit })
}

/// How one numeric cron field is read.
struct Spec {
    field: Field,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, ...; empty when the field has none.
    names: &'static [&'static str],
    /// The largest step after `/`; `None` when the field takes no `/`.
    max_step: Option<u32>,
    /// Whether a range may run past the end and wrap to the start (`FRI-MON`, `22-2`).
    wraps: bool,
    expected: &'static str,
}

const MINUTES: Spec = Spec {
    field: Field::Minutes,
    min: 0,
    max: 59,
    names: &[],
    max_step: Some(59),
    wraps: true,
    expected: "a minute 0-59",
};

const HOURS: Spec = Spec {
    field: Field::Hours,
    min: 0,
    max: 23,
    names: &[],
    max_step: Some(23),
    wraps: true,
    expected: "an hour 0-23",
};

const DAY_OF_MONTH: Spec = Spec {
    field: Field::DayOfMonth,
    min: 1,
    max: 31,
    names: &[],
    max_step: Some(31),
    wraps: true,
    expected: "a day of the month 1-31, L, LW or a day followed by W",
};

const MONTH: Spec = Spec {
    field: Field::Month,
    min: 1,
    max: 12,
    names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    max_step: Some(12),
    wraps: true,
    expected: "a month 1-12 or JAN-DEC",
};

/// AWS's table lists no `/` for day-of-week, and the service rejects it.
const DAY_OF_WEEK: Spec = Spec {
    field: Field::DayOfWeek,
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    max_step: None,
    wraps: true,
    expected: "a day of the week 1-7 (1 is SUN) or SUN-SAT",
};

const YEAR: Spec = Spec {
    field: Field::Year,
    min: MIN_YEAR as u32,
    max: MAX_YEAR as u32,
    names: &[],
    max_step: Some((MAX_YEAR - MIN_YEAR) as u32),
    wraps: false,
    expected: "a year 1970-2199",
};

fn parse_cron(inner: &str) -> Result<Cron, ScheduleErrorKind> {
    if inner.is_empty() {
        return Err(ScheduleErrorKind::FieldCount { found: 0 });
    }
    if inner.contains(|c: char| c.is_whitespace() && c != ' ')
        || inner.starts_with(' ')
        || inner.ends_with(' ')
        || inner.contains("  ")
    {
        return Err(ScheduleErrorKind::Spacing);
    }
    let fields: Vec<String> = inner.split(' ').map(str::to_ascii_uppercase).collect();
    let [minutes, hours, dom, month, dow, year] = fields.as_slice() else {
        return Err(ScheduleErrorKind::FieldCount { found: fields.len() });
    };
    let minutes = parse_list(minutes, &MINUTES)?;
    let hours = parse_list(hours, &HOURS)?;
    let month_days = parse_day_of_month(dom)?;
    let months = parse_list(month, &MONTH)?;
    let week_days = parse_day_of_week(dow)?;
    let years = parse_list(year, &YEAR)?;
    let days = match (month_days, week_days) {
        (Some(days), None) => Days::OfMonth(days),
        (None, Some(days)) => Days::OfWeek(days),
        (None, None) => return Err(ScheduleErrorKind::BothDaysAny),
        (Some(_), Some(_)) if dom == "*" && dow == "*" => return Err(ScheduleErrorKind::BothDaysStar),
        (Some(_), Some(_)) => {
            return Err(ScheduleErrorKind::BothDaysSet { day_of_month: dom.clone(), day_of_week: dow.clone() })
        }
    };
    Ok(Cron {
        minutes: minutes.low_word(),
        hours: hours.low_word(),
        months: months.low_word() << 1,
        years,
        days,
        text: fields.join(" "),
    })
}

/// Day-of-month; `None` for `?`.
fn parse_day_of_month(text: &str) -> Result<Option<MonthDays>, ScheduleErrorKind> {
    let err = |problem| field_err(Field::DayOfMonth, problem);
    if text == "?" {
        return Ok(None);
    }
    if text.contains(',') {
        if let Some(item) = text.split(',').find(|item| *item == "?" || item.contains(['L', 'W'])) {
            return Err(err(FieldProblem::MustStandAlone(item.to_owned())));
        }
    }
    if text == "L" {
        return Ok(Some(MonthDays::Last));
    }
    if text == "LW" {
        return Ok(Some(MonthDays::LastWeekday));
    }
    if let Some(day) = text.strip_suffix('W') {
        if day.is_empty() || !day.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(FieldProblem::NotAValue { text: text.to_owned(), expected: DAY_OF_MONTH.expected }));
        }
        let day = parse_value(day, &DAY_OF_MONTH)?;
        return Ok(Some(MonthDays::NearestWeekday(day)));
    }
    if text.contains(['L', 'W']) {
        // `L-3`, `WL` and the like: Quartz has some of them, EventBridge documents none.
        return Err(err(FieldProblem::NotAValue { text: text.to_owned(), expected: DAY_OF_MONTH.expected }));
    }
    let set = parse_list(text, &DAY_OF_MONTH)?;
    Ok(Some(MonthDays::Set(set.low_word() << 1)))
}

/// Day-of-week; `None` for `?`.
fn parse_day_of_week(text: &str) -> Result<Option<WeekDays>, ScheduleErrorKind> {
    let err = |problem| field_err(Field::DayOfWeek, problem);
    if text == "?" {
        return Ok(None);
    }
    if text.contains(',') {
        if let Some(item) = text.split(',').find(|item| *item == "?" || item.contains('#') || item.ends_with('L')) {
            return Err(err(FieldProblem::MustStandAlone(item.to_owned())));
        }
    }
    if text == "L" {
        // Alone, L is the last day of the week: Saturday.
        return Ok(Some(WeekDays::Set(1 << 7)));
    }
    if let Some((day, nth)) = text.split_once('#') {
        let weekday = parse_value(day, &DAY_OF_WEEK)?;
        let n = match nth {
            "1" => 1,
            "2" => 2,
            "3" => 3,
            "4" => 4,
            "5" => 5,
            _ => return Err(err(FieldProblem::BadOccurrence(text.to_owned()))),
        };
        return Ok(Some(WeekDays::Nth { weekday, n }));
    }
    if let Some(day) = text.strip_suffix('L') {
        let weekday = parse_value(day, &DAY_OF_WEEK)?;
        return Ok(Some(WeekDays::Last(weekday)));
    }
    let set = parse_list(text, &DAY_OF_WEEK)?;
    Ok(Some(WeekDays::Set(set.low_word() << 1)))
}

/// A comma-separated list of `*`, values, ranges and steps; the set is indexed by `value - min`.
fn parse_list(text: &str, spec: &Spec) -> Result<Bits, ScheduleErrorKind> {
    let err = |problem| field_err(spec.field, problem);
    let mut set = Bits::default();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(err(FieldProblem::Empty));
        }
        if item.contains('?') {
            return Err(err(match spec.field {
                Field::DayOfMonth | Field::DayOfWeek => FieldProblem::MustStandAlone("?".into()),
                _ => FieldProblem::NotAllowed('?'),
            }));
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step_text)) => {
                let Some(max_step) = spec.max_step else {
                    return Err(err(FieldProblem::NotAllowed('/')));
                };
                let bad_step = || err(FieldProblem::BadStep { text: item.to_owned(), max: max_step });
                if step_text.is_empty() || step_text.len() > 4 || !step_text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad_step());
                }
                let step: u32 = step_text.parse().map_err(|_| bad_step())?;
                if step == 0 || step > max_step {
                    return Err(bad_step());
                }
                (base, Some(step))
            }
            None => (item, None),
        };
        let (start, end) = if base == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = base.split_once('-') {
            let (a, b) = (parse_value(a, spec)?, parse_value(b, spec)?);
            if a > b && !spec.wraps {
                return Err(err(FieldProblem::Backwards(base.to_owned())));
            }
            (a, b)
        } else {
            let a = parse_value(base, spec)?;
            // `a/n` runs from a to the end of the field; a lone value is just itself.
            (a, if step.is_some() { spec.max } else { a })
        };
        let size = spec.max - spec.min + 1;
        let len = (end + size - start) % size;
        let mut k = 0;
        while k <= len {
            set.insert(spec.min.abs_diff(start) + k);
            k += step.unwrap_or(1);
        }
        if start > end {
            // A wrapped range (`FRI-MON`): offsets past the top belong at the bottom.
            set.fold(size);
        }
    }
    Ok(set)
}

/// One number or name of a field, checked against its range.
fn parse_value(text: &str, spec: &Spec) -> Result<u32, ScheduleErrorKind> {
    let err = |problem| field_err(spec.field, problem);
    if text.is_empty() {
        return Err(err(FieldProblem::Empty));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let out_of_range = || err(FieldProblem::OutOfRange { text: text.to_owned(), min: spec.min, max: spec.max });
        let value: u32 = text.parse().map_err(|_| out_of_range())?;
        if value < spec.min || value > spec.max {
            return Err(out_of_range());
        }
        return Ok(value);
    }
    match spec.names.iter().position(|name| *name == text) {
        // At most 12 names: the cast cannot truncate.
        Some(i) => Ok(spec.min + i as u32),
        None => Err(err(FieldProblem::NotAValue { text: text.to_owned(), expected: spec.expected })),
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// Which days of a month fire; exactly one of the two day fields applies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Days {
    OfMonth(MonthDays),
    OfWeek(WeekDays),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum MonthDays {
    /// Bit `d` set for each listed day (days past the month's end never fire).
    Set(u64),
    /// `L`.
    Last,
    /// `LW`: the last Monday-Friday of the month.
    LastWeekday,
    /// `nW`: the Monday-Friday nearest day n without leaving the month (Quartz's rule: a
    /// Saturday 1st moves to Monday the 3rd, a Sunday last day to Friday). In a month shorter than
    /// n days it does not fire, as a plain n would not.
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum WeekDays {
    /// Bit `w` (1 = Sunday .. 7 = Saturday) set for each listed weekday.
    Set(u64),
    /// `wL`: the last such weekday of the month.
    Last(u32),
    /// `w#n`: the n-th such weekday of the month, if the month has one.
    Nth { weekday: u32, n: u32 },
}

impl Days {
    /// Bit `d` set for each day of `year`-`month` that fires.
    fn in_month(&self, year: i32, month: u32) -> u64 {
        let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
            return 0;
        };
        let last = days_in_month(year, month);
        // 1 = Sunday .. 7 = Saturday, AWS's numbering.
        let first_weekday = first.weekday().number_from_sunday();
        let weekday = |day: u32| (first_weekday + day - 2) % 7 + 1;
        let bit = |day: u32| 1u64 << day;
        let whole_month = ((1u64 << (last + 1)) - 1) & !1;
        match self {
            Days::OfMonth(MonthDays::Set(set)) => set & whole_month,
            Days::OfMonth(MonthDays::Last) => bit(last),
            Days::OfMonth(MonthDays::LastWeekday) => match weekday(last) {
                7 => bit(last - 1),
                1 => bit(last - 2),
                _ => bit(last),
            },
            Days::OfMonth(MonthDays::NearestWeekday(day)) => {
                let day = *day;
                if day > last {
                    return 0;
                }
                bit(match weekday(day) {
                    7 if day == 1 => 3,
                    7 => day - 1,
                    1 if day == last => day - 2,
                    1 => day + 1,
                    _ => day,
                })
            }
            Days::OfWeek(WeekDays::Set(set)) => {
                (1..=last).filter(|&day| set & (1 << weekday(day)) != 0).fold(0, |acc, day| acc | bit(day))
            }
            Days::OfWeek(WeekDays::Last(wanted)) => bit(last - (weekday(last) + 7 - wanted) % 7),
            Days::OfWeek(WeekDays::Nth { weekday: wanted, n }) => {
                let day = 1 + (wanted + 7 - first_weekday) % 7 + 7 * (n - 1);
                if day <= last {
                    bit(day)
                } else {
                    0
                }
            }
        }
    }
}

impl Cron {
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let t = after.naive_utc();
        // The next whole minute after `after`; an overflowing minute is carried by the search.
        let next = self.first_at_or_after(t.year(), t.month(), t.day(), t.hour(), t.minute() + 1)?;
        Some(next.and_utc())
    }

    /// The first fire at or after the given (possibly overflowing) wall-clock minute. Jumps to the
    /// next allowed year, month, day, hour and minute in turn, so it costs a few steps per month
    /// visited, never a scan through minutes.
    fn first_at_or_after(
        &self,
        mut year: i32,
        mut month: u32,
        mut day: u32,
        mut hour: u32,
        mut minute: u32,
    ) -> Option<NaiveDateTime> {
        if year < MIN_YEAR {
            (year, month, day, hour, minute) = (MIN_YEAR, 1, 1, 0, 0);
        }
        while year <= MAX_YEAR {
            let offset = year.abs_diff(MIN_YEAR);
            let next_year = MIN_YEAR + i32::try_from(self.years.next_from(offset)?).ok()?;
            if next_year != year {
                (year, month, day, hour, minute) = (next_year, 1, 1, 0, 0);
            }
            let Some(next_month) = next_bit(self.months, month) else {
                (year, month, day, hour, minute) = (year + 1, 1, 1, 0, 0);
                continue;
            };
            if next_month != month {
                (month, day, hour, minute) = (next_month, 1, 0, 0);
            }
            let Some(next_day) = next_bit(self.days.in_month(year, month), day) else {
                (month, day, hour, minute) = (month + 1, 1, 0, 0);
                continue;
            };
            if next_day != day {
                (day, hour, minute) = (next_day, 0, 0);
            }
            let Some(next_hour) = next_bit(self.hours, hour) else {
                (day, hour, minute) = (day + 1, 0, 0);
                continue;
            };
            if next_hour != hour {
                (hour, minute) = (next_hour, 0);
            }
            let Some(next_minute) = next_bit(self.minutes, minute) else {
                (hour, minute) = (hour + 1, 0);
                continue;
            };
            return NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hour, next_minute, 0);
        }
        None
    }

    fn min_interval(&self) -> Option<Duration> {
        // Fire times within one day, in minutes since midnight, ascending.
        let times: Vec<i64> =
            bits(self.hours).flat_map(|h| bits(self.minutes).map(move |m| i64::from(h * 60 + m))).collect();
        let within_day = times.windows(2).map(|w| w[1] - w[0]).min();
        let (first, last) = (*times.first()?, *times.last()?);

        // The shortest gap between consecutive firing days gives the shortest gap across midnight.
        let mut previous: Option<i64> = None;
        let mut fewest_days: Option<i64> = None;
        'years: for offset in self.years.iter() {
            let year = MIN_YEAR + i32::try_from(offset).ok()?;
            for month in bits(self.months) {
                for day in bits(self.days.in_month(year, month)) {
                    let n = i64::from(NaiveDate::from_ymd_opt(year, month, day)?.num_days_from_ce());
                    if let Some(p) = previous {
                        let gap = n - p;
                        fewest_days = Some(fewest_days.map_or(gap, |g| g.min(gap)));
                        if gap == 1 {
                            break 'years;
                        }
                    }
                    previous = Some(n);
                }
            }
        }
        previous?; // no day ever fires: no interval either
        let across_days = fewest_days.map(|d| d * 1440 - (last - first));
        let minutes = match (within_day, across_days) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return None,
        };
        Some(Duration::minutes(minutes))
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// The lowest set bit at or above `from`.
fn next_bit(mask: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = mask & (u64::MAX << from);
    (rest != 0).then_some(rest.trailing_zeros())
}

/// The set bits of `mask`, ascending.
fn bits(mask: u64) -> impl Iterator<Item = u32> {
    (0..64).filter(move |i| mask & (1 << i) != 0)
}

/// A set of up to 256 small numbers; wide enough for the 230 cron years.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Bits([u64; 4]);

impl Bits {
    const LEN: u32 = 256;

    fn insert(&mut self, i: u32) {
        if i < Self::LEN {
            self.0[(i / 64) as usize] |= 1 << (i % 64);
        }
    }

    /// Moves members at `size` and above down by `size` (wrapped ranges).
    fn fold(&mut self, size: u32) {
        for i in size..Self::LEN {
            if self.contains(i) {
                self.0[(i / 64) as usize] &= !(1 << (i % 64));
                self.insert(i - size);
            }
        }
    }

    fn contains(&self, i: u32) -> bool {
        i < Self::LEN && self.0[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    fn next_from(&self, from: u32) -> Option<u32> {
        let mut word = (from / 64) as usize;
        let mut rest = *self.0.get(word)? & (u64::MAX << (from % 64));
        loop {
            if rest != 0 {
                return u32::try_from(word * 64).ok().map(|base| base + rest.trailing_zeros());
            }
            word += 1;
            rest = *self.0.get(word)?;
        }
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..Self::LEN).filter(|&i| self.contains(i))
    }

    /// Members below 64 as a mask, for fields that fit in one word.
    fn low_word(&self) -> u64 {
        self.0[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
            .unwrap_or_else(|e| panic!("bad test time {text:?}: {e}"));
        Utc.from_utc_datetime(&naive)
    }

    fn expr(text: &str) -> ScheduleExpression {
        text.parse().unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    /// Fire times worked out by hand with a calendar from AWS's descriptions of each example
    /// ("Cron expressions reference" and "Rate expressions reference" of the EventBridge guide).
    /// Each row: expression, start (exclusive), the next fires in order.
    const FIRES: &[(&str, &str, &[&str])] = &[
        // "Run at 12:00 pm (UTC+0) every day"; crosses the 2024 leap day.
        ("cron(0 12 * * ? *)", "2024-02-27 13:00", &["2024-02-28 12:00", "2024-02-29 12:00", "2024-03-01 12:00"]),
        // "Run at 10:15 am (UTC+0) on the last Friday of each month during the years 2002 to 2005".
        // Jan 2002 ends on a Thursday (31st), so its last Friday is the 25th.
        (
            "cron(15 10 ? * 6L 2002-2005)",
            "2001-06-01 00:00",
            &["2002-01-25 10:15", "2002-02-22 10:15", "2002-03-29 10:15", "2002-04-26 10:15"],
        ),
        // ... and it ends with December 2005 (Dec 30th is that month's last Friday).
        ("cron(15 10 ? * 6L 2002-2005)", "2005-11-25 10:15", &["2005-12-30 10:15"]),
        // "Run every 15 minutes", across a year boundary.
        (
            "cron(0/15 * * * ? *)",
            "2024-12-31 23:40",
            &["2024-12-31 23:45", "2025-01-01 00:00", "2025-01-01 00:15", "2025-01-01 00:30"],
        ),
        // "Run at 8:00 am (UTC+0) on the 1st day of the month"; strictly after a fire time.
        ("cron(0 8 1 * ? *)", "2024-01-01 08:00", &["2024-02-01 08:00", "2024-03-01 08:00", "2024-04-01 08:00"]),
        // "Run at 6:00 pm (UTC+0) every Monday through Friday"; 2024-03-01 is a Friday.
        (
            "cron(0 18 ? * MON-FRI *)",
            "2024-03-01 18:00",
            &[
                "2024-03-04 18:00",
                "2024-03-05 18:00",
                "2024-03-06 18:00",
                "2024-03-07 18:00",
                "2024-03-08 18:00",
                "2024-03-11 18:00",
            ],
        ),
        // "Run at 10:00 am (UTC+0) every day"; a start with seconds.
        ("cron(0 10 * * ? *)", "2024-06-15 09:59:59", &["2024-06-15 10:00", "2024-06-16 10:00", "2024-06-17 10:00"]),
        // "Run every 5 minutes Monday through Friday between 8:00 am and 5:55 pm (UTC+0)".
        (
            "cron(0/5 8-17 ? * MON-FRI *)",
            "2024-03-01 17:50",
            &["2024-03-01 17:55", "2024-03-04 08:00", "2024-03-04 08:05", "2024-03-04 08:10"],
        ),
        // "Run at 12:15 pm every day", "2:05 pm and 2:35 pm every day".
        ("cron(15 12 * * ? *)", "2024-05-05 12:15", &["2024-05-06 12:15"]),
        ("cron(5,35 14 * * ? *)", "2024-05-05 14:05", &["2024-05-05 14:35", "2024-05-06 14:05"]),
        // "Run at 9:00 am on the first Monday of each month" (2#1).
        ("cron(0 9 ? * 2#1 *)", "2024-01-01 09:00", &["2024-02-05 09:00", "2024-03-04 09:00", "2024-04-01 09:00"]),
        // 3#2, "the second Tuesday of the month".
        ("cron(0 9 ? * 3#2 *)", "2024-01-01 00:00", &["2024-01-09 09:00", "2024-02-13 09:00", "2024-03-12 09:00"]),
        // A fifth Monday exists only in some months; the others are skipped.
        (
            "cron(0 9 ? * MON#5 *)",
            "2024-01-01 00:00",
            &["2024-01-29 09:00", "2024-04-29 09:00", "2024-07-29 09:00", "2024-09-30 09:00"],
        ),
        // "Third Saturday" with a name before '#', every minute of that day.
        ("cron(* * ? * SAT#3 *)", "2024-05-18 23:58", &["2024-05-18 23:59", "2024-06-15 00:00", "2024-06-15 00:01"]),
        // 15W: 2024-06-15 is a Saturday -> Friday 14th; 2024-09-15 a Sunday -> Monday 16th.
        (
            "cron(0 9 15W * ? *)",
            "2024-06-01 00:00",
            &["2024-06-14 09:00", "2024-07-15 09:00", "2024-08-15 09:00", "2024-09-16 09:00"],
        ),
        // 1W never leaves the month: Saturday 2024-06-01 -> Monday 3rd, Sunday 2024-09-01 -> Monday 2nd.
        (
            "cron(0 9 1W * ? *)",
            "2024-05-15 00:00",
            &["2024-06-03 09:00", "2024-07-01 09:00", "2024-08-01 09:00", "2024-09-02 09:00"],
        ),
        // 31W: Sunday 2024-03-31 -> Friday 29th; April has no 31st and is skipped.
        ("cron(0 9 31W * ? *)", "2024-03-01 00:00", &["2024-03-29 09:00", "2024-05-31 09:00", "2024-07-31 09:00"]),
        // LW: Feb 29 2024 is a Thursday; Mar 31 a Sunday -> Fri 29th; Aug 31 a Saturday -> Fri 30th.
        (
            "cron(0 0 LW * ? *)",
            "2024-02-01 00:00",
            &[
                "2024-02-29 00:00",
                "2024-03-29 00:00",
                "2024-04-30 00:00",
                "2024-05-31 00:00",
                "2024-06-28 00:00",
                "2024-07-31 00:00",
                "2024-08-30 00:00",
            ],
        ),
        // L in day-of-month, through a leap February and then a common one.
        (
            "cron(30 23 L * ? *)",
            "2024-01-15 00:00",
            &["2024-01-31 23:30", "2024-02-29 23:30", "2024-03-31 23:30", "2024-04-30 23:30"],
        ),
        ("cron(30 23 L 2 ? *)", "2024-03-01 00:00", &["2025-02-28 23:30"]),
        // L alone in day-of-week is Saturday.
        ("cron(0 6 ? * L *)", "2024-05-01 00:00", &["2024-05-04 06:00", "2024-05-11 06:00"]),
        // Leap days: only leap years; 2100 is not one (divisible by 100, not by 400).
        ("cron(0 0 29 2 ? *)", "2024-02-29 00:00", &["2028-02-29 00:00", "2032-02-29 00:00"]),
        ("cron(0 0 29 2 ? 2100-2199)", "2024-01-01 00:00", &["2104-02-29 00:00", "2108-02-29 00:00"]),
        // Year ranges that end: 2196 is the last leap year before 2200.
        ("cron(0 0 29 2 ? 2100-2199)", "2192-03-01 00:00", &["2196-02-29 00:00"]),
        ("cron(0 0 * * ? 2199)", "2199-12-30 23:59", &["2199-12-31 00:00"]),
        ("cron(0 0 1 1 ? 2030)", "1900-01-01 00:00", &["2030-01-01 00:00"]),
        // Month names, wrapping ranges and a first-of-range start before 1970.
        (
            "cron(0 0 1 NOV-FEB ? *)",
            "2024-03-01 00:00",
            &["2024-11-01 00:00", "2024-12-01 00:00", "2025-01-01 00:00", "2025-02-01 00:00", "2025-11-01 00:00"],
        ),
        (
            "cron(0 22-2 1 1 ? 1970)",
            "1969-12-31 23:00",
            &["1970-01-01 00:00", "1970-01-01 01:00", "1970-01-01 02:00", "1970-01-01 22:00", "1970-01-01 23:00"],
        ),
        // Weekend as SAT-SUN (7-1 wraps): 2024-05-04 is a Saturday.
        ("cron(0 12 ? * SAT-SUN *)", "2024-05-01 00:00", &["2024-05-04 12:00", "2024-05-05 12:00", "2024-05-11 12:00"]),
        // Steps in day-of-month, month and year lists.
        (
            "cron(0 0 1/10,2 * ? *)",
            "2024-04-01 00:00",
            &["2024-04-02 00:00", "2024-04-11 00:00", "2024-04-21 00:00", "2024-05-01 00:00", "2024-05-02 00:00"],
        ),
        (
            "cron(0 0 1 */4 ? 2030/5)",
            "2024-01-01 00:00",
            &["2030-01-01 00:00", "2030-05-01 00:00", "2030-09-01 00:00", "2035-01-01 00:00"],
        ),
        // Rates anchored on the epoch: on the hour, at midnight, on Thursdays (the epoch's weekday).
        ("rate(1 hour)", "2024-05-05 10:20:30", &["2024-05-05 11:00", "2024-05-05 12:00", "2024-05-05 13:00"]),
        ("rate(1 day)", "2024-05-05 00:00", &["2024-05-06 00:00", "2024-05-07 00:00"]),
        ("rate(5 minutes)", "2024-05-05 10:20", &["2024-05-05 10:25", "2024-05-05 10:30"]),
        ("rate(1 minute)", "2024-05-05 10:20:59", &["2024-05-05 10:21", "2024-05-05 10:22"]),
        ("rate(7 days)", "2024-05-05 00:00", &["2024-05-09 00:00", "2024-05-16 00:00"]),
        // 90 minutes: 2024-05-05 00:00 is 19848 days = 317568 intervals after the epoch.
        ("rate(90 minutes)", "2024-05-04 23:59", &["2024-05-05 00:00", "2024-05-05 01:30", "2024-05-05 03:00"]),
        ("rate(1 day)", "1969-12-31 12:00", &["1970-01-01 00:00", "1970-01-02 00:00"]),
    ];

    #[test]
    fn fires_match_the_hand_worked_table() {
        for (text, start, want) in FIRES {
            let schedule = expr(text);
            let got: Vec<_> = schedule.fires_after(at(start)).take(want.len()).collect();
            let want: Vec<_> = want.iter().map(|w| at(w)).collect();
            assert_eq!(got, want, "{text} after {start}");
        }
    }

    #[test]
    fn schedules_whose_years_are_over_never_fire_again() {
        let cases = [
            ("cron(15 10 ? * 6L 2002-2005)", "2005-12-30 10:15"),
            ("cron(0 0 * * ? 2199)", "2199-12-31 00:00"),
            ("cron(0 0 1 1 ? 2030)", "2030-01-01 00:00"),
            ("cron(0 0 29 2 ? 2100-2199)", "2196-02-29 00:00"),
            ("cron(0 12 * * ? *)", "2199-12-31 12:00"),
            ("cron(0 12 * * ? *)", "2300-01-01 00:00"),
        ];
        for (text, start) in cases {
            assert_eq!(expr(text).next_after(at(start)), None, "{text} after {start}");
        }
        assert_eq!(expr("cron(15 10 ? * 6L 2002-2005)").fires_after(at("2001-01-01 00:00")).count(), 48);
    }

    #[test]
    fn impossible_dates_never_fire_and_answer_quickly() {
        let started = std::time::Instant::now();
        for text in [
            "cron(0 0 31 2 ? *)",
            "cron(0 0 30 2 ? *)",
            "cron(0 0 31 APR,JUN,SEP,NOV ? *)",
            "cron(0 0 31W 2 ? *)",
            "cron(0 0 29 2 ? 2100)",
        ] {
            let schedule = expr(text);
            for _ in 0..100 {
                assert_eq!(schedule.next_after(at("1970-01-01 00:00")), None, "{text}");
            }
            assert_eq!(schedule.min_interval(), None, "{text}");
        }
        // Each answer visits at most 230 years x 12 months; 500 of them take milliseconds.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn rates_beyond_the_calendar_end_without_panicking() {
        let schedule = expr("rate(4294967295 days)");
        assert_eq!(schedule.next_after(at("2024-01-01 00:00")), None);
        assert_eq!(schedule.min_interval(), Some(Duration::days(4_294_967_295)));
        let schedule = expr("rate(1 minute)");
        assert_eq!(schedule.next_after(DateTime::<Utc>::MAX_UTC), None);
        assert!(schedule.next_after(DateTime::<Utc>::MIN_UTC).is_some());
    }

    #[test]
    fn min_interval_is_the_shortest_gap_between_fires() {
        let cases: &[(&str, Option<Duration>)] = &[
            ("rate(1 hour)", Some(Duration::hours(1))),
            ("rate(1 minute)", Some(Duration::minutes(1))),
            ("rate(5 minutes)", Some(Duration::minutes(5))),
            ("rate(7 days)", Some(Duration::days(7))),
            ("cron(0/15 * * * ? *)", Some(Duration::minutes(15))),
            ("cron(0 0 * * ? *)", Some(Duration::hours(24))),
            ("cron(0 18 ? * MON-FRI *)", Some(Duration::hours(24))),
            ("cron(* * * * ? *)", Some(Duration::minutes(1))),
            // 17:55 Friday to 08:00 Monday is long; 17:55 to 08:00 next day is not the minimum:
            // the 5-minute steps within the day are.
            ("cron(0/5 8-17 ? * MON-FRI *)", Some(Duration::minutes(5))),
            // 50 past and 10 past: 20 minutes across the hour beats 40 within it.
            ("cron(10,50 * * * ? *)", Some(Duration::minutes(20))),
            // 23:00 and 01:00: two hours across midnight, 22 within the day.
            ("cron(0 1,23 * * ? *)", Some(Duration::hours(2))),
            // Monthly: February is the shortest month.
            ("cron(0 8 1 * ? *)", Some(Duration::days(28))),
            // Last day of each month: Feb 28/29 to Mar 31 is 31 days, but Jan 31 to Feb 28 is 28.
            ("cron(0 0 L * ? *)", Some(Duration::days(28))),
            // Weekly and monthly-by-weekday schedules.
            ("cron(0 2 ? * SAT *)", Some(Duration::days(7))),
            ("cron(0 9 ? * 2#1 *)", Some(Duration::days(28))),
            // Once a year on the leap day: every four years, but 2096 to 2104 is eight.
            ("cron(0 0 29 2 ? *)", Some(Duration::days(4 * 365 + 1))),
            // A single fire has no interval; two fires a year apart do.
            ("cron(0 0 1 1 ? 2030)", None),
            ("cron(0 0 1 1 ? 2030,2031)", Some(Duration::days(365))),
            ("cron(0 0,12 1 1 ? 2030)", Some(Duration::hours(12))),
        ];
        for (text, want) in cases {
            assert_eq!(expr(text).min_interval(), *want, "{text}");
        }
    }

    #[test]
    fn display_gives_back_the_canonical_text() {
        let cases = [
            ("rate(1 hour)", "rate(1 hour)"),
            ("rate(05 minutes)", "rate(5 minutes)"),
            ("rate(2 days)", "rate(2 days)"),
            ("cron(0 12 * * ? *)", "cron(0 12 * * ? *)"),
            ("cron(0 18 ? * mon-fri *)", "cron(0 18 ? * MON-FRI *)"),
            ("cron(0 9 15w jan,Feb ? *)", "cron(0 9 15W JAN,FEB ? *)"),
        ];
        for (text, want) in cases {
            let schedule = expr(text);
            assert_eq!(schedule.to_string(), want);
            assert_eq!(expr(want), schedule, "{want} parses back to the same schedule");
        }
        assert_eq!(expr("rate(3 hours)"), ScheduleExpression::Rate(Rate::new(3, RateUnit::Hour).unwrap()));
        assert_eq!(Rate::new(0, RateUnit::Day), None);
    }

    #[test]
    fn accepts_what_eventbridge_accepts() {
        // Examples AWS documents, and expressions checked against the service.
        for text in [
            "cron(0 10 * * ? *)",
            "cron(15 12 * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 8 1 * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0/10 * ? * MON-FRI *)",
            "cron(0/5 8-17 ? * MON-FRI *)",
            "cron(0/30 20-23 ? * MON-FRI *)",
            "cron(0/30 0-2 ? * MON-FRI *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 2 ? * SAT *)",
            "cron(0 2 ? * SAT#3 *)",
            "cron(0/5 5 ? JAN 1-5 2022)",
            "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)",
            "cron(30-30 13-13 ? * 2,4,6 *)",
            "cron(1-31/30 1-1 ? * 1,7 *)",
            "cron(0 0 1/10,2,3/8 * ? *)",
            "cron(0 0 ? * 5L *)",
            "cron(0 * ? * * *)",
            "cron(0 0 LW * ? *)",
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 day)",
        ] {
            expr(text);
        }
    }

    /// Each invalid expression, the field the error must name (None: the shape, named in words),
    /// and words the message must contain.
    const INVALID: &[(&str, Option<Field>, &str)] = &[
        ("rate(0 hours)", Some(Field::RateValue), "rate value: must be at least 1"),
        ("rate(1 hours)", Some(Field::RateUnit), "singular 'hour'"),
        ("rate(2 hour)", Some(Field::RateUnit), "plural 'hours'"),
        ("rate(x minutes)", Some(Field::RateValue), "'x' is not a positive whole number"),
        ("rate(-10 minutes)", Some(Field::RateValue), "'-10'"),
        ("rate(5 weeks)", Some(Field::RateUnit), "'weeks' is not one of"),
        ("rate(10 seconds)", Some(Field::RateUnit), "'seconds'"),
        ("rate(10 MINUTES)", Some(Field::RateUnit), "'MINUTES'"),
        ("rate(10 minutess)", Some(Field::RateUnit), "'minutess'"),
        ("rate(99999999999 minutes)", Some(Field::RateValue), "out of range"),
        ("rate(10)", None, "rate(value unit)"),
        ("rate()", None, "rate(value unit)"),
        ("rate(5  minutes)", None, "one space"),
        ("rate( 10 minutes )", None, "rate(value unit)"),
        (" rate(10 minutes)", None, "white space"),
        ("rate(1 hour) ", None, "white space"),
        ("rate(1 hour", None, "closing ')'"),
        ("rate(1 hour))", None, "parentheses"),
        ("rate(1 hour) daily", None, "parentheses"),
        ("RATE(1 hour)", None, "expected rate(value unit) or cron("),
        ("cron(0 0 * * *)", None, "6 fields"),
        ("cron(0 0 * * ? * *)", None, "found 7"),
        ("cron(0 0 * * * *)", None, "'*' in both day-of-month and day-of-week; one of them must be '?'"),
        ("cron(0 0 ? * ? *)", None, "'?' in both day-of-month and day-of-week"),
        ("cron(0 0 1 * MON *)", None, "day-of-month (1) and day-of-week (MON) are both set"),
        ("cron(60 0 * * ? *)", Some(Field::Minutes), "minutes: '60' is out of range 0-59"),
        ("cron(*/60 * * * ? *)", Some(Field::Minutes), "step"),
        ("cron(0/0 * * * ? *)", Some(Field::Minutes), "step"),
        ("cron(0 24 * * ? *)", Some(Field::Hours), "hours: '24' is out of range 0-23"),
        ("cron(0 ? * * ? *)", Some(Field::Hours), "'?' is not allowed"),
        ("cron(0 dummy ? * MON-FRI *)", Some(Field::Hours), "'DUMMY' is not an hour"),
        ("cron(0 0 32 * ? *)", Some(Field::DayOfMonth), "day-of-month: '32' is out of range 1-31"),
        ("cron(0 0 0 * ? *)", Some(Field::DayOfMonth), "'0' is out of range 1-31"),
        ("cron(0 0 32W * ? *)", Some(Field::DayOfMonth), "'32'"),
        ("cron(0 0 L,15 * ? *)", Some(Field::DayOfMonth), "'L' must be the only entry"),
        ("cron(0 0 L-3 * ? *)", Some(Field::DayOfMonth), "day-of-month"),
        ("cron(0 0 1,,2 * ? *)", Some(Field::DayOfMonth), "empty"),
        ("cron(0 0 * FOO ? *)", Some(Field::Month), "month: 'FOO' is not a month 1-12 or JAN-DEC"),
        ("cron(0 0 * 13 ? *)", Some(Field::Month), "'13' is out of range 1-12"),
        ("cron(0 0 ? * XYZ *)", Some(Field::DayOfWeek), "day-of-week: 'XYZ' is not a day of the week"),
        ("cron(7 20 * * NOT *)", Some(Field::DayOfWeek), "'NOT'"),
        ("cron(0 0 ? * 0 *)", Some(Field::DayOfWeek), "'0' is out of range 1-7"),
        ("cron(0 0 ? * 3#6 *)", Some(Field::DayOfWeek), "after '#' must be 1-5"),
        ("cron(0 0 ? * 3#1,6#3 *)", Some(Field::DayOfWeek), "must be the only entry"),
        ("cron(0 0 ? * */2 *)", Some(Field::DayOfWeek), "'/' is not allowed"),
        ("cron(0 0 ? * 8L *)", Some(Field::DayOfWeek), "'8'"),
        ("cron(0 0 * * ? 1969)", Some(Field::Year), "year: '1969' is out of range 1970-2199"),
        ("cron(0 0 * * ? 2200)", Some(Field::Year), "year: '2200' is out of range 1970-2199"),
        ("cron(0 0 * * ? 2010-2005)", Some(Field::Year), "runs backwards"),
        ("", None, "empty"),
        ("cron()", None, "found 0"),
        ("cron(INVALID)", None, "found 1"),
        ("cron(0  0 * * ? *)", None, "single spaces"),
        ("cron(0\t0 * * ? *)", None, "single spaces"),
        ("garbage", None, "expected rate(value unit) or cron("),
        ("cron 0 0 * * ? *", None, "expected rate(value unit) or cron("),
    ];

    #[test]
    fn invalid_expressions_name_the_field_and_the_problem() {
        for (text, field, words) in INVALID {
            let err = text.parse::<ScheduleExpression>().expect_err(&format!("{text:?} should be rejected"));
            assert_eq!(err.field(), *field, "{text:?}: {err}");
            assert_eq!(err.expression(), *text);
            let message = err.to_string();
            let prefix = format!("invalid schedule expression {text:?}: ");
            assert!(message.starts_with(&prefix), "{message}");
            assert!(message.contains(words), "{text:?}: {message:?} lacks {words:?}");
        }
    }

    #[test]
    fn the_documented_message_for_both_stars() {
        let err = "cron(0 0 * * * *)".parse::<ScheduleExpression>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid schedule expression \"cron(0 0 * * * *)\": '*' in both day-of-month and \
             day-of-week; one of them must be '?'"
        );
        assert_eq!(err.kind(), &ScheduleErrorKind::BothDaysStar);
    }

    /// Brute force, minute by minute: the first fire at or after `from` within `limit` minutes.
    fn scan(cron: &Cron, from: NaiveDateTime, limit: i64) -> Option<NaiveDateTime> {
        (0..limit).map(|i| from + Duration::minutes(i)).take_while(|t| t.year() <= MAX_YEAR).find(|t| {
            // Cheap tests first: the day rule is only computed for matching minutes.
            cron.minutes & (1 << t.minute()) != 0
                && cron.hours & (1 << t.hour()) != 0
                && cron.months & (1 << t.month()) != 0
                && t.year() >= MIN_YEAR
                && cron.years.contains(t.year().abs_diff(MIN_YEAR))
                && cron.days.in_month(t.year(), t.month()) & (1 << t.day()) != 0
        })
    }

    fn cron_text() -> impl Strategy<Value = String> {
        let minutes = prop::sample::select(vec!["*", "0", "0/15", "5,35", "10-20", "*/7", "50-10", "59"]);
        let hours = prop::sample::select(vec!["*", "0", "8-17", "22-2", "*/6", "12", "23"]);
        let days = prop::sample::select(vec![
            "* ?",
            "1 ?",
            "15 ?",
            "31 ?",
            "29 ?",
            "L ?",
            "LW ?",
            "15W ?",
            "1W ?",
            "31W ?",
            "1/10 ?",
            "28-3 ?",
            "? *",
            "? MON-FRI",
            "? 6L",
            "? 3#2",
            "? FRI#5",
            "? L",
            "? SAT-SUN",
            "? 1,7",
        ]);
        let months = prop::sample::select(vec!["*", "JAN", "2", "FEB-MAR", "NOV-FEB", "*/3"]);
        let years = prop::sample::select(vec!["*", "2024-2030", "2025", "2026/3", "2020,2199", "2199"]);
        (minutes, hours, days, months, years).prop_map(|(mi, h, d, mo, y)| {
            let (dom, dow) = d.split_once(' ').unwrap();
            format!("cron({mi} {h} {dom} {mo} {dow} {y})")
        })
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(s in "\\PC*") {
            let _ = s.parse::<ScheduleExpression>();
        }

        #[test]
        fn parsing_cron_and_rate_lookalikes_never_panics(
            inner in "[0-9A-Za-z ,*/?#LW-]{0,40}",
            other in ".{0,30}",
        ) {
            for text in [format!("cron({inner})"), format!("rate({inner})"), format!("cron({other})")] {
                if let Ok(schedule) = text.parse::<ScheduleExpression>() {
                    // Whatever parses can be evaluated and printed back without panicking.
                    let _ = schedule.next_after(at("2024-01-01 00:00"));
                    let _ = schedule.min_interval();
                    prop_assert_eq!(schedule.to_string().parse::<ScheduleExpression>(), Ok(schedule));
                }
            }
        }

        #[test]
        fn next_after_is_the_first_fire_a_minute_by_minute_scan_finds(
            text in cron_text(),
            start in 1_577_836_800i64..2_082_758_400, // 2020 to 2036
            second in 0u32..60,
        ) {
            let schedule = expr(&text);
            let ScheduleExpression::Cron(cron) = &schedule else { unreachable!() };
            let after = DateTime::from_timestamp(start - start % 60 + i64::from(second), 0).unwrap();
            let next = schedule.next_after(after);
            let from = after.naive_utc().with_second(0).unwrap() + Duration::minutes(1);
            let limit = 40 * 24 * 60;
            let scanned = scan(cron, from, limit);
            match scanned {
                Some(t) => prop_assert_eq!(next, Some(t.and_utc()), "{} after {}", text, after),
                None => prop_assert!(
                    next.is_none_or(|n| n.naive_utc() >= from + Duration::minutes(limit)),
                    "{} after {}: {:?} missed by the scan", text, after, next
                ),
            }
            if let Some(n) = next {
                prop_assert!(n > after);
            }
        }

        #[test]
        fn rate_fires_are_one_interval_apart_and_strictly_later(
            value in 1u32..2000,
            unit in prop::sample::select(vec![RateUnit::Minute, RateUnit::Hour, RateUnit::Day]),
            start in -2_000_000_000i64..4_000_000_000,
            nanos in 0u32..1_000_000_000,
        ) {
            let schedule = ScheduleExpression::Rate(Rate::new(value, unit).unwrap());
            let after = DateTime::from_timestamp(start, nanos).unwrap();
            let fires: Vec<_> = schedule.fires_after(after).take(3).collect();
            prop_assert_eq!(fires.len(), 3);
            prop_assert!(fires[0] > after);
            prop_assert!(fires[0] - after <= schedule.min_interval().unwrap());
            prop_assert_eq!(fires[1] - fires[0], schedule.min_interval().unwrap());
            prop_assert_eq!(fires[2] - fires[1], schedule.min_interval().unwrap());
            prop_assert_eq!(fires[0].timestamp() % (i64::from(value) * unit.seconds()), 0);
        }
    }
}

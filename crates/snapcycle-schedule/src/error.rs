//! Why an expression was refused: the whole expression quoted, and the field at fault named.

use crate::Field;

/// Why a schedule expression was rejected. Display quotes the whole expression and names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule expression {expression:?}: {kind}")]
pub struct ScheduleError {
    pub(crate) expression: String,
    pub(crate) kind: ScheduleErrorKind,
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

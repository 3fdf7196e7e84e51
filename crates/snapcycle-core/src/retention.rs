//! The retention count, read from the value of an instance's keyword tag.

use std::fmt;

/// The largest retention accepted. Beyond it a value is far more likely a typo (a date, an id) than a
/// wish, and EC2's default quota is 100,000 snapshots per region.
pub const MAX_RETENTION: u32 = 1000;

/// How many completed snapshots to keep per volume: a whole number from 1 to [`MAX_RETENTION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Retention(u32);

/// Why a tag value is not a retention. Each message quotes the value, so a person can find the tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    /// The tag was present with no value.
    #[error("the retention is empty; set the tag's value to the number of snapshots to keep, e.g. 7")]
    Empty,
    /// Not a decimal whole number (letters, signs, fractions, exponents).
    #[error("the retention {0:?} is not a whole number; set it to the number of snapshots to keep, e.g. 7")]
    NotANumber(String),
    /// Zero would delete every snapshot, which is never what a schedule is for.
    #[error("the retention {0:?} is zero; to stop snapshots remove the tag instead")]
    Zero(String),
    /// Negative numbers make no sense as a count.
    #[error("the retention {0:?} is negative")]
    Negative(String),
    /// Larger than [`MAX_RETENTION`].
    #[error("the retention {0:?} is larger than {MAX_RETENTION}")]
    TooLarge(String),
}

impl Retention {
    /// Parses a tag value. Surrounding white space is forgiven (the classic lab's `int()` did too);
    /// anything else that is not a whole number from 1 to [`MAX_RETENTION`] is an error.
    pub fn parse(raw: &str) -> Result<Self, RetentionError> {
        let v = raw.trim();
        if v.is_empty() {
            return Err(RetentionError::Empty);
        }
        let (negative, digits) = match v.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, v.strip_prefix('+').unwrap_or(v)),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RetentionError::NotANumber(raw.to_owned()));
        }
        if negative {
            return if digits.bytes().all(|b| b == b'0') {
                Err(RetentionError::Zero(raw.to_owned()))
            } else {
                Err(RetentionError::Negative(raw.to_owned()))
            };
        }
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return Err(RetentionError::Zero(raw.to_owned()));
        }
        match significant.parse::<u32>() {
            Ok(n) if n <= MAX_RETENTION => Ok(Retention(n)),
            _ => Err(RetentionError::TooLarge(raw.to_owned())),
        }
    }

    /// Builds a retention from a count already known to be in range (tests, generated data).
    pub fn new(n: u32) -> Option<Self> {
        (1..=MAX_RETENTION).contains(&n).then_some(Retention(n))
    }

    /// The number of completed snapshots to keep.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_whole_numbers_in_range() {
        assert_eq!(Retention::parse("3").unwrap().get(), 3);
        assert_eq!(Retention::parse(" 3 ").unwrap().get(), 3);
        assert_eq!(Retention::parse("007").unwrap().get(), 7);
        assert_eq!(Retention::parse("+2").unwrap().get(), 2);
        assert_eq!(Retention::parse("1").unwrap().get(), 1);
        assert_eq!(Retention::parse("1000").unwrap().get(), 1000);
    }

    type Expect = fn(&RetentionError) -> bool;

    #[test]
    fn refuses_everything_else_with_a_reason() {
        let cases: &[(&str, Expect)] = &[
            ("abc", |e| matches!(e, RetentionError::NotANumber(_))),
            ("-1", |e| matches!(e, RetentionError::Negative(_))),
            ("0", |e| matches!(e, RetentionError::Zero(_))),
            ("-0", |e| matches!(e, RetentionError::Zero(_))),
            ("000", |e| matches!(e, RetentionError::Zero(_))),
            ("3.5", |e| matches!(e, RetentionError::NotANumber(_))),
            ("3.0", |e| matches!(e, RetentionError::NotANumber(_))),
            ("1e3", |e| matches!(e, RetentionError::NotANumber(_))),
            ("", |e| matches!(e, RetentionError::Empty)),
            ("   ", |e| matches!(e, RetentionError::Empty)),
            ("1000000", |e| matches!(e, RetentionError::TooLarge(_))),
            ("1001", |e| matches!(e, RetentionError::TooLarge(_))),
            ("99999999999999999999999", |e| matches!(e, RetentionError::TooLarge(_))),
            ("7 days", |e| matches!(e, RetentionError::NotANumber(_))),
            ("+", |e| matches!(e, RetentionError::NotANumber(_))),
            ("-", |e| matches!(e, RetentionError::NotANumber(_))),
            ("٣", |e| matches!(e, RetentionError::NotANumber(_))),
            ("0x10", |e| matches!(e, RetentionError::NotANumber(_))),
        ];
        for (raw, want) in cases {
            let err = Retention::parse(raw).expect_err(raw);
            assert!(want(&err), "{raw:?} gave {err:?}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn messages_quote_the_value() {
        let msg = Retention::parse("abc").unwrap_err().to_string();
        assert!(msg.contains("\"abc\""), "{msg}");
    }
}

//! Schedule keywords: the tag keys that opt an instance into a schedule.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest tag key EC2 accepts.
pub const MAX_KEYWORD_LEN: usize = 127;

/// A validated schedule keyword such as `SnapshotDaily`.
///
/// It is a tag key on instances and snapshots, so it obeys EC2's tag-key rules; it may not contain a
/// comma because the stack passes the list of keywords to the function as one comma-separated value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Keyword(String);

/// Why a keyword was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeywordError {
    /// The keyword was empty or only white space.
    #[error("the schedule keyword is empty")]
    Empty,
    /// EC2 refuses tag keys longer than 127 characters.
    #[error("the schedule keyword {0:?} is longer than {MAX_KEYWORD_LEN} characters")]
    TooLong(String),
    /// `aws:` tag keys are reserved by AWS and cannot be set by anyone else.
    #[error("the schedule keyword {0:?} starts with the reserved prefix \"aws:\"")]
    Reserved(String),
    /// `snapcycle:` keys are the tool's own markers; a schedule named like one would confuse rotation.
    #[error("the schedule keyword {0:?} starts with the tool's own prefix \"snapcycle:\"")]
    OwnPrefix(String),
    /// A character EC2 does not allow in tag keys, or a comma.
    #[error("the schedule keyword {keyword:?} contains {ch:?}; use letters, digits, spaces and + - = . _ : / @")]
    BadCharacter {
        /// The keyword as given.
        keyword: String,
        /// The first character that is not allowed.
        ch: char,
    },
}

impl Keyword {
    /// Validates a keyword; surrounding white space is an error rather than silently trimmed, because
    /// the tag key on the instance must match exactly.
    pub fn new(raw: &str) -> Result<Self, KeywordError> {
        if raw.trim().is_empty() {
            return Err(KeywordError::Empty);
        }
        if raw.chars().count() > MAX_KEYWORD_LEN {
            return Err(KeywordError::TooLong(raw.to_owned()));
        }
        if raw.to_ascii_lowercase().starts_with("aws:") {
            return Err(KeywordError::Reserved(raw.to_owned()));
        }
        if raw.starts_with("snapcycle:") {
            return Err(KeywordError::OwnPrefix(raw.to_owned()));
        }
        let allowed = |c: char| c.is_alphanumeric() || " +-=._:/@".contains(c);
        if let Some(ch) = raw.chars().find(|c| !allowed(*c)) {
            return Err(KeywordError::BadCharacter { keyword: raw.to_owned(), ch });
        }
        if raw != raw.trim() {
            return Err(KeywordError::BadCharacter { keyword: raw.to_owned(), ch: ' ' });
        }
        Ok(Keyword(raw.to_owned()))
    }

    /// The tag key itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the comma-separated list the stack passes in `SNAPCYCLE_KEYWORDS`; blanks are ignored.
    pub fn parse_list(raw: &str) -> Result<Vec<Keyword>, KeywordError> {
        let mut out: Vec<Keyword> = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let k = Keyword::new(part)?;
            if !out.contains(&k) {
                out.push(k);
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Keyword {
    type Err = KeywordError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Keyword::new(s)
    }
}

impl TryFrom<String> for Keyword {
    type Error = KeywordError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Keyword::new(&s)
    }
}

impl From<Keyword> for String {
    fn from(k: Keyword) -> String {
        k.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_classic_keywords() {
        for k in ["SnapshotDaily", "SnapshotHourly", "backup:weekly", "Team Backup/7d@eu"] {
            assert_eq!(Keyword::new(k).unwrap().as_str(), k);
        }
    }

    #[test]
    fn refuses_empty_long_reserved_and_odd_keywords() {
        assert_eq!(Keyword::new(""), Err(KeywordError::Empty));
        assert_eq!(Keyword::new("   "), Err(KeywordError::Empty));
        assert!(matches!(Keyword::new(&"k".repeat(128)), Err(KeywordError::TooLong(_))));
        assert!(Keyword::new(&"k".repeat(127)).is_ok());
        assert!(matches!(Keyword::new("aws:backup"), Err(KeywordError::Reserved(_))));
        assert!(matches!(Keyword::new("AWS:backup"), Err(KeywordError::Reserved(_))));
        assert!(matches!(Keyword::new("snapcycle:run"), Err(KeywordError::OwnPrefix(_))));
        assert!(matches!(Keyword::new("a,b"), Err(KeywordError::BadCharacter { ch: ',', .. })));
        assert!(matches!(Keyword::new(" Daily"), Err(KeywordError::BadCharacter { .. })));
        assert!(matches!(Keyword::new("Daily\n"), Err(KeywordError::BadCharacter { .. })));
    }

    #[test]
    fn parses_the_environment_list() {
        let ks = Keyword::parse_list("SnapshotHourly, SnapshotDaily,,SnapshotDaily").unwrap();
        assert_eq!(ks.iter().map(Keyword::as_str).collect::<Vec<_>>(), ["SnapshotHourly", "SnapshotDaily"]);
        assert!(Keyword::parse_list("").unwrap().is_empty());
        assert!(Keyword::parse_list("ok,aws:x").is_err());
    }
}

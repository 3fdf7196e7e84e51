//! Exclusions: a volume tagged `snapcycle:exclude` (or an instance's root volume, by the instance
//! tag `snapcycle:exclude-root`) is never snapshotted for the keywords the tag names, and its
//! existing snapshots of them are left alone. The value is `*` (every keyword) or a list of
//! keywords separated by commas (a keyword cannot hold a comma).

use std::fmt;

use crate::Keyword;

/// The volume tag that excludes one volume.
pub const TAG_EXCLUDE: &str = "snapcycle:exclude";
/// The instance tag that excludes the instance's root volume (a scratch boot disk, say).
pub const TAG_EXCLUDE_ROOT: &str = "snapcycle:exclude-root";

/// Which keywords an exclusion tag names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// `*`: every keyword of every stack.
    All,
    /// The keywords listed.
    Keywords(Vec<Keyword>),
}

/// Why an exclusion tag's value cannot be read. Nothing of what it guards is created or deleted:
/// a misspelt exclusion must not be taken for "back it up after all" nor for "delete its history".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExclusionError {
    /// The tag has no value.
    #[error("the value is empty; write * (every schedule) or the keywords to exclude, e.g. SnapshotHourly")]
    Empty,
    /// One item of the list is not a keyword.
    #[error("{item:?} in {raw:?} is not a schedule keyword ({reason}); write * or keywords separated by commas")]
    NotAKeyword {
        /// The whole value, so a person can find the tag.
        raw: String,
        /// The item that is wrong.
        item: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Exclusion {
    /// Parses a tag value: `*`, or keywords separated by commas, spaces around each forgiven.
    pub fn parse(raw: &str) -> Result<Exclusion, ExclusionError> {
        let v = raw.trim();
        if v.is_empty() {
            return Err(ExclusionError::Empty);
        }
        if v == "*" {
            return Ok(Exclusion::All);
        }
        let mut keywords = Vec::new();
        for item in v.split(',').map(str::trim) {
            match Keyword::new(item) {
                Ok(k) => keywords.push(k),
                Err(e) => {
                    return Err(ExclusionError::NotAKeyword {
                        raw: raw.to_owned(),
                        item: item.to_owned(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(Exclusion::Keywords(keywords))
    }

    /// Whether the run for `keyword` must leave the volume alone.
    pub fn applies_to(&self, keyword: &Keyword) -> bool {
        match self {
            Exclusion::All => true,
            Exclusion::Keywords(list) => list.contains(keyword),
        }
    }
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclusion::All => f.write_str("*"),
            Exclusion::Keywords(list) => {
                let names: Vec<&str> = list.iter().map(Keyword::as_str).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_lists_of_keywords() {
        let daily = Keyword::new("SnapshotDaily").unwrap();
        let hourly = Keyword::new("SnapshotHourly").unwrap();
        assert!(Exclusion::parse("*").unwrap().applies_to(&daily));
        assert!(Exclusion::parse(" * ").unwrap().applies_to(&hourly));
        let list = Exclusion::parse("SnapshotHourly, Snapshot Weekly").unwrap();
        assert!(list.applies_to(&hourly));
        assert!(!list.applies_to(&daily));
        assert_eq!(list.to_string(), "SnapshotHourly,Snapshot Weekly");
    }

    #[test]
    fn an_unreadable_value_is_an_error_that_quotes_it() {
        assert_eq!(Exclusion::parse("  "), Err(ExclusionError::Empty));
        let e = Exclusion::parse("SnapshotDaily,,x").unwrap_err();
        assert!(matches!(&e, ExclusionError::NotAKeyword { item, .. } if item.is_empty()), "{e:?}");
        assert!(e.to_string().contains("\"SnapshotDaily,,x\""), "{e}");
        let e = Exclusion::parse("aws:thing").unwrap_err();
        assert!(e.to_string().contains("\"aws:thing\""), "{e}");
    }
}

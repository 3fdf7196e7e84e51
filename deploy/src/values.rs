//! Flag values that clap parses into types: a bad value is refused by clap itself, with the
//! flag's name and the reason (exit 2), before any command runs or any AWS call is made.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use snapcycle_core::config::MAX_CONCURRENCY;
use snapcycle_core::copy::{parse_copy_targets, parse_encrypt, CopyTarget, EncryptInPlace};
use snapcycle_core::event::{identity, parse_time, MAX_YEAR, MIN_YEAR};
use snapcycle_core::policy::{PolicyError, Within};
use snapcycle_core::RetentionPolicy;
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

/// `undo --since`: an age in the grammar of a policy's `within` and of `--orphans-expire-after`
/// (`2d`, `36h`, `1w`; the units y, m, w, d, h, in that order), read by core's own parser. Unlike
/// an orphan expiry it may be shorter than a day: it only narrows a listing.
pub(crate) fn since(raw: &str) -> Result<Within, String> {
    let value = raw.trim();
    let refuse = |why: &str| {
        format!(
            "{raw:?} is not an age ({why}); give <number><unit> with the units y, m, w, d, h in that order, \
             e.g. 2d, 36h or 1w"
        )
    };
    // Only a duration may reach the policy parser: `2d daily=3` would be a policy, not an age.
    if value.is_empty() || value.contains(|c: char| c == '=' || c == ',' || c.is_whitespace()) {
        return Err(refuse("not a duration"));
    }
    match RetentionPolicy::parse(&format!("within={value}")) {
        Ok(policy) => policy.terms().within.ok_or_else(|| refuse("not a duration")),
        Err(PolicyError::MissingUnit { .. }) => Err(refuse("a number without a unit")),
        Err(PolicyError::Zero { .. }) => Err(refuse("it is zero")),
        Err(PolicyError::TooLarge { .. }) => Err(refuse("an amount above 10000")),
        Err(_) => Err(refuse("not a duration")),
    }
}

/// An EC2 snapshot id, `snap-` and 8 or 17 hexadecimal digits (EC2's short and long ids).
pub(crate) fn snapshot_id(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    let digits = id.strip_prefix("snap-").unwrap_or_default();
    if (digits.len() == 8 || digits.len() == 17) && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(format!("{raw:?} is not a snapshot id such as snap-0123456789abcdef0"))
    }
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

/// `--copy-to`: one region name, read by core's `parse_copy_targets` (the function's own parser
/// of `SNAPCYCLE_COPY_TO`); a key goes in `--copy-kms-key`.
pub(crate) fn copy_region(raw: &str) -> Result<String, String> {
    if raw.contains(['=', ',']) {
        return Err(format!(
            "{raw:?}: give one region per --copy-to (repeat the flag); a key goes in --copy-kms-key REGION=KEY_ARN"
        ));
    }
    match parse_copy_targets(raw).map_err(|e| e.to_string())?.as_slice() {
        [only] => Ok(only.region.clone()),
        _ => Err(format!("{raw:?} is not a region name (like cn-northwest-1 or us-west-2)")),
    }
}

/// `--copy-kms-key REGION=KEY_ARN`, read by core's `parse_copy_targets`: a KMS key ARN of that
/// region. Whether REGION is one of `--copy-to` is checked with all the flags.
pub(crate) fn copy_kms_key(raw: &str) -> Result<CopyTarget, String> {
    if !raw.contains('=') || raw.contains(',') {
        return Err(format!(
            "{raw:?} is not REGION=KEY_ARN, such as us-west-2=arn:aws:kms:us-west-2:111122223333:key/ID"
        ));
    }
    match parse_copy_targets(raw).map_err(|e| e.to_string())?.as_slice() {
        [only] if only.kms_key.is_some() => Ok(only.clone()),
        _ => Err(format!("{raw:?} is not REGION=KEY_ARN, such as us-west-2=arn:aws:kms:us-west-2:111122223333:key/ID")),
    }
}

/// `--kms-key KEY_ARN` (with `--encrypt`), read by core's `parse_encrypt` (the function's own
/// parser of `SNAPCYCLE_ENCRYPT`): a KMS key ARN. That it is a key of the stack's region is
/// checked where the region is known; an alias is refused with the other flags.
pub(crate) fn kms_key(raw: &str) -> Result<String, String> {
    match parse_encrypt(raw) {
        Ok(Some(EncryptInPlace { kms_key: Some(key) })) => Ok(key),
        Ok(_) => Err(format!(
            "{raw:?} is not a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID); without --kms-key, --encrypt \
             uses the region's default EBS key"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// `--copy-retention`: a keyword tag's value (`30`, `daily=7 weekly=4`), read by core's parser.
pub(crate) fn retention(raw: &str) -> Result<RetentionPolicy, String> {
    RetentionPolicy::parse(raw).map_err(|e| e.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_the_within_grammar_including_hours() {
        assert_eq!(since("2d").unwrap(), Within::new(0, 0, 0, 2, 0).unwrap());
        assert_eq!(since(" 36h ").unwrap(), Within::new(0, 0, 0, 0, 36).unwrap());
        assert_eq!(since("1w2d").unwrap(), Within::new(0, 0, 1, 2, 0).unwrap());
        let cases = [
            ("", "not a duration"),
            ("2", "a number without a unit"),
            ("0d", "it is zero"),
            ("2x", "not a duration"),
            ("d2", "not a duration"),
            ("2d1w", "not a duration"),
            ("2d daily=3", "not a duration"),
            ("within=2d", "not a duration"),
            ("99999d", "an amount above 10000"),
        ];
        for (raw, why) in cases {
            let e = since(raw).unwrap_err();
            assert!(e.contains(why) && e.contains("e.g. 2d, 36h or 1w"), "{raw:?}: {e}");
        }
    }

    #[test]
    fn copy_flags_read_one_region_or_one_region_and_key_with_cores_rules() {
        assert_eq!(copy_region("us-west-2").unwrap(), "us-west-2");
        assert_eq!(copy_region(" cn-northwest-1 ").unwrap(), "cn-northwest-1");
        for (raw, why) in [
            ("us-west", "is not a region name"),
            ("", "is not a region name"),
            ("us-west-2,eu-west-1", "one region per --copy-to"),
            ("us-west-2=arn:aws:kms:us-west-2:111122223333:key/k", "one region per --copy-to"),
        ] {
            let e = copy_region(raw).unwrap_err();
            assert!(e.contains(why), "{raw:?}: {e}");
        }
        let key = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let t = copy_kms_key(&format!("us-west-2={key}")).unwrap();
        assert_eq!((t.region.as_str(), t.kms_key.as_deref()), ("us-west-2", Some(key)));
        for (raw, why) in [
            ("us-west-2".to_owned(), "is not REGION=KEY_ARN"),
            ("us-west-2=".to_owned(), "is not a KMS key ARN"),
            ("us-west-2=alias/x".to_owned(), "is not a KMS key ARN"),
            (format!("eu-west-1={key}"), "a copy is encrypted with a key of its own region"),
            (format!("us-west-2={key},eu-west-1"), "is not REGION=KEY_ARN"),
        ] {
            let e = copy_kms_key(&raw).unwrap_err();
            assert!(e.contains(why), "{raw:?}: {e}");
        }
        assert_eq!(retention("daily=7 weekly=4").unwrap().to_string(), "daily=7 weekly=4");
        assert!(retention("seven").is_err());
    }

    #[test]
    fn an_encryption_key_is_a_kms_key_arn_as_the_function_reads_it() {
        let key = "arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(kms_key(key).unwrap(), key);
        assert_eq!(kms_key(&format!(" {key} ")).unwrap(), key, "read as the function reads it");
        for (raw, why) in [
            ("default", "without --kms-key, --encrypt uses the region's default EBS key"),
            ("", "is not a KMS key ARN"),
            ("1234abcd-12ab-34cd-56ef-1234567890ab", "is not a KMS key ARN"),
            ("alias/backups", "is not a KMS key ARN"),
            ("arn:aws:kms:us-east-1:1111:key/k", "is not a KMS key ARN"),
        ] {
            let e = kms_key(raw).unwrap_err();
            assert!(e.contains(why), "{raw:?}: {e}");
        }
    }

    #[test]
    fn snapshot_ids_are_snap_and_8_or_17_hex_digits() {
        assert_eq!(snapshot_id("snap-0123456789abcdef0").unwrap(), "snap-0123456789abcdef0");
        assert_eq!(snapshot_id("snap-1234ABCD").unwrap(), "snap-1234abcd");
        for raw in ["", "snap-", "snap-123", "vol-0123456789abcdef0", "snap-0123456789abcdefg", "0123456789abcdef0"] {
            let e = snapshot_id(raw).unwrap_err();
            assert!(e.contains("is not a snapshot id such as snap-"), "{raw:?}: {e}");
        }
    }
}

//! CloudFormation logical ids derived from schedule keywords and e-mail addresses.
//!
//! Logical ids are the identity CloudFormation uses to match a resource across updates: if an id
//! changes, the resource is deleted and created again (for an e-mail subscription that means a new
//! confirmation mail). So ids here are pure functions of the one value they stand for, never of a
//! position in a list, and never change between releases.

/// Prefix of every per-schedule logical id, so they cannot clash with the stack's fixed ids.
const SCHEDULE_PREFIX: &str = "Schedule";

/// Prefix of every per-address subscription logical id.
const SUBSCRIPTION_PREFIX: &str = "EmailSubscription";

/// The stable logical-id stem for the schedule `keyword`; its rule and permission ids extend it.
///
/// CloudFormation logical ids are ASCII alphanumeric only. A keyword that already is (the usual
/// `SnapshotDaily`) keeps a readable id, `ScheduleSnapshotDaily`. Any other keyword (tag keys may
/// also hold spaces, `_ . : / = + - @` and non-ASCII letters) keeps its ASCII letters and digits
/// and gains an 8-hex-digit FNV-1a hash of the whole keyword, so `Snapshot-Daily` and
/// `Snapshot_Daily` stay distinct. `render` still rejects the (contrived) case where two keywords
/// meet at one id.
pub fn logical_id_for_keyword(keyword: &str) -> String {
    let alnum: String = keyword.chars().filter(char::is_ascii_alphanumeric).collect();
    if alnum == keyword {
        format!("{SCHEDULE_PREFIX}{alnum}")
    } else {
        format!("{SCHEDULE_PREFIX}{alnum}{:08x}", fnv1a32(keyword.as_bytes()))
    }
}

/// The logical id of the EventBridge rule for `keyword`, e.g. `ScheduleSnapshotDailyRule`.
pub fn rule_logical_id(keyword: &str) -> String {
    format!("{}Rule", logical_id_for_keyword(keyword))
}

/// The logical id of the EventBridge Scheduler schedule for `keyword`, e.g.
/// `ScheduleSnapshotDailySchedule`: distinct from the rule's, so moving a stack from rules to
/// schedules adds one resource and removes the other instead of changing a resource's type.
pub fn schedule_logical_id(keyword: &str) -> String {
    format!("{}Schedule", logical_id_for_keyword(keyword))
}

/// The output key holding the name of the Scheduler schedule for `keyword`.
pub fn schedule_output_key(keyword: &str) -> String {
    format!("{}ScheduleName", logical_id_for_keyword(keyword))
}

/// The logical id of the permission that lets the rule for `keyword` invoke the function.
pub fn permission_logical_id(keyword: &str) -> String {
    format!("{}Permission", logical_id_for_keyword(keyword))
}

/// The output key holding the physical name of the rule for `keyword`.
pub fn rule_output_key(keyword: &str) -> String {
    format!("{}RuleName", logical_id_for_keyword(keyword))
}

/// The logical id of the e-mail subscription for `email`, stable however the list is ordered.
///
/// The hash is over the address as given; SNS treats the local part as case-sensitive, so two
/// spellings are two subscriptions.
pub fn subscription_logical_id(email: &str) -> String {
    format!("{SUBSCRIPTION_PREFIX}{:08x}", fnv1a32(email.as_bytes()))
}

/// 32-bit FNV-1a: tiny, specified, and identical on every platform and release, which is all an
/// id suffix needs (it is not a security boundary; collisions are detected by the caller).
fn fnv1a32(bytes: &[u8]) -> u32 {
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| (hash ^ u32::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_keyword_keeps_a_readable_id() {
        assert_eq!(logical_id_for_keyword("SnapshotDaily"), "ScheduleSnapshotDaily");
        assert_eq!(rule_logical_id("SnapshotDaily"), "ScheduleSnapshotDailyRule");
        assert_eq!(permission_logical_id("SnapshotDaily"), "ScheduleSnapshotDailyPermission");
        assert_eq!(rule_output_key("SnapshotDaily"), "ScheduleSnapshotDailyRuleName");
    }

    #[test]
    fn keywords_that_differ_only_in_punctuation_get_distinct_ids() {
        let a = logical_id_for_keyword("Snapshot-Daily");
        let b = logical_id_for_keyword("Snapshot_Daily");
        let c = logical_id_for_keyword("SnapshotDaily");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
        assert!(a.starts_with("ScheduleSnapshotDaily"));
    }

    #[test]
    fn ids_are_ascii_alphanumeric_for_any_tag_key() {
        for keyword in ["snap shot", "a:b/c=d+e-f@g.h_i", "Sauvegarde-été", "日次"] {
            let id = logical_id_for_keyword(keyword);
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
            assert!(id.len() <= 255);
        }
    }

    #[test]
    fn ids_are_stable_across_releases() {
        // Pinned values: changing them would replace every deployed rule and subscription.
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(logical_id_for_keyword("Snapshot-Daily"), "ScheduleSnapshotDaily6daf33a1");
        assert_eq!(subscription_logical_id("ops@example.com"), "EmailSubscriptionc9c44872");
    }
}

//! Copies in other regions (README, "Copies to other regions"): where they go, how each is tagged,
//! and which ones a run rotates. Pure, like the plan: the shell calls CopySnapshot when EC2 says a
//! snapshot completed, and DeleteSnapshot on what [`plan_copies`] returns.
//!
//! A copy carries the tags rotation needs in its own region: the keyword tag (remove it to keep
//! the copy forever), the marker, and where it came from. Copies are rotated per source volume,
//! by the same rules as the source: N completed kept, pending never counted or deleted, only
//! copies marked for the run's keyword and copied from this region (never another stack's region
//! or another keyword's copies), and only for volumes of instances tagged now.

use std::collections::HashMap;

use serde::Serialize;

use crate::plan::{newest_first, rotate, run_time, Create, Plan, Policy};
use crate::policy::RetentionPolicy;
use crate::tags::{tag_value, Tag, TAG_DEVICES, TAG_INSTANCE, TAG_KEYWORD, TAG_RUN};
use crate::{CompactString, Keyword, Snapshot, SnapshotState};

/// The source snapshot a copy was made of: one copy per source and destination, ever.
pub const TAG_SOURCE_SNAPSHOT: &str = "snapcycle:source-snapshot";
/// The source snapshot's volume: copies are rotated per source volume.
pub const TAG_SOURCE_VOLUME: &str = "snapcycle:source-volume";
/// The region the source snapshot is in: a destination can hold copies of several stacks.
pub const TAG_SOURCE_REGION: &str = "snapcycle:source-region";

/// Where rotation counts a snapshot: its own volume's, or for an encrypted copy in place its
/// source's volume (EC2 gives every copy the volume id `vol-ffffffff`); `None` for a copy from
/// another region, which the stack of that region rotates and this one never touches.
pub fn rotation_volume(s: &Snapshot) -> Option<&str> {
    if tag_value(&s.tags, TAG_SOURCE_REGION).is_some() {
        return None;
    }
    Some(tag_value(&s.tags, TAG_SOURCE_VOLUME).unwrap_or(s.volume_id.as_str()))
}

/// Whether `s` is an encrypted copy in place (README, "Encryption in place"): a copy of one of
/// this region's snapshots, made in this region; it names its source, and no source region.
pub fn is_copy_in_place(s: &Snapshot) -> bool {
    tag_value(&s.tags, TAG_SOURCE_SNAPSHOT).is_some() && tag_value(&s.tags, TAG_SOURCE_REGION).is_none()
}

/// Splits one volume's snapshots into those rotation counts and the unencrypted originals that a
/// completed encrypted copy in place replaces: the copy is counted in its original's place, and
/// the original goes. While the copy is pending (or failed) the original counts as before.
/// Of two completed copies of one original (a copy started twice), the oldest stands in for it and
/// the other goes with the original, so one restore point is never counted twice.
pub(crate) fn replace_originals(mine: Vec<&Snapshot>) -> (Vec<&Snapshot>, Vec<&Snapshot>) {
    let mut done: HashMap<&str, &Snapshot> = HashMap::new();
    for s in mine.iter().filter(|s| s.state == SnapshotState::Completed && s.encrypted && is_copy_in_place(s)) {
        let Some(source) = tag_value(&s.tags, TAG_SOURCE_SNAPSHOT) else { continue };
        let held = done.entry(source).or_insert(s);
        if (s.start_time, &s.id) < (held.start_time, &held.id) {
            *held = s;
        }
    }
    if done.is_empty() {
        return (mine, Vec::new());
    }
    mine.into_iter().partition(|s| {
        if is_copy_in_place(s) {
            // A completed copy that is not its original's chosen one is a second copy.
            let source = tag_value(&s.tags, TAG_SOURCE_SNAPSHOT).unwrap_or_default();
            s.state != SnapshotState::Completed || !s.encrypted || done.get(source).is_some_and(|c| c.id == s.id)
        } else {
            s.encrypted || !done.contains_key(s.id.as_str())
        }
    })
}

/// Why [`replace_originals`] lets `s` go, in a dry run's words.
pub(crate) fn replaced_reason(s: &Snapshot) -> &'static str {
    if is_copy_in_place(s) {
        "delete: a second encrypted copy of one snapshot"
    } else {
        "delete: replaced by its encrypted copy"
    }
}

/// For each volume `plan` rotates, its newest completed snapshot among `history` when that is an
/// unencrypted original with no copy in place yet (or only failed ones): what a run with
/// `--encrypt` copies when EC2's event for it was missed. Older unencrypted snapshots are left to
/// rotation: encrypting a fleet's whole history would be a full copy of every one.
pub fn to_encrypt(plan: &Plan, history: &[Snapshot]) -> Vec<CompactString> {
    let rotated: std::collections::HashSet<&str> = plan
        .volumes()
        .filter(|(_, v)| matches!(v.create, Create::New | Create::AlreadyDone { .. }))
        .map(|(_, v)| v.volume_id.as_str())
        .collect();
    // What the plan deletes (a duplicate of this run, a rotated one) is never worth a copy.
    let deleted: std::collections::HashSet<&str> =
        plan.volumes().flat_map(|(_, v)| v.delete.iter().map(|d| d.as_str())).collect();
    let copied: std::collections::HashSet<&str> = history
        .iter()
        .filter(|s| s.state != SnapshotState::Error && is_copy_in_place(s))
        .filter_map(|s| tag_value(&s.tags, TAG_SOURCE_SNAPSHOT))
        .collect();
    let mut newest: HashMap<&str, &Snapshot> = HashMap::new();
    for s in history.iter().filter(|s| s.state == SnapshotState::Completed && !deleted.contains(s.id.as_str())) {
        let Some(volume) = rotation_volume(s).filter(|v| rotated.contains(v)) else { continue };
        let held = newest.entry(volume).or_insert(s);
        if newest_first(&s, held).is_lt() {
            *held = s;
        }
    }
    let mut ids: Vec<CompactString> = newest
        .into_values()
        .filter(|s| !s.encrypted && !is_copy_in_place(s) && !copied.contains(s.id.as_str()))
        .map(|s| s.id.clone())
        .collect();
    ids.sort();
    ids
}

/// One destination region, and the KMS key its copies are encrypted with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyTarget {
    /// The destination region, e.g. `cn-northwest-1`.
    pub region: String,
    /// A KMS key (ARN) of that region; `None` encrypts with the region's default EBS key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

/// Why a copy destination cannot be used, in words that name the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyTargetError {
    /// Not a region name.
    #[error("{0:?} is not a region name (like cn-northwest-1 or us-west-2)")]
    Region(String),
    /// A key that is not a KMS key ARN.
    #[error("{key:?} for {region} is not a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID or alias/NAME)")]
    Key {
        /// The destination.
        region: String,
        /// The value given.
        key: String,
    },
    /// A key of another region: KMS keys are regional, and the copy is made in the destination.
    #[error("the key {key} is in {key_region}, not in {region}: a copy is encrypted with a key of its own region")]
    KeyRegion {
        /// The destination.
        region: String,
        /// The key's region.
        key_region: String,
        /// The key.
        key: String,
    },
    /// The same region twice.
    #[error("{0} is named twice")]
    Duplicate(String),
}

/// Whether `s` looks like an AWS region name (`us-east-1`, `cn-northwest-1`, `us-gov-west-1`,
/// `ap-southeast-3`): letters in dash-separated words, ending in a number.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
        && parts[0].len() == 2
}

/// Parses `SNAPCYCLE_COPY_TO` (and the deploy flags, joined the same way): comma-separated
/// destinations, each `REGION` or `REGION=KMS_KEY_ARN`. Empty is no copies.
pub fn parse_copy_targets(raw: &str) -> Result<Vec<CopyTarget>, CopyTargetError> {
    let mut out: Vec<CopyTarget> = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (region, key) = match entry.split_once('=') {
            Some((r, k)) => (r.trim(), Some(k.trim())),
            None => (entry, None),
        };
        if !is_region(region) {
            return Err(CopyTargetError::Region(region.to_owned()));
        }
        if out.iter().any(|t| t.region == region) {
            return Err(CopyTargetError::Duplicate(region.to_owned()));
        }
        let kms_key = match key {
            None => None,
            Some(k) => {
                let Some(key_region) = kms_key_region(k) else {
                    return Err(CopyTargetError::Key { region: region.to_owned(), key: k.to_owned() });
                };
                if key_region != region {
                    return Err(CopyTargetError::KeyRegion {
                        region: region.to_owned(),
                        key_region: key_region.to_owned(),
                        key: k.to_owned(),
                    });
                }
                Some(k.to_owned())
            }
        };
        out.push(CopyTarget { region: region.to_owned(), kms_key });
    }
    Ok(out)
}

/// The region of a KMS key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID` or `alias/NAME`), or
/// `None` when `k` is not one.
pub fn kms_key_region(k: &str) -> Option<&str> {
    let parts: Vec<&str> = k.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "kms"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && (parts[5].starts_with("key/") || parts[5].starts_with("alias/"))
        && parts[5].len() > 4;
    ok.then(|| parts[3])
}

/// Encryption in place (`--encrypt`, README "Encryption in place"): each unencrypted snapshot is
/// copied encrypted in its own region, and the copy replaces it once completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncryptInPlace {
    /// A KMS key (ARN) of the function's region; `None` uses the region's default EBS key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

/// Parses `SNAPCYCLE_ENCRYPT`: empty is off, `default` the region's default EBS key, else a KMS
/// key ARN (its region is checked by `deploy`, which knows the stack's).
pub fn parse_encrypt(raw: &str) -> Result<Option<EncryptInPlace>, CopyTargetError> {
    match raw.trim() {
        "" => Ok(None),
        "default" => Ok(Some(EncryptInPlace { kms_key: None })),
        k if kms_key_region(k).is_some() => Ok(Some(EncryptInPlace { kms_key: Some(k.to_owned()) })),
        k => Err(CopyTargetError::Key { region: "encryption in place".into(), key: k.to_owned() }),
    }
}

/// Writes destinations back the one way [`parse_copy_targets`] reads them.
pub fn format_copy_targets(targets: &[CopyTarget]) -> String {
    targets
        .iter()
        .map(|t| match &t.kms_key {
            Some(k) => format!("{}={k}", t.region),
            None => t.region.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The tags of a copy of `source` (a snapshot of `keyword`, with its tags as read) made from
/// `source_region`, or in place (`None`: encryption in place, where the copy replaces its source):
/// the keyword tag with `retention` (or the source's own value), the marker, where it came from,
/// the source's run, instance, devices and `Name`. Well within EC2's 50.
pub fn copy_tags(
    source: &Snapshot,
    keyword: &Keyword,
    source_region: Option<&str>,
    retention: Option<&RetentionPolicy>,
) -> Vec<Tag> {
    let value = match retention {
        Some(r) => r.to_string(),
        None => tag_value(&source.tags, keyword.as_str()).unwrap_or_default().to_owned(),
    };
    let mut tags = vec![
        Tag::new(keyword.as_str(), value),
        Tag::new(TAG_KEYWORD, keyword.as_str()),
        Tag::new(TAG_SOURCE_SNAPSHOT, source.id.as_str()),
        Tag::new(TAG_SOURCE_VOLUME, source.volume_id.as_str()),
    ];
    if let Some(region) = source_region {
        tags.push(Tag::new(TAG_SOURCE_REGION, region));
    }
    for key in [TAG_RUN, TAG_INSTANCE, TAG_DEVICES, "Name"] {
        if let Some(v) = tag_value(&source.tags, key) {
            tags.push(Tag::new(key, v));
        }
    }
    tags
}

/// For each volume `plan` rotates, its newest completed snapshot among `history` (rotation's
/// order: start time, then run): what every destination must hold, and what a run copies when
/// EC2's event for it was missed.
pub fn newest_completed(plan: &Plan, history: &[Snapshot]) -> Vec<CompactString> {
    let rotated: std::collections::HashSet<&str> = plan
        .volumes()
        .filter(|(_, v)| matches!(v.create, Create::New | Create::AlreadyDone { .. }))
        .map(|(_, v)| v.volume_id.as_str())
        .collect();
    let mut newest: HashMap<&str, &Snapshot> = HashMap::new();
    for s in history.iter().filter(|s| s.state == SnapshotState::Completed && rotated.contains(s.volume_id.as_str())) {
        let held = newest.entry(s.volume_id.as_str()).or_insert(s);
        if newest_first(&s, held).is_lt() {
            *held = s;
        }
    }
    let mut ids: Vec<CompactString> = newest.into_values().map(|s| s.id.clone()).collect();
    ids.sort();
    ids
}

/// What a run deletes among one destination's copies of one source volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyRotation {
    /// The source volume.
    pub volume_id: CompactString,
    /// Copies to delete, oldest first (a second copy of one source comes first).
    pub delete: Vec<CompactString>,
    /// Copies that stay, newest first.
    pub keep: Vec<CompactString>,
}

/// Rotates one destination's `copies` (read there, marked for the plan's keyword) the way `plan`
/// rotates their sources: per source volume of an instance tagged now, with `retention` or, when
/// `None`, the volume's own. Copies from another region, of another keyword, whose keyword tag a
/// person removed, or of volumes the plan does not decide (held, excluded, not tagged now) are
/// never touched. Of two copies of one source (a copy started twice) the oldest completed stays.
pub fn plan_copies(
    policy: &Policy,
    plan: &Plan,
    copies: &[Snapshot],
    source_region: &str,
    retention: Option<&RetentionPolicy>,
) -> Vec<CopyRotation> {
    let keyword = &policy.keyword;
    // A copy starts when its source completes, or later (a catch-up, a late event): rotation
    // orders copies by their source's run (`snapcycle:run`, copied from it), not by when EC2
    // started the copy.
    let copies: Vec<Snapshot> =
        copies.iter().map(|c| Snapshot { start_time: run_time(c, policy.now), ..c.clone() }).collect();
    let mut by_volume: HashMap<&str, Vec<&Snapshot>> = HashMap::new();
    for c in &copies {
        let ours = tag_value(&c.tags, TAG_KEYWORD) == Some(keyword.as_str())
            && tag_value(&c.tags, keyword.as_str()).is_some()
            && tag_value(&c.tags, TAG_SOURCE_REGION) == Some(source_region);
        if let (true, Some(volume)) = (ours, tag_value(&c.tags, TAG_SOURCE_VOLUME)) {
            by_volume.entry(volume).or_default().push(c);
        }
    }
    let mut out = Vec::new();
    for (_, v) in plan.volumes() {
        // The volumes this plan rotates: taken now or already by this run (a covered one is
        // rotated by the plan of the instance that covers it).
        if !matches!(v.create, Create::New | Create::AlreadyDone { .. }) {
            continue;
        }
        let Some(mine) = by_volume.get(v.volume_id.as_str()) else { continue };
        // One copy per source: of a source copied twice, the oldest completed stays (a pending
        // one is never deleted); the others go first.
        let mut by_source: HashMap<&str, Vec<&Snapshot>> = HashMap::new();
        for c in mine {
            by_source.entry(tag_value(&c.tags, TAG_SOURCE_SNAPSHOT).unwrap_or(c.id.as_str())).or_default().push(c);
        }
        let mut counted = Vec::new();
        let mut delete = Vec::new();
        for (_, mut same) in by_source {
            same.sort_by_key(|s| (s.state != SnapshotState::Completed, s.start_time, s.id.clone()));
            // Sorted completed first: every completed one after the first is a second copy.
            let (keeper, rest) = (same[0], &same[1..]);
            counted.push(keeper);
            for s in rest {
                if s.state == SnapshotState::Completed {
                    delete.push(s.id.clone());
                } else {
                    counted.push(s);
                }
            }
        }
        delete.sort();
        let policies = [retention.unwrap_or(&v.retention).clone()];
        let (keep, rotated, _) = rotate(&counted, &policies, policy);
        delete.extend(rotated);
        if !delete.is_empty() {
            let mut keep_sorted: Vec<&Snapshot> = counted.iter().copied().filter(|s| keep.contains(&s.id)).collect();
            keep_sorted.sort_by(newest_first);
            out.push(CopyRotation {
                volume_id: v.volume_id.clone(),
                delete,
                keep: keep_sorted.into_iter().map(|s| s.id.clone()).collect(),
            });
        }
    }
    out.sort_by(|a, b| a.volume_id.cmp(&b.volume_id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attachment, Instance, Inventory};
    use chrono::{DateTime, TimeZone, Utc};

    #[test]
    fn encryption_in_place_reads_default_or_a_key_arn_and_never_panics_on_anything_else() {
        let key = "arn:aws-cn:kms:cn-north-1:012345678901:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(parse_encrypt(" "), Ok(None));
        assert_eq!(parse_encrypt("default"), Ok(Some(EncryptInPlace { kms_key: None })));
        assert_eq!(parse_encrypt(key), Ok(Some(EncryptInPlace { kms_key: Some(key.into()) })));
        assert_eq!(kms_key_region(key), Some("cn-north-1"));
        // Fewer parts than an ARN has: refused, not an index out of bounds.
        for bad in ["not-an-arn", "alias/x", "1234abcd-12ab", "arn:aws:kms", "arn:aws:kms:us-east-1", ":::::"] {
            assert_eq!(kms_key_region(bad), None, "{bad}");
            assert!(parse_encrypt(bad).is_err(), "{bad}");
            assert!(parse_copy_targets(&format!("us-west-2={bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn destinations_parse_and_every_bad_one_is_named() {
        let key = "arn:aws-cn:kms:cn-northwest-1:012345678901:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let t = parse_copy_targets(&format!(" cn-northwest-1={key} , us-west-2 ,")).unwrap();
        assert_eq!(
            t,
            [
                CopyTarget { region: "cn-northwest-1".into(), kms_key: Some(key.into()) },
                CopyTarget { region: "us-west-2".into(), kms_key: None },
            ]
        );
        assert_eq!(parse_copy_targets(&format_copy_targets(&t)).unwrap(), t);
        assert!(parse_copy_targets("").unwrap().is_empty());
        for region in ["us-gov-east-1", "ap-southeast-3", "eu-central-2", "cn-north-1"] {
            assert!(is_region(region), "{region}");
        }
        let err = |raw: &str| parse_copy_targets(raw).unwrap_err().to_string();
        assert_eq!(err("uswest2"), "\"uswest2\" is not a region name (like cn-northwest-1 or us-west-2)");
        assert!(err("US-WEST-2").contains("not a region name"));
        assert!(err("us-west-2=alias/x").starts_with("\"alias/x\" for us-west-2 is not a KMS key ARN"));
        assert_eq!(
            err("us-west-2=arn:aws:kms:us-east-1:012345678901:key/k"),
            "the key arn:aws:kms:us-east-1:012345678901:key/k is in us-east-1, not in us-west-2: a copy is encrypted with a key of its own region"
        );
        assert_eq!(err("us-west-2,us-west-2"), "us-west-2 is named twice");
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()
    }

    fn policy() -> Policy {
        let k = Keyword::new("SnapshotDaily").unwrap();
        Policy {
            keyword: k.clone(),
            all_keywords: vec![k],
            scheduled_time: t0(),
            request: None,
            time_zone: chrono_tz::Tz::UTC,
            now: t0(),
            explain: false,
            orphans_expire_after: None,
        }
    }

    /// A copy in the destination of `source` (a snapshot of `volume` taken `days` ago).
    fn copy(id: &str, source: &str, volume: &str, days: i64, state: SnapshotState, extra: &[(&str, &str)]) -> Snapshot {
        let mut tags = vec![
            Tag::new("SnapshotDaily", "2"),
            Tag::new(TAG_KEYWORD, "SnapshotDaily"),
            Tag::new(TAG_SOURCE_SNAPSHOT, source),
            Tag::new(TAG_SOURCE_VOLUME, volume),
            Tag::new(TAG_SOURCE_REGION, "us-east-1"),
        ];
        for (k, v) in extra {
            tags.retain(|t| t.key != *k);
            if !v.is_empty() {
                tags.push(Tag::new(*k, *v));
            }
        }
        Snapshot {
            encrypted: false,
            id: id.into(),
            volume_id: "vol-ffffffff".into(),
            owner_id: "1".into(),
            state,
            start_time: t0() - chrono::Duration::days(days) + chrono::Duration::hours(2),
            tags: tags.into(),
        }
    }

    fn tagged_plan(retention: &str) -> Plan {
        let inst = Instance {
            id: "i-1".into(),
            owner_id: "1".into(),
            state: "running".into(),
            tags: vec![Tag::new("SnapshotDaily", retention)],
            volumes: vec![Attachment { volume_id: "vol-1".into(), device: "/dev/xvda".into(), exclude: None }],
            root_device: None,
        };
        crate::plan(&policy(), &Inventory { instances: vec![inst], ..Inventory::default() })
    }

    #[test]
    fn copies_rotate_per_source_volume_by_the_sources_rules_and_never_touch_what_is_not_theirs() {
        use SnapshotState::{Completed as Done, Pending};
        let copies = vec![
            copy("c-1", "s-1", "vol-1", 1, Done, &[]),
            copy("c-2", "s-2", "vol-1", 2, Done, &[]),
            copy("c-3", "s-3", "vol-1", 3, Done, &[]),
            copy("c-4", "s-4", "vol-1", 4, Done, &[]),
            // A second copy of s-2 (a copy started twice): it goes, the older one stays.
            copy("c-2b", "s-2", "vol-1", 2, Done, &[]),
            // Still copying: never counted, never deleted.
            copy("c-0", "s-0", "vol-1", 0, Pending, &[]),
            // Kept forever (its keyword tag removed), another region's, another keyword's,
            // a volume no instance is tagged with now: none of them is touched.
            copy("c-forever", "s-9", "vol-1", 9, Done, &[("SnapshotDaily", "")]),
            copy("c-west", "s-8", "vol-1", 8, Done, &[(TAG_SOURCE_REGION, "us-west-1")]),
            copy("c-hourly", "s-7", "vol-1", 7, Done, &[(TAG_KEYWORD, "SnapshotHourly")]),
            copy("c-orphan", "s-6", "vol-9", 6, Done, &[]),
        ];
        let plan = tagged_plan("2");
        let r = plan_copies(&policy(), &plan, &copies, "us-east-1", None);
        assert_eq!(r.len(), 1, "{r:#?}");
        assert_eq!(r[0].volume_id, "vol-1");
        // c-2b was taken after c-2 (same day): the duplicate goes first, then rotation keeps the
        // newest 2 completed (c-1, c-2) and the pending c-0.
        let mut delete = r[0].delete.clone();
        delete.sort();
        assert_eq!(delete, ["c-2b", "c-3", "c-4"]);
        assert_eq!(r[0].keep, ["c-0", "c-1", "c-2"]);
        // The copy retention overrides the source's.
        let r = plan_copies(&policy(), &plan, &copies, "us-east-1", Some(&RetentionPolicy::parse("3").unwrap()));
        let mut delete = r[0].delete.clone();
        delete.sort();
        assert_eq!(delete, ["c-2b", "c-4"]);
        // A copy's tags: the keyword with the retention, the marker, where it came from.
        let source = Snapshot {
            encrypted: false,
            id: "snap-1".into(),
            volume_id: "vol-1".into(),
            owner_id: "1".into(),
            state: Done,
            start_time: t0(),
            tags: vec![
                Tag::new("SnapshotDaily", "7"),
                Tag::new(TAG_KEYWORD, "SnapshotDaily"),
                Tag::new(TAG_RUN, "2026-11-26T00:00:00Z"),
                Tag::new("Name", "db"),
                Tag::new("Env", "prod"),
            ]
            .into(),
        };
        let tags = copy_tags(&source, &policy().keyword, Some("us-east-1"), None);
        let pairs: Vec<(&str, &str)> = tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("SnapshotDaily", "7"),
                (TAG_KEYWORD, "SnapshotDaily"),
                (TAG_SOURCE_SNAPSHOT, "snap-1"),
                (TAG_SOURCE_VOLUME, "vol-1"),
                (TAG_SOURCE_REGION, "us-east-1"),
                (TAG_RUN, "2026-11-26T00:00:00Z"),
                ("Name", "db"),
            ]
        );
    }
}

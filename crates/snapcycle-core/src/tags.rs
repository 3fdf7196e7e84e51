//! Which tags a snapshot carries, and the tool's own markers (README, "Tags on every snapshot it creates").

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::Keyword;

/// Marker naming the keyword a snapshot was made for; rotation only ever counts and deletes
/// snapshots whose marker names its own keyword, even when the copied instance tags name several.
pub const TAG_KEYWORD: &str = "snapcycle:keyword";
/// The instance the snapshot was taken from (the volume may later move).
pub const TAG_INSTANCE: &str = "snapcycle:instance";
/// The device names the set's volumes had on that instance (`vol-…=/dev/xvda vol-…=/dev/sdf`), so
/// a restore knows where each snapshot of the set goes. One CreateSnapshots call sets the same
/// tags on every snapshot of the set, so the map is per set, not one device per snapshot
/// (README, "Tags on every snapshot it creates").
pub const TAG_DEVICES: &str = "snapcycle:devices";
/// The one device name a snapshot taken alone carried (snapcycle before crash-consistent sets):
/// still read for older snapshots, never written.
pub const TAG_DEVICE: &str = "snapcycle:device";
/// The scheduled time of the run (RFC 3339 UTC): a retried delivery of the same run finds it and
/// does not snapshot the volume twice.
pub const TAG_RUN: &str = "snapcycle:run";
/// The Lambda request id of a run whose event had no scheduled time: Lambda's retries of one
/// asynchronous event carry the same request id, so a retry finds the run's identity here.
pub const TAG_REQUEST: &str = "snapcycle:request";
/// Prefix of every tag the tool owns.
pub const OWN_PREFIX: &str = "snapcycle:";
/// Tags EC2 allows on one resource.
pub const MAX_TAGS: usize = 50;

/// One EC2 tag. Key and value are inline up to 24 bytes (every tag rotation reads is), so the
/// history of a fleet holds its tags without a heap string each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tag {
    /// The tag key.
    pub key: CompactString,
    /// The tag value (EC2 allows empty values).
    pub value: CompactString,
}

impl Tag {
    /// Builds a tag from anything string-like.
    pub fn new(key: impl Into<CompactString>, value: impl Into<CompactString>) -> Self {
        Tag { key: key.into(), value: value.into() }
    }
}

/// The tags for a new snapshot, and the instance tags left out because of EC2's limit of 50.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotTags {
    /// Tags to set at creation, the tool's own first.
    pub tags: Vec<Tag>,
    /// Keys of instance tags that did not fit (logged, so nobody wonders where they went).
    pub dropped: Vec<String>,
}

/// Everything the tags of one new snapshot depend on.
#[derive(Debug, Clone, Copy)]
pub struct TagInput<'a> {
    /// The instance's own tags, as read.
    pub instance_tags: &'a [Tag],
    /// The keyword of this run.
    pub keyword: &'a Keyword,
    /// Every keyword of the stack: other schedules' keys are not copied, or the daily snapshot
    /// would look like an hourly one to a person (and to the classic lab's rotation).
    pub all_keywords: &'a [Keyword],
    /// The keyword tag's value: the instance's retention (a count or a policy), as
    /// [`RetentionPolicy`](crate::RetentionPolicy)'s `Display` writes it.
    pub retention: &'a str,
    /// The instance id.
    pub instance_id: &'a str,
    /// The set's volumes and their device names on the instance, as [`devices_value`] writes them.
    pub devices: &'a str,
    /// The run's identity (RFC 3339 UTC).
    pub run: &'a str,
    /// The Lambda request id, for a run whose event had no scheduled time.
    pub request: Option<&'a str>,
}

/// Computes the tags of a new snapshot set: the tool's own five (they always win), then the instance's tags
/// minus `aws:` keys, minus any keyword of the stack and minus `snapcycle:` keys, up to 50 in all.
/// When some must be dropped, `Name` is kept first and the rest by key order, so the result is
/// stable from run to run.
pub fn snapshot_tags(input: TagInput<'_>) -> SnapshotTags {
    let mut copied: Vec<&Tag> =
        input.instance_tags.iter().filter(|t| is_copyable(&t.key, input.keyword, input.all_keywords)).collect();
    copied.sort_by(|a, b| (a.key != "Name", &a.key).cmp(&(b.key != "Name", &b.key)));
    copied.dedup_by(|a, b| a.key == b.key);
    let own = 5 + usize::from(input.request.is_some());
    let room = MAX_TAGS - own;
    // Sized once: EC2's request is built from it.
    let mut tags = Vec::with_capacity(own + copied.len().min(room));
    tags.extend([
        Tag::new(input.keyword.as_str(), input.retention),
        Tag::new(TAG_KEYWORD, input.keyword.as_str()),
        Tag::new(TAG_INSTANCE, input.instance_id),
        Tag::new(TAG_DEVICES, input.devices),
        Tag::new(TAG_RUN, input.run),
    ]);
    if let Some(request) = input.request {
        tags.push(Tag::new(TAG_REQUEST, request));
    }
    let dropped = copied.iter().skip(room).map(|t| t.key.clone()).map(String::from).collect();
    tags.extend(copied.into_iter().take(room).cloned());
    SnapshotTags { tags, dropped }
}

fn is_copyable(key: &str, keyword: &Keyword, all: &[Keyword]) -> bool {
    !key.to_ascii_lowercase().starts_with("aws:")
        && !key.starts_with(OWN_PREFIX)
        && key != keyword.as_str()
        && !all.iter().any(|k| k.as_str() == key)
}

/// Whether the plan ever reads a snapshot's tag `key` when rotating `keyword`: the keyword itself
/// (README, "How it decides", condition b), the marker (c) and the run (step 3). The shell keeps
/// only these when it reads the inventory, so memory does not grow with the instance tags copied
/// onto every snapshot.
pub fn read_by_plan(key: &str, keyword: &Keyword) -> bool {
    use crate::copy::{TAG_SOURCE_REGION, TAG_SOURCE_SNAPSHOT, TAG_SOURCE_VOLUME};
    // The source tags are on copies only: an encrypted copy in place is counted as its source
    // volume's, and a copy from another region is left to that region's stack.
    key == keyword.as_str()
        || key == TAG_KEYWORD
        || key == TAG_RUN
        || key == TAG_SOURCE_VOLUME
        || key == TAG_SOURCE_SNAPSHOT
        || key == TAG_SOURCE_REGION
}

/// The value of [`TAG_DEVICES`] for a set: `volume=device` pairs in the order given, as many
/// whole pairs as fit EC2's 256 characters of a tag value, then ` …` when some did not fit
/// (an instance with more than about eight volumes), so a cut map never looks complete.
pub fn devices_value<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    const MAX_VALUE: usize = 256;
    const MORE: &str = " …";
    let pairs: Vec<String> = pairs.into_iter().map(|(volume, device)| format!("{volume}={device}")).collect();
    let full = pairs.join(" ");
    if full.chars().count() <= MAX_VALUE {
        return full;
    }
    let mut out = String::new();
    for p in &pairs {
        let sep = usize::from(!out.is_empty());
        if out.chars().count() + sep + p.chars().count() + MORE.chars().count() > MAX_VALUE {
            break;
        }
        if sep == 1 {
            out.push(' ');
        }
        out.push_str(p);
    }
    out.push_str(MORE);
    out
}

/// The device a snapshot's volume had on its instance: from the set's [`TAG_DEVICES`] map, or
/// the [`TAG_DEVICE`] of a snapshot taken alone by an older snapcycle.
pub fn device_of<'a>(tags: &'a [Tag], volume_id: &str) -> Option<&'a str> {
    if let Some(map) = tag_value(tags, TAG_DEVICES) {
        return map.split(' ').find_map(|pair| pair.strip_prefix(volume_id)?.strip_prefix('='));
    }
    tag_value(tags, TAG_DEVICE)
}

/// The value of a tag key in a list, if present.
pub fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(s: &str) -> Keyword {
        Keyword::new(s).unwrap()
    }

    #[test]
    fn the_plan_reads_the_keyword_marker_and_run_only() {
        let daily = kw("SnapshotDaily");
        for key in ["SnapshotDaily", TAG_KEYWORD, TAG_RUN] {
            assert!(read_by_plan(key, &daily), "{key}");
        }
        for key in ["SnapshotHourly", "Name", TAG_INSTANCE, TAG_DEVICES, TAG_DEVICE, "snapshotdaily", ""] {
            assert!(!read_by_plan(key, &daily), "{key}");
        }
    }

    fn input<'a>(tags: &'a [Tag], k: &'a Keyword, all: &'a [Keyword]) -> TagInput<'a> {
        TagInput {
            instance_tags: tags,
            keyword: k,
            all_keywords: all,
            retention: "7",
            instance_id: "i-1",
            devices: "vol-1=/dev/xvda",
            run: "2026-11-26T00:00:00Z",
            request: None,
        }
    }

    #[test]
    fn own_tags_come_first_and_other_keywords_and_aws_keys_are_not_copied() {
        let daily = kw("SnapshotDaily");
        let all = [kw("SnapshotHourly"), daily.clone()];
        let tags = [
            Tag::new("Name", "web"),
            Tag::new("aws:cloudformation:stack-name", "x"),
            Tag::new("SnapshotHourly", "24"),
            Tag::new("SnapshotDaily", "7"),
            Tag::new("snapcycle:run", "forged"),
            Tag::new("Env", "prod"),
        ];
        let out = snapshot_tags(input(&tags, &daily, &all));
        let keys: Vec<_> = out.tags.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["SnapshotDaily", TAG_KEYWORD, TAG_INSTANCE, TAG_DEVICES, TAG_RUN, "Name", "Env"]);
        assert_eq!(tag_value(&out.tags, "SnapshotDaily"), Some("7"));
        assert_eq!(tag_value(&out.tags, TAG_RUN), Some("2026-11-26T00:00:00Z"));
        assert!(out.dropped.is_empty());
    }

    #[test]
    fn never_more_than_fifty_and_says_what_was_dropped() {
        let k = kw("SnapshotDaily");
        let all = [k.clone()];
        let mut tags: Vec<Tag> = (0..49).map(|i| Tag::new(format!("k{i:02}"), "v")).collect();
        tags.push(Tag::new("Name", "db"));
        tags.push(Tag::new("aws:autoscaling:groupName", "g"));
        let out = snapshot_tags(input(&tags, &k, &all));
        assert_eq!(out.tags.len(), MAX_TAGS);
        assert_eq!(tag_value(&out.tags, "Name"), Some("db"));
        assert_eq!(out.dropped.len(), 50 - 45);
        assert_eq!(out.dropped, ["k44", "k45", "k46", "k47", "k48"]);
    }

    #[test]
    fn the_device_map_keeps_whole_pairs_within_256_characters_and_says_when_cut() {
        let two = devices_value([("vol-0a", "/dev/xvda"), ("vol-0b", "/dev/sdf")]);
        assert_eq!(two, "vol-0a=/dev/xvda vol-0b=/dev/sdf");
        let tags = [Tag::new(TAG_DEVICES, two)];
        assert_eq!(device_of(&tags, "vol-0b"), Some("/dev/sdf"));
        assert_eq!(device_of(&tags, "vol-0"), None, "a prefix of an id is not the id");
        assert_eq!(device_of(&[Tag::new(TAG_DEVICE, "/dev/sdg")], "vol-0c"), Some("/dev/sdg"));
        // Real ids are 21 characters: eight pairs of 31 fit, the ninth does not.
        let ids: Vec<String> = (0..12).map(|i| format!("vol-{i:017x}")).collect();
        let devs: Vec<String> = (0..12).map(|i| format!("/dev/sd{}", (b'f' + i as u8) as char)).collect();
        let cut = devices_value(ids.iter().map(String::as_str).zip(devs.iter().map(String::as_str)));
        assert!(cut.chars().count() <= 256, "{}", cut.len());
        assert!(cut.ends_with(" …"), "{cut}");
        let whole: Vec<&str> = cut.trim_end_matches(" …").split(' ').collect();
        assert_eq!(whole.len(), 8, "{cut}");
        assert!(whole.iter().zip(&ids).all(|(p, id)| p.starts_with(id.as_str())));
        assert_eq!(device_of(&[Tag::new(TAG_DEVICES, cut.clone())], &ids[7]), Some("/dev/sdm"));
    }
}

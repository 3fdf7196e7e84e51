//! What the shell read from EC2, as plain data: the input of [`crate::plan`].

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::Serialize;

use crate::Tag;

/// An EBS volume attached to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// The volume id (`vol-…`).
    pub volume_id: CompactString,
    /// The device name on the instance (`/dev/xvda`).
    pub device: CompactString,
    /// The volume's own `snapcycle:exclude` tag, as written (volume tags are not in
    /// DescribeInstances: the shell reads the few volumes that carry it with DescribeVolumes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
}

/// An instance that carries the run's keyword tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// The instance id (`i-…`).
    pub id: CompactString,
    /// The account that owns it; snapshots of other owners are never touched.
    pub owner_id: CompactString,
    /// EC2's state name (`running`, `stopped`, `terminated`, …).
    pub state: CompactString,
    /// All its tags, as read.
    pub tags: Vec<Tag>,
    /// Its EBS volumes (instance-store devices never appear here).
    pub volumes: Vec<Attachment>,
    /// The device name of its root volume (`RootDeviceName`), for `snapcycle:exclude-root`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_device: Option<CompactString>,
}

/// A snapshot's life-cycle state, as EC2 reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotState {
    /// Still being copied; it does not count towards retention and is never deleted.
    Pending,
    /// Usable; the only state retention counts.
    Completed,
    /// Failed; deleted once enough completed snapshots are newer.
    Error,
    /// Any state this version does not know (EC2 adds some now and then); treated like pending.
    Other,
}

impl SnapshotState {
    /// Maps EC2's state name.
    pub fn from_ec2(s: &str) -> Self {
        match s {
            "pending" => SnapshotState::Pending,
            "completed" => SnapshotState::Completed,
            "error" => SnapshotState::Error,
            _ => SnapshotState::Other,
        }
    }
}

/// A snapshot that may belong to the run's keyword.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// The snapshot id (`snap-…`), inline: a fleet's history is tens of thousands of these.
    pub id: CompactString,
    /// The volume it was taken from.
    pub volume_id: CompactString,
    /// The owning account.
    pub owner_id: CompactString,
    /// Its state.
    pub state: SnapshotState,
    /// When EC2 started it; the primary order of rotation.
    pub start_time: DateTime<Utc>,
    /// Whether it is encrypted: with `--encrypt`, an unencrypted one is copied encrypted and the
    /// copy replaces it (README, "Encryption in place").
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// Its tags: the shell keeps only those the plan reads (`read_by_plan`), three for a
    /// snapshot of a run, held inline (a heap vector each would be a third of the history again).
    #[serde(serialize_with = "tag_slice")]
    pub tags: TagList,
}

/// A snapshot's tags: up to three inline, more on the heap. `vec![…].into()` builds one.
pub type TagList = smallvec::SmallVec<[Tag; 3]>;

fn tag_slice<S: serde::Serializer>(tags: &TagList, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(tags.as_slice(), s)
}

/// The mode of an EBS snapshot lock, named as DescribeLockedSnapshots' `LockState` names it.
/// Every mode forbids DeleteSnapshot; they differ in who may lift the lock, which is not the
/// planner's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockMode {
    /// Governance mode: a user with the permission may unlock it, but nobody may delete it.
    Governance,
    /// Compliance mode past its cool-off period: nobody may unlock or delete it until it expires.
    Compliance,
    /// Compliance mode still within its cool-off period: it may be unlocked, not deleted.
    ComplianceCooloff,
}

impl LockMode {
    /// Maps EC2's `LockState`; `expired` (the snapshot may be deleted again) and any state this
    /// version does not know are not a lock.
    pub fn from_ec2(state: &str) -> Option<LockMode> {
        match state {
            "governance" => Some(LockMode::Governance),
            "compliance" => Some(LockMode::Compliance),
            "compliance-cooloff" => Some(LockMode::ComplianceCooloff),
            _ => None,
        }
    }

    /// EC2's name for the mode, as the report and the dry run print it.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Governance => "governance",
            LockMode::Compliance => "compliance",
            LockMode::ComplianceCooloff => "compliance-cooloff",
        }
    }
}

/// An EBS snapshot lock in force: DeleteSnapshot fails until it expires or is lifted, so the plan
/// keeps the snapshot and reports it instead of failing on it every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Lock {
    /// Which mode holds it.
    pub mode: LockMode,
    /// When it ends (`LockExpiresOn`); `None` for a snapshot locked while pending, whose lock
    /// duration starts only once it completes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
}

impl fmt::Display for Lock {
    /// `locked (governance until 2027-05-05T00:56:06Z)`, or `locked (compliance, no expiry yet)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expires {
            Some(t) => write!(f, "locked ({} until {})", self.mode.as_str(), crate::plan::run_id(t)),
            None => write!(f, "locked ({}, no expiry yet)", self.mode.as_str()),
        }
    }
}

/// Everything a plan is computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Instances tagged with the keyword.
    pub instances: Vec<Instance>,
    /// Snapshots that may belong to the keyword (the planner checks every condition again itself).
    pub snapshots: Vec<Snapshot>,
    /// The account's snapshot locks in force, by snapshot id (empty when they could not be read):
    /// a locked snapshot the plan would delete is kept and reported as a skip instead.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub locks: BTreeMap<CompactString, Lock>,
}

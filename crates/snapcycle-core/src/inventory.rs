//! What the shell read from EC2, as plain data: the input of [`crate::plan`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Tag;

/// An EBS volume attached to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// The volume id (`vol-…`).
    pub volume_id: String,
    /// The device name on the instance (`/dev/xvda`).
    pub device: String,
    /// The volume's own `snapcycle:exclude` tag, as written (volume tags are not in
    /// DescribeInstances: the shell reads the few volumes that carry it with DescribeVolumes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
}

/// An instance that carries the run's keyword tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// The instance id (`i-…`).
    pub id: String,
    /// The account that owns it; snapshots of other owners are never touched.
    pub owner_id: String,
    /// EC2's state name (`running`, `stopped`, `terminated`, …).
    pub state: String,
    /// All its tags, as read.
    pub tags: Vec<Tag>,
    /// Its EBS volumes (instance-store devices never appear here).
    pub volumes: Vec<Attachment>,
    /// The device name of its root volume (`RootDeviceName`), for `snapcycle:exclude-root`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_device: Option<String>,
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
    /// The snapshot id (`snap-…`).
    pub id: String,
    /// The volume it was taken from.
    pub volume_id: String,
    /// The owning account.
    pub owner_id: String,
    /// Its state.
    pub state: SnapshotState,
    /// When EC2 started it; the primary order of rotation.
    pub start_time: DateTime<Utc>,
    /// All its tags.
    pub tags: Vec<Tag>,
}

/// Everything a plan is computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Instances tagged with the keyword.
    pub instances: Vec<Instance>,
    /// Snapshots that may belong to the keyword (the planner checks every condition again itself).
    pub snapshots: Vec<Snapshot>,
}

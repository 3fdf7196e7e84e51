//! The plan: what a run creates, deletes and leaves alone, and why. A pure function of the
//! inventory and the policy, so a dry run and a real run decide exactly alike.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::exclude::{Exclusion, ExclusionError, TAG_EXCLUDE, TAG_EXCLUDE_ROOT};
use crate::orphan::{plan_orphans, OrphanExpiry, OrphanPlan};
use crate::policy::{Candidate, PolicyError, RetentionPolicy};
use crate::tags::{devices_value, snapshot_tags, tag_value, SnapshotTags, TagInput, TAG_KEYWORD, TAG_RUN};
use crate::{CompactString, Instance, Inventory, Keyword, Snapshot, SnapshotState};

/// The decisions a run is asked to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The keyword of this run.
    pub keyword: Keyword,
    /// Every keyword of the stack (tags of other schedules are not copied).
    pub all_keywords: Vec<Keyword>,
    /// The run's scheduled time: its identity for retries.
    pub scheduled_time: DateTime<Utc>,
    /// The Lambda request id of a run whose event had no scheduled time, written as
    /// `snapcycle:request` so that Lambda's retries of that event (same request id) find the
    /// run's identity again instead of taking a second set.
    pub request: Option<String>,
    /// The stack's time zone: where a policy's days, weeks, months and years begin.
    pub time_zone: Tz,
    /// The time of the run (read by the shell): a snapshot whose run tag lies after it counts as
    /// taken now, so one mis-dated snapshot cannot move a `within` window past the real ones.
    pub now: DateTime<Utc>,
    /// Say, for every snapshot kept or deleted, which term kept it or why it goes (dry runs):
    /// a real run at fleet scale does not carry those words around.
    pub explain: bool,
    /// Delete orphans' snapshots older than this (`SNAPCYCLE_ORPHANS_EXPIRE_AFTER`); `None`, the
    /// default, leaves every orphan alone.
    pub orphans_expire_after: Option<OrphanExpiry>,
}

impl Policy {
    /// The run's identity as written in the `snapcycle:run` tag.
    pub fn run_id(&self) -> String {
        run_id(self.scheduled_time)
    }
}

/// Formats a scheduled time the one way the `snapcycle:run` tag holds it (RFC 3339, UTC, seconds).
pub fn run_id(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The whole plan of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The keyword.
    pub keyword: Keyword,
    /// The run's scheduled time, as the request gave it.
    pub scheduled_time: DateTime<Utc>,
    /// The run id (`snapcycle:run`): `scheduled_time` as the tag holds it.
    pub run: String,
    /// One entry per instance tagged with the keyword, in id order.
    pub instances: Vec<InstancePlan>,
    /// The keyword's snapshots of volumes no tagged instance has, per volume in id order: only
    /// with an orphan expiry or when explaining (a dry run lists them apart from rotation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orphans: Vec<OrphanPlan>,
}

/// What happens to one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstancePlan {
    /// The instance id.
    pub instance_id: CompactString,
    /// Its `Name` tag, for people.
    pub name: Option<String>,
    /// Why the instance is left alone entirely, if it is.
    pub problem: Option<InstanceProblem>,
    /// One entry per EBS volume (empty when there is a problem).
    pub volumes: Vec<VolumePlan>,
    /// The crash-consistent set this run takes of the instance: every volume whose `create` is
    /// [`Create::New`], in one CreateSnapshots call. `None` when no volume needs a snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<SnapshotSet>,
}

impl SnapshotSet {
    /// Moves a volume of the set to the left-out ones: this run's snapshot of it exists (a
    /// retry, or a first call whose answer was lost), so the call that completes the set must
    /// not take a second one.
    pub fn leave_out(&mut self, volume_id: &str) {
        let Some(at) = self.volumes.iter().position(|v| v == volume_id) else { return };
        let v = self.volumes.remove(at);
        if self.root_volume.as_deref() == Some(volume_id) {
            self.exclude_boot = true;
        } else {
            self.exclude_data.push(v);
        }
    }

    /// The tags to set at creation, the same on every snapshot of the set: made from the
    /// instance when the set is taken, so a plan of a fleet holds no copy of every instance's
    /// tags (megabytes at 10,000 volumes). `inst` is the instance the set was planned from;
    /// `snapcycle:devices` names the planned volumes, also when a retry completes only part.
    pub fn tags(&self, policy: &Policy, inst: &Instance) -> SnapshotTags {
        let device =
            |v: &CompactString| inst.volumes.iter().find(|a| a.volume_id == *v).map_or("", |a| a.device.as_str());
        let devices = devices_value(self.volumes.iter().map(|v| (v.as_str(), device(v))));
        snapshot_tags(TagInput {
            instance_tags: &inst.tags,
            keyword: &policy.keyword,
            all_keywords: &policy.all_keywords,
            retention: &self.retention,
            instance_id: &inst.id,
            devices: &devices,
            run: &policy.run_id(),
            request: policy.request.as_deref(),
        })
    }
}

/// One CreateSnapshots call: EC2 snapshots the instance's attached volumes at one instant, minus
/// the ones excluded here, and sets the same description and tags on every snapshot of the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotSet {
    /// The volumes the set takes (those whose `create` is `New`), in the instance's order.
    pub volumes: Vec<CompactString>,
    /// Leave the root volume out (`ExcludeBootVolume`): it is attached but not in the set.
    pub exclude_boot: bool,
    /// Attached data volumes left out (`ExcludeDataVolumeIds`): taken already by this run,
    /// covered by another instance, held or excluded.
    pub exclude_data: Vec<CompactString>,
    /// The instance's root volume, when it is an attached EBS volume: EC2 leaves it out only
    /// by `exclude_boot`, and refuses it among `exclude_data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<CompactString>,
    /// `snapcycle K <name or id> (<instance>, N volumes)`.
    pub description: String,
    /// The keyword tag's value the set carries: the retention that decides its volumes, as
    /// [`RetentionPolicy`] writes it (on a multi-attach volume, the deciding instance's).
    pub retention: CompactString,
}

/// Why an instance is left alone. Bad input is a failure a person must see; the rest are skips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum InstanceProblem {
    /// The keyword tag's value is not a retention: nothing of the instance is created or deleted.
    #[error("tag {keyword}: {error}")]
    BadRetention {
        /// The keyword tag.
        keyword: String,
        /// What is wrong with its value (boxed: a plan holds one problem slot per instance).
        #[serde(serialize_with = "serialize_display")]
        error: Box<PolicyError>,
    },
    /// The instance's `snapcycle:exclude-root` tag cannot be read: nothing of the instance is
    /// created or deleted, as for a bad retention.
    #[error("tag {TAG_EXCLUDE_ROOT}: {0}")]
    BadExclusion(#[serde(serialize_with = "serialize_display")] Box<ExclusionError>),
    /// The instance has no EBS volume (instance-store only, or none attached).
    #[error("the instance has no EBS volumes")]
    NoVolumes,
    /// The instance is going away; its snapshots are kept as they are.
    #[error("the instance is {0}")]
    Gone(String),
}

fn serialize_display<S: serde::Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl InstanceProblem {
    /// Bad input is reported as a failure (it reaches a person by e-mail); the rest are skips.
    pub fn is_failure(&self) -> bool {
        self.code().is_some()
    }

    /// The failure's code in the report and the e-mail; `None` for a skip.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            InstanceProblem::BadRetention { .. } => Some("InvalidRetention"),
            InstanceProblem::BadExclusion(_) => Some("InvalidExclusion"),
            InstanceProblem::NoVolumes | InstanceProblem::Gone(_) => None,
        }
    }
}

/// What happens to one volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumePlan {
    /// The volume id.
    pub volume_id: CompactString,
    /// Its device name.
    pub device: CompactString,
    /// The retention that applies (a count or a policy; on a multi-attach volume decided by a
    /// policy, the deciding instance's, and every attached instance's policy keeps what it keeps).
    pub retention: RetentionPolicy,
    /// Whether to take a snapshot.
    pub create: Create,
    /// Snapshots to delete, oldest first (extra snapshots of this same run come first: a
    /// retried CreateSnapshot whose first answer was lost can leave two).
    pub delete: Vec<CompactString>,
    /// How many of `delete`'s first entries are those extra snapshots of this run: what the
    /// runner removes after creating, when it reads this run's snapshots again.
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicates: usize,
    /// Snapshots of the keyword that stay, newest first.
    pub keep: Vec<CompactString>,
    /// Why each snapshot of `keep` and `delete` stays or goes (only when the policy asks to
    /// explain, as a dry run does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// Snapshots the decision would delete that an EBS snapshot lock keeps (they are in `keep`),
    /// with the lock in words: DeleteSnapshot would fail on them, so the run reports skips.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locked: Vec<Reason>,
}

/// Why one snapshot stays or goes, in words (`keep: daily 2026-11-30`, `delete: beyond weekly=4`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The snapshot.
    pub snapshot_id: CompactString,
    /// The policy's verdict on it.
    pub reason: String,
}

/// The creation decision for a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Create {
    /// Take a snapshot, as part of the instance's [`SnapshotSet`].
    New,
    /// This run already snapshotted the volume (a retry or a duplicate delivery).
    AlreadyDone {
        /// The existing snapshot of this run.
        snapshot_id: CompactString,
    },
    /// The volume is also attached to another tagged instance whose retention is larger (or equal
    /// with a lower id): that instance's plan snapshots and rotates it (multi-attach).
    Covered {
        /// The instance whose plan covers it.
        by_instance: String,
    },
    /// The volume is shared with a tagged instance whose retention (or exclude-root tag) is
    /// invalid: nobody can say how many to keep, so nothing of the volume is created or deleted.
    Held {
        /// The instance with the invalid retention or exclusion.
        by_instance: String,
    },
    /// An exclusion tag names this keyword: no snapshot is taken, and the volume's existing
    /// snapshots of the keyword (listed in `keep`) are left alone.
    Excluded {
        /// `snapcycle:exclude` (the volume's tag) or `snapcycle:exclude-root` (the instance's).
        tag: String,
        /// The tag's value.
        value: String,
    },
    /// The volume's `snapcycle:exclude` tag cannot be read: nothing of the volume is created or
    /// deleted, and the run reports it as a failure.
    BadExclusion {
        /// What is wrong with the value (boxed: rare, and every volume's plan holds a `Create`).
        #[serde(serialize_with = "serialize_display")]
        error: Box<ExclusionError>,
    },
}

/// Longest snapshot description EC2 accepts (CreateSnapshot's `Description`: "up to 255
/// characters"; CreateSnapshots sets the same one on every snapshot of a set).
pub const MAX_DESCRIPTION: usize = 255;

/// `snapcycle K <name or id> (<instance>, N volumes)`, always within [`MAX_DESCRIPTION`]: a long
/// `Name` is shortened with `…` rather than making CreateSnapshots fail on every run.
pub fn description(keyword: &Keyword, label: &str, instance_id: &str, volumes: usize) -> String {
    let what = if volumes == 1 { "1 volume".to_owned() } else { format!("{volumes} volumes") };
    let detail = format!("({instance_id}, {what})");
    let fixed = format!("snapcycle {keyword}  {detail}");
    let room = MAX_DESCRIPTION.saturating_sub(fixed.chars().count());
    let label: String = if label.chars().count() <= room {
        label.to_owned()
    } else {
        let mut l: String = label.chars().take(room.saturating_sub(1)).collect();
        l.push('…');
        l
    };
    let full = format!("snapcycle {keyword} {label} {detail}");
    full.chars().take(MAX_DESCRIPTION).collect()
}

/// Does this snapshot belong to the keyword's rotation? README, "How it decides", conditions (a)-(c) of what a run may delete; (d) holds because
/// only volumes of instances tagged now are looked at.
pub fn belongs_to(snapshot: &Snapshot, keyword: &Keyword, owner_id: &str) -> bool {
    snapshot.owner_id == owner_id
        && tag_value(&snapshot.tags, keyword.as_str()).is_some()
        && tag_value(&snapshot.tags, TAG_KEYWORD) == Some(keyword.as_str())
}

/// Whether a plan of `snapshots` could find duplicates of `run` (the `delete[..duplicates]` a
/// retried creation leaves): only where one volume holds two of the run's snapshots not in
/// error. The runner's second plan after creating is needed only then; at fleet scale it is a
/// second plan of every volume in memory for nothing.
pub fn may_have_duplicates(snapshots: &[Snapshot], run: &str) -> bool {
    let mut seen = HashSet::new();
    snapshots
        .iter()
        .filter(|s| s.state != SnapshotState::Error && tag_value(&s.tags, TAG_RUN) == Some(run))
        .filter_map(crate::copy::rotation_volume)
        .any(|volume| !seen.insert(volume))
}

/// The inventory's snapshots by the volume rotation counts them under
/// ([`crate::copy::rotation_volume`]; copies from other regions are left out), each volume's in
/// the inventory's order. One sorted vector of references rather than a map of vectors: at
/// 10,000 volumes it is a third of the memory, held while the whole plan is built.
pub(crate) struct ByVolume<'a> {
    sorted: Vec<&'a Snapshot>,
}

impl<'a> ByVolume<'a> {
    fn new(snapshots: &'a [Snapshot]) -> Self {
        let mut sorted: Vec<&Snapshot> =
            snapshots.iter().filter(|s| crate::copy::rotation_volume(s).is_some()).collect();
        // Stable: within a volume, the inventory's order stays, as it did in a map of vectors.
        sorted.sort_by(|a, b| crate::copy::rotation_volume(a).cmp(&crate::copy::rotation_volume(b)));
        ByVolume { sorted }
    }

    /// The snapshots of `volume` (none when it has none).
    pub(crate) fn get(&self, volume: &str) -> &[&'a Snapshot] {
        let key = |s: &&'a Snapshot| crate::copy::rotation_volume(s).unwrap_or_default();
        let start = self.sorted.partition_point(|s| key(s) < volume);
        let end = start + self.sorted[start..].partition_point(|s| key(s) == volume);
        &self.sorted[start..end]
    }

    /// Every volume that has a snapshot, each once, in id order.
    pub(crate) fn volumes(&self) -> impl Iterator<Item = &'a str> + '_ {
        let mut last = None;
        self.sorted
            .iter()
            .filter_map(|s: &&'a Snapshot| crate::copy::rotation_volume(s))
            .filter(move |v| last.replace(*v) != Some(*v))
    }
}

/// Computes the plan. Snapshots this run is about to create are not in the inventory yet, so they
/// count as pending, which is what they are on EC2 when rotation runs. Calling it again with the
/// created snapshots added gives the final rotation with no creations left.
pub fn plan(policy: &Policy, inventory: &Inventory) -> Plan {
    let run = policy.run_id();
    let by_volume = ByVolume::new(&inventory.snapshots);
    let mut instances: Vec<&Instance> = inventory.instances.iter().collect();
    instances.sort_by(|a, b| a.id.cmp(&b.id));
    instances.dedup_by(|a, b| a.id == b.id);

    let owners = volume_owners(policy, &instances);
    let mut out = Vec::with_capacity(instances.len());
    for inst in instances {
        out.push(plan_instance(policy, &run, inst, &by_volume, &owners));
    }
    let mut orphans = plan_orphans(policy, inventory, &by_volume);
    if !inventory.locks.is_empty() {
        spare_locked(inventory, policy.explain, &mut out, &mut orphans);
    }
    Plan { keyword: policy.keyword.clone(), scheduled_time: policy.scheduled_time, run, instances: out, orphans }
}

/// Keeps every snapshot the plan would delete that an EBS snapshot lock holds (README, "Locked
/// snapshots"): DeleteSnapshot fails on it until the lock ends, so it stays, listed in `locked`
/// with the lock in words for the report, and explained as `keep: locked (…)`. Decided after
/// everything else, so a lock changes no other decision: nothing else is deleted in its place.
fn spare_locked(inventory: &Inventory, explain: bool, instances: &mut [InstancePlan], orphans: &mut [OrphanPlan]) {
    let by_id: HashMap<&str, &Snapshot> = inventory.snapshots.iter().map(|s| (s.id.as_str(), s)).collect();
    let spare = |delete: &mut Vec<CompactString>,
                 keep: &mut Vec<CompactString>,
                 reasons: &mut Vec<Reason>,
                 locked: &mut Vec<Reason>,
                 duplicates: &mut usize| {
        if !delete.iter().any(|id| inventory.locks.contains_key(id)) {
            return;
        }
        let mut spared_duplicates = 0;
        for (i, id) in std::mem::take(delete).into_iter().enumerate() {
            let Some(lock) = inventory.locks.get(&id) else {
                delete.push(id);
                continue;
            };
            if i < *duplicates {
                spared_duplicates += 1;
            }
            if explain {
                for r in reasons.iter_mut().filter(|r| r.snapshot_id == id) {
                    r.reason = format!("keep: {lock}");
                }
            }
            locked.push(Reason { snapshot_id: id.clone(), reason: lock.to_string() });
            keep.push(id);
        }
        *duplicates = duplicates.saturating_sub(spared_duplicates);
        // `keep` stays newest first, as rotation and orphan expiry list it (every id is the
        // inventory's; one that were not would go last, so the order stays total).
        keep.sort_by(|a, b| match (by_id.get(a.as_str()), by_id.get(b.as_str())) {
            (Some(x), Some(y)) => newest_first(x, y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(b),
        });
    };
    for v in instances.iter_mut().flat_map(|i| i.volumes.iter_mut()) {
        spare(&mut v.delete, &mut v.keep, &mut v.reasons, &mut v.locked, &mut v.duplicates);
    }
    for o in orphans.iter_mut() {
        spare(&mut o.delete, &mut o.keep, &mut o.reasons, &mut o.locked, &mut 0);
    }
}

/// Who decides a volume attached to several tagged instances (io1/io2 multi-attach): keeping more
/// is the safe mistake, so among plain counts the largest wins (ties: the lowest instance id), and
/// once a policy is among them the instance deciding so far goes on deciding and every attached
/// instance's policy keeps what it keeps (the union). If any of them has an invalid retention (or exclude-root tag), the
/// volume is held: nothing of it is created or deleted.
#[derive(Debug, Clone)]
enum Owner<'a> {
    Decides(&'a str, Vec<RetentionPolicy>),
    Held(&'a str),
}

/// Who decides each volume that two or more instances have (multi-attach). A volume only one
/// instance has is decided by that instance, so it gets no entry: at fleet scale the map would
/// otherwise hold every volume.
fn volume_owners<'a>(policy: &Policy, instances: &[&'a Instance]) -> HashMap<&'a str, Owner<'a>> {
    let live = || instances.iter().filter(|i| !matches!(i.state.as_str(), "shutting-down" | "terminated"));
    let mut attached: Vec<&str> = live().flat_map(|i| i.volumes.iter().map(|a| a.volume_id.as_str())).collect();
    attached.sort_unstable();
    let shared: HashSet<&str> = attached.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    drop(attached);
    let mut owners: HashMap<&str, Owner<'_>> = HashMap::new();
    if shared.is_empty() {
        return owners;
    }
    for inst in live() {
        if !inst.volumes.iter().any(|a| shared.contains(a.volume_id.as_str())) {
            continue;
        }
        let parsed = RetentionPolicy::parse(tag_value(&inst.tags, policy.keyword.as_str()).unwrap_or(""));
        // An unreadable exclude-root tag holds the instance like an invalid retention.
        let readable = tag_value(&inst.tags, TAG_EXCLUDE_ROOT).is_none_or(|v| Exclusion::parse(v).is_ok());
        for att in inst.volumes.iter().filter(|a| shared.contains(a.volume_id.as_str())) {
            let mine = match &parsed {
                Ok(r) if readable => Owner::Decides(inst.id.as_str(), vec![r.clone()]),
                _ => Owner::Held(inst.id.as_str()),
            };
            let next = match (owners.remove(att.volume_id.as_str()), mine) {
                (None, m) => m,
                (Some(Owner::Held(h)), _) => Owner::Held(h),
                (Some(_), Owner::Held(h)) => Owner::Held(h),
                (Some(Owner::Decides(a, mut ra)), Owner::Decides(b, rb)) => {
                    // Instances come in id order, so on a tie the earlier one stays.
                    match (ra.as_slice(), rb[0].as_count()) {
                        ([one], Some(nb)) if one.as_count().is_some() => {
                            if one.as_count().is_some_and(|na| nb > na) {
                                Owner::Decides(b, rb)
                            } else {
                                Owner::Decides(a, ra)
                            }
                        }
                        _ => {
                            if !ra.contains(&rb[0]) {
                                ra.extend(rb);
                            }
                            Owner::Decides(a, ra)
                        }
                    }
                }
            };
            owners.insert(att.volume_id.as_str(), next);
        }
    }
    owners
}

fn plan_instance<'a>(
    policy: &Policy,
    run: &str,
    inst: &'a Instance,
    by_volume: &ByVolume<'_>,
    owners: &HashMap<&'a str, Owner<'a>>,
) -> InstancePlan {
    let name = tag_value(&inst.tags, "Name").map(str::to_owned);
    // Sized once: at fleet scale a vector grown by pushes holds room for four volumes where two are used.
    let volumes = Vec::with_capacity(inst.volumes.len());
    let mut ip = InstancePlan { instance_id: inst.id.clone(), name, problem: None, volumes, set: None };
    let keyword = &policy.keyword;
    let raw = tag_value(&inst.tags, keyword.as_str()).unwrap_or("");
    let retention = match RetentionPolicy::parse(raw) {
        Ok(r) => r,
        Err(error) => {
            ip.problem = Some(InstanceProblem::BadRetention { keyword: keyword.to_string(), error: Box::new(error) });
            return ip;
        }
    };
    if matches!(inst.state.as_str(), "shutting-down" | "terminated") {
        ip.problem = Some(InstanceProblem::Gone(inst.state.to_string()));
        return ip;
    }
    let root_excluded = match tag_value(&inst.tags, TAG_EXCLUDE_ROOT).map(Exclusion::parse) {
        None => None,
        Some(Ok(e)) => e.applies_to(keyword).then(|| e.to_string()),
        Some(Err(e)) => {
            ip.problem = Some(InstanceProblem::BadExclusion(Box::new(e)));
            return ip;
        }
    };
    if inst.volumes.is_empty() {
        ip.problem = Some(InstanceProblem::NoVolumes);
        return ip;
    }
    let label = ip.name.clone().unwrap_or_else(|| inst.id.to_string());
    for att in &inst.volumes {
        let mine: Vec<&Snapshot> = by_volume
            .get(att.volume_id.as_str())
            .iter()
            .copied()
            .filter(|s| belongs_to(s, keyword, &inst.owner_id))
            .collect();
        // With `--encrypt`, a completed encrypted copy stands in for its original from here on.
        let (mut mine, replaced) = crate::copy::replace_originals(mine);
        // This run's own snapshots: one stays (the oldest completed, else the oldest), and only
        // completed extras are removed: a pending snapshot is never deleted, a duplicate or not.
        let mut this_run: Vec<&Snapshot> = mine
            .iter()
            .copied()
            .filter(|s| tag_value(&s.tags, TAG_RUN) == Some(run) && s.state != SnapshotState::Error)
            .collect();
        // Oldest first in rotation's order: an encrypted copy by its original's run, so a
        // completed copy comes before its run's unencrypted duplicates and is the one kept.
        this_run.sort_by(|a, b| (order_time(a), &a.id).cmp(&(order_time(b), &b.id)));
        let keeper = this_run.iter().find(|s| s.state == SnapshotState::Completed).or(this_run.first()).copied();
        let duplicates: Vec<CompactString> = this_run
            .iter()
            .filter(|s| s.state == SnapshotState::Completed && Some(s.id.as_str()) != keeper.map(|k| k.id.as_str()))
            .map(|s| s.id.clone())
            .collect();
        mine.retain(|s| !duplicates.contains(&s.id));
        if let Some(create) = exclusion(att, inst, root_excluded.as_deref(), keyword) {
            // Left alone: nothing taken, nothing deleted, not even this run's duplicates.
            let mut all: Vec<&Snapshot> = by_volume
                .get(att.volume_id.as_str())
                .iter()
                .copied()
                .filter(|s| belongs_to(s, keyword, &inst.owner_id))
                .collect();
            all.sort_by(newest_first);
            let reasons = match &create {
                Create::Excluded { tag, value } if policy.explain => all
                    .iter()
                    .map(|s| Reason { snapshot_id: s.id.clone(), reason: format!("keep: excluded by {tag} = {value}") })
                    .collect(),
                _ if policy.explain => all
                    .iter()
                    .map(|s| Reason {
                        snapshot_id: s.id.clone(),
                        reason: "keep: the volume's exclusion is unreadable".into(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            ip.volumes.push(VolumePlan {
                volume_id: att.volume_id.clone(),
                device: att.device.clone(),
                retention: retention.clone(),
                create,
                delete: Vec::new(),
                duplicates: 0,
                keep: all.into_iter().map(|s| s.id.clone()).collect(),
                reasons,
                locked: Vec::new(),
            });
            continue;
        }
        let own = std::slice::from_ref(&retention);
        let (create, policies) = match owners.get(att.volume_id.as_str()) {
            Some(Owner::Held(by)) => (Create::Held { by_instance: (*by).to_owned() }, &[][..]),
            Some(Owner::Decides(by, _)) if *by != inst.id => {
                (Create::Covered { by_instance: (*by).to_owned() }, &[][..])
            }
            Some(Owner::Decides(_, rs)) => (new_or_done(keeper), rs.as_slice()),
            // Only this instance has the volume: its own retention decides.
            None => (new_or_done(keeper), own),
        };
        let shown = policies.first().unwrap_or(&retention).clone();
        // This run's own snapshots count from the next run: deciding without them, every
        // invocation of a run deletes what its first plan (and a dry run) said, wherever its
        // hand-overs fall and however soon EC2 completes them (README, "How it decides", step 5).
        let (ours, counted): (Vec<&Snapshot>, Vec<&Snapshot>) =
            mine.iter().copied().partition(|s| tag_value(&s.tags, TAG_RUN) == Some(run));
        let (keep, delete, dups, mut reasons) = if policies.is_empty() {
            (Vec::new(), Vec::new(), 0, Vec::new())
        } else {
            let (mut keep, rotated, mut reasons) = rotate(&counted, policies, policy);
            keep.splice(0..0, ours.iter().map(|s| s.id.clone()));
            if policy.explain {
                reasons.extend(ours.iter().map(|s| Reason {
                    snapshot_id: s.id.clone(),
                    reason: "keep: this run's snapshot (it counts from the next run)".into(),
                }));
            }
            let replaced = replaced.iter().map(|s| s.id.clone());
            (keep, duplicates.iter().cloned().chain(replaced).chain(rotated).collect(), duplicates.len(), reasons)
        };
        if policy.explain {
            for d in &duplicates {
                reasons.push(Reason { snapshot_id: d.clone(), reason: "delete: a second snapshot of this run".into() });
            }
            if !policies.is_empty() {
                reasons.extend(
                    replaced
                        .iter()
                        .map(|s| Reason { snapshot_id: s.id.clone(), reason: crate::copy::replaced_reason(s).into() }),
                );
            }
        }
        ip.volumes.push(VolumePlan {
            volume_id: att.volume_id.clone(),
            device: att.device.clone(),
            retention: shown,
            create,
            delete,
            duplicates: dups,
            keep,
            reasons,
            locked: Vec::new(),
        });
    }
    ip.set = snapshot_set(policy, inst, &label, &retention, &ip.volumes);
    ip
}

/// The instance's crash-consistent set: its `New` volumes in one call, every other attached
/// volume left out (the root by `ExcludeBootVolume`, EC2 refuses it among the data volumes).
/// On a multi-attach volume this instance decides, `retention` is the deciding one, so the tags
/// ([`SnapshotSet::tags`]) say what the volume's own plan says.
fn snapshot_set(
    policy: &Policy,
    inst: &Instance,
    label: &str,
    retention: &RetentionPolicy,
    volumes: &[VolumePlan],
) -> Option<SnapshotSet> {
    let (taken, left): (Vec<&VolumePlan>, Vec<&VolumePlan>) =
        volumes.iter().partition(|v| matches!(v.create, Create::New));
    if taken.is_empty() {
        return None;
    }
    let is_root = |v: &VolumePlan| inst.root_device.as_deref() == Some(v.device.as_str());
    Some(SnapshotSet {
        root_volume: volumes.iter().find(|v| is_root(v)).map(|v| v.volume_id.clone()),
        volumes: taken.iter().map(|v| v.volume_id.clone()).collect(),
        exclude_boot: left.iter().any(|v| is_root(v)),
        exclude_data: left.iter().filter(|v| !is_root(v)).map(|v| v.volume_id.clone()).collect(),
        description: description(&policy.keyword, label, &inst.id, taken.len()),
        retention: compact_str::ToCompactString::to_compact_string(retention),
    })
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Whether an exclusion tag keeps the run away from this volume: the volume's own
/// `snapcycle:exclude` (read or not), or the instance's `snapcycle:exclude-root` on its root device.
fn exclusion(
    att: &crate::Attachment,
    inst: &Instance,
    root_excluded: Option<&str>,
    keyword: &Keyword,
) -> Option<Create> {
    if let Some(raw) = att.exclude.as_deref() {
        match Exclusion::parse(raw) {
            Ok(e) if e.applies_to(keyword) => {
                return Some(Create::Excluded { tag: TAG_EXCLUDE.into(), value: e.to_string() });
            }
            Ok(_) => {}
            Err(error) => return Some(Create::BadExclusion { error: Box::new(error) }),
        }
    }
    match (root_excluded, inst.root_device.as_deref()) {
        (Some(value), Some(root)) if root == att.device => {
            Some(Create::Excluded { tag: TAG_EXCLUDE_ROOT.into(), value: value.to_owned() })
        }
        _ => None,
    }
}

fn new_or_done(keeper: Option<&Snapshot>) -> Create {
    match keeper {
        Some(done) => Create::AlreadyDone { snapshot_id: done.id.clone() },
        None => Create::New,
    }
}

/// Rotation order: newest first by start time, ties by the run tag, then by id for stability. An
/// encrypted copy in place is ordered by its source's run: EC2 starts the copy only once the
/// source has completed, and a late one must not pass newer snapshots.
pub(crate) fn newest_first(a: &&Snapshot, b: &&Snapshot) -> std::cmp::Ordering {
    let key = |s: &Snapshot| (order_time(s), tag_value(&s.tags, TAG_RUN).map(str::to_owned), s.id.clone());
    key(b).cmp(&key(a))
}

/// A snapshot's place in rotation's order: its start time, or for an encrypted copy in place its
/// original's run (the copy starts only once the original has completed).
pub(crate) fn order_time(s: &Snapshot) -> DateTime<Utc> {
    if crate::copy::is_copy_in_place(s) {
        tag_value(&s.tags, TAG_RUN)
            .and_then(|r| DateTime::parse_from_rfc3339(r).ok())
            .map_or(s.start_time, |t| t.with_timezone(&Utc))
    } else {
        s.start_time
    }
}

/// A snapshot's time for a policy's buckets: its scheduled run (`snapcycle:run`), so that the day
/// a delayed retry ran does not move it to another day; the start time when it has no run tag.
/// Never later than `now` (restic likewise ignores snapshots from the future): a run tag written
/// by hand far ahead would otherwise put every real snapshot outside a `within` window.
pub(crate) fn run_time(s: &Snapshot, now: DateTime<Utc>) -> DateTime<Utc> {
    tag_value(&s.tags, TAG_RUN)
        .and_then(|r| DateTime::parse_from_rfc3339(r).ok())
        .map_or(s.start_time, |t| t.with_timezone(&Utc))
        .min(now)
}

/// Applies the policies (one, or every attached instance's on a multi-attach volume) to the
/// volume's snapshots in rotation order: a snapshot stays when any policy keeps it. A plain count
/// N keeps the newest N completed snapshots and everything newer than the oldest of them, and
/// deletes completed and failed snapshots older than that; pending ones are never deleted.
/// Returns what stays (newest first), what goes (oldest first) and, with `explain`, why.
pub(crate) fn rotate(
    mine: &[&Snapshot],
    policies: &[RetentionPolicy],
    policy: &Policy,
) -> (Vec<CompactString>, Vec<CompactString>, Vec<Reason>) {
    let (tz, explain, now) = (policy.time_zone, policy.explain, policy.now);
    let mut sorted: Vec<&Snapshot> = mine.to_vec();
    sorted.sort_by(newest_first);
    let candidates: Vec<Candidate<'_>> =
        sorted.iter().map(|s| Candidate { id: &s.id, time: run_time(s, now), state: s.state }).collect();
    let decisions: Vec<_> = policies.iter().map(|p| p.thin(&candidates, tz)).collect();
    let mut keep = Vec::new();
    let mut delete = Vec::new();
    let mut reasons = Vec::new();
    for (i, s) in sorted.iter().enumerate() {
        let keeping = decisions.iter().find(|d| d[i].verdict.is_keep());
        let verdict = &keeping.unwrap_or(&decisions[0])[i].verdict;
        if keeping.is_some() {
            keep.push(s.id.clone());
        } else {
            delete.push(s.id.clone());
        }
        if explain {
            reasons.push(Reason { snapshot_id: s.id.clone(), reason: verdict.to_string() });
        }
    }
    delete.reverse();
    (keep, delete, reasons)
}

impl Plan {
    /// Number of instances planned.
    pub fn instance_count(&self) -> usize {
        self.instances.len()
    }

    /// Number of volumes planned.
    pub fn volume_count(&self) -> usize {
        self.instances.iter().map(|i| i.volumes.len()).sum()
    }

    /// Every volume with the instance it belongs to.
    pub fn volumes(&self) -> impl Iterator<Item = (&InstancePlan, &VolumePlan)> {
        self.instances.iter().flat_map(|i| i.volumes.iter().map(move |v| (i, v)))
    }

    /// Snapshot id → volume, for reports about deletions.
    pub fn deletions(&self) -> BTreeMap<&str, (&InstancePlan, &VolumePlan)> {
        let mut out = BTreeMap::new();
        for (i, v) in self.volumes() {
            for d in &v.delete {
                out.insert(d.as_str(), (i, v));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attachment, Tag};
    use chrono::TimeZone;

    /// The daily run at `t`, UTC, as a scheduled run plans it.
    fn daily_at(t: DateTime<Utc>) -> Policy {
        let k = Keyword::new("SnapshotDaily").unwrap();
        Policy {
            keyword: k.clone(),
            all_keywords: vec![k],
            scheduled_time: t,
            request: None,
            time_zone: Tz::UTC,
            now: t,
            explain: false,
            orphans_expire_after: None,
        }
    }

    /// `i-1` tagged `SnapshotDaily = retention`, with the one volume `vol-1`.
    fn one_volume_instance(retention: &str) -> Instance {
        Instance {
            id: "i-1".into(),
            owner_id: "1".into(),
            state: "running".into(),
            tags: vec![Tag::new("SnapshotDaily", retention)],
            volumes: vec![Attachment { volume_id: "vol-1".into(), device: "/dev/xvda".into(), exclude: None }],
            root_device: None,
        }
    }

    /// A completed daily snapshot of `vol-1` started at `start`, of the run `run`.
    fn daily_snapshot(id: &str, start: DateTime<Utc>, run: &str) -> Snapshot {
        Snapshot {
            encrypted: false,
            id: id.into(),
            volume_id: "vol-1".into(),
            owner_id: "1".into(),
            state: SnapshotState::Completed,
            start_time: start,
            tags: vec![Tag::new("SnapshotDaily", "2"), Tag::new(TAG_KEYWORD, "SnapshotDaily"), Tag::new(TAG_RUN, run)]
                .into(),
        }
    }

    /// `vol-1` of an instance with `retention`: yesterday's `snap-old`, and two completed
    /// snapshots of the run at `t`, `snap-a` then `snap-b` (a retried creation's duplicate).
    fn duplicated_run(t: DateTime<Utc>, retention: &str) -> Inventory {
        let snap = |id: &str, secs: i64, run: &str| daily_snapshot(id, t + chrono::Duration::seconds(secs), run);
        Inventory {
            instances: vec![one_volume_instance(retention)],
            snapshots: vec![
                snap("snap-old", -86_400, "2026-11-25T00:00:00Z"),
                snap("snap-a", 1, "2026-11-26T00:00:00Z"),
                snap("snap-b", 2, "2026-11-26T00:00:00Z"),
            ],
            ..Inventory::default()
        }
    }

    #[test]
    fn a_duplicate_of_this_run_is_deleted_and_the_oldest_kept() {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let p = plan(&daily_at(t), &duplicated_run(t, "2"));
        let v = &p.instances[0].volumes[0];
        assert_eq!(v.create, Create::AlreadyDone { snapshot_id: "snap-a".into() });
        assert_eq!(v.delete, ["snap-b"], "the duplicate goes; retention 2 keeps snap-a and snap-old");
        assert_eq!(v.keep, ["snap-a", "snap-old"]);
    }

    /// An encrypted copy in place of `source` (README, "Encryption in place"), of the run `run`,
    /// started at `start`, in `state`; `region` set makes it a copy from another region instead.
    fn encrypted_copy(id: &str, source: &str, run: &str, start: DateTime<Utc>, state: SnapshotState) -> Snapshot {
        use crate::copy::{TAG_SOURCE_SNAPSHOT, TAG_SOURCE_VOLUME};
        Snapshot {
            id: id.into(),
            volume_id: crate::orphan::COPY_VOLUME_ID.into(),
            owner_id: "1".into(),
            state,
            start_time: start,
            encrypted: true,
            tags: vec![
                Tag::new("SnapshotDaily", "2"),
                Tag::new(TAG_KEYWORD, "SnapshotDaily"),
                Tag::new(TAG_RUN, run),
                Tag::new(TAG_SOURCE_SNAPSHOT, source),
                Tag::new(TAG_SOURCE_VOLUME, "vol-1"),
            ]
            .into(),
        }
    }

    #[test]
    fn a_completed_encrypted_copy_replaces_its_original_and_counts_in_its_place() {
        use SnapshotState::{Completed, Pending};
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let day = |d: i64| t - chrono::Duration::days(d);
        let run = |d: i64| run_id(day(d));
        let inv = Inventory {
            instances: vec![one_volume_instance("2")],
            snapshots: vec![
                // 23 Nov: replaced long ago, only its copy is left (started late: a catch-up).
                encrypted_copy("snap-c23", "snap-o23", &run(3), day(1) + chrono::Duration::hours(1), Completed),
                // 24 Nov: the copy completed, the original is still there.
                daily_snapshot("snap-o24", day(2), &run(2)),
                encrypted_copy("snap-c24", "snap-o24", &run(2), day(2) + chrono::Duration::minutes(5), Completed),
                // 25 Nov: the copy is still pending: the original counts.
                daily_snapshot("snap-o25", day(1), &run(1)),
                encrypted_copy("snap-c25", "snap-o25", &run(1), day(1) + chrono::Duration::minutes(5), Pending),
            ],
            ..Inventory::default()
        };
        let mut policy = daily_at(t);
        policy.explain = true;
        let p = plan(&policy, &inv);
        let v = &p.instances[0].volumes[0];
        assert_eq!(v.create, Create::New);
        // Counted, newest first by their runs: o25, c24 (in o24's place), then c23, which goes
        // (retention 2) although EC2 started it after c24. o24 goes as replaced.
        assert_eq!(v.delete, ["snap-o24", "snap-c23"], "{v:#?}");
        assert_eq!(v.keep, ["snap-o25", "snap-c25", "snap-c24"], "{v:#?}");
        let why = |id: &str| v.reasons.iter().find(|r| r.snapshot_id == id).map(|r| r.reason.as_str());
        assert_eq!(why("snap-o24"), Some("delete: replaced by its encrypted copy"));
        assert!(p.orphans.is_empty(), "copies are their source volume's, not orphans of vol-ffffffff");

        // A retry of the 25 Nov run once o25 is replaced: its copy is the run's snapshot.
        let mut done = inv.clone();
        done.snapshots.retain(|s| s.id != "snap-o25");
        done.snapshots.iter_mut().filter(|s| s.id == "snap-c25").for_each(|s| s.state = Completed);
        let retry = plan(&daily_at(day(1)), &done);
        assert_eq!(retry.instances[0].volumes[0].create, Create::AlreadyDone { snapshot_id: "snap-c25".into() });

        // A copy started twice (an event and a run's catch-up at once): of two completed copies
        // of one original the oldest stands in for it, the other goes, and only one counts.
        let mut twice = inv.clone();
        twice.snapshots.push(encrypted_copy(
            "snap-c24b",
            "snap-o24",
            &run(2),
            day(2) + chrono::Duration::minutes(9),
            Completed,
        ));
        let p2 = plan(&policy, &twice);
        let v2 = &p2.instances[0].volumes[0];
        assert_eq!(v2.delete, ["snap-o24", "snap-c24b", "snap-c23"], "{v2:#?}");
        let why2 = |id: &str| v2.reasons.iter().find(|r| r.snapshot_id == id).map(|r| r.reason.as_str());
        assert_eq!(why2("snap-c24b"), Some("delete: a second encrypted copy of one snapshot"));

        // A retried run with two unencrypted snapshots of its own, the first one replaced: the
        // completed copy is the run's snapshot, and the unencrypted duplicate goes.
        let mut dup = Inventory { instances: vec![one_volume_instance("2")], ..Inventory::default() };
        dup.snapshots = vec![
            daily_snapshot("snap-d1", day(1) + chrono::Duration::seconds(1), &run(1)),
            daily_snapshot("snap-d2", day(1) + chrono::Duration::seconds(2), &run(1)),
            encrypted_copy("snap-e1", "snap-d1", &run(1), day(1) + chrono::Duration::minutes(5), Completed),
        ];
        let d = plan(&daily_at(day(1)), &dup);
        let dv = &d.instances[0].volumes[0];
        assert_eq!(dv.create, Create::AlreadyDone { snapshot_id: "snap-e1".into() }, "{dv:#?}");
        assert_eq!(dv.delete, ["snap-d2", "snap-d1"], "the duplicate, then the replaced original: {dv:#?}");
        assert_eq!(dv.keep, ["snap-e1"]);

        // A copy made here from another region is that region's stack's: never counted here.
        let mut foreign = inv.clone();
        for s in &mut foreign.snapshots {
            s.tags.push(Tag::new(crate::copy::TAG_SOURCE_REGION, "cn-northwest-1"));
        }
        foreign.snapshots.retain(|s| s.id.starts_with("snap-c"));
        let f = plan(&daily_at(t), &foreign);
        assert!(f.instances[0].volumes[0].delete.is_empty() && f.instances[0].volumes[0].keep.is_empty(), "{f:#?}");
    }

    fn shared_volume(ret_a: &str, ret_b: &str) -> Plan {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let inst = |id: &str, ret: &str| Instance {
            id: id.into(),
            owner_id: "1".into(),
            state: "running".into(),
            tags: vec![Tag::new("SnapshotDaily", ret)],
            volumes: vec![Attachment { volume_id: "vol-shared".into(), device: "/dev/sdf".into(), exclude: None }],
            root_device: None,
        };
        let snapshots = (1..=6)
            .map(|d| Snapshot {
                encrypted: false,
                id: format!("snap-{d}").into(),
                volume_id: "vol-shared".into(),
                owner_id: "1".into(),
                state: SnapshotState::Completed,
                start_time: t - chrono::Duration::days(d),
                tags: vec![Tag::new("SnapshotDaily", "5"), Tag::new(TAG_KEYWORD, "SnapshotDaily")].into(),
            })
            .collect();
        let inv =
            Inventory { instances: vec![inst("i-1", ret_a), inst("i-2", ret_b)], snapshots, ..Inventory::default() };
        plan(&daily_at(t), &inv)
    }

    #[test]
    fn a_multi_attach_volume_keeps_the_largest_retention_whatever_the_id_order() {
        for (a, b) in [("1", "5"), ("5", "1")] {
            let p = shared_volume(a, b);
            let deciding: Vec<&VolumePlan> =
                p.volumes().map(|(_, v)| v).filter(|v| matches!(v.create, Create::New)).collect();
            assert_eq!(deciding.len(), 1, "{p:#?}");
            assert_eq!(deciding[0].retention.as_count().map(|r| r.get()), Some(5));
            assert_eq!(deciding[0].delete, ["snap-6"], "the newest 5 completed stay");
        }
    }

    #[test]
    fn a_multi_attach_volume_with_an_invalid_retention_is_held() {
        let p = shared_volume("abc", "1");
        let v = &p.instances[1].volumes[0];
        assert_eq!(v.create, Create::Held { by_instance: "i-1".into() });
        assert!(v.delete.is_empty() && v.keep.is_empty());
        assert!(p.instances[0].problem.as_ref().is_some_and(InstanceProblem::is_failure));
    }

    #[test]
    fn a_set_leaves_out_the_excluded_root_and_this_runs_done_volume_and_completes_a_partial_set() {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let att = |v: &str, d: &str| Attachment { volume_id: v.into(), device: d.into(), exclude: None };
        let inst = Instance {
            tags: vec![Tag::new("SnapshotDaily", "7"), Tag::new("Name", "db"), Tag::new(TAG_EXCLUDE_ROOT, "*")],
            volumes: vec![att("vol-root", "/dev/xvda"), att("vol-data", "/dev/sdf"), att("vol-log", "/dev/sdg")],
            root_device: Some("/dev/xvda".into()),
            ..one_volume_instance("7")
        };
        // This run took vol-log already (a retry after a hand-over).
        let done = Snapshot { volume_id: "vol-log".into(), ..daily_snapshot("snap-log", t, &run_id(t)) };
        let p = plan(
            &daily_at(t),
            &Inventory { instances: vec![inst.clone()], snapshots: vec![done], ..Inventory::default() },
        );
        let mut set = p.instances[0].set.clone().expect("vol-data still needs its snapshot");
        assert_eq!(set.volumes, ["vol-data"]);
        assert!(set.exclude_boot, "the excluded root goes by ExcludeBootVolume");
        assert_eq!(set.exclude_data, ["vol-log"]);
        assert_eq!(set.root_volume.as_deref(), Some("vol-root"));
        assert_eq!(set.description, "snapcycle SnapshotDaily db (i-1, 1 volume)");
        let tags = set.tags(&daily_at(t), &inst);
        assert_eq!(tag_value(&tags.tags, crate::tags::TAG_DEVICES), Some("vol-data=/dev/sdf"));
        assert_eq!(tag_value(&tags.tags, "SnapshotDaily"), Some("7"));
        set.leave_out("vol-data");
        assert!(set.volumes.is_empty());
        assert_eq!(set.exclude_data, ["vol-log", "vol-data"]);

        // Without the exclusion the root is in the set, and leaving it out goes by the flag.
        let whole = Instance {
            tags: vec![Tag::new("SnapshotDaily", "7")],
            volumes: vec![att("vol-root", "/dev/xvda"), att("vol-data", "/dev/sdf")],
            root_device: Some("/dev/xvda".into()),
            ..one_volume_instance("7")
        };
        let p = plan(&daily_at(t), &Inventory { instances: vec![whole], ..Inventory::default() });
        let mut set = p.instances[0].set.clone().unwrap();
        assert_eq!((set.volumes.as_slice(), set.exclude_boot), (&["vol-root".into(), "vol-data".into()][..], false));
        set.leave_out("vol-root");
        assert!(set.exclude_boot && set.exclude_data.is_empty() && set.volumes == ["vol-data"]);
    }

    #[test]
    fn a_description_always_fits_ec2s_limit() {
        let k = Keyword::new(&"K".repeat(127)).unwrap();
        let d = description(&k, &"n".repeat(256), "i-0123456789abcdef0", 12);
        assert_eq!(d.chars().count(), MAX_DESCRIPTION);
        assert!(d.ends_with("… (i-0123456789abcdef0, 12 volumes)"), "{d}");
        let short = description(&Keyword::new("SnapshotDaily").unwrap(), "web", "i-1", 1);
        assert_eq!(short, "snapcycle SnapshotDaily web (i-1, 1 volume)");
    }

    #[test]
    fn a_multi_attach_volume_under_a_policy_keeps_what_any_attached_policy_keeps() {
        // Six daily snapshots, the newest a day old: within=3d keeps three (strictly after four
        // days before the newest), the count 1 keeps one; whichever instance comes first, the
        // volume keeps the union, and one plan decides it.
        for (a, b) in [("1", "within=3d"), ("within=3d", "1"), ("2", "last=1 daily=3")] {
            let p = shared_volume(a, b);
            let deciding: Vec<&VolumePlan> =
                p.volumes().map(|(_, v)| v).filter(|v| matches!(v.create, Create::New)).collect();
            assert_eq!(deciding.len(), 1, "{a} / {b}: {p:#?}");
            assert_eq!(deciding[0].keep, ["snap-1", "snap-2", "snap-3"], "{a} / {b}");
            assert_eq!(deciding[0].delete, ["snap-6", "snap-5", "snap-4"], "{a} / {b}");
        }
    }

    #[test]
    fn a_run_tag_from_the_future_counts_as_now_and_drains_no_window() {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let snap = |id: &str, days: i64, run: &str| daily_snapshot(id, t - chrono::Duration::days(days), run);
        let inv = Inventory {
            instances: vec![one_volume_instance("within=7d")],
            snapshots: vec![
                snap("snap-typo", 1, "2062-11-25T00:00:00Z"),
                snap("snap-2", 2, "2026-11-24T00:00:00Z"),
                snap("snap-3", 3, "2026-11-23T00:00:00Z"),
                snap("snap-9", 9, "2026-11-17T00:00:00Z"),
            ],
            ..Inventory::default()
        };
        let policy = daily_at(t);
        let v = &plan(&policy, &inv).instances[0].volumes[0];
        assert_eq!(v.keep, ["snap-typo", "snap-2", "snap-3"], "the window counts back from now, not 2062");
        assert_eq!(v.delete, ["snap-9"]);
    }

    /// `vol-1` with four completed daily snapshots, snap-1 the newest, under retention 1, and
    /// snap-3 locked in governance mode and snap-4 in compliance mode (its lock on a pending
    /// snapshot, so no expiry yet).
    fn locked_history() -> (Policy, Inventory) {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let snap = |n: i64| {
            daily_snapshot(&format!("snap-{n}"), t - chrono::Duration::days(n), &run_id(t - chrono::Duration::days(n)))
        };
        let mut inv = Inventory {
            instances: vec![one_volume_instance("1")],
            snapshots: (1..=4).map(snap).collect(),
            ..Inventory::default()
        };
        let until = Utc.with_ymd_and_hms(2027, 5, 5, 0, 56, 6).unwrap() + chrono::Duration::milliseconds(208);
        inv.locks.insert("snap-3".into(), crate::Lock { mode: crate::LockMode::Governance, expires: Some(until) });
        inv.locks.insert("snap-4".into(), crate::Lock { mode: crate::LockMode::Compliance, expires: None });
        (daily_at(t), inv)
    }

    #[test]
    fn a_locked_snapshot_is_kept_with_its_lock_and_nothing_else_goes_in_its_place() {
        let (policy, inv) = locked_history();
        let unlocked = plan(&policy, &Inventory { locks: BTreeMap::new(), ..inv.clone() });
        assert_eq!(unlocked.instances[0].volumes[0].delete, ["snap-4", "snap-3", "snap-2"]);
        let p = plan(&policy, &inv);
        let v = &p.instances[0].volumes[0];
        assert_eq!(v.delete, ["snap-2"], "the unlocked one still goes, and no other instead of the locked ones");
        assert_eq!(v.keep, ["snap-1", "snap-3", "snap-4"], "newest first, as rotation lists them");
        let locked: Vec<(&str, &str)> = v.locked.iter().map(|r| (r.snapshot_id.as_str(), r.reason.as_str())).collect();
        assert_eq!(
            locked,
            [
                ("snap-4", "locked (compliance, no expiry yet)"),
                ("snap-3", "locked (governance until 2027-05-05T00:56:06Z)")
            ]
        );
        // A lock on a snapshot the plan keeps anyway changes nothing and is not reported.
        let mut newest_locked = inv.clone();
        newest_locked.locks = BTreeMap::from([("snap-1".into(), inv.locks["snap-3"])]);
        assert_eq!(plan(&policy, &newest_locked), unlocked);
    }

    #[test]
    fn a_locked_snapshot_is_a_skip_in_the_report_and_a_kept_one_in_the_dry_run() {
        let (policy, inv) = locked_history();
        let report = crate::Report::begin(&plan(&policy, &inv), false);
        assert!(report.failures.is_empty(), "{report:?}");
        let skip = |id: &str, reason: &str| crate::report::Skipped {
            instance_id: Some("i-1".into()),
            volume_id: Some("vol-1".into()),
            snapshot_id: Some(id.into()),
            reason: reason.into(),
        };
        assert_eq!(
            report.skipped,
            [
                skip("snap-4", "locked (compliance, no expiry yet)"),
                skip("snap-3", "locked (governance until 2027-05-05T00:56:06Z)"),
            ]
        );
        let explained = plan(&Policy { explain: true, ..policy.clone() }, &inv);
        let dry = crate::Report::dry_run(&explained);
        let why = |id: &str| dry.kept.iter().find(|k| k.snapshot_id == id).map(|k| k.reason.as_str());
        assert_eq!(why("snap-3"), Some("keep: locked (governance until 2027-05-05T00:56:06Z)"));
        assert_eq!(why("snap-4"), Some("keep: locked (compliance, no expiry yet)"));
        assert_eq!(dry.deleted.iter().map(|d| d.snapshot_id.as_str()).collect::<Vec<_>>(), ["snap-2"]);
        assert_eq!(dry.skipped.len(), 2, "a dry run lists the skips a real run would report");
        let plain = plan(&policy, &inv);
        let v = (&plain.instances[0].volumes[0], &explained.instances[0].volumes[0]);
        assert_eq!((&v.0.keep, &v.0.delete, &v.0.locked), (&v.1.keep, &v.1.delete, &v.1.locked));
    }

    #[test]
    fn a_locked_duplicate_of_this_run_is_kept_and_no_longer_counted_as_one() {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let mut inv = duplicated_run(t, "1");
        inv.locks.insert("snap-b".into(), crate::Lock { mode: crate::LockMode::ComplianceCooloff, expires: Some(t) });
        let v = plan(&daily_at(t), &inv).instances[0].volumes[0].clone();
        // Retention 1 counts snap-old alone (this run's snapshots count from the next run).
        assert_eq!((v.delete.as_slice(), v.duplicates), (&[][..], 0), "{v:?}");
        assert_eq!(v.keep, ["snap-b", "snap-a", "snap-old"]);
        assert_eq!(v.locked[0].reason, "locked (compliance-cooloff until 2026-11-26T00:00:00Z)");
    }
}

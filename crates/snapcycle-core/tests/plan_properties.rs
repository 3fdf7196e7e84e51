//! Property tests: the rules of the README's "How it decides" hold for every generated inventory
//! (1: what may be deleted, 2: never fewer than N completed, 3: a bad retention touches nothing,
//! 6: a second run creates nothing), a locked snapshot is never deleted and changes no other
//! decision, and the plan reads no snapshot tag beyond the ones the shell keeps.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use snapcycle_core::exclude::{Exclusion, TAG_EXCLUDE_ROOT};
use snapcycle_core::tags::{read_by_plan, tag_value, TAG_KEYWORD, TAG_RUN};
use snapcycle_core::{
    may_have_duplicates, plan, run_id, Attachment, CompactString, Create, Instance, Inventory, Keyword, Lock, LockMode,
    Policy, Retention, Snapshot, SnapshotState, Tag,
};

const OWNER: &str = "123456789012";
const DAILY: &str = "SnapshotDaily";
const HOURLY: &str = "SnapshotHourly";

fn retention_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1u32..6).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["abc", "-1", "0", "3.5", "", " ", "1000000", "2 ", "x7"]).prop_map(String::from),
    ]
}

fn state() -> impl Strategy<Value = SnapshotState> {
    prop_oneof![
        6 => Just(SnapshotState::Completed),
        2 => Just(SnapshotState::Pending),
        1 => Just(SnapshotState::Error),
        1 => Just(SnapshotState::Other),
    ]
}

#[derive(Debug, Clone)]
struct SnapSpec {
    volume: usize,
    marker: Option<&'static str>,
    has_keyword_tag: bool,
    other_owner: bool,
    state: SnapshotState,
    hour: u32,
}

fn snap_spec(volumes: usize) -> impl Strategy<Value = SnapSpec> {
    (
        0..volumes + 2, // two extra volumes that no tagged instance has
        prop::option::weighted(0.9, prop::sample::select(vec![DAILY, HOURLY])),
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.1),
        state(),
        // Hour 100 is the policy's own run: its snapshots come in every state, duplicates too.
        prop_oneof![4 => 0u32..48, 1 => Just(100u32)],
    )
        .prop_map(|(volume, marker, has_keyword_tag, other_owner, state, hour)| SnapSpec {
            volume,
            marker,
            has_keyword_tag,
            other_owner,
            state,
            hour,
        })
}

fn inventory() -> impl Strategy<Value = Inventory> {
    (1usize..5)
        .prop_flat_map(|n| {
            (prop::collection::vec((retention_value(), prop::option::of(retention_value()), 0usize..3), n), Just(n))
        })
        .prop_flat_map(|(insts, _)| {
            let total: usize = insts.iter().map(|i| i.2).sum();
            let n = insts.len();
            // Extra attachments of an existing volume to another instance: io1/io2 multi-attach.
            let shared = prop::collection::vec((0..n, 0..total.max(1)), 0..3);
            // Exclusion tags: on volumes (`snapcycle:exclude`) and on instances (`-root`), valid
            // for this keyword, for another one, or unreadable.
            let values = || prop::sample::select(vec!["*", DAILY, HOURLY, "SnapshotHourly, SnapshotDaily", "", "x,,y"]);
            let volume_excl = prop::collection::vec((0..total.max(1), values()), 0..3);
            let root_excl = prop::collection::vec((0..n, values()), 0..2);
            (Just(insts), prop::collection::vec(snap_spec(total), 0..30), shared, volume_excl, root_excl)
        })
        .prop_map(|(insts, snaps, shared, volume_excl, root_excl)| {
            let mut inv = build(insts, snaps);
            for (i, v) in root_excl {
                inv.instances[i].tags.push(Tag::new(TAG_EXCLUDE_ROOT, v));
            }
            let all: Vec<CompactString> =
                inv.instances.iter().flat_map(|i| i.volumes.iter().map(|v| v.volume_id.clone())).collect();
            for (i, v) in shared {
                if let Some(vol) = all.get(v) {
                    if !inv.instances[i].volumes.iter().any(|a| a.volume_id == vol) {
                        inv.instances[i].volumes.push(Attachment {
                            volume_id: vol.clone(),
                            device: "/dev/sdz".into(),
                            exclude: None,
                        });
                    }
                }
            }
            // A volume's tag is the volume's: every attachment of it sees the same value.
            for (v, value) in volume_excl {
                if let Some(vol) = all.get(v) {
                    for a in inv.instances.iter_mut().flat_map(|i| i.volumes.iter_mut()).filter(|a| a.volume_id == vol)
                    {
                        a.exclude = Some(value.to_owned());
                    }
                }
            }
            inv
        })
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(hour as i64)
}

fn build(insts: Vec<(String, Option<String>, usize)>, snaps: Vec<SnapSpec>) -> Inventory {
    let mut inv = Inventory::default();
    let mut vol = 0;
    for (i, (daily, hourly, nvol)) in insts.into_iter().enumerate() {
        let mut tags = vec![Tag::new("Name", format!("host{i}")), Tag::new(DAILY, daily)];
        if let Some(h) = hourly {
            tags.push(Tag::new(HOURLY, h));
        }
        let volumes = (0..nvol)
            .map(|d| {
                vol += 1;
                Attachment {
                    volume_id: format!("vol-{vol}").into(),
                    device: format!("/dev/sd{}", (b'a' + d as u8) as char).into(),
                    exclude: None,
                }
            })
            .collect();
        inv.instances.push(Instance {
            id: format!("i-{i}").into(),
            owner_id: OWNER.into(),
            state: "running".into(),
            tags,
            volumes,
            root_device: Some("/dev/sda".into()),
        });
    }
    for (n, s) in snaps.into_iter().enumerate() {
        let mut tags = vec![Tag::new(TAG_RUN, run_id(at(s.hour)))];
        if let Some(m) = s.marker {
            tags.push(Tag::new(TAG_KEYWORD, m));
            if s.has_keyword_tag {
                tags.push(Tag::new(m, "3"));
            }
        }
        // Copied instance tags name both keywords, as on the classic lab's snapshots.
        if s.has_keyword_tag {
            tags.push(Tag::new(DAILY, "3"));
            tags.push(Tag::new(HOURLY, "3"));
        }
        inv.snapshots.push(Snapshot {
            encrypted: false,
            id: format!("snap-{n:03}").into(),
            volume_id: format!("vol-{}", s.volume + 1).into(),
            owner_id: if s.other_owner { "999999999999".into() } else { OWNER.into() },
            state: s.state,
            start_time: at(s.hour),
            tags: tags.into(),
        });
    }
    inv
}

fn policy() -> Policy {
    Policy {
        keyword: Keyword::new(DAILY).unwrap(),
        all_keywords: vec![Keyword::new(HOURLY).unwrap(), Keyword::new(DAILY).unwrap()],
        scheduled_time: at(100),
        request: None,
        time_zone: chrono_tz::Tz::UTC,
        now: at(100),
        explain: false,
        orphans_expire_after: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Rule 1: only the account's own snapshots that still carry the keyword tag, carry the tool's
    /// marker for this keyword, and belong to a volume of an instance tagged now, are ever deleted.
    #[test]
    fn rule1_deletes_only_its_own_keyword_snapshots(inv in inventory()) {
        let p = plan(&policy(), &inv);
        let by_id: HashMap<&str, &Snapshot> = inv.snapshots.iter().map(|s| (s.id.as_str(), s)).collect();
        let tagged_volumes: HashSet<&str> = inv.instances.iter().flat_map(|i| i.volumes.iter().map(|v| v.volume_id.as_str())).collect();
        for (_, v) in p.volumes() {
            for d in &v.delete {
                let s = by_id[d.as_str()];
                prop_assert_eq!(&s.owner_id, OWNER);
                prop_assert!(tag_value(&s.tags, DAILY).is_some());
                prop_assert_eq!(tag_value(&s.tags, TAG_KEYWORD), Some(DAILY));
                prop_assert!(tagged_volumes.contains(s.volume_id.as_str()));
                prop_assert_eq!(&s.volume_id, &v.volume_id);
            }
        }
    }

    /// Rule 2: a volume keeps at least N completed snapshots of earlier runs while older ones
    /// exist, pending snapshots are never deleted nor counted, and this run's own snapshot is
    /// kept without counting (it counts from the next run).
    #[test]
    fn rule2_never_fewer_than_n_completed(inv in inventory()) {
        let p = plan(&policy(), &inv);
        let by_id: HashMap<&str, &Snapshot> = inv.snapshots.iter().map(|s| (s.id.as_str(), s)).collect();
        let run = policy().run_id();
        let duplicate = |s: &Snapshot| tag_value(&s.tags, TAG_RUN) == Some(run.as_str());
        for (_, v) in p.volumes().filter(|(_, v)| !matches!(v.create, Create::Excluded { .. } | Create::BadExclusion { .. })) {
            let n = v.retention.as_count().expect("the generator writes counts").get() as usize;
            let kept_completed = v
                .keep
                .iter()
                .map(|id| by_id[id.as_str()])
                .filter(|s| s.state == SnapshotState::Completed && !duplicate(s))
                .count();
            let all_completed = kept_completed
                + v.delete.iter().map(|id| by_id[id.as_str()]).filter(|s| s.state == SnapshotState::Completed && !duplicate(s)).count();
            prop_assert_eq!(kept_completed, all_completed.min(n));
            if let Create::AlreadyDone { snapshot_id } = &v.create {
                prop_assert!(v.keep.contains(snapshot_id), "this run's snapshot is kept");
            }
            for d in &v.delete {
                let s = by_id[d.as_str()];
                prop_assert!(matches!(s.state, SnapshotState::Completed | SnapshotState::Error));
                if duplicate(s) {
                    continue; // an extra of this run, removed whatever its age
                }
                // Everything deleted is older than (or as old as) every kept completed snapshot.
                for k in &v.keep {
                    let kept = by_id[k.as_str()];
                    if kept.state == SnapshotState::Completed {
                        prop_assert!(kept.start_time >= s.start_time);
                    }
                }
            }
        }
    }

    /// Rule 6 (duplicates): of this run's snapshots of a volume, a pending one is never deleted,
    /// and when one of them has completed, a completed one is kept.
    #[test]
    fn rule6_duplicates_keep_a_completed_one_and_every_pending_one(inv in inventory()) {
        let pol = policy();
        let run = pol.run_id();
        let p = plan(&pol, &inv);
        for (ip, v) in p.volumes() {
            if matches!(v.create, Create::Covered { .. } | Create::Held { .. } | Create::Excluded { .. } | Create::BadExclusion { .. }) {
                continue;
            }
            let this_run: Vec<&Snapshot> = inv.snapshots.iter()
                .filter(|s| s.volume_id == v.volume_id && s.owner_id == OWNER && tag_value(&s.tags, TAG_RUN) == Some(run.as_str()))
                .filter(|s| tag_value(&s.tags, DAILY).is_some() && tag_value(&s.tags, TAG_KEYWORD) == Some(DAILY))
                .collect();
            for s in &this_run {
                if !matches!(s.state, SnapshotState::Completed | SnapshotState::Error) {
                    prop_assert!(!v.delete.contains(&s.id), "{} deleted a pending {}", ip.instance_id, s.id);
                }
            }
            if this_run.iter().any(|s| s.state == SnapshotState::Completed) {
                prop_assert!(
                    this_run.iter().any(|s| s.state == SnapshotState::Completed && v.keep.contains(&s.id)),
                    "no completed snapshot of this run kept: {:?}", v
                );
                if let Create::AlreadyDone { snapshot_id } = &v.create {
                    prop_assert!(this_run.iter().any(|s| s.id == snapshot_id && s.state == SnapshotState::Completed));
                }
            }
            if this_run.iter().any(|s| s.state != SnapshotState::Error) {
                prop_assert!(matches!(v.create, Create::AlreadyDone { .. }), "{:?}", v);
            }
        }
    }

    /// Multi-attach: a volume attached to several tagged instances is decided once, by the largest
    /// retention; if any of those instances has an invalid retention, nothing of it is touched.
    #[test]
    fn multi_attach_largest_retention_decides_and_invalid_holds(inv in inventory()) {
        let p = plan(&policy(), &inv);
        let mut attachers: HashMap<&str, Vec<&Instance>> = HashMap::new();
        for i in &inv.instances {
            for a in &i.volumes {
                attachers.entry(a.volume_id.as_str()).or_default().push(i);
            }
        }
        for (vol, insts) in attachers.iter().filter(|(_, v)| v.len() > 1) {
            let parsed: Vec<_> = insts.iter().map(|i| Retention::parse(tag_value(&i.tags, DAILY).unwrap())).collect();
            let plans: Vec<_> = p.volumes().filter(|(_, v)| v.volume_id == *vol).collect();
            if plans.iter().any(|(_, v)| matches!(v.create, Create::Excluded { .. } | Create::BadExclusion { .. })) {
                continue; // exclusions come first (excluded_volumes_are_left_alone)
            }
            let unreadable = |i: &&Instance| matches!(tag_value(&i.tags, TAG_EXCLUDE_ROOT).map(Exclusion::parse), Some(Err(_)));
            if parsed.iter().any(|r| r.is_err()) || insts.iter().any(unreadable) {
                for (_, v) in &plans {
                    prop_assert!(matches!(v.create, Create::Held { .. }), "{:?}", v);
                    prop_assert!(v.delete.is_empty());
                }
            } else {
                let max = parsed.iter().map(|r| r.as_ref().unwrap().get()).max().unwrap();
                let deciding: Vec<_> = plans.iter().filter(|(_, v)| !matches!(v.create, Create::Covered { .. })).collect();
                prop_assert_eq!(deciding.len(), 1, "{:?}", plans);
                prop_assert_eq!(deciding[0].1.retention.as_count().map(|r| r.get()), Some(max));
                for (_, v) in plans.iter().filter(|(_, v)| matches!(v.create, Create::Covered { .. })) {
                    prop_assert!(v.delete.is_empty() && v.keep.is_empty());
                }
            }
        }
    }

    /// Rule 3: an instance whose retention is invalid has nothing created and nothing deleted.
    #[test]
    fn rule3_bad_retention_touches_nothing(inv in inventory()) {
        let p = plan(&policy(), &inv);
        for (inst, ip) in inv.instances.iter().zip(&p.instances) {
            let raw = tag_value(&inst.tags, DAILY).unwrap();
            if Retention::parse(raw).is_err() {
                prop_assert!(ip.problem.is_some());
                prop_assert!(ip.volumes.is_empty());
            } else {
                let unreadable_root = matches!(tag_value(&inst.tags, TAG_EXCLUDE_ROOT).map(Exclusion::parse), Some(Err(_)));
                prop_assert!(ip.problem.is_none() || inst.volumes.is_empty() || unreadable_root, "{:?}", ip);
            }
        }
    }

    /// Rule 6: applying the plan and planning again for the same scheduled time creates nothing.
    #[test]
    fn rule6_second_run_creates_nothing(inv in inventory()) {
        let pol = policy();
        let p = plan(&pol, &inv);
        let mut after = inv.clone();
        let deleted: HashSet<CompactString> = p.volumes().flat_map(|(_, v)| v.delete.clone()).collect();
        after.snapshots.retain(|s| !deleted.contains(&s.id));
        for (ip, set) in p.instances.iter().filter_map(|i| Some((i, i.set.as_ref()?))) {
            let inst = inv.instances.iter().find(|i| i.id == ip.instance_id).unwrap();
            let tags = set.tags(&pol, inst).tags;
            for volume_id in &set.volumes {
                after.snapshots.push(Snapshot { encrypted: false,
                    id: format!("snap-new-{volume_id}").into(),
                    volume_id: volume_id.clone(),
                    owner_id: OWNER.into(),
                    state: SnapshotState::Completed,
                    start_time: pol.scheduled_time,
                    tags: tags.clone().into(),
                });
            }
        }
        let again = plan(&pol, &after);
        for (_, v) in again.volumes() {
            prop_assert!(!matches!(v.create, Create::New), "{:?}", v);
        }
        // Carrying out the second plan's deletions settles the rotation: a third plan is empty.
        let deleted: HashSet<CompactString> = again.volumes().flat_map(|(_, v)| v.delete.clone()).collect();
        after.snapshots.retain(|s| !deleted.contains(&s.id));
        let third = plan(&pol, &after);
        for (_, v) in third.volumes() {
            prop_assert!(!matches!(v.create, Create::New) && v.delete.is_empty(), "{:?}", v);
        }
    }

    /// Crash-consistent sets: an instance's set takes exactly its volumes planned `New`, and
    /// leaves out every other attached volume, the root by `ExcludeBootVolume` only (EC2 refuses
    /// the root volume among `ExcludeDataVolumeIds`), so one CreateSnapshots call snapshots what
    /// the per-volume plan says and nothing else.
    #[test]
    fn a_set_takes_exactly_the_new_volumes_and_excludes_the_rest(inv in inventory()) {
        let p = plan(&policy(), &inv);
        for ip in &p.instances {
            let new: Vec<&str> =
                ip.volumes.iter().filter(|v| v.create == Create::New).map(|v| v.volume_id.as_str()).collect();
            let Some(set) = &ip.set else {
                prop_assert!(new.is_empty(), "{:?}", ip);
                continue;
            };
            prop_assert_eq!(&set.volumes, &new);
            let inst = inv.instances.iter().find(|i| i.id == ip.instance_id).unwrap();
            for att in &inst.volumes {
                let is_root = inst.root_device.as_deref() == Some(att.device.as_str());
                let taken = set.volumes.contains(&att.volume_id);
                let left_out = if is_root { set.exclude_boot } else { set.exclude_data.contains(&att.volume_id) };
                prop_assert!(taken != left_out, "{} taken {taken}, left out {left_out}: {:?}", att.volume_id, set);
                prop_assert!(!(is_root && set.exclude_data.contains(&att.volume_id)));
            }
            let tags = set.tags(&policy(), inst).tags;
            prop_assert_eq!(tag_value(&tags, TAG_RUN), Some(p.run.as_str()));
            prop_assert!(tags.len() <= 50 && set.description.chars().count() <= 255);
        }
    }

    /// The shell keeps only the snapshot tags `read_by_plan` names; the plan must not change.
    #[test]
    fn plan_needs_only_the_tags_the_shell_keeps(inv in inventory()) {
        let pol = policy();
        let mut trimmed = inv.clone();
        for s in &mut trimmed.snapshots {
            s.tags.retain(|t| read_by_plan(&t.key, &pol.keyword));
        }
        prop_assert_eq!(plan(&pol, &trimmed), plan(&pol, &inv));
    }

    /// Creation reads only this run's snapshots (`snapcycle:run` and `snapcycle:keyword` as EC2
    /// filters them), not the history: every creation decision, set, duplicate and instance
    /// problem must be the same as with the whole inventory (the runner drops the rest of the
    /// history once it has planned).
    #[test]
    fn creation_needs_only_this_runs_snapshots(inv in inventory(), hour in 0u32..48) {
        let pol = Policy { scheduled_time: at(hour), now: at(hour), ..policy() };
        let run = pol.run_id();
        let mut this_run = inv.clone();
        this_run.snapshots.retain(|s| {
            tag_value(&s.tags, TAG_RUN) == Some(run.as_str()) && tag_value(&s.tags, TAG_KEYWORD) == Some(DAILY)
        });
        let decisions = |inv: &Inventory| {
            let p = plan(&pol, inv);
            let problems: Vec<_> = p.instances.iter().map(|i| (i.instance_id.clone(), i.problem.clone())).collect();
            let creates: Vec<_> = p.volumes().map(|(i, v)| (i.instance_id.clone(), v.volume_id.clone(), v.create.clone())).collect();
            // The duplicate pass after creating plans with this run's snapshots only.
            let duplicates: Vec<_> = p.volumes().map(|(_, v)| v.delete[..v.duplicates].to_vec()).collect();
            let sets: Vec<_> = p.instances.iter().map(|i| i.set.clone()).collect();
            (problems, creates, duplicates, sets)
        };
        prop_assert_eq!(decisions(&this_run), decisions(&inv));
    }

    /// The runner plans a second time after creating only when `may_have_duplicates` says so:
    /// without two of the run's snapshots on one volume, no plan finds a duplicate to delete.
    #[test]
    fn no_duplicates_unless_may_have_duplicates(inv in inventory(), hour in prop_oneof![Just(100u32), 0u32..48]) {
        let pol = Policy { scheduled_time: at(hour), ..policy() };
        let p = plan(&pol, &inv);
        let found: usize = p.volumes().map(|(_, v)| v.duplicates).sum();
        if !may_have_duplicates(&inv.snapshots, &pol.run_id()) {
            prop_assert_eq!(found, 0, "{:?}", p);
        }
    }

    /// Exclusions: a volume excluded for this keyword (by its own tag, or as the root volume of
    /// an instance tagged `snapcycle:exclude-root`), or whose exclusion tag cannot be read, gets
    /// no snapshot and loses none; one excluded for another keyword only is planned as usual.
    #[test]
    fn excluded_volumes_are_left_alone(inv in inventory()) {
        let pol = policy();
        let p = plan(&pol, &inv);
        for (ip, v) in p.volumes() {
            let inst = inv.instances.iter().find(|i| i.id == ip.instance_id).unwrap();
            let att = inst.volumes.iter().find(|a| a.volume_id == v.volume_id).unwrap();
            let by_volume = att.exclude.as_deref().map(Exclusion::parse);
            let root = tag_value(&inst.tags, TAG_EXCLUDE_ROOT).map(Exclusion::parse);
            let excluded = match (&by_volume, &root) {
                (Some(Err(_)), _) => true,
                (Some(Ok(e)), _) if e.applies_to(&pol.keyword) => true,
                (_, Some(Ok(e))) => e.applies_to(&pol.keyword) && inst.root_device.as_deref() == Some(att.device.as_str()),
                _ => false,
            };
            prop_assert_eq!(
                excluded,
                matches!(v.create, Create::Excluded { .. } | Create::BadExclusion { .. }),
                "{:?} {:?}", att, v
            );
            if excluded {
                prop_assert!(v.delete.is_empty(), "{:?}", v);
            }
        }
        // An unreadable exclude-root tag holds the whole instance, as a bad retention does.
        for ip in &p.instances {
            let inst = inv.instances.iter().find(|i| i.id == ip.instance_id).unwrap();
            if matches!(tag_value(&inst.tags, TAG_EXCLUDE_ROOT).map(Exclusion::parse), Some(Err(_)))
                && snapcycle_core::Retention::parse(tag_value(&inst.tags, DAILY).unwrap_or("")).is_ok()
            {
                prop_assert!(ip.volumes.is_empty() && ip.problem.as_ref().is_some_and(|p| p.is_failure()), "{:?}", ip);
            }
        }
    }

    /// Retention policies in the plan (README, "Thinning"): whatever the terms, no pending
    /// snapshot is deleted, the newest completed snapshot of each volume stays, a second plan after
    /// the deletions deletes nothing more, and explaining (a dry run) changes no decision.
    #[test]
    fn policies_keep_pending_and_the_newest_completed_and_settle(inv in inventory(), pick in prop::collection::vec(0usize..8, 5)) {
        const POLICIES: [&str; 8] = ["last=2", "daily=2", "hourly=3 daily=1", "within=6h", "weekly=1,monthly=1", "2", "yearly=1 last=1", "daily=7 daily=3"];
        let mut inv = inv;
        for (i, inst) in inv.instances.iter_mut().enumerate() {
            for t in inst.tags.iter_mut().filter(|t| t.key == DAILY) {
                t.value = POLICIES[pick[i % pick.len()]].to_owned().into();
            }
        }
        let pol = policy();
        let p = plan(&pol, &inv);
        let explained = plan(&Policy { explain: true, ..policy() }, &inv);
        for ((_, a), (_, b)) in p.volumes().zip(explained.volumes()) {
            prop_assert_eq!((&a.keep, &a.delete), (&b.keep, &b.delete));
            if !b.keep.is_empty() || !b.delete.is_empty() {
                prop_assert!(!b.reasons.is_empty(), "{:?}", b);
            }
        }
        let by_id: HashMap<&str, &Snapshot> = inv.snapshots.iter().map(|s| (s.id.as_str(), s)).collect();
        for (_, v) in p.volumes() {
            for d in &v.delete {
                prop_assert!(matches!(by_id[d.as_str()].state, SnapshotState::Completed | SnapshotState::Error));
            }
            // Extra snapshots of this run (a retry's duplicates) go whatever their age.
            let run = pol.run_id();
            let duplicate = |s: &&Snapshot| v.delete.contains(&s.id) && tag_value(&s.tags, TAG_RUN) == Some(run.as_str());
            let newest = v.keep.iter().chain(&v.delete).map(|id| by_id[id.as_str()])
                .filter(|s| s.state == SnapshotState::Completed && !duplicate(s)).max_by_key(|s| (s.start_time, s.id.clone()));
            if let Some(n) = newest {
                prop_assert!(v.keep.contains(&n.id), "the newest completed {} was deleted: {:?}", n.id, v);
            }
        }
        let mut after = inv.clone();
        let deleted: HashSet<CompactString> = p.volumes().flat_map(|(_, v)| v.delete.clone()).collect();
        after.snapshots.retain(|s| !deleted.contains(&s.id));
        let again = plan(&pol, &after);
        for (_, v) in again.volumes() {
            let dups: Vec<&CompactString> = v.delete.iter().filter(|id| tag_value(&by_id[id.as_str()].tags, TAG_RUN) == Some(pol.run_id().as_str())).collect();
            prop_assert!(v.delete.iter().all(|d| dups.contains(&d)), "a second plan deletes more: {:?}", v);
        }
    }

    /// Orphan expiry (README, "Orphans"): it deletes only the account's snapshots marked for the
    /// keyword, of volumes no tagged instance has, completed or failed and older than the expiry;
    /// it keeps each volume's newest completed one and every pending one, never touches what
    /// rotation decides, settles on a second plan, and without an expiry a real run carries none.
    #[test]
    fn expired_orphans_are_only_old_marked_snapshots_of_untagged_volumes(inv in inventory(), days in 1u32..3) {
        prop_assert!(plan(&policy(), &inv).orphans.is_empty());
        let expiry: snapcycle_core::OrphanExpiry = format!("{days}d").parse().unwrap();
        let pol = Policy { orphans_expire_after: Some(expiry), ..policy() };
        let p = plan(&pol, &inv);
        let cutoff = at(100) - chrono::Duration::days(i64::from(days));
        let by_id: HashMap<&str, &Snapshot> = inv.snapshots.iter().map(|s| (s.id.as_str(), s)).collect();
        let attached: HashSet<&str> = inv.instances.iter().flat_map(|i| i.volumes.iter().map(|v| v.volume_id.as_str())).collect();
        let rotated: HashSet<&str> = p.volumes().flat_map(|(_, v)| v.delete.iter().chain(&v.keep).map(CompactString::as_str)).collect();
        for o in &p.orphans {
            prop_assert!(!attached.contains(o.volume_id.as_str()), "{:?}", o);
            for d in &o.delete {
                let s = by_id[d.as_str()];
                prop_assert_eq!(&s.owner_id, OWNER);
                prop_assert!(tag_value(&s.tags, DAILY).is_some());
                prop_assert_eq!(tag_value(&s.tags, TAG_KEYWORD), Some(DAILY));
                prop_assert!(matches!(s.state, SnapshotState::Completed | SnapshotState::Error), "{:?}", s);
                prop_assert!(s.start_time < cutoff, "{} is not older than {}d", d, days);
                prop_assert!(!rotated.contains(d.as_str()));
            }
            let newest = o.keep.iter().chain(&o.delete).map(|id| by_id[id.as_str()])
                .filter(|s| s.state == SnapshotState::Completed).max_by_key(|s| (s.start_time, s.id.clone()));
            if let Some(n) = newest {
                prop_assert!(o.keep.contains(&n.id), "the newest completed {} of an orphan was deleted: {:?}", n.id, o);
            }
        }
        let mut after = inv.clone();
        let deleted: HashSet<CompactString> = p.orphans.iter().flat_map(|o| o.delete.clone()).collect();
        after.snapshots.retain(|s| !deleted.contains(&s.id));
        prop_assert!(plan(&pol, &after).orphans.iter().all(|o| o.delete.is_empty()), "a second plan expires more");
    }

    /// Locked snapshots (README, "Locked snapshots"): whatever is locked, in any mode, no locked
    /// snapshot is in any delete list (rotation, this run's duplicates, expired orphans); each
    /// one the plan would have deleted is kept instead and listed with its lock; and every other
    /// decision is the one the plan makes without locks (nothing else goes in its place).
    #[test]
    fn a_locked_snapshot_is_never_deleted_and_changes_no_other_decision(
        inv in inventory(),
        locked in prop::collection::vec((0usize..30, 0usize..3, prop::bool::ANY), 0..12),
        explain in prop::bool::ANY,
    ) {
        let pol = Policy { explain, orphans_expire_after: Some("1d".parse().unwrap()), ..policy() };
        let mut with_locks = inv.clone();
        for (i, mode, expires) in locked {
            if let Some(s) = inv.snapshots.get(i) {
                let mode = [LockMode::Governance, LockMode::Compliance, LockMode::ComplianceCooloff][mode];
                with_locks.locks.insert(s.id.clone(), Lock { mode, expires: expires.then(|| at(24 * 400)) });
            }
        }
        let is_locked = |id: &CompactString| with_locks.locks.contains_key(id);
        let before = plan(&pol, &inv);
        let after = plan(&pol, &with_locks);
        prop_assert_eq!(before.instances.len(), after.instances.len());
        let by_id: HashMap<&str, &Snapshot> = inv.snapshots.iter().map(|s| (s.id.as_str(), s)).collect();
        let newest_first = |ids: &[CompactString]| {
            ids.windows(2).all(|w| by_id[w[0].as_str()].start_time >= by_id[w[1].as_str()].start_time)
        };
        for ((bi, b), (ai, a)) in before.volumes().zip(after.volumes()) {
            prop_assert_eq!((&bi.instance_id, &bi.problem), (&ai.instance_id, &ai.problem));
            prop_assert_eq!((&b.volume_id, &b.create, &b.retention), (&a.volume_id, &a.create, &a.retention));
            prop_assert!(!a.delete.iter().any(is_locked), "a locked snapshot is deleted: {:?}", a);
            let spared: Vec<&CompactString> = b.delete.iter().filter(|id| is_locked(id)).collect();
            prop_assert_eq!(a.delete.iter().collect::<Vec<_>>(), b.delete.iter().filter(|id| !is_locked(id)).collect::<Vec<_>>());
            prop_assert_eq!(a.locked.iter().map(|l| &l.snapshot_id).collect::<Vec<_>>(), spared.clone());
            let mut kept: Vec<&CompactString> = b.keep.iter().chain(spared.iter().copied()).collect();
            kept.sort();
            let mut kept_now: Vec<&CompactString> = a.keep.iter().collect();
            kept_now.sort();
            prop_assert_eq!(kept_now, kept);
            prop_assert!(newest_first(&a.keep), "keep is newest first: {:?}", a);
            let spared_duplicates = b.delete[..b.duplicates].iter().filter(|id| is_locked(id)).count();
            prop_assert_eq!(a.duplicates, b.duplicates - spared_duplicates);
            for l in &a.locked {
                let lock = with_locks.locks[&l.snapshot_id];
                prop_assert_eq!(&l.reason, &lock.to_string());
                if explain {
                    let why = a.reasons.iter().find(|r| r.snapshot_id == l.snapshot_id).map(|r| r.reason.clone());
                    prop_assert_eq!(why, Some(format!("keep: {lock}")));
                }
            }
        }
        prop_assert_eq!(before.orphans.len(), after.orphans.len());
        for (b, a) in before.orphans.iter().zip(&after.orphans) {
            prop_assert!(!a.delete.iter().any(is_locked), "a locked orphan is deleted: {:?}", a);
            prop_assert_eq!(a.delete.iter().collect::<Vec<_>>(), b.delete.iter().filter(|id| !is_locked(id)).collect::<Vec<_>>());
            prop_assert_eq!(
                a.locked.iter().map(|l| &l.snapshot_id).collect::<Vec<_>>(),
                b.delete.iter().filter(|id| is_locked(id)).collect::<Vec<_>>()
            );
            prop_assert_eq!(a.keep.len(), b.keep.len() + a.locked.len());
            prop_assert!(newest_first(&a.keep), "keep is newest first: {:?}", a);
        }
        // The report lists each of them once, as a skip, never as a failure.
        let report = snapcycle_core::Report::begin(&after, explain);
        let lock_skips = report.skipped.iter().filter(|s| s.reason.starts_with("locked (")).count();
        let listed: usize = after.volumes().map(|(_, v)| v.locked.len()).sum::<usize>()
            + after.orphans.iter().map(|o| o.locked.len()).sum::<usize>();
        prop_assert_eq!(lock_skips, listed);
        prop_assert_eq!(report.failures.len(), snapcycle_core::Report::begin(&before, explain).failures.len());
    }
}

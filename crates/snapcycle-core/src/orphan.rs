//! Orphans: snapshots of keyword K that still carry K but whose volume no instance tagged K has
//! any more (the instance was terminated or untagged, the volume detached or deleted). Rotation
//! never deletes them (README, "How it decides", condition (d)); with an expiry set
//! (`--orphans-expire-after 90d`) a run deletes those older than that, always keeping the newest
//! completed one of each volume, so a terminated server's last backup is never lost automatically.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::plan::{newest_first, run_time, Policy, Reason};
use crate::policy::{PolicyError, Within};
use crate::tags::{tag_value, TAG_KEYWORD};
use crate::{CompactString, Inventory, Keyword, Snapshot, SnapshotState};

/// The volume id EC2 gives a snapshot made by CopySnapshot ("an arbitrary volume ID that should
/// not be used for any purpose", EC2 API Reference, Snapshot): such snapshots share it whatever
/// they were copied from, so they are never grouped as one volume's orphans.
pub const COPY_VOLUME_ID: &str = "vol-ffffffff";

/// How old an orphan's snapshot must be before a run deletes it: a duration of a day or more in
/// the grammar of `within` (`90d`, `12w`, `6m`, `1y`), counted back from the run on the stack's
/// calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrphanExpiry(Within);

/// Why a value is not an orphan expiry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not an age for orphans ({why}); give a duration of at least one day as <number><unit> with \
     the units y, m, w, d, h in that order, e.g. 90d, 12w, 6m or 1y"
)]
pub struct OrphanExpiryError {
    value: String,
    why: &'static str,
}

impl FromStr for OrphanExpiry {
    type Err = OrphanExpiryError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let value = raw.trim();
        let fail = |why| OrphanExpiryError { value: raw.to_owned(), why };
        if value.is_empty() {
            return Err(fail("it is empty"));
        }
        let within = Within::parse(value, value, value).map_err(|e| {
            fail(match e {
                PolicyError::MissingUnit { .. } => "a number without a unit",
                PolicyError::Zero { .. } => "it is zero",
                PolicyError::TooLarge { .. } => "an amount above 10000",
                _ => "not a duration",
            })
        })?;
        if !within.at_least_a_day() {
            return Err(fail("shorter than a day: a tag removed by mistake must be noticed first"));
        }
        Ok(OrphanExpiry(within))
    }
}

impl fmt::Display for OrphanExpiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl OrphanExpiry {
    /// The oldest time an orphan's snapshot may have and stay: `now` minus the duration on the
    /// wall clock of `tz` (so `6m` is six calendar months, as in a policy's `within`).
    pub fn cutoff(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        self.0.cutoff(now, tz)
    }
}

/// What happens to the orphaned snapshots of one volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrphanPlan {
    /// The volume the snapshots were taken from (it may no longer exist).
    pub volume_id: CompactString,
    /// Snapshots to delete, oldest first: only with an expiry, and only those older than it.
    pub delete: Vec<CompactString>,
    /// Snapshots that stay, newest first.
    pub keep: Vec<CompactString>,
    /// Why each stays or goes (only when the policy asks to explain, as a dry run does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// Snapshots past the expiry that an EBS snapshot lock keeps (they are in `keep`), with the
    /// lock in words for the report's skips.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locked: Vec<Reason>,
}

/// Whether a snapshot is the account's, marked for `keyword` and still carrying its tag key:
/// conditions (a) to (c) of what a run may delete.
fn marked_for(s: &Snapshot, keyword: &Keyword, account: &str) -> bool {
    s.owner_id == account
        && tag_value(&s.tags, keyword.as_str()).is_some()
        && tag_value(&s.tags, TAG_KEYWORD) == Some(keyword.as_str())
}

/// The account the run works for: the owner of the tagged instances when they agree, else (no
/// instance left, the usual case when the last server was terminated) the one owner of the
/// keyword's snapshots, which the shell reads with `OwnerIds=self`. `None` when it cannot be told,
/// and then no orphan is touched.
fn account(inventory: &Inventory, keyword: &Keyword) -> Option<String> {
    let unique = |mut owners: Vec<&str>| {
        owners.sort_unstable();
        owners.dedup();
        (owners.len() == 1).then(|| owners[0].to_owned())
    };
    if inventory.instances.is_empty() {
        unique(
            inventory
                .snapshots
                .iter()
                .filter(|s| tag_value(&s.tags, TAG_KEYWORD) == Some(keyword.as_str()))
                .map(|s| s.owner_id.as_str())
                .collect(),
        )
    } else {
        unique(inventory.instances.iter().map(|i| i.owner_id.as_str()).collect())
    }
}

/// The orphans of the run's keyword, per volume in id order. Computed only when they are to be
/// expired or explained: a real run without an expiry leaves them alone and carries nothing.
pub(crate) fn plan_orphans(
    policy: &Policy,
    inventory: &Inventory,
    by_volume: &crate::plan::ByVolume<'_>,
) -> Vec<OrphanPlan> {
    if policy.orphans_expire_after.is_none() && !policy.explain {
        return Vec::new();
    }
    // A volume is someone's while any instance tagged with the keyword and not going away has it,
    // whatever that instance's tags say otherwise (an invalid retention holds it, not orphans it).
    let attached: HashSet<&str> = inventory
        .instances
        .iter()
        .filter(|i| !matches!(i.state.as_str(), "shutting-down" | "terminated"))
        .flat_map(|i| i.volumes.iter().map(|a| a.volume_id.as_str()))
        .collect();
    let Some(account) = account(inventory, &policy.keyword) else {
        return Vec::new();
    };
    let cutoff = policy.orphans_expire_after.map(|e| (e, e.cutoff(policy.now, policy.time_zone)));
    let volumes: Vec<&str> =
        by_volume.volumes().filter(|v| !attached.contains(v) && !v.is_empty() && *v != COPY_VOLUME_ID).collect();
    let mut out = Vec::new();
    for volume in volumes {
        let mine: Vec<&Snapshot> =
            by_volume.get(volume).iter().copied().filter(|s| marked_for(s, &policy.keyword, &account)).collect();
        if mine.is_empty() {
            continue;
        }
        // An original whose encrypted copy completed is that copy from here on: it goes with an
        // expiry, and is kept without one (orphans are deleted only when asked).
        let (mut mine, replaced) = crate::copy::replace_originals(mine);
        mine.sort_by(newest_first);
        let newest = mine.iter().find(|s| s.state == SnapshotState::Completed).map(|s| s.id.as_str());
        let mut plan = OrphanPlan {
            volume_id: volume.into(),
            delete: Vec::new(),
            keep: Vec::new(),
            reasons: Vec::new(),
            locked: Vec::new(),
        };
        for s in mine {
            let (goes, why) = match (cutoff, s.state) {
                _ if Some(s.id.as_str()) == newest => (false, "keep: the newest of an orphaned volume".to_owned()),
                (_, SnapshotState::Pending | SnapshotState::Other) => (false, "keep: pending".to_owned()),
                (None, _) => (false, "keep: orphan (orphan expiry is off)".to_owned()),
                (Some((after, at)), _) if run_time(s, policy.now) < at => {
                    (true, format!("delete: orphan older than {after}"))
                }
                (Some((after, _)), _) => (false, format!("keep: orphan newer than {after}")),
            };
            if goes {
                plan.delete.push(s.id.clone());
            } else {
                plan.keep.push(s.id.clone());
            }
            if policy.explain {
                plan.reasons.push(Reason { snapshot_id: s.id.clone(), reason: why });
            }
        }
        plan.delete.reverse();
        for s in replaced {
            let why = match cutoff {
                Some(_) => {
                    plan.delete.push(s.id.clone());
                    crate::copy::replaced_reason(s).to_owned()
                }
                None => {
                    plan.keep.push(s.id.clone());
                    "keep: orphan (orphan expiry is off), replaced by its encrypted copy".to_owned()
                }
            };
            if policy.explain {
                plan.reasons.push(Reason { snapshot_id: s.id.clone(), reason: why });
            }
        }
        out.push(plan);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::TAG_RUN;
    use crate::{plan, run_id, Attachment, Instance, Tag};
    use chrono::TimeZone;

    const DAILY: &str = "SnapshotDaily";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    }

    fn policy(expire: Option<&str>, explain: bool) -> Policy {
        let k = Keyword::new(DAILY).unwrap();
        Policy {
            keyword: k.clone(),
            all_keywords: vec![k],
            scheduled_time: now(),
            request: None,
            time_zone: Tz::UTC,
            now: now(),
            explain,
            orphans_expire_after: expire.map(|e| e.parse().unwrap()),
        }
    }

    /// A daily snapshot of `volume`, `days` old, with the marker and keyword tags unless told.
    fn snap(id: &str, volume: &str, days: i64, state: SnapshotState, keyword_tag: bool) -> Snapshot {
        let t = now() - chrono::Duration::days(days);
        let mut tags = vec![Tag::new(TAG_KEYWORD, DAILY), Tag::new(TAG_RUN, run_id(t))];
        if keyword_tag {
            tags.push(Tag::new(DAILY, "7"));
        }
        Snapshot {
            encrypted: false,
            id: id.into(),
            volume_id: volume.into(),
            owner_id: "1".into(),
            state,
            start_time: t,
            tags: tags.into(),
        }
    }

    fn inventory(state: &str) -> Inventory {
        use SnapshotState::{Completed, Error, Pending};
        Inventory {
            instances: vec![Instance {
                id: "i-1".into(),
                owner_id: "1".into(),
                state: state.into(),
                tags: vec![Tag::new(DAILY, "7")],
                volumes: vec![Attachment { volume_id: "vol-1".into(), device: "/dev/xvda".into(), exclude: None }],
                root_device: None,
            }],
            snapshots: vec![
                // vol-1 is attached: rotation's, never an orphan's.
                snap("snap-a1", "vol-1", 300, Completed, true),
                // vol-9: the instance that had it is gone.
                snap("snap-900", "vol-9", 200, Completed, true),
                snap("snap-901", "vol-9", 100, Completed, true),
                snap("snap-902", "vol-9", 95, Error, true),
                snap("snap-903", "vol-9", 89, Completed, true),
                snap("snap-904", "vol-9", 10, Completed, true),
                snap("snap-905", "vol-9", 1, Pending, true),
                // Kept forever: the keyword tag was removed.
                snap("snap-906", "vol-9", 400, Completed, false),
                // vol-8: only old snapshots; the newest of them stays.
                snap("snap-800", "vol-8", 300, Completed, true),
                snap("snap-801", "vol-8", 200, Completed, true),
                // Copies share one made-up volume id: never grouped as one volume's orphans.
                snap("snap-ff0", COPY_VOLUME_ID, 300, Completed, true),
                snap("snap-ff1", COPY_VOLUME_ID, 200, Completed, true),
            ],
            ..Inventory::default()
        }
    }

    #[test]
    fn expired_orphans_go_keeping_the_newest_completed_and_every_pending_one() {
        let p = plan(&policy(Some("90d"), true), &inventory("running"));
        let by: Vec<(&str, Vec<&str>, Vec<&str>)> = p
            .orphans
            .iter()
            .map(|o| {
                (
                    o.volume_id.as_str(),
                    o.delete.iter().map(CompactString::as_str).collect(),
                    o.keep.iter().map(CompactString::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            by,
            [
                ("vol-8", vec!["snap-800"], vec!["snap-801"]),
                ("vol-9", vec!["snap-900", "snap-901", "snap-902"], vec!["snap-905", "snap-904", "snap-903"]),
            ]
        );
        let why = |id: &str| p.orphans[1].reasons.iter().find(|r| r.snapshot_id == id).unwrap().reason.clone();
        assert_eq!(why("snap-900"), "delete: orphan older than 90d");
        assert_eq!(why("snap-903"), "keep: orphan newer than 90d");
        assert_eq!(why("snap-904"), "keep: the newest of an orphaned volume");
        assert_eq!(why("snap-905"), "keep: pending");
        assert!(p.instances[0].volumes[0].delete.is_empty(), "rotation keeps 7: {:?}", p.instances[0]);
    }

    #[test]
    fn without_an_expiry_a_run_carries_no_orphans_and_a_dry_run_lists_them_all_kept() {
        assert!(plan(&policy(None, false), &inventory("running")).orphans.is_empty());
        let p = plan(&policy(None, true), &inventory("running"));
        assert_eq!(p.orphans.len(), 2);
        assert!(p.orphans.iter().all(|o| o.delete.is_empty()));
        assert!(p.orphans[0].reasons.iter().any(|r| r.reason == "keep: orphan (orphan expiry is off)"));
    }

    #[test]
    fn the_volumes_of_an_instance_going_away_are_orphans() {
        let p = plan(&policy(Some("90d"), false), &inventory("shutting-down"));
        let vol1 = p.orphans.iter().find(|o| o.volume_id == "vol-1").expect("vol-1 is orphaned");
        assert!(vol1.delete.is_empty() && vol1.keep == ["snap-a1"], "its only snapshot is its newest: {vol1:?}");
    }

    #[test]
    fn another_accounts_snapshot_is_never_an_orphan_to_delete() {
        let mut inv = inventory("running");
        for s in &mut inv.snapshots {
            s.owner_id = "2".into();
        }
        assert!(plan(&policy(Some("90d"), false), &inv).orphans.is_empty());
        // With no instance left, the snapshots' one owner is the account (read with OwnerIds=self).
        inv.instances.clear();
        assert!(!plan(&policy(Some("90d"), false), &inv).orphans.is_empty());
        inv.snapshots[0].owner_id = "3".into();
        assert!(plan(&policy(Some("90d"), false), &inv).orphans.is_empty(), "two owners: none is the account");
    }

    #[test]
    fn an_expiry_is_a_day_or_more_and_says_what_is_wrong() {
        for ok in ["90d", "12w", "6m", "1y", "1y6m", "24h", " 30d "] {
            assert!(ok.parse::<OrphanExpiry>().is_ok(), "{ok}");
        }
        assert_eq!("1y6m".parse::<OrphanExpiry>().unwrap().to_string(), "1y6m");
        for (bad, why) in [
            ("90", "a number without a unit"),
            ("0d", "it is zero"),
            ("23h", "shorter than a day"),
            ("-1d", "not a duration"),
            ("3x", "not a duration"),
            ("", "it is empty"),
            ("10001d", "an amount above 10000"),
        ] {
            let e = bad.parse::<OrphanExpiry>().unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("e.g. 90d"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_locked_orphan_past_the_expiry_is_kept_and_reported_as_a_skip() {
        let mut inv = inventory("running");
        inv.locks.insert("snap-900".into(), crate::Lock { mode: crate::LockMode::Governance, expires: Some(now()) });
        let p = plan(&policy(Some("90d"), true), &inv);
        let vol9 = p.orphans.iter().find(|o| o.volume_id == "vol-9").unwrap();
        assert_eq!(vol9.delete, ["snap-901", "snap-902"], "the others still expire");
        assert_eq!(vol9.keep, ["snap-905", "snap-904", "snap-903", "snap-900"]);
        let why = vol9.reasons.iter().find(|r| r.snapshot_id == "snap-900").unwrap();
        assert_eq!(why.reason, "keep: locked (governance until 2026-12-01T00:00:00Z)");
        let report = crate::Report::begin(&p, true);
        let skip = report.skipped.iter().find(|s| s.snapshot_id.as_deref() == Some("snap-900")).unwrap();
        assert_eq!((skip.instance_id.as_deref(), skip.volume_id.as_deref()), (None, Some("vol-9")));
        assert_eq!(skip.reason, "locked (governance until 2026-12-01T00:00:00Z)");
    }
}

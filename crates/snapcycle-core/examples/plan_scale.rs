//! How the pure planner and the run report grow with the fleet: a generated inventory of V
//! volumes (two per instance) with S completed snapshots each, planned once as a run that
//! creates a snapshot of every volume and rotates to retention S, then the report a finished run
//! of that size would return (every creation and deletion listed), serialized as the Lambda's
//! response. Prints figures; asserts nothing.
//!
//! `cargo run --release -p snapcycle-core --example plan_scale -- 100000 30 [encrypted]`
//! (arguments: volumes, snapshots per volume; defaults 100,000 and 30). With `encrypted`, every
//! snapshot is an encrypted copy in place, as a `--encrypt` stack's history is once the originals
//! are replaced: five kept tags (the source snapshot and volume too) instead of three.

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use snapcycle_core::copy::{TAG_SOURCE_SNAPSHOT, TAG_SOURCE_VOLUME};
use snapcycle_core::orphan::COPY_VOLUME_ID;
use snapcycle_core::report::{Created, Deleted};
use snapcycle_core::tags::{TAG_KEYWORD, TAG_RUN};
use snapcycle_core::{
    plan, run_id, Attachment, Instance, Inventory, Keyword, Policy, Report, Snapshot, SnapshotState, Tag, TagList,
};

/// The process's peak resident memory so far (VmHWM), in MiB; Linux only, 0 elsewhere.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let volumes = args.next().and_then(Result::ok).unwrap_or(100_000).max(2);
    let per_volume = args.next().and_then(Result::ok).unwrap_or(30).max(1);
    let encrypted = std::env::args().nth(3).as_deref() == Some("encrypted");
    let t = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().expect("a valid time");
    let k = Keyword::new("SnapshotDaily").expect("a valid keyword");
    let base = peak_mib();

    let built = Instant::now();
    let mut inv = Inventory::default();
    let retention = per_volume.to_string();
    for i in 0..volumes / 2 {
        inv.instances.push(Instance {
            id: format!("i-{i:017x}").into(),
            owner_id: "123456789012".into(),
            state: "running".into(),
            tags: vec![Tag::new("Name", format!("host-{i}")), Tag::new(k.as_str(), retention.clone())],
            volumes: (0..2)
                .map(|d| Attachment {
                    volume_id: format!("vol-{:017x}", i * 2 + d).into(),
                    device: ["/dev/xvda", "/dev/sdf"][d].into(),
                    exclude: None,
                })
                .collect(),
            root_device: Some("/dev/xvda".into()),
        });
        for d in 0..2 {
            for s in 0..per_volume {
                let run = t - Duration::days(s as i64 + 1);
                let volume = format!("vol-{:017x}", i * 2 + d);
                let id = format!("snap-{:017x}", (i * 2 + d) * per_volume + s);
                let mut tags: TagList = vec![
                    Tag::new(k.as_str(), retention.clone()),
                    Tag::new(TAG_KEYWORD, k.as_str()),
                    Tag::new(TAG_RUN, run_id(run)),
                ]
                .into();
                if encrypted {
                    // EC2 gives a copy no volume of its own; rotation reads it from the tag.
                    tags.push(Tag::new(
                        TAG_SOURCE_SNAPSHOT,
                        format!("snap-{:017x}", (1 << 40) | ((i * 2 + d) * per_volume + s)),
                    ));
                    tags.push(Tag::new(TAG_SOURCE_VOLUME, volume.clone()));
                    tags.shrink_to_fit();
                }
                inv.snapshots.push(Snapshot {
                    encrypted,
                    id: id.into(),
                    volume_id: if encrypted { COPY_VOLUME_ID.into() } else { volume.into() },
                    owner_id: "123456789012".into(),
                    state: SnapshotState::Completed,
                    start_time: run,
                    tags,
                });
            }
        }
    }
    let inventory_mib = peak_mib() - base;
    println!(
        "inventory: {} instances, {} volumes, {} snapshots, built in {:.2} s, {:.1} MiB",
        inv.instances.len(),
        volumes / 2 * 2,
        inv.snapshots.len(),
        built.elapsed().as_secs_f64(),
        inventory_mib
    );

    let policy = Policy {
        keyword: k.clone(),
        all_keywords: vec![k.clone()],
        scheduled_time: t,
        request: None,
        time_zone: chrono_tz::Tz::UTC,
        now: t,
        explain: false,
        orphans_expire_after: None,
    };
    let before = peak_mib();
    let planned = Instant::now();
    let p = plan(&policy, &inv);
    let took = planned.elapsed();
    let deletions: usize = p.volumes().map(|(_, v)| v.delete.len()).sum();
    println!(
        "plan: {:.2} s, peak {:.1} MiB (+{:.1} MiB over the inventory), {} creations, {} deletions planned",
        took.as_secs_f64(),
        peak_mib(),
        peak_mib() - before,
        p.volume_count(),
        deletions
    );

    // The report of the finished run: every creation, and once the new snapshots complete, one
    // deletion per volume.
    let mut report = Report::begin(&p, false);
    for (ip, v) in p.volumes() {
        report.created.push(Created {
            instance_id: ip.instance_id.clone(),
            volume_id: v.volume_id.clone(),
            snapshot_id: Some(format!("snap-new-{}", &v.volume_id[4..]).into()),
        });
        if let Some(oldest) = v.keep.last() {
            report.deleted.push(Deleted { volume_id: v.volume_id.clone(), snapshot_id: oldest.clone(), reason: None });
        }
    }
    let json = serde_json::to_vec(&report).expect("a report serializes");
    println!(
        "report of the whole run: {} created and {} deleted listed, {:.2} MB as JSON (Lambda refuses responses over 6 MB)",
        report.created.len(),
        report.deleted.len(),
        json.len() as f64 / 1e6
    );
    // What the Lambda answers: the first entries of each list and the counts (the rest is logged).
    let answer = report.bounded(snapcycle_core::report::MAX_LISTED_ENTRIES).unwrap_or(report);
    let bytes = serde_json::to_vec(&answer).expect("a report serializes").len();
    println!(
        "the function's response (the first {} entries of each list, and the counts): {:.3} MB",
        snapcycle_core::report::MAX_LISTED_ENTRIES,
        bytes as f64 / 1e6
    );
    println!("peak resident memory of this process: {:.1} MiB", peak_mib());
}

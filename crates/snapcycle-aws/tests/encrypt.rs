//! Encryption in place against moto's server (README, "Encryption in place"): EC2's completion
//! event starts one encrypted copy of each unencrypted snapshot in its own region; the copy's
//! completion event deletes the original; a run copies what an event missed, deletes originals
//! whose copy completed, and rotates the copies in their originals' places. The emulator's
//! CopySnapshot is strict (item 8); here copies complete at once so each step can be followed.

mod common;

use common::*;
use snapcycle_core::copy::{EncryptInPlace, TAG_SOURCE_REGION, TAG_SOURCE_SNAPSHOT, TAG_SOURCE_VOLUME};
use snapcycle_core::tags::{TAG_KEYWORD, TAG_RUN};
use snapcycle_core::Completed;
use snapcycle_testkit::moto::REGION;
use snapcycle_testkit::seed::{self, tag};
use snapcycle_testkit::Moto;

fn settings() -> snapcycle_aws::Settings {
    snapcycle_aws::Settings { encrypt: Some(EncryptInPlace { kms_key: None }), ..stack_settings() }
}

/// EC2's `copySnapshot` event for `copy` of `original`.
fn copy_done(copy: &str, original: &str) -> Completed {
    Completed {
        region: REGION.into(),
        succeeded: true,
        snapshot_ids: vec![copy.into()],
        copy_of: Some(original.into()),
    }
}

/// Every snapshot of the keyword in the region, oldest first.
async fn keyword_snapshots(ec2: &aws_sdk_ec2::Client) -> Vec<aws_sdk_ec2::types::Snapshot> {
    let mut out: Vec<_> = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(aws_sdk_ec2::types::Filter::builder().name(format!("tag:{TAG_KEYWORD}")).values(DAILY).build())
        .send()
        .await
        .unwrap()
        .snapshots()
        .to_vec();
    out.sort_by_key(|s| s.start_time().map(|t| t.as_nanos()));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn each_unencrypted_snapshot_is_copied_encrypted_once_and_the_copy_replaces_it() {
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let web = seed::instance(&ec2, &[(DAILY, "2"), ("Name", "web")], 2).await;
    let r = runner(&moto, settings()).await;
    let first = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(first.failures.is_empty(), "{first:#?}");
    let originals: Vec<String> = first.created.iter().filter_map(|c| c.snapshot_id.clone()).map(String::from).collect();
    assert_eq!(originals.len(), 2);

    // EC2's event for the set: one encrypted copy of each, in this region.
    let copied = r.copy_completed(&completed(&originals), None).await;
    assert!(copied.failures.is_empty(), "{copied:#?}");
    assert_eq!(copied.copied.len(), 2, "{copied:#?}");
    assert!(copied.copied.iter().all(|c| c.region == REGION));
    assert_eq!(copied.api_calls.get("CopySnapshot"), Some(&2));
    let copies: Vec<_> =
        keyword_snapshots(&ec2).await.into_iter().filter(|s| tag(s, TAG_SOURCE_SNAPSHOT).is_some()).collect();
    assert_eq!(copies.len(), 2);
    for c in &copies {
        assert_eq!(c.encrypted(), Some(true));
        assert!(originals.iter().any(|o| Some(o.as_str()) == tag(c, TAG_SOURCE_SNAPSHOT)));
        assert!(web.volumes.iter().any(|(_, v)| Some(v.as_str()) == tag(c, TAG_SOURCE_VOLUME)));
        assert_eq!(tag(c, TAG_SOURCE_REGION), None, "a copy in place names no source region");
        assert_eq!((tag(c, DAILY), tag(c, TAG_RUN)), (Some("2"), Some("2026-11-26T00:00:00Z")));
    }
    // Delivered again: no second copy.
    let again = r.copy_completed(&completed(&originals), None).await;
    assert!(again.copied.is_empty() && again.failures.is_empty(), "{again:#?}");
    assert_eq!(again.api_calls.get("CopySnapshot"), None);

    // EC2's copySnapshot event for the first copy: its original goes, now.
    let (c0, o0) = (copies[0].snapshot_id().unwrap(), tag(&copies[0], TAG_SOURCE_SNAPSHOT).unwrap());
    let replaced = r.copy_completed(&copy_done(c0, o0), None).await;
    assert!(replaced.failures.is_empty(), "{replaced:#?}");
    assert_eq!(replaced.deleted.len(), 1, "{replaced:#?}");
    assert_eq!(replaced.deleted[0].snapshot_id, o0);
    assert_eq!(replaced.deleted[0].reason.as_deref(), Some(format!("replaced by its encrypted copy {c0}").as_str()));
    // A forged or stale event deletes nothing: the copy's original is another snapshot.
    let o1 = originals.iter().find(|o| *o != o0).unwrap();
    let forged = r.copy_completed(&copy_done(c0, o1), None).await;
    assert!(forged.deleted.is_empty() && forged.failures.is_empty(), "{forged:#?}");
    assert!(forged.skipped[0].reason.contains("is not a copy of"), "{forged:#?}");

    // The instance is untagged while the other copy completes: its plan holds nothing, so the
    // copy's event deletes nothing (the runs decide).
    let (c1, o1_of_c1) = (copies[1].snapshot_id().unwrap(), tag(&copies[1], TAG_SOURCE_SNAPSHOT).unwrap());
    assert_eq!(o1_of_c1, o1.as_str());
    ec2.delete_tags()
        .resources(&web.instance_id)
        .tags(aws_sdk_ec2::types::Tag::builder().key(DAILY).build())
        .send()
        .await
        .unwrap();
    let held = r.copy_completed(&copy_done(c1, o1_of_c1), None).await;
    assert!(held.deleted.is_empty() && held.failures.is_empty(), "{held:#?}");
    assert!(held.skipped[0].reason.contains("its volume's plan keeps it now"), "{held:#?}");
    ec2.create_tags()
        .resources(&web.instance_id)
        .tags(aws_sdk_ec2::types::Tag::builder().key(DAILY).value("2").build())
        .send()
        .await
        .unwrap();

    // The run is retried after that: nothing is taken again (the copy is the run's snapshot for
    // its volume), and the other original, whose event was missed, is replaced by the run.
    let retry = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(retry.failures.is_empty(), "{retry:#?}");
    assert!(retry.created.is_empty(), "{retry:#?}");
    let gone: Vec<&str> = retry.deleted.iter().map(|d| d.snapshot_id.as_str()).collect();
    assert_eq!(gone, [o1.as_str()], "{retry:#?}");
    let left = keyword_snapshots(&ec2).await;
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|s| s.encrypted() == Some(true)), "only the encrypted copies are left");
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_copy_what_events_missed_and_rotate_the_copies_in_their_originals_places() {
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let db = seed::instance(&ec2, &[(DAILY, "2")], 1).await;
    let r = runner(&moto, settings()).await;
    // No event ever arrives: each run copies the newest snapshot still unencrypted, and the next
    // run deletes the original its completed copy replaces.
    let mut copied = Vec::new();
    let mut replaced = Vec::new();
    for day in 26..=30 {
        let report = run(&r, DAILY, &format!("2026-11-{day}T00:00:00Z")).await;
        assert!(report.failures.is_empty(), "{day}: {report:#?}");
        assert_eq!(report.created.len(), 1, "{day}: {report:#?}");
        copied.extend(report.copied.iter().map(|c| c.snapshot_id.to_string()));
        replaced.extend(report.deleted.iter().filter(|d| copied.contains(&d.snapshot_id.to_string())).cloned());
    }
    // 27 to 30 Nov each copied the previous day's snapshot.
    assert_eq!(copied.len(), 4, "{copied:?}");
    let all = keyword_snapshots(&ec2).await;
    let copies: Vec<_> = all.iter().filter(|s| tag(s, TAG_SOURCE_SNAPSHOT).is_some()).collect();
    let originals: Vec<_> = all.iter().filter(|s| tag(s, TAG_SOURCE_SNAPSHOT).is_none()).collect();
    // Left: the originals of 29 Nov (copied by the 30 Nov run, replaced by the next) and 30 Nov
    // (this run's), and the two newest copies by their originals' runs, 28 and 29 Nov: the copies
    // of 26 and 27 Nov were rotated away, and every original whose copy had completed was replaced.
    let mut kept: Vec<&str> = originals.iter().filter_map(|o| tag(o, TAG_RUN)).collect();
    kept.sort();
    assert_eq!(kept, ["2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z"], "{all:#?}");
    let mut runs: Vec<&str> = copies.iter().filter_map(|c| tag(c, TAG_RUN)).collect();
    runs.sort();
    assert_eq!(runs, ["2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z"], "{all:#?}");
    assert!(copies.iter().all(|c| c.encrypted() == Some(true)));
    assert!(copies.iter().all(|c| tag(c, TAG_SOURCE_VOLUME) == Some(db.volumes[0].1.as_str())));
    // The originals of 26, 27 and 28 Nov were deleted as replaced, each by the run after its copy.
    assert_eq!(replaced.len(), 3, "{replaced:#?}");
}

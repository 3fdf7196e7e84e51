//! Copies to another region against moto's server (README, "Copies to other regions"): EC2's
//! completion event starts one encrypted, tagged copy per source and destination, never two;
//! a scheduled run starts what a missed event would have, and rotates the copies by the source's
//! rules. The emulator keeps copies pending and refuses to copy a pending source (item 8).

mod common;

use common::*;
use snapcycle_core::copy::{CopyTarget, TAG_SOURCE_REGION, TAG_SOURCE_SNAPSHOT, TAG_SOURCE_VOLUME};
use snapcycle_core::tags::{TAG_KEYWORD, TAG_RUN};
use snapcycle_testkit::moto::{test_credentials, REGION};
use snapcycle_testkit::seed::{self, keyword_snapshot, tag};
use snapcycle_testkit::Moto;

const DEST: &str = "us-west-2";

/// An EC2 client of the destination region, on the same emulator.
async fn dest(moto: &Moto) -> aws_sdk_ec2::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(DEST))
        .endpoint_url(moto.url())
        .credentials_provider(test_credentials())
        .load()
        .await;
    aws_sdk_ec2::Client::new(&conf)
}

/// Every snapcycle copy in the destination, oldest first.
async fn copies(dest: &aws_sdk_ec2::Client) -> Vec<aws_sdk_ec2::types::Snapshot> {
    let mut out: Vec<_> = dest
        .describe_snapshots()
        .owner_ids("self")
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values(TAG_SOURCE_SNAPSHOT).build())
        .send()
        .await
        .unwrap()
        .snapshots()
        .to_vec();
    out.sort_by_key(|s| s.start_time().map(|t| t.as_nanos()));
    out
}

fn settings() -> snapcycle_aws::Settings {
    snapcycle_aws::Settings { copy_to: vec![CopyTarget { region: DEST.into(), kms_key: None }], ..stack_settings() }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_completed_set_is_copied_once_encrypted_and_tagged_for_its_own_rotation() {
    // Completion at once: the event comes when EC2 has completed the set.
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let web = seed::instance(&ec2, &[(DAILY, "2"), ("Name", "web")], 2).await;
    let r = runner(&moto, settings()).await;
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(report.failures.is_empty(), "{report:#?}");
    let ids: Vec<String> = report.created.iter().filter_map(|c| c.snapshot_id.clone()).map(String::from).collect();
    assert_eq!(ids.len(), 2);

    let copied = r.copy_completed(&completed(&ids), None).await;
    assert!(copied.failures.is_empty(), "{copied:#?}");
    assert_eq!(copied.copied.len(), 2, "{copied:#?}");
    assert_eq!(copied.api_calls.get("CopySnapshot"), Some(&2));
    let dest = dest(&moto).await;
    let found = copies(&dest).await;
    assert_eq!(found.len(), 2);
    for c in &found {
        let source = tag(c, TAG_SOURCE_SNAPSHOT).unwrap();
        assert!(ids.iter().any(|i| i == source), "{source}");
        assert_eq!(c.encrypted(), Some(true), "copies are encrypted");
        assert_eq!(tag(c, DAILY), Some("2"), "the keyword tag: the destination rotates it");
        assert_eq!(tag(c, TAG_KEYWORD), Some(DAILY));
        assert_eq!(tag(c, TAG_SOURCE_REGION), Some(REGION));
        assert!(web.volumes.iter().any(|(_, v)| Some(v.as_str()) == tag(c, TAG_SOURCE_VOLUME)));
        assert_eq!(tag(c, TAG_RUN), Some("2026-11-26T00:00:00Z"));
        assert_eq!(tag(c, "Name"), Some("web"));
    }

    // EventBridge delivers again, or Lambda retries: no second copy.
    let again = r.copy_completed(&completed(&ids), None).await;
    assert!(again.copied.is_empty() && again.failures.is_empty(), "{again:#?}");
    assert_eq!(again.skipped.len(), 2);
    assert!(again.skipped.iter().all(|s| s.reason.starts_with(&format!("already copied to {DEST}"))), "{again:#?}");
    assert_eq!(again.api_calls.get("CopySnapshot"), None);
    assert_eq!(copies(&dest).await.len(), 2);

    // A snapshot that is not the stack's (no marker) is never copied.
    let stray = seed::snapshot(&ec2, &web.volumes[0].1, &[("Name", "by hand")]).await;
    let other = r.copy_completed(&completed(std::slice::from_ref(&stray)), None).await;
    assert!(other.copied.is_empty() && other.failures.is_empty(), "{other:#?}");
    assert!(other.skipped[0].reason.starts_with("not one of this stack's snapshots"), "{other:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_copies_what_an_event_missed_and_rotates_the_copies_by_the_sources_rules() {
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let db = seed::instance(&ec2, &[(DAILY, "2")], 1).await;
    let volume = db.volumes[0].1.clone();
    let mut old = Vec::new();
    for day in 20..24 {
        old.push(keyword_snapshot(&ec2, &db, 0, DAILY, "2", &format!("2026-11-{day}T00:00:00Z")).await);
    }
    let r = runner(&moto, settings()).await;
    // Every event was missed: the run copies the volume's newest completed snapshot.
    let first = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(first.failures.is_empty(), "{first:#?}");
    assert_eq!(first.copied.len(), 1, "{first:#?}");
    assert_eq!(first.copied[0].snapshot_id, old[3], "the newest completed one");
    let dest = dest(&moto).await;
    assert_eq!(copies(&dest).await.len(), 1);

    // The run deleted the sources of 20 and 21 Nov (retention 2): a late event for one of them
    // copies nothing; one for 22 Nov copies it.
    let late = r.copy_completed(&completed(&old[..3]), None).await;
    assert!(late.failures.is_empty(), "{late:#?}");
    assert_eq!(late.copied.len(), 1, "{late:#?}");
    assert_eq!(late.copied[0].snapshot_id, old[2]);
    assert_eq!(late.skipped.iter().filter(|s| s.reason.contains("is gone")).count(), 2, "{late:#?}");

    // 27 Nov: the 26 Nov snapshot (now the newest completed) is copied by the run; the copies of
    // 22 and 23 Nov are the newest two of their volume, so nothing is deleted yet.
    let second = run(&r, DAILY, "2026-11-27T00:00:00Z").await;
    assert!(second.failures.is_empty(), "{second:#?}");
    assert_eq!(second.copied.len(), 1, "{second:#?}");
    assert!(second.copies_deleted.is_empty(), "{second:#?}");
    assert_eq!(copies(&dest).await.len(), 3);

    // 28 Nov: copies of 22, 23 and 26 Nov; retention 2 keeps 26 and 23 (ordered by their
    // sources' runs, not by when each copy started: the 22 Nov one started after the 23 Nov one).
    let third = run(&r, DAILY, "2026-11-28T00:00:00Z").await;
    assert!(third.failures.is_empty(), "{third:#?}");
    assert_eq!(third.copies_deleted.len(), 1, "{third:#?}");
    assert_eq!(
        (third.copies_deleted[0].region.as_str(), third.copies_deleted[0].volume_id.as_str()),
        (DEST, volume.as_str())
    );
    let left = copies(&dest).await;
    let sources: Vec<&str> = left.iter().filter_map(|c| tag(c, TAG_SOURCE_SNAPSHOT)).collect();
    assert!(!sources.contains(&old[2].as_str()), "the oldest copy went: {sources:?}");
    assert!(sources.contains(&old[3].as_str()), "{sources:?}");
    assert_eq!(left.len(), 3, "23 and 26 Nov, and 27 Nov's copied by this run: {sources:?}");
}

/// CopySnapshot has no idempotency token: an answer lost after EC2 started the copy must not
/// make a second one. Half the mutating calls lose their answer after moto did the work; every
/// source still ends with exactly one copy, adopted when the answer was lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_copy_whose_answer_was_lost_is_found_not_started_twice() {
    use snapcycle_testkit::faults::{FailureKind, FaultConfig, FaultProxy};
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let s = seed::instance(&ec2, &[(DAILY, "2"), ("Name", &format!("db-{i}"))], 1).await;
        ids.push(keyword_snapshot(&ec2, &s, 0, DAILY, "2", "2026-11-25T00:00:00Z").await);
    }
    let cfg = FaultConfig {
        failure_rate: 0.5,
        failure_kind: FailureKind::DropConnection,
        only_mutating: true,
        seed: 11,
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(&moto.url(), cfg).await.unwrap();
    let r = snapcycle_aws::Runner::new(&sdk(&proxy.url()).await, settings());
    let report = r.copy_completed(&completed(&ids), None).await;
    let stats = proxy.stats();
    println!("{stats}");
    assert!(stats.get("CopySnapshot").failed > 0, "some answers were lost: {stats}");
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.copied.len(), 3, "{report:#?}");
    let dest = dest(&moto).await;
    let found = copies(&dest).await;
    for id in &ids {
        let n = found.iter().filter(|c| tag(c, TAG_SOURCE_SNAPSHOT) == Some(id.as_str())).count();
        assert_eq!(n, 1, "exactly one copy of {id}: {stats}");
    }
}

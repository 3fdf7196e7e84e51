//! A faulty AWS: throttling like EC2's token buckets and 500s on 30% of mutating calls, between
//! the SDK and moto. The run must still finish exactly: one snapshot per volume for the run, each
//! instance's taken as one set (one CreateSnapshots call, one instant), retention exact (decided
//! from the history: the newest N completed snapshots of earlier runs stay beside this run's,
//! which counts from the next run), nothing kept-forever or of another keyword touched. The
//! emulator completes snapshots at once (so a duplicate a lost answer left is completed and must
//! be deleted) but keeps EC2's per-volume rule for every volume of a set, so a CreateSnapshots
//! whose answer was lost meets "not now" on a retry within 15 s and must adopt the set it took; a
//! later retry takes a second set, which the run must find and delete.

mod common;

use common::*;
use snapcycle_core::tags::TAG_RUN;
use snapcycle_testkit::faults::{Bucket, FailureKind, FaultConfig, FaultProxy, OperationMatcher, ThrottleConfig};
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of, tag};
use snapcycle_testkit::Moto;

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_500s_on_mutating_calls_still_converge_exactly() {
    converges_exactly_under(FailureKind::InternalError).await;
}

/// A dropped connection after moto did the work: CreateSnapshots took the set but the answer was
/// lost. The SDK's retry meets the per-volume 15 s rule ("not now"), and the run adopts this run's
/// snapshots of the set and takes none again; a retry that comes later takes a second set, which
/// the run must notice and remove.
#[tokio::test(flavor = "multi_thread")]
async fn connections_dropped_after_the_work_was_done_leave_no_duplicate() {
    converges_exactly_under(FailureKind::DropConnection).await;
}

async fn converges_exactly_under(kind: FailureKind) {
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let mut fleet = Vec::new();
    let mut protected = Vec::new();
    let mut old_ids = std::collections::HashSet::new();
    // Per volume, the two newest snapshots of earlier runs: retention 2 keeps them.
    let mut kept = std::collections::HashMap::new();
    for i in 0..10 {
        let s = seed::instance(&ec2, &[("Name", &format!("web{i}")), (DAILY, "2"), (HOURLY, "5")], 2).await;
        for v in 0..2 {
            let mut ids = Vec::new();
            for day in 19..23 {
                ids.push(keyword_snapshot(&ec2, &s, v, DAILY, "2", &format!("2026-11-{day}T00:00:00Z")).await);
            }
            old_ids.extend(ids.iter().cloned());
            kept.insert(s.volumes[v].1.clone(), ids.split_off(2));
            protected.push(keyword_snapshot(&ec2, &s, v, HOURLY, "5", "2026-11-19T00:00:00Z").await);
        }
        let forever = keyword_snapshot(&ec2, &s, 0, DAILY, "2", "2026-11-01T00:00:00Z").await;
        ec2.delete_tags()
            .resources(&forever)
            .tags(aws_sdk_ec2::types::Tag::builder().key(DAILY).build())
            .send()
            .await
            .unwrap();
        protected.push(forever);
        fleet.push(s);
    }
    // Small buckets so a run of 20 creations (10 sets, one CreateSnapshots call per instance) and
    // 40 deletions is throttled many times, quickly; the sets' bucket is sized to its 10 calls.
    let throttle = ThrottleConfig::new()
        .with(OperationMatcher::exact("CreateSnapshots"), Bucket::new(10.0, 3.0))
        .with(OperationMatcher::exact("DeleteSnapshot"), Bucket::new(20.0, 4.0))
        .with(OperationMatcher::prefix("Describe"), Bucket::new(20.0, 10.0));
    let proxy = FaultProxy::start(
        &moto.url(),
        FaultConfig {
            throttle: Some(throttle),
            failure_rate: 0.3,
            failure_kind: kind,
            only_mutating: true,
            seed: 7,
            ..FaultConfig::default()
        },
    )
    .await
    .unwrap();
    let r = snapcycle_aws::Runner::new(&sdk(&proxy.url()).await, stack_settings());
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    let stats = proxy.stats();
    println!("{stats}");
    assert!(report.failures.is_empty(), "{report:#?}");
    assert!(stats.get("CreateSnapshots").throttled > 0 && stats.get("DeleteSnapshot").throttled > 0, "{stats}");
    assert!(stats.get("CreateSnapshots").failed > 0 && stats.get("DeleteSnapshot").failed > 0, "{stats}");
    assert_eq!(stats.get("CreateSnapshot").requests, 0, "sets only: {stats}");
    assert_eq!(report.created.len(), 20);
    // 4 old, retention 2, per volume: the 2 oldest go (the new one counts from the next run); plus
    // any duplicate a lost answer left behind.
    let duplicates = report.deleted.iter().filter(|d| !old_ids.contains(d.snapshot_id.as_str())).count();
    println!("duplicates deleted: {duplicates}");
    assert_eq!(report.deleted.len() - duplicates, 40, "{report:#?}");

    for s in &fleet {
        let mut starts = Vec::new();
        for (_, vol) in &s.volumes {
            let daily = keyword_snapshots_of(&ec2, vol, DAILY).await;
            let with_tag: Vec<_> = daily.iter().filter(|x| tag(x, DAILY).is_some()).collect();
            let this_run: Vec<_> = daily.iter().filter(|x| tag(x, TAG_RUN) == Some("2026-11-26T00:00:00Z")).collect();
            assert_eq!(this_run.len(), 1, "exactly one snapshot of the run on {vol}");
            starts.push(this_run[0].start_time().cloned());
            let earlier: Vec<&str> =
                with_tag.iter().filter_map(|x| x.snapshot_id()).filter(|id| old_ids.contains(*id)).collect();
            assert_eq!(earlier, kept[vol], "retention exact on {vol}: the two newest of earlier runs stay");
            assert_eq!(with_tag.len(), 3, "{vol}: those two and the run's, nothing else");
        }
        assert_eq!(starts[0], starts[1], "{}: the run's snapshots are one set, taken at one instant", s.instance_id);
    }
    for id in &protected {
        let found = ec2.describe_snapshots().snapshot_ids(id).send().await;
        assert!(found.is_ok_and(|o| o.snapshots().len() == 1), "{id} (kept forever or hourly) must survive");
    }
}

/// EC2 gives CreateSnapshots and DeleteSnapshot a token bucket each, and the runner gives each
/// stream its own SDK retry partition (its own adaptive rate limiter and retry quota): one bucket
/// running dry never holds back the other stream. With one bucket all but empty (one call, then
/// one every 20 s) and a 4 s invocation, the other stream makes every one of its calls while the
/// starved one hands its calls over to the next invocation: starved sets hand over whole
/// instances (every volume of a set not taken), starved deletions single snapshots.
#[tokio::test(flavor = "multi_thread")]
async fn each_bucket_throttles_only_its_own_stream() {
    for starved in ["CreateSnapshots", "DeleteSnapshot"] {
        let moto = Moto::start().unwrap();
        let ec2 = ec2(&moto).await;
        // One CreateSnapshots call per instance, so the fleet is 6 instances (6 calls, of which a
        // starved bucket lets one through) of 2 volumes with 2 old snapshots each at retention 1:
        // 6 sets (12 creations) and 12 deletions.
        let mut fleet = Vec::new();
        for i in 0..6 {
            let s = seed::instance(&ec2, &[("Name", &format!("db{i}")), (DAILY, "1")], 2).await;
            for v in 0..2 {
                for day in 23..25 {
                    keyword_snapshot(&ec2, &s, v, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
                }
            }
            fleet.push(s);
        }
        let throttle = ThrottleConfig::new().with(OperationMatcher::exact(starved), Bucket::new(0.05, 1.0));
        let proxy = FaultProxy::start(&moto.url(), FaultConfig { throttle: Some(throttle), ..FaultConfig::default() })
            .await
            .unwrap();
        let r = snapcycle_aws::Runner::new(&sdk(&proxy.url()).await, stack_settings());
        let start_by = tokio::time::Instant::now() + std::time::Duration::from_secs(4);
        let deadline = snapcycle_aws::Deadline::new(start_by, std::time::Duration::from_secs(2));
        let run = "2026-11-26T00:00:00Z";
        let report = r.run_until(&request(DAILY, run), at(run), Some(deadline)).await;
        let stats = proxy.stats();
        println!("{starved} starved:\n{stats}");
        assert!(stats.get(starved).throttled > 0, "{stats}");
        assert!(report.failures.is_empty(), "throttled calls are handed over, not failed: {report:#?}");
        let c = report.continued.clone().expect("the starved stream hands over");
        // Whatever was taken was taken as whole sets, one forwarded call each.
        let sets = fleet
            .iter()
            .filter(|s| report.created.iter().any(|x| x.instance_id == s.instance_id))
            .inspect(|s| {
                let taken = report.created.iter().filter(|x| x.instance_id == s.instance_id).count();
                assert_eq!(taken, 2, "{}: a set is taken whole or not at all: {report:#?}", s.instance_id);
            })
            .count() as u64;
        assert_eq!(stats.get("CreateSnapshots").forwarded, sets, "{stats}");
        if starved == "CreateSnapshots" {
            assert_eq!(report.deleted.len(), 12, "every deletion, beside sets throttled for good: {report:#?}");
            assert!(sets < 6, "{report:#?}");
            assert_eq!((c.left, c.rotating), (12 - report.created.len(), false), "{report:#?}");
        } else {
            assert_eq!(report.created.len(), 12, "every set, beside deletions throttled for good: {report:#?}");
            assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&6), "one call per instance: {report:#?}");
            assert!(report.deleted.len() < 12, "{report:#?}");
            assert_eq!((c.left, c.rotating), (12 - report.deleted.len(), true), "{report:#?}");
        }
    }
}

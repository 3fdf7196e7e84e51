//! A run that runs short of time stops starting new calls, says how much is left, and a second
//! invocation with the same scheduled time finishes it: the end state is that of one clean run.

mod common;

use std::time::Duration;

use common::*;
use snapcycle_core::tags::TAG_RUN;
use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of, tag};
use snapcycle_testkit::Moto;

#[tokio::test(flavor = "multi_thread")]
async fn a_short_deadline_hands_over_and_the_next_invocation_finishes() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let mut fleet = Vec::new();
    for i in 0..6 {
        let s = seed::instance(&ec2, &[("Name", &format!("app{i}")), (DAILY, "1")], 2).await;
        for v in 0..2 {
            keyword_snapshot(&ec2, &s, v, DAILY, "1", "2026-11-25T00:00:00Z").await;
        }
        fleet.push(s);
    }
    let proxy = FaultProxy::start(&moto.url(), FaultConfig { latency: Duration::from_millis(100), ..FaultConfig::default() })
        .await
        .unwrap();
    let settings = snapcycle_ec2::Settings { max_concurrency: 2, ..stack_settings() };
    let r = snapcycle_ec2::Runner::new(&sdk(&proxy.url()).await, settings);
    let req = request(DAILY, "2026-11-26T00:00:00Z");

    let deadline = tokio::time::Instant::now() + Duration::from_millis(700);
    let first = r.run_until(&req, at("2026-11-26T00:00:00Z"), Some(deadline)).await;
    let c = first.continued.clone().expect("the first invocation ran short of time");
    assert!(first.failures.is_empty(), "{first:#?}");
    assert!(!first.created.is_empty() && first.created.len() < 12, "{first:#?}");
    assert_eq!(c.left, 12 - first.created.len());
    assert_eq!(c.invocation, 1);
    assert!(first.deleted.is_empty(), "rotation waits for the invocation that finishes creating");
    // Handing over while creating, it read this run's snapshots (none yet) but not the history.
    assert_eq!((first.run_snapshots, first.snapshots), (0, None));
    assert_eq!(first.api_calls.get("DescribeSnapshots"), Some(&1));
    assert!(first.to_table().contains("handed to invocation 2"));

    let next_event = req.continuation_event(at("2026-11-26T00:00:00Z"));
    let next = snapcycle_core::parse_event(&next_event, &stack_settings().keywords).unwrap();
    assert_eq!(next.invocation, 2);
    let second = r.run_until(&next, at("2026-11-26T00:05:00Z"), None).await;
    assert!(second.continued.is_none() && second.failures.is_empty(), "{second:#?}");
    assert_eq!(first.created.len() + second.created.len(), 12, "each volume snapshotted once across both");
    assert_eq!(second.deleted.len(), 12);
    // The second found the first one's snapshots as this run's, then read the whole history once.
    assert_eq!(second.run_snapshots, first.created.len());
    assert_eq!(second.snapshots, Some(24));
    assert_eq!(second.api_calls.get("DescribeSnapshots"), Some(&2));
    for s in &fleet {
        for (_, vol) in &s.volumes {
            let snaps = keyword_snapshots_of(&ec2, vol, DAILY).await;
            assert_eq!(snaps.len(), 1, "{vol}");
            assert_eq!(tag(&snaps[0], TAG_RUN), Some("2026-11-26T00:00:00Z"));
        }
    }
}

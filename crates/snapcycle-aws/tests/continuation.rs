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
    // Instant completion: the second invocation's rotation counts the first one's snapshots.
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let mut fleet = Vec::new();
    for i in 0..6 {
        let s = seed::instance(&ec2, &[("Name", &format!("app{i}")), (DAILY, "1")], 2).await;
        for v in 0..2 {
            keyword_snapshot(&ec2, &s, v, DAILY, "1", "2026-11-25T00:00:00Z").await;
        }
        fleet.push(s);
    }
    let proxy =
        FaultProxy::start(&moto.url(), FaultConfig { latency: Duration::from_millis(100), ..FaultConfig::default() })
            .await
            .unwrap();
    let settings = snapcycle_aws::Settings { max_concurrency: 2, ..stack_settings() };
    let r = snapcycle_aws::Runner::new(&sdk(&proxy.url()).await, settings);
    let req = request(DAILY, "2026-11-26T00:00:00Z");

    let deadline = tokio::time::Instant::now() + Duration::from_millis(700);
    let first = r
        .run_until(
            &req,
            at("2026-11-26T00:00:00Z"),
            Some(snapcycle_aws::Deadline::new(deadline, Duration::from_secs(30))),
        )
        .await;
    let c = first.continued.clone().expect("the first invocation ran short of time");
    assert!(first.failures.is_empty(), "{first:#?}");
    assert!(!first.created.is_empty() && first.created.len() < 12, "{first:#?}");
    assert_eq!(c.left, 12 - first.created.len());
    assert_eq!(c.invocation, 1);
    assert!(first.deleted.is_empty(), "rotation waits for the invocation that finishes creating");
    // Handing over while creating, it read this run's snapshots (none yet) but not the history.
    assert_eq!((first.run_snapshots, first.snapshots, c.rotating), (Some(0), None, false));
    assert_eq!(first.api_calls.get("DescribeSnapshots"), Some(&1));

    let next_event = serde_json::to_value(req.continuation(at("2026-11-26T00:00:00Z"), c.rotating)).unwrap();
    let next = snapcycle_core::Event::parse(&next_event, &stack_settings().keywords).unwrap();
    assert_eq!(next.invocation, 2);
    let second = r.run_until(&next, at("2026-11-26T00:05:00Z"), None).await;
    assert!(second.continued.is_none() && second.failures.is_empty(), "{second:#?}");
    assert_eq!(first.created.len() + second.created.len(), 12, "each volume snapshotted once across both");
    assert_eq!(second.deleted.len(), 12);
    // The second found the first one's snapshots as this run's, then read the whole history once.
    assert_eq!(second.run_snapshots, Some(first.created.len()));
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

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_over_while_deleting_reads_the_history_first() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let run = "2026-11-26T00:00:00Z";
    let mut fleet = Vec::new();
    for i in 0..3 {
        let s = seed::instance(&ec2, &[("Name", &format!("db{i}")), (DAILY, "1")], 1).await;
        for day in ["2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z", run] {
            keyword_snapshot(&ec2, &s, 0, DAILY, "1", day).await;
        }
        fleet.push(s);
    }
    let r = runner(&moto, stack_settings()).await;
    let req = request(DAILY, run);

    // Every volume already has this run's snapshot; the deadline passes before the history is
    // read, so no read starts that could outlast it (issue #10.9): rotation is handed over whole.
    let first = r
        .run_until(
            &req,
            at(run),
            Some(snapcycle_aws::Deadline::new(tokio::time::Instant::now(), Duration::from_secs(30))),
        )
        .await;
    let c = first.continued.clone().expect("no time for the deletions");
    assert!(first.created.is_empty() && first.deleted.is_empty() && first.failures.is_empty(), "{first:#?}");
    assert_eq!((c.left, c.rotating), (0, true), "rotation left, not yet counted");
    assert_eq!((first.run_snapshots, first.snapshots), (Some(3), None));

    let event = serde_json::to_value(req.continuation(at(run), c.rotating)).unwrap();
    assert_eq!(event["Rotating"], true);
    let next = snapcycle_core::Event::parse(&event, &stack_settings().keywords).unwrap();
    let second = r.run_until(&next, at(run), None).await;
    assert!(second.continued.is_none() && second.failures.is_empty(), "{second:#?}");
    assert_eq!(second.deleted.len(), 6);
    // The history at once, in one read; nothing was created, so nothing is read again.
    assert_eq!((second.run_snapshots, second.snapshots), (None, Some(9)));
    assert_eq!(second.api_calls.get("DescribeSnapshots"), Some(&1));
    for s in &fleet {
        let snaps = keyword_snapshots_of(&ec2, &s.volumes[0].1, DAILY).await;
        assert_eq!(snaps.len(), 1);
        assert_eq!(tag(&snaps[0], TAG_RUN), Some(run));
    }
}

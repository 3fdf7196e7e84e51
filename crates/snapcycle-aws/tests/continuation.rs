//! A run that runs short of time stops starting new calls, says how much is left, and a second
//! invocation with the same scheduled time finishes it. Creations (one set per instance) and
//! deletions run side by side, so a hand-over may leave both; an instance's set is taken whole by
//! one invocation or handed over whole. The next invocation reads the whole history again, with
//! the first one's snapshots and without its deletions. The end state is that of one clean run,
//! except that this run's snapshots the first invocation took count towards retention in the
//! second (new snapshots count from the next invocation).

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::*;
use snapcycle_core::tags::TAG_RUN;
use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of, tag};
use snapcycle_testkit::Moto;

#[tokio::test(flavor = "multi_thread")]
async fn a_short_deadline_hands_over_creations_and_deletions_and_the_next_invocation_finishes() {
    // Instant completion: the first invocation's snapshots have completed when the second reads
    // them, and still do not count (a run's own snapshots count from the next run), so the end
    // state is that of one clean run wherever the hand-over fell.
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let run = "2026-11-26T00:00:00Z";
    // One CreateSnapshots call per instance: 20 instances of 2 volumes make 20 set calls and 40
    // deletions, more than 2 calls at a time of at least 100 ms each can make in 700 ms.
    let (instances, volumes) = (20, 40);
    let mut fleet = Vec::new();
    // Per volume, (older, newer) of its two completed snapshots of earlier runs.
    let mut old: HashMap<String, (String, String)> = HashMap::new();
    for i in 0..instances {
        let s = seed::instance(&ec2, &[("Name", &format!("app{i}")), (DAILY, "1")], 2).await;
        for v in 0..2 {
            let older = keyword_snapshot(&ec2, &s, v, DAILY, "1", "2026-11-24T00:00:00Z").await;
            let newer = keyword_snapshot(&ec2, &s, v, DAILY, "1", "2026-11-25T00:00:00Z").await;
            old.insert(s.volumes[v].1.clone(), (older, newer));
        }
        fleet.push(s);
    }
    let proxy =
        FaultProxy::start(&moto.url(), FaultConfig { latency: Duration::from_millis(100), ..FaultConfig::default() })
            .await
            .unwrap();
    let settings = snapcycle_aws::Settings { max_concurrency: 2, ..stack_settings() };
    let r = snapcycle_aws::Runner::new(&sdk(&proxy.url()).await, settings);
    let req = request(DAILY, run);
    // How many of an instance's volumes an invocation took: a set is taken whole or not at all.
    let taken = |report: &snapcycle_core::Report, instance_id: &str| {
        let n = report.created.iter().filter(|c| c.instance_id == instance_id).count();
        assert!(n == 0 || n == 2, "{instance_id}: part of a set taken: {report:#?}");
        n
    };

    let deadline = tokio::time::Instant::now() + Duration::from_millis(700);
    let first = r.run_until(&req, at(run), Some(snapcycle_aws::Deadline::new(deadline, Duration::from_secs(30)))).await;
    let c = first.continued.clone().expect("the first invocation ran short of time");
    assert!(first.failures.is_empty() && first.skipped.is_empty(), "{first:#?}");
    // Both streams ran, side by side, and the sets were not all taken.
    assert!(!first.created.is_empty() && first.created.len() < volumes, "{first:#?}");
    assert!(!first.deleted.is_empty(), "deletions run beside the creations: {first:#?}");
    let sets_first = fleet.iter().map(|s| taken(&first, &s.instance_id) / 2).sum::<usize>() as u64;
    println!("the first invocation took {sets_first} sets and made {} deletions", first.deleted.len());
    assert_eq!(first.api_calls.get("CreateSnapshots"), Some(&sets_first), "one call per set: {first:#?}");
    // Decided from the history alone (retention 1, two completed each): only the older goes.
    for d in &first.deleted {
        assert_eq!(d.snapshot_id, old[d.volume_id.as_str()].0, "{first:#?}");
    }
    assert_eq!(
        c.left,
        (volumes - first.created.len()) + (volumes - first.deleted.len()),
        "creations and deletions left"
    );
    assert_eq!((c.invocation, c.rotating), (1, false));
    // It read the whole history once; having handed over, it did not read this run's again.
    assert_eq!((first.run_snapshots, first.snapshots), (None, Some(2 * volumes)));
    assert_eq!(first.api_calls.get("DescribeSnapshots"), Some(&1));

    let next_event = serde_json::to_value(req.continuation(at(run), c.rotating)).unwrap();
    let next = snapcycle_core::Event::parse(&next_event, &stack_settings().keywords).unwrap();
    assert_eq!(next.invocation, 2);
    let second = r.run_until(&next, at("2026-11-26T00:05:00Z"), None).await;
    assert!(second.continued.is_none() && second.failures.is_empty(), "{second:#?}");
    let by_first: HashSet<&str> = first.created.iter().map(|c| c.volume_id.as_str()).collect();
    let by_second: HashSet<&str> = second.created.iter().map(|c| c.volume_id.as_str()).collect();
    assert!(by_first.is_disjoint(&by_second), "a volume snapshotted twice: {first:#?} {second:#?}");
    assert_eq!(by_first.len() + by_second.len(), volumes, "each volume snapshotted once across both");
    // Each instance's set was taken by exactly one of the two, in one call.
    for s in &fleet {
        assert_eq!(taken(&first, &s.instance_id) + taken(&second, &s.instance_id), 2, "{}", s.instance_id);
    }
    assert_eq!(second.api_calls.get("CreateSnapshots"), Some(&(instances as u64 - sets_first)), "{second:#?}");
    // The volumes the first invocation did are skipped, found in the history as this run's.
    for c in &first.created {
        let id = c.snapshot_id.as_deref().unwrap();
        let skip = second.skipped.iter().find(|s| s.volume_id.as_deref() == Some(c.volume_id.as_str()));
        assert!(skip.is_some_and(|s| s.reason.starts_with("already snapshotted by this run") && s.reason.contains(id)));
    }
    assert_eq!(second.skipped.len(), first.created.len(), "{second:#?}");
    // The whole history again: the first one's snapshots in it, its deletions not.
    assert_eq!(second.snapshots, Some(2 * volumes + first.created.len() - first.deleted.len()));
    // It created, so it read this run's snapshots again at its end: both invocations' 40.
    assert_eq!(second.run_snapshots, Some(volumes));
    assert_eq!(second.api_calls.get("DescribeSnapshots"), Some(&2));
    // Every older snapshot goes, and only those. Nothing is deleted twice.
    let deleted: HashSet<&str> = first.deleted.iter().chain(&second.deleted).map(|d| d.snapshot_id.as_str()).collect();
    assert_eq!(deleted.len(), first.deleted.len() + second.deleted.len());
    assert_eq!(deleted, old.values().map(|(older, _)| older.as_str()).collect::<HashSet<_>>());
    for s in &fleet {
        let mut starts = Vec::new();
        for (_, vol) in &s.volumes {
            let snaps = keyword_snapshots_of(&ec2, vol, DAILY).await;
            let runs: Vec<_> = snaps.iter().map(|x| tag(x, TAG_RUN)).collect();
            assert_eq!(runs, [Some("2026-11-25T00:00:00Z"), Some(run)], "{vol}: as after one clean run");
            assert_eq!(snaps[0].snapshot_id(), Some(old[vol].1.as_str()));
            starts.push(snaps[1].start_time().cloned());
        }
        assert_eq!(starts[0], starts[1], "{}: the run's snapshots are one set, taken at one instant", s.instance_id);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_over_with_only_deletions_left_finishes_them_in_the_next_invocation() {
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

    // Every volume already has this run's snapshot (completed, but it counts from the next run),
    // so there is nothing to create, and retention 1 deletes the oldest; the deadline passes
    // before any deletion starts, so all three are handed over.
    let first = r
        .run_until(
            &req,
            at(run),
            Some(snapcycle_aws::Deadline::new(tokio::time::Instant::now(), Duration::from_secs(30))),
        )
        .await;
    let c = first.continued.clone().expect("no time for the deletions");
    assert!(first.created.is_empty() && first.deleted.is_empty() && first.failures.is_empty(), "{first:#?}");
    assert_eq!((c.left, c.rotating), (3, true), "only deletions left, counted");
    // The history was read (that read may finish after the deadline); nothing was created, so
    // this run's snapshots were not read again.
    assert_eq!((first.run_snapshots, first.snapshots), (None, Some(9)));
    assert_eq!(first.api_calls.get("DescribeSnapshots"), Some(&1));
    assert_eq!(first.api_calls.get("DeleteSnapshot"), None);

    let event = serde_json::to_value(req.continuation(at(run), c.rotating)).unwrap();
    assert_eq!(event["Rotating"], true);
    let next = snapcycle_core::Event::parse(&event, &stack_settings().keywords).unwrap();
    let second = r.run_until(&next, at(run), None).await;
    assert!(second.continued.is_none() && second.failures.is_empty(), "{second:#?}");
    assert!(second.created.is_empty(), "{second:#?}");
    assert_eq!(second.deleted.len(), 3);
    // The history in one read; nothing was created, so nothing is read again.
    assert_eq!((second.run_snapshots, second.snapshots), (None, Some(9)));
    assert_eq!(second.api_calls.get("DescribeSnapshots"), Some(&1));
    for s in &fleet {
        let snaps = keyword_snapshots_of(&ec2, &s.volumes[0].1, DAILY).await;
        let runs: Vec<_> = snaps.iter().map(|x| tag(x, TAG_RUN)).collect();
        assert_eq!(runs, [Some("2026-11-25T00:00:00Z"), Some(run)], "the newest of earlier runs and this run's");
    }
}

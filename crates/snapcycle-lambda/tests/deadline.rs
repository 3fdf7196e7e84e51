//! The invocation's own deadline, end to end: `bootstrap` polls a loopback Runtime API that sets
//! `Lambda-Runtime-Deadline-Ms` as Lambda does, stops starting
//! work its margin before the deadline, and hands the rest to itself through the asynchronous
//! Invoke API, which queues it as the next event for the same warm process.

use std::time::Duration;

use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";

#[tokio::test(flavor = "multi_thread")]
async fn the_deadline_header_makes_the_function_hand_over_and_finish() {
    // Instant completion: retention 1 deletes the old snapshot in the same run, which is what makes the run too long for one invocation.
    let moto = Moto::start_instant().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let mut fleet = Vec::new();
    for _ in 0..6 {
        let s = seed::instance(&ec2, &[(DAILY, "1")], 1).await;
        keyword_snapshot(&ec2, &s, 0, DAILY, "1", "2026-11-25T00:00:00Z").await;
        fleet.push(s);
    }
    // 200 ms a call, one at a time, 3 s per invocation (a tenth of it, 0.3 s, is the margin):
    // the reads (instances and this run's snapshots side by side, then the history) + 6 creations
    // + 6 deletions do not fit one invocation.
    let slow = FaultConfig { latency: Duration::from_millis(200), ..FaultConfig::default() };
    let proxy = FaultProxy::start(&moto.url(), slow).await.unwrap();
    let env = [("SNAPCYCLE_KEYWORDS", DAILY.to_owned()), ("SNAPCYCLE_MAX_CONCURRENCY", "1".to_owned())];
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let mut lambda =
        snapcycle_testkit::lambda::start(&moto, &proxy.url(), Duration::from_secs(3), bootstrap, &env, "deadline")
            .await
            .unwrap();
    let api = &mut lambda.api;
    api.enqueue(serde_json::json!({"SnapshotKeyWord": DAILY, "ScheduledTime": "2026-11-26T00:00:00Z"}));

    let mut done = Vec::new();
    let chain = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(f) = api.next_finished(Duration::from_secs(5)).await {
            assert!(f.ok, "invocation {} failed: {}", done.len() + 1, f.body);
            // The margin leaves room for the call in flight; half a second more allows a loaded machine.
            assert!(f.took < Duration::from_millis(3500), "ended about its deadline: {:?}", f.took);
            done.push(f);
        }
    })
    .await;
    let alive = lambda.function.alive();
    assert!(chain.is_ok() && alive, "the chain did not settle in 120 s (function still running: {alive})");
    assert!(done.len() >= 2, "handed over at least once: {} invocation(s)", done.len());
    for (i, f) in done.iter().enumerate() {
        assert_eq!(f.event["ScheduledTime"], "2026-11-26T00:00:00Z");
        if i > 0 {
            assert_eq!(f.event["Invocation"], i as u64 + 1);
            // A hand-over made while deleting says so, and the next invocation then reads the
            // history first instead of this run's snapshots.
            let rotating = done[i - 1].body["continued"]["rotating"] == true;
            assert_eq!(f.event["Rotating"] == true, rotating, "event {} after {}", f.event, done[i - 1].body);
            assert_eq!(f.body["run_snapshots"].is_null(), rotating, "{}", f.body);
        }
        assert_eq!(f.body["continued"].is_null(), i == done.len() - 1, "only the last one finishes: {}", f.body);
    }
    // A call still running at the deadline is abandoned (issue #10.9): EC2 may have done it
    // without the proxy counting its answer, so the outcome is checked in the emulator itself:
    // each volume holds exactly this run's snapshot (one, no duplicate) and its old one is gone.
    let stats = proxy.stats();
    assert!(stats.by_operation["CreateSnapshot"].requests >= 6 && stats.by_operation["DeleteSnapshot"].requests >= 6);
    for s in &fleet {
        let snaps = keyword_snapshots_of(&ec2, &s.volumes[0].1, DAILY).await;
        assert_eq!(snaps.len(), 1, "retention 1 for {}", s.instance_id);
        assert_eq!(snapcycle_testkit::seed::tag(&snaps[0], "snapcycle:run"), Some("2026-11-26T00:00:00Z"));
    }
}

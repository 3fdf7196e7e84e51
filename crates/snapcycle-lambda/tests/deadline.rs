//! The invocation's own deadline, end to end: `bootstrap` polls a loopback Runtime API that sets
//! `Lambda-Runtime-Deadline-Ms` as Lambda does, stops starting
//! work its margin before the deadline, and hands the rest to itself through the asynchronous
//! Invoke API, which queues it as the next event for the same warm process.

use std::time::Duration;

use snapcycle_core::tags::{TAG_DEVICES, TAG_RUN};
use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::moto::EMU_PENDING_SECONDS;
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of, tag};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";
const INSTANCES: usize = 6;

#[tokio::test(flavor = "multi_thread")]
async fn the_deadline_header_makes_the_function_hand_over_and_finish() {
    // New snapshots stay pending for the whole test, as EC2 keeps them for minutes: this run's
    // snapshots never count towards retention, whichever invocation reads them, so the end state
    // does not depend on where the hand-overs fall.
    let moto = Moto::start_with(&[(EMU_PENDING_SECONDS, "600")]).unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let mut fleet = Vec::new();
    for _ in 0..INSTANCES {
        let s = seed::instance(&ec2, &[(DAILY, "1")], 2).await;
        for v in 0..2 {
            for day in 22..26 {
                keyword_snapshot(&ec2, &s, v, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
            }
        }
        fleet.push(s);
    }
    // 200 ms a call, one at a time in each stream, 3 s per invocation (a tenth of it, 0.3 s, is
    // the margin): after the reads (instances and the history side by side), the 6 sets (one
    // CreateSnapshots call per instance of two volumes, 1.2 s) run beside 36 deletions
    // (retention 1 of 4 old snapshots on each of 12 volumes, 7.2 s), which take several
    // invocations.
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
            // A hand-over with only deletions left says so in the event; then nothing is left
            // to create. (Only a hint: every invocation reads the history first.)
            let rotating = done[i - 1].body["continued"]["rotating"] == true;
            assert_eq!(f.event["Rotating"] == true, rotating, "event {} after {}", f.event, done[i - 1].body);
            if rotating {
                assert_eq!(f.body["created"].as_array().map_or(0, Vec::len), 0, "{}", f.body);
            }
        }
        // Every invocation reads the history first; only one that created re-reads this run's
        // snapshots (for a duplicate a retried creation left).
        assert!(f.body["snapshots"].is_u64(), "{}", f.body);
        if f.body["created"].as_array().is_none_or(Vec::is_empty) {
            assert!(f.body["run_snapshots"].is_null(), "{}", f.body);
        }
        assert_eq!(f.body["continued"].is_null(), i == done.len() - 1, "only the last one finishes: {}", f.body);
    }
    // A call still running at the deadline is abandoned (issue #10.9): EC2 may have done it
    // without the proxy counting its answer, so the outcome is checked in the emulator itself:
    // each volume holds exactly this run's snapshot (one, no duplicate) and its newest old one,
    // which retention 1 keeps while the new one is pending; the three older ones are gone.
    let stats = proxy.stats();
    assert!(
        stats.get("CreateSnapshots").requests >= INSTANCES as u64
            && stats.get("DeleteSnapshot").requests >= 6 * INSTANCES as u64,
        "{stats}"
    );
    assert_eq!(stats.get("CreateSnapshot").requests, 0, "sets only: {stats}");
    for s in &fleet {
        // This run's snapshot of each volume comes from the instance's one set of both volumes.
        let mut devices: Vec<String> = s.volumes.iter().map(|(device, vol)| format!("{vol}={device}")).collect();
        devices.sort();
        let description = format!("snapcycle {DAILY} {} ({}, 2 volumes)", s.instance_id, s.instance_id);
        for (_, vol) in &s.volumes {
            let snaps = keyword_snapshots_of(&ec2, vol, DAILY).await;
            let runs: Vec<_> = snaps.iter().map(|x| tag(x, TAG_RUN)).collect();
            assert_eq!(
                runs,
                [Some("2026-11-25T00:00:00Z"), Some("2026-11-26T00:00:00Z")],
                "retention 1 for {vol} of {}",
                s.instance_id
            );
            let mut tagged: Vec<&str> = tag(&snaps[1], TAG_DEVICES).unwrap_or_default().split(' ').collect();
            tagged.sort();
            assert_eq!(tagged, devices, "{vol}");
            assert_eq!(snaps[1].description(), Some(description.as_str()), "{vol}");
        }
    }
}

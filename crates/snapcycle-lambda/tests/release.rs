//! The artifact `snapcycle deploy` uploads, run for real: the aarch64 `bootstrap` from
//! `cargo lambda build --release --arm64 --output-format zip`, under qemu-user, polling the
//! loopback Lambda service of snapcycle-local (real deadlines, asynchronous Invoke) against the strict
//! emulator, for one whole run that hands over. `scripts/release-check` builds the zip, checks
//! its layout and runs this test with SNAPCYCLE_RELEASE_BOOTSTRAP set to a wrapper that starts
//! the binary under `qemu-aarch64`; the ordinary suite skips it (it needs that build).

use std::time::{Duration, Instant};

use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::moto::EMU_PENDING_SECONDS;
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";
const VOLUMES: usize = 20;
/// Two volumes an instance: one set (one CreateSnapshots call) each.
const INSTANCES: usize = VOLUMES / 2;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the release zip's aarch64 bootstrap under qemu: run by scripts/release-check"]
async fn the_release_bootstrap_runs_a_whole_run_with_a_hand_over() {
    let bootstrap =
        std::env::var("SNAPCYCLE_RELEASE_BOOTSTRAP").expect("SNAPCYCLE_RELEASE_BOOTSTRAP: the bootstrap to run");
    // New snapshots stay pending for the whole test, as EC2 keeps them for minutes: they never
    // count towards retention, whichever invocation reads them, so the end state is that of one
    // clean run wherever the hand-overs fall.
    let moto = Moto::start_with(&[(EMU_PENDING_SECONDS, "600")]).unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let mut fleet = Vec::new();
    for i in 0..INSTANCES {
        let s = seed::instance(&ec2, &[(DAILY, "1"), ("Name", &format!("arm-{i}"))], 2).await;
        for v in 0..2 {
            for day in 23..26 {
                keyword_snapshot(&ec2, &s, v, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
            }
        }
        fleet.push(s);
    }
    // 10 sets (one CreateSnapshots call per instance, 20 volumes) beside 40 deletions (retention
    // 1 of 3 old per volume), two calls of each at a time at 150 ms: the deletions alone take
    // 3 s, longer than an invocation.
    let slow = FaultConfig { latency: Duration::from_millis(150), ..FaultConfig::default() };
    let proxy = FaultProxy::start(&moto.url(), slow).await.unwrap();
    let env = [("SNAPCYCLE_KEYWORDS", DAILY.to_owned()), ("SNAPCYCLE_MAX_CONCURRENCY", "2".to_owned())];
    let spawned = Instant::now();
    let mut lambda = snapcycle_testkit::lambda::start(
        &moto,
        &proxy.url(),
        Duration::from_secs(3),
        std::path::Path::new(&bootstrap),
        &env,
        "release",
    )
    .await
    .unwrap();
    let api = &mut lambda.api;
    // Cold start: an event refused before any AWS call, answered by a process just started.
    api.enqueue(serde_json::json!({}));
    let refused = api.next_finished(Duration::from_secs(60)).await.expect("the cold invocation ends");
    let cold = spawned.elapsed();
    assert!(!refused.ok && refused.body["errorType"] == "snapcycle.InvalidEvent", "{}", refused.body);

    api.enqueue(serde_json::json!({"SnapshotKeyWord": DAILY, "ScheduledTime": "2026-11-26T00:00:00Z"}));
    let started = Instant::now();
    let mut done = Vec::new();
    while let Some(f) = api.next_finished(Duration::from_secs(10)).await {
        assert!(f.ok, "invocation {} failed: {}", done.len() + 1, f.body);
        assert!(f.took < Duration::from_secs(3), "ended before its deadline: {:?}", f.took);
        done.push(f);
        if done.last().is_some_and(|f| f.body["continued"].is_null()) {
            break;
        }
    }
    let whole = started.elapsed();
    drop(lambda);
    assert!(done.len() >= 2, "handed over at least once: {} invocation(s)", done.len());
    assert!(done.last().unwrap().body["continued"].is_null(), "the chain finished");
    let stats = proxy.stats();
    // A call running at the deadline is abandoned, and EC2 may have done it without the proxy
    // counting its answer: the outcome is checked in the emulator (per volume, the newest old
    // snapshot and this run's one, the two older ones gone).
    assert!(
        stats.get("CreateSnapshots").requests >= INSTANCES as u64
            && stats.get("DeleteSnapshot").requests >= 2 * VOLUMES as u64,
        "{stats}"
    );
    assert_eq!(stats.get("CreateSnapshot").requests, 0, "sets only: {stats}");
    for s in &fleet {
        for (_, vol) in &s.volumes {
            let snaps = keyword_snapshots_of(&ec2, vol, DAILY).await;
            let runs: Vec<_> = snaps.iter().map(|x| snapcycle_testkit::seed::tag(x, "snapcycle:run")).collect();
            assert_eq!(runs, [Some("2026-11-25T00:00:00Z"), Some("2026-11-26T00:00:00Z")], "{vol}");
        }
    }
    println!(
        "release bootstrap under qemu: cold start (spawn to first answer) {} ms; {VOLUMES} volumes in {} invocations, {:.1} s, {} AWS calls",
        cold.as_millis(),
        done.len(),
        whole.as_secs_f64(),
        stats.total().requests
    );
}

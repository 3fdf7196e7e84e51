//! A run killed part way (the process ended while its creations and its deletions, which run side
//! by side, were both under way) and run again with the same scheduled time converges to the state
//! of one clean run, with no duplicate snapshot and no extra deletion.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snapcycle_core::tags::TAG_RUN;
use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::moto::{command, EMU_PENDING_SECONDS};
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of, tag};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";
const RUN: &str = "2026-11-26T00:00:00Z";

fn snapcycle(endpoint: &str) -> Command {
    let mut cmd = command(Path::new(env!("CARGO_BIN_EXE_snapcycle")), Some(endpoint));
    cmd.args(["run", "--keyword", DAILY, "--scheduled-time", RUN, "--output", "json", "--max-concurrency", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_mid_way_converges_on_rerun() {
    // New snapshots stay pending for the whole test, as EC2 keeps them for minutes: the killed
    // run's snapshots do not count towards retention on the rerun either, so it decides what
    // one clean run decides.
    let moto = Moto::start_with(&[(EMU_PENDING_SECONDS, "600")]).unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let mut fleet = Vec::new();
    for i in 0..4 {
        let s = seed::instance(&ec2, &[("Name", &format!("db{i}")), (DAILY, "2")], 2).await;
        for v in 0..2 {
            for day in 20..24 {
                keyword_snapshot(&ec2, &s, v, DAILY, "2", &format!("2026-11-{day}T00:00:00Z")).await;
            }
        }
        fleet.push(s);
    }
    // Every call waits in the proxy, two at a time in each stream: 8 creations beside 16
    // deletions (retention 2 of 4 old snapshots), so the kill, once half the creations were
    // asked for, lands while both streams are under way.
    let proxy =
        FaultProxy::start(&moto.url(), FaultConfig { latency: Duration::from_millis(150), ..FaultConfig::default() })
            .await
            .unwrap();
    let mut child = snapcycle(&proxy.url()).spawn().unwrap();
    let start = Instant::now();
    loop {
        let stats = proxy.stats();
        if stats.get("CreateSnapshot").requests >= 4 && stats.get("DeleteSnapshot").forwarded >= 1 {
            child.kill().unwrap();
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed");
        assert!(start.elapsed() < Duration::from_secs(60), "the creations and deletions did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait().unwrap();
    // Calls the killed run left in the proxy may still reach moto: let them land first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = proxy.stats();
    assert!(stats.get("CreateSnapshot").requests < 8, "the kill came before the creations finished");
    assert!(stats.get("DeleteSnapshot").forwarded < 16, "the kill came before the deletions finished");
    let mut taken = 0;
    for s in &fleet {
        for (_, vol) in &s.volumes {
            let snaps = keyword_snapshots_of(&ec2, vol, DAILY).await;
            taken += snaps.iter().filter(|x| tag(x, TAG_RUN) == Some(RUN)).count();
        }
    }
    assert!(taken >= 1, "the killed run took snapshots");

    let again = snapcycle(&moto.url()).output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        report["created"].as_array().unwrap().len(),
        8 - taken,
        "the rerun recognises this run's snapshots and takes only the rest"
    );

    // The state of one clean run: per volume this run's snapshot and the two newest old ones.
    for s in &fleet {
        for (_, vol) in &s.volumes {
            let snaps = keyword_snapshots_of(&ec2, vol, DAILY).await;
            let runs: BTreeSet<&str> = snaps.iter().filter_map(|x| tag(x, TAG_RUN)).collect();
            assert_eq!(snaps.len(), 3, "{vol}: {runs:?}");
            assert_eq!(runs, BTreeSet::from(["2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z", RUN]), "{vol}");
        }
    }
}

//! A crash between a set and its rotation: the `snapcycle run` process is killed after some
//! instances' sets (one CreateSnapshots call each) were taken and some deletions were made, while
//! the rotation of a set already taken was still under way and other sets were not yet asked
//! for. Run again with the same scheduled time, it converges to the state of one clean run: no
//! second set for an instance whose set was taken, exactly one snapshot of the run per volume,
//! exact retention and no extra deletion.

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
const INSTANCES: usize = 8;
/// Volumes per instance: each set is one CreateSnapshots call of two snapshots.
const PER_INSTANCE: usize = 2;
const VOLUMES: usize = INSTANCES * PER_INSTANCE;
/// Old snapshots per volume, of which retention 2 keeps two.
const OLD: usize = 4;

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
    for i in 0..INSTANCES {
        let s = seed::instance(&ec2, &[("Name", &format!("db{i}")), (DAILY, "2")], PER_INSTANCE).await;
        for v in 0..PER_INSTANCE {
            for day in 20..20 + OLD {
                keyword_snapshot(&ec2, &s, v, DAILY, "2", &format!("2026-11-{day}T00:00:00Z")).await;
            }
        }
        fleet.push(s);
    }
    // Every call waits in the proxy, two at a time in each stream: 8 sets (0.6 s) beside 32
    // deletions (retention 2 of 4 old snapshots on 16 volumes, 2.4 s). The kill comes as soon as
    // EC2 answered a set and a deletion: a set is taken, its rotation has barely begun, and most
    // sets are not asked for yet.
    let proxy =
        FaultProxy::start(&moto.url(), FaultConfig { latency: Duration::from_millis(150), ..FaultConfig::default() })
            .await
            .unwrap();
    let mut child = snapcycle(&proxy.url()).spawn().unwrap();
    let start = Instant::now();
    loop {
        let stats = proxy.stats();
        if stats.get("CreateSnapshots").forwarded >= 1 && stats.get("DeleteSnapshot").forwarded >= 1 {
            child.kill().unwrap();
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed");
        assert!(start.elapsed() < Duration::from_secs(60), "the sets and the deletions did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait().unwrap();
    // Calls the killed run left in the proxy may still reach moto: let them land first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = proxy.stats();
    assert!(stats.get("CreateSnapshots").requests < INSTANCES as u64, "the kill came before every set was asked for");
    assert_eq!(stats.get("CreateSnapshot").requests, 0, "sets only");
    assert!(
        stats.get("DeleteSnapshot").forwarded < (VOLUMES * (OLD - 2)) as u64,
        "the kill came before the deletions finished"
    );

    // What the killed run left, read in the emulator itself: a set is all or nothing, so an
    // instance has this run's snapshot on both volumes or on neither.
    let (mut with_set, mut old_left, mut mid_rotation) = (BTreeSet::new(), 0, false);
    for s in &fleet {
        let (mut taken, mut old) = (0, Vec::new());
        for (_, vol) in &s.volumes {
            let snaps = keyword_snapshots_of(&ec2, vol, DAILY).await;
            taken += snaps.iter().filter(|x| tag(x, TAG_RUN) == Some(RUN)).count();
            old.push(snaps.iter().filter(|x| tag(x, TAG_RUN) != Some(RUN)).count());
        }
        assert!(
            taken == 0 || taken == PER_INSTANCE,
            "{}: {taken} snapshots of the run, not a whole set",
            s.instance_id
        );
        old_left += old.iter().sum::<usize>();
        if taken == PER_INSTANCE {
            with_set.insert(s.instance_id.clone());
            // Its set was taken, and its volumes still hold more than retention keeps.
            mid_rotation |= old.iter().any(|n| *n > 2);
        }
    }
    let deleted_before = VOLUMES * OLD - old_left;
    assert!(!with_set.is_empty(), "the killed run took sets");
    assert!(with_set.len() < INSTANCES, "the killed run did not take every set: {with_set:?}");
    assert!(deleted_before >= 1, "the killed run deleted snapshots");
    assert!(mid_rotation, "killed between a set and its rotation: every taken set's volumes were rotated already");

    eprintln!("killed after {} of {INSTANCES} sets and {deleted_before} deletions", with_set.len());

    let again = snapcycle(&moto.url()).output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let created = report["created"].as_array().unwrap();
    assert_eq!(
        created.len(),
        PER_INSTANCE * (INSTANCES - with_set.len()),
        "the rerun recognises this run's sets and takes only the rest: {report}"
    );
    assert_eq!(
        report["api_calls"]["CreateSnapshots"],
        INSTANCES - with_set.len(),
        "one set per instance left, no second set for an instance whose set was taken: {report}"
    );
    for c in created {
        let instance = c["instance_id"].as_str().unwrap();
        assert!(!with_set.contains(instance), "a second set for {instance}: {report}");
    }
    assert_eq!(
        report["deleted"].as_array().unwrap().len(),
        old_left - 2 * VOLUMES,
        "the rerun deletes only what rotation still holds beyond retention: {report}"
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

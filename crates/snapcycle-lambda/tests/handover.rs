//! A run longer than one invocation, end to end: the function works until its time limit
//! (`SNAPCYCLE_TIME_LIMIT_SECONDS`, shorter than the invocation's own deadline), invokes itself
//! asynchronously with the same scheduled time, and the chain of invocations converges to exactly
//! what one clean run leaves. The loopback Lambda service records each Invoke the function makes
//! and queues it as the next event, as Lambda's asynchronous queue does.

use std::time::Duration;

use snapcycle_core::tags::TAG_RUN;
use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::lambda::FUNCTION;
use snapcycle_testkit::moto::EMU_PENDING_SECONDS;
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of, tag};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";
const RUN: &str = "2026-11-26T00:00:00Z";
const INSTANCES: usize = 8;
/// Two volumes an instance: each set is one CreateSnapshots call of two snapshots.
const VOLUMES: usize = 2 * INSTANCES;

#[tokio::test(flavor = "multi_thread")]
async fn a_run_longer_than_an_invocation_is_handed_over_until_done() {
    // New snapshots stay pending for the whole test, as EC2 keeps them for minutes: this run's
    // snapshots never count towards retention, whichever invocation reads them, so the chain
    // deletes what one clean run deletes wherever its hand-overs fall.
    let moto = Moto::start_with(&[(EMU_PENDING_SECONDS, "600")]).unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let mut fleet = Vec::new();
    for i in 0..INSTANCES {
        let s = seed::instance(&ec2, &[(DAILY, "2"), ("Name", &format!("host-{i}"))], 2).await;
        for v in 0..2 {
            for day in 23..26 {
                keyword_snapshot(&ec2, &s, v, DAILY, "2", &format!("2026-11-{day}T00:00:00Z")).await;
            }
        }
        fleet.push(s);
    }

    // Every EC2 call takes 200 ms and each stream runs one at a time: after the reads (side by
    // side, 0.2 s) the 8 sets (one CreateSnapshots call per instance, 1.6 s) run beside the 16
    // deletions (3.2 s), so a 1 s invocation gets through about 4 sets and 4 deletions.
    let slow = FaultConfig { latency: Duration::from_millis(200), ..FaultConfig::default() };
    let proxy = FaultProxy::start(&moto.url(), slow).await.unwrap();
    let env = [
        ("SNAPCYCLE_KEYWORDS", DAILY.to_owned()),
        ("SNAPCYCLE_MAX_CONCURRENCY", "1".to_owned()),
        ("SNAPCYCLE_TIME_LIMIT_SECONDS", "1".to_owned()),
    ];
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let mut lambda =
        snapcycle_testkit::lambda::start(&moto, &proxy.url(), Duration::from_secs(60), bootstrap, &env, "handover")
            .await
            .unwrap();

    let event = serde_json::json!({"SnapshotKeyWord": DAILY, "ScheduledTime": RUN});
    let first = lambda.api.invoke(event, Duration::from_secs(60)).await.expect("the first invocation ends");
    assert!(first.ok, "{:?}", first.body);
    assert_eq!(first.body["continued"]["invocation"], 1, "the first invocation hands over: {:?}", first.body);
    // Work is left, and both streams made progress: the deletions did not wait for the creations.
    let c = &first.body["continued"];
    assert!(c["left"].as_u64().unwrap() > 0, "{c}");
    let done = |field: &str| first.body[field].as_array().map_or(0, Vec::len);
    assert!(done("created") > 0 && done("deleted") > 0, "side by side: {:?}", first.body);

    let mut reports = vec![first.body.clone()];
    let chain = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(f) = lambda.api.next_finished(Duration::from_secs(2)).await {
            assert!(f.ok, "invocation {}: {:?}", reports.len() + 1, f.body);
            assert_eq!(f.event["ScheduledTime"], RUN, "with the same scheduled time");
            assert_eq!(f.event["Invocation"], reports.len() as u64 + 1, "numbered");
            reports.push(f.body);
        }
    })
    .await;
    assert!(chain.is_ok(), "the chain did not settle in 120 s");
    let invoked = lambda.api.invoked();
    assert_eq!(invoked.len(), reports.len() - 1, "one Invoke per hand-over");
    for r in &invoked {
        assert_eq!(r.function, FUNCTION, "it invokes itself, by its own name");
        assert_eq!(r.invocation_type, "Event", "asynchronously");
        assert_eq!(r.payload["SnapshotKeyWord"], DAILY);
    }
    let last = reports.last().unwrap();
    assert!(last.get("continued").is_none(), "the chain ends with a finished run: {last:?}");
    for earlier in &reports[..reports.len() - 1] {
        assert!(earlier.get("continued").is_some(), "only the last one finishes: {earlier:?}");
    }
    let count = |field: &str| reports.iter().map(|r| r[field].as_array().map_or(0, Vec::len)).sum::<usize>();
    assert_eq!(count("created"), VOLUMES, "one snapshot per volume over all invocations");
    let sets: usize = reports.iter().map(|r| r["api_calls"]["CreateSnapshots"].as_u64().unwrap_or(0) as usize).sum();
    assert_eq!(sets, INSTANCES, "one set per instance over all invocations");
    // A set is taken whole: both volumes of an instance are created by one invocation.
    for s in &fleet {
        let by: Vec<usize> = reports
            .iter()
            .map(|r| {
                r["created"].as_array().map_or(0, |c| c.iter().filter(|x| x["instance_id"] == s.instance_id).count())
            })
            .filter(|n| *n > 0)
            .collect();
        assert_eq!(by, [2], "{}: {reports:?}", s.instance_id);
    }
    assert_eq!(count("deleted"), VOLUMES, "the oldest of each volume, once");
    assert_eq!(count("failures"), 0);

    let stats = proxy.stats();
    assert_eq!(stats.get("CreateSnapshots").forwarded, INSTANCES as u64, "no set taken twice");
    assert_eq!(stats.get("CreateSnapshot").requests, 0, "sets only");
    assert_eq!(stats.by_operation["DeleteSnapshot"].forwarded, VOLUMES as u64);
    for s in &fleet {
        for (_, vol) in &s.volumes {
            let kept = keyword_snapshots_of(&ec2, vol, DAILY).await;
            let mut runs: Vec<_> = kept.iter().map(|k| tag(k, TAG_RUN).unwrap_or_default().to_owned()).collect();
            runs.sort();
            assert_eq!(
                runs,
                ["2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z", RUN],
                "retention 2: the two newest old ones, and this run's (pending, it counts from the next run), for {vol} of {}",
                s.instance_id
            );
        }
    }
    eprintln!("{} invocations", reports.len());
}

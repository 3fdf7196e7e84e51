//! Copies to other regions through the `bootstrap` binary (README, "Copies to other regions"):
//! EC2's completion event, in the shapes the EBS User Guide documents ("Amazon EventBridge events
//! for Amazon EBS"), reaches the function through the loopback Runtime API, and the function
//! copies the stack's snapshots to `SNAPCYCLE_COPY_TO` once each, encrypted. Calls are counted
//! by the proxy between the function and moto. With encryption in place (`SNAPCYCLE_ENCRYPT`), the
//! copy is made in the snapshot's own region, and EC2's `copySnapshot` event replaces the original.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use snapcycle_core::copy::TAG_SOURCE_SNAPSHOT;
use snapcycle_testkit::faults::{FaultConfig, FaultProxy, ProxyStats};
use snapcycle_testkit::lambda::Lambda;
use snapcycle_testkit::moto::{ACCOUNT, REGION};
use snapcycle_testkit::seed::{self, keyword_snapshot, tag};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";
const DEST: &str = "us-west-2";
const RUN: &str = "2026-11-26T00:00:00Z";
const LIMIT: Duration = Duration::from_secs(60);

/// moto (snapshots complete at once: EC2 sends its event when they have), the counting proxy,
/// and the function on it with copies to [`DEST`] on.
async fn start(label: &str) -> (Moto, aws_sdk_ec2::Client, FaultProxy, Lambda) {
    let moto = Moto::start_instant().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let proxy = FaultProxy::start(&moto.url(), FaultConfig::default()).await.unwrap();
    let env = [("SNAPCYCLE_KEYWORDS", DAILY.to_owned()), ("SNAPCYCLE_COPY_TO", DEST.to_owned())];
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let lambda = snapcycle_testkit::lambda::start(&moto, &proxy.url(), LIMIT, bootstrap, &env, label).await.unwrap();
    (moto, ec2, proxy, lambda)
}

/// An EC2 client of the destination region, on the same emulator, not through the proxy.
async fn dest(moto: &Moto) -> aws_sdk_ec2::Client {
    let sdk = moto.sdk_config().await;
    aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&sdk).region(aws_sdk_ec2::config::Region::new(DEST)).build(),
    )
}

/// Every copy in the destination (snapshots tagged with their source).
async fn copies(dest: &aws_sdk_ec2::Client) -> Vec<aws_sdk_ec2::types::Snapshot> {
    dest.describe_snapshots()
        .owner_ids("self")
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values(TAG_SOURCE_SNAPSHOT).build())
        .send()
        .await
        .unwrap()
        .snapshots()
        .to_vec()
}

fn snapshot_arn(id: &str) -> String {
    format!("arn:aws:ec2::{REGION}:snapshot/{id}")
}

fn volume_arn(id: &str) -> String {
    format!("arn:aws:ec2::{REGION}:volume/{id}")
}

/// EC2's event for a CreateSnapshots set, whole, as the EBS User Guide shows it: `snapshots` are
/// (snapshot id, volume id) pairs.
fn set_event(result: &str, cause: &str, status: &str, snapshots: &[(String, String)]) -> Value {
    json!({
        "version": "0",
        "id": "01234567-0123-0123-0123-012345678902",
        "detail-type": "EBS Multi-Volume Snapshots Completion Status",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": "2026-11-26T00:05:00Z",
        "region": REGION,
        "resources": snapshots.iter().map(|(s, _)| snapshot_arn(s)).collect::<Vec<_>>(),
        "detail": {
            "event": "createSnapshots",
            "result": result,
            "cause": cause,
            "request-id": "",
            "startTime": "2026-11-26T00:00:01Z",
            "endTime": "2026-11-26T00:05:00Z",
            "snapshots": snapshots.iter().map(|(s, v)| json!({
                "snapshot_id": snapshot_arn(s),
                "source": volume_arn(v),
                "status": status,
            })).collect::<Vec<_>>(),
        }
    })
}

/// EC2's event for one CreateSnapshot, whole, as the EBS User Guide shows it.
fn snapshot_event(snapshot_id: &str, volume_id: &str) -> Value {
    json!({
        "version": "0",
        "id": "01234567-0123-0123-0123-012345678901",
        "detail-type": "EBS Snapshot Notification",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": "2026-11-26T00:05:00Z",
        "region": REGION,
        "resources": [snapshot_arn(snapshot_id)],
        "detail": {
            "event": "createSnapshot",
            "result": "succeeded",
            "cause": "",
            "request-id": "",
            "snapshot_id": snapshot_arn(snapshot_id),
            "source": volume_arn(volume_id),
            "startTime": "2026-11-26T00:00:01Z",
            "endTime": "2026-11-26T00:05:00Z",
        }
    })
}

/// The requests per operation the proxy saw between two readings.
fn calls_between(before: &ProxyStats, after: &ProxyStats) -> BTreeMap<String, u64> {
    after
        .by_operation
        .iter()
        .map(|(op, s)| (op.clone(), s.requests - before.get(op).requests))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn list(body: &Value, field: &str) -> Vec<Value> {
    body[field].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn ec2s_completion_event_for_a_set_copies_it_once_through_the_lambda() {
    let (moto, ec2, proxy, mut lambda) = start("copies-set").await;
    let web = seed::instance(&ec2, &[(DAILY, "2"), ("Name", "web")], 2).await;

    // The schedule's event takes the set.
    let run = lambda.api.invoke(json!({"SnapshotKeyWord": DAILY, "ScheduledTime": RUN}), LIMIT).await.unwrap();
    assert!(run.ok, "{:?}", run.body);
    assert!(list(&run.body, "failures").is_empty(), "{:?}", run.body);
    assert!(list(&run.body, "copied").is_empty(), "nothing older to catch up: {:?}", run.body);
    let created: Vec<(String, String)> = list(&run.body, "created")
        .iter()
        .map(|c| (c["snapshot_id"].as_str().unwrap().to_owned(), c["volume_id"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(created.len(), 2, "{:?}", run.body);
    let ids: Vec<&str> = created.iter().map(|(s, _)| s.as_str()).collect();
    let dest = dest(&moto).await;
    assert!(copies(&dest).await.is_empty());

    // EC2's event for the set: one copy of each in the destination.
    let event = set_event("succeeded", "", "completed", &created);
    let before = proxy.stats();
    let out = lambda.api.invoke(event.clone(), LIMIT).await.unwrap();
    let calls = calls_between(&before, &proxy.stats());
    assert!(out.ok, "{:?}", out.body);
    assert!(list(&out.body, "failures").is_empty(), "{:?}", out.body);
    let copied = list(&out.body, "copied");
    assert_eq!(copied.len(), 2, "{:?}", out.body);
    for c in &copied {
        assert_eq!(c["region"], DEST, "{c}");
        assert!(ids.contains(&c["snapshot_id"].as_str().unwrap()), "{c}");
        assert!(c["copy_id"].as_str().unwrap().starts_with("snap-"), "{c}");
    }
    assert_eq!(out.body["keyword"], DAILY, "{:?}", out.body);
    assert_eq!(out.body["api_calls"]["CopySnapshot"], 2, "{:?}", out.body);
    assert_eq!(calls.get("CopySnapshot"), Some(&2), "{calls:?}");
    let found = copies(&dest).await;
    assert_eq!(found.len(), 2, "{found:?}");
    for c in &found {
        assert_eq!(c.encrypted(), Some(true), "copies are encrypted: {c:?}");
        let source = tag(c, TAG_SOURCE_SNAPSHOT).unwrap();
        assert!(ids.contains(&source), "{source}");
        assert!(copied.iter().any(|r| r["copy_id"] == c.snapshot_id().unwrap()), "{c:?}");
        assert_eq!(tag(c, DAILY), Some("2"), "{c:?}");
        assert_eq!(tag(c, "Name"), Some("web"), "{c:?}");
        assert!(web.volumes.iter().any(|(_, v)| Some(v.as_str()) == tag(c, "snapcycle:source-volume")), "{c:?}");
    }

    // The figure the README quotes: what a copy adds, per snapshot.
    let total: u64 = calls.values().sum();
    println!("copy invocation of a 2-snapshot set, API calls per operation (proxy): {calls:?}");
    println!("copy invocation, API calls per operation (report): {}", out.body["api_calls"]);
    println!("copy invocation wall time: {:?}", out.took);
    println!(
        "calls per copied snapshot: {:.1} ({total} calls / {} snapshots); wall time per snapshot: {:?}",
        total as f64 / copied.len() as f64,
        copied.len(),
        out.took / copied.len() as u32
    );
    let reported: u64 = out.body["api_calls"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(reported, total, "the report counts every call the proxy saw: {calls:?} {}", out.body["api_calls"]);

    // EventBridge delivers again (at least once): no second copy.
    let before = proxy.stats();
    let again = lambda.api.invoke(event, LIMIT).await.unwrap();
    let calls = calls_between(&before, &proxy.stats());
    assert!(again.ok, "{:?}", again.body);
    assert!(list(&again.body, "copied").is_empty(), "{:?}", again.body);
    assert!(list(&again.body, "failures").is_empty(), "{:?}", again.body);
    let skipped = list(&again.body, "skipped");
    assert_eq!(skipped.len(), 2, "{:?}", again.body);
    for s in &skipped {
        assert!(s["reason"].as_str().unwrap().starts_with(&format!("already copied to {DEST}")), "{s}");
    }
    assert_eq!(calls.get("CopySnapshot"), None, "{calls:?}");
    assert_eq!(copies(&dest).await.len(), 2);
    println!("the same event again, API calls per operation: {calls:?}, wall time {:?}", again.took);

    // Another set once the destination has copies (moto made its `aws/ebs` key on the first
    // encrypted copy): the steady state's time, the same calls.
    let mut next = Vec::new();
    for (v, (_, volume)) in web.volumes.iter().enumerate() {
        next.push((keyword_snapshot(&ec2, &web, v, DAILY, "2", "2026-11-27T00:00:00Z").await, volume.clone()));
    }
    let before = proxy.stats();
    let later = lambda.api.invoke(set_event("succeeded", "", "completed", &next), LIMIT).await.unwrap();
    let calls = calls_between(&before, &proxy.stats());
    assert!(later.ok, "{:?}", later.body);
    assert_eq!(list(&later.body, "copied").len(), 2, "{:?}", later.body);
    assert_eq!(calls.values().sum::<u64>(), total, "the same calls for a set of the same size: {calls:?}");
    println!("a second set, API calls per operation: {calls:?}, wall time {:?}", later.took);
    assert_eq!(copies(&dest).await.len(), 4);
    assert!(lambda.function.alive());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_snapshots_notification_is_copied_too() {
    let (moto, ec2, proxy, mut lambda) = start("copies-single").await;
    let db = seed::instance(&ec2, &[(DAILY, "3"), ("Name", "db")], 1).await;
    // A snapshot as a run left it (one CreateSnapshot: EC2 sends "EBS Snapshot Notification").
    let snap = keyword_snapshot(&ec2, &db, 0, DAILY, "3", RUN).await;
    let volume = &db.volumes[0].1;

    let out = lambda.api.invoke(snapshot_event(&snap, volume), LIMIT).await.unwrap();
    assert!(out.ok, "{:?}", out.body);
    assert!(list(&out.body, "failures").is_empty(), "{:?}", out.body);
    let copied = list(&out.body, "copied");
    assert_eq!(copied.len(), 1, "{:?}", out.body);
    assert_eq!(
        (copied[0]["snapshot_id"].as_str(), copied[0]["volume_id"].as_str(), copied[0]["region"].as_str()),
        (Some(snap.as_str()), Some(volume.as_str()), Some(DEST))
    );
    assert_eq!(out.body["scheduled_time"], RUN, "the source's run: {:?}", out.body);
    assert_eq!(proxy.stats().get("CopySnapshot").requests, 1);
    let found = copies(&dest(&moto).await).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].encrypted(), Some(true));
    assert_eq!(tag(&found[0], TAG_SOURCE_SNAPSHOT), Some(snap.as_str()));
    assert_eq!(found[0].snapshot_id(), copied[0]["copy_id"].as_str());
    println!("single snapshot: API calls {}, wall time {:?}", out.body["api_calls"], out.took);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_set_or_a_malformed_ec2_event_copies_nothing() {
    let (moto, ec2, proxy, mut lambda) = start("copies-bad").await;
    let web = seed::instance(&ec2, &[(DAILY, "2")], 2).await;
    let pairs: Vec<(String, String)> =
        web.volumes.iter().map(|(_, v)| ("snap-0123456789abcdef0".to_owned(), v.clone())).collect();

    // A set EC2 failed to create: success, nothing copied, and a skip that says so.
    let failed = set_event("failed", "Snapshot snap-0123456789abcdef0 is in status error", "error", &pairs);
    let out = lambda.api.invoke(failed, LIMIT).await.unwrap();
    assert!(out.ok, "{:?}", out.body);
    assert!(list(&out.body, "copied").is_empty() && list(&out.body, "failures").is_empty(), "{:?}", out.body);
    let skipped = list(&out.body, "skipped");
    assert_eq!(skipped.len(), 1, "{:?}", out.body);
    assert!(skipped[0]["reason"].as_str().unwrap().contains("did not succeed"), "{:?}", out.body);
    assert_eq!(proxy.stats().total().requests, 0, "a failed set makes no AWS call: {}", proxy.stats());

    // aws.ec2 events that are not a completion, or do not name a snapshot: refused, no AWS call.
    let mut other = snapshot_event("snap-0123456789abcdef0", &web.volumes[0].1);
    other["detail-type"] = "EC2 Instance State-change Notification".into();
    let mut volume = snapshot_event("snap-0123456789abcdef0", &web.volumes[0].1);
    volume["detail"]["snapshot_id"] = volume_arn(&web.volumes[0].1).into();
    let mut no_detail = snapshot_event("snap-0123456789abcdef0", &web.volumes[0].1);
    no_detail.as_object_mut().unwrap().remove("detail");
    for (what, bad) in [("detail-type", other), ("not a snapshot", volume), ("detail", no_detail)] {
        let out = lambda.api.invoke(bad, LIMIT).await.unwrap();
        assert!(!out.ok, "{what}: {:?}", out.body);
        assert_eq!(out.body["errorType"], "snapcycle.InvalidEvent", "{what}: {:?}", out.body);
        let message = out.body["errorMessage"].as_str().unwrap();
        assert!(message.contains("EC2's snapshot event") && message.contains(what), "{what}: {message}");
    }
    assert_eq!(proxy.stats().total().requests, 0, "bad events made no AWS call: {}", proxy.stats());
    assert!(copies(&dest(&moto).await).await.is_empty());
    assert!(lambda.function.alive(), "bad events do not stop the function");
}

/// EC2's `copySnapshot` event, whole, as the EBS User Guide shows it ("Copy snapshot"), for a copy
/// made in this region.
fn copy_event(copy_id: &str, source_id: &str) -> Value {
    json!({
        "version": "0",
        "id": "01234567-0123-0123-0123-012345678902",
        "detail-type": "EBS Snapshot Notification",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": "2026-11-26T00:20:00Z",
        "region": REGION,
        "resources": [snapshot_arn(copy_id)],
        "detail": {
            "event": "copySnapshot",
            "result": "succeeded",
            "cause": "",
            "request-id": "",
            "snapshot_id": snapshot_arn(copy_id),
            "source": snapshot_arn(source_id),
            "startTime": "2026-11-26T00:05:01Z",
            "endTime": "2026-11-26T00:20:00Z",
            "incremental": "false",
            "transferType": "standard",
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn with_encryption_in_place_the_two_events_copy_then_replace_through_the_lambda() {
    let moto = Moto::start_instant().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let proxy = FaultProxy::start(&moto.url(), FaultConfig::default()).await.unwrap();
    let env = [("SNAPCYCLE_KEYWORDS", DAILY.to_owned()), ("SNAPCYCLE_ENCRYPT", "default".to_owned())];
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let mut lambda = snapcycle_testkit::lambda::start(&moto, &proxy.url(), LIMIT, bootstrap, &env, "encrypt-in-place")
        .await
        .unwrap();
    let db = seed::instance(&ec2, &[(DAILY, "3"), ("Name", "db")], 1).await;
    let snap = keyword_snapshot(&ec2, &db, 0, DAILY, "3", RUN).await;
    let volume = &db.volumes[0].1;

    // createSnapshot succeeded: one encrypted copy, in this region.
    let out = lambda.api.invoke(snapshot_event(&snap, volume), LIMIT).await.unwrap();
    assert!(out.ok && list(&out.body, "failures").is_empty(), "{:?}", out.body);
    let copied = list(&out.body, "copied");
    assert_eq!(copied.len(), 1, "{:?}", out.body);
    assert_eq!(copied[0]["region"].as_str(), Some(REGION));
    let copy_id = copied[0]["copy_id"].as_str().unwrap().to_owned();

    // copySnapshot succeeded: the unencrypted original goes; the copy stays.
    let before = proxy.stats();
    let out = lambda.api.invoke(copy_event(&copy_id, &snap), LIMIT).await.unwrap();
    assert!(out.ok && list(&out.body, "failures").is_empty(), "{:?}", out.body);
    let deleted = list(&out.body, "deleted");
    assert_eq!(deleted.len(), 1, "{:?}", out.body);
    assert_eq!(deleted[0]["snapshot_id"].as_str(), Some(snap.as_str()));
    let calls = calls_between(&before, &proxy.stats());
    // The copy and its original, then the plan of the volume as a run decides it: the instances
    // that have it, their excluded volumes and the account's locks.
    let want =
        ["DescribeSnapshots", "DescribeInstances", "DescribeVolumes", "DescribeLockedSnapshots", "DeleteSnapshot"];
    assert_eq!(calls, want.iter().map(|op| (op.to_string(), 1)).collect::<BTreeMap<_, _>>(), "{calls:?}");
    let left = ec2.describe_snapshots().owner_ids("self").send().await.unwrap();
    let ids: Vec<&str> = left.snapshots().iter().filter_map(|s| s.snapshot_id()).collect();
    assert_eq!(ids, [copy_id.as_str()]);
    assert_eq!(left.snapshots()[0].encrypted(), Some(true));
    println!("replacing one original: API calls {}, wall time {:?}", out.body["api_calls"], out.took);
}

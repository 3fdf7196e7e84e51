//! The `bootstrap` binary end to end: the loopback Runtime API hands it events, it talks to moto
//! through a counting proxy, and failures arrive in an SQS queue subscribed to the topic.

use std::time::Duration;

use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::inbox::Inbox;
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_runs_events_and_refuses_bad_ones_without_calling_aws() {
    // Instant completion: the good volume's new snapshot is completed by the retry below, which
    // then counts it (the run that takes a snapshot never counts it towards retention).
    let moto = Moto::start_instant().unwrap();
    let sdk = moto.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let inbox = Inbox::create(&sdk, "snapcycle-failures").await;
    let good = seed::instance(&ec2, &[(DAILY, "1"), ("Name", "web")], 1).await;
    let bad = seed::instance(&ec2, &[(DAILY, "-1"), ("Name", "db")], 1).await;
    // Retention 1 and two completed snapshots: the run deletes the older one.
    let oldest = keyword_snapshot(&ec2, &good, 0, DAILY, "1", "2026-11-24T00:00:00Z").await;
    let newer = keyword_snapshot(&ec2, &good, 0, DAILY, "1", "2026-11-25T00:00:00Z").await;
    keyword_snapshot(&ec2, &bad, 0, DAILY, "1", "2026-11-25T00:00:00Z").await;

    let proxy = FaultProxy::start(&moto.url(), FaultConfig::default()).await.unwrap();
    let env = [
        ("SNAPCYCLE_KEYWORDS", "SnapshotHourly,SnapshotDaily".to_owned()),
        ("SNAPCYCLE_TOPIC_ARN", inbox.topic_arn.clone()),
    ];
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let mut lambda =
        snapcycle_testkit::lambda::start(&moto, &proxy.url(), Duration::from_secs(120), bootstrap, &env, "bootstrap")
            .await
            .unwrap();
    let limit = Duration::from_secs(120);

    // Events without a usable keyword: a clear error, and not one AWS call.
    for bad_event in
        [r#"{}"#, r#"{"SnapshotKeyWord": ""}"#, r#"{"SnapshotKeyWord": 7}"#, r#"{"SnapshotKeyWord": "SnapshotWeekly"}"#]
    {
        let out = lambda.api.invoke(serde_json::from_str(bad_event).unwrap(), limit).await.unwrap();
        assert!(!out.ok, "{bad_event}: {:?}", out.body);
        assert_eq!(out.body["errorType"], "snapcycle.InvalidEvent", "{bad_event}");
        assert!(out.body["errorMessage"].as_str().unwrap().contains("SnapshotKeyWord"), "{:?}", out.body);
    }
    assert_eq!(proxy.stats().total().requests, 0, "bad events made no AWS call");
    assert!(lambda.function.alive(), "bad events do not stop the function");

    // A real scheduled event: the good instance rotates, the bad one fails and is e-mailed. A
    // bad retention fails the same way on a retry, so the invocation succeeds (no Lambda retry,
    // no second e-mail) and its report lists the failure (issue #10.6).
    let event = serde_json::json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": "2026-11-26T00:00:00Z"});
    let out = lambda.api.invoke(event.clone(), limit).await.unwrap();
    assert!(out.ok, "{:?}", out.body);
    assert_eq!(out.body["failures"][0]["code"], "InvalidRetention", "{:?}", out.body);
    assert_eq!(out.body["failures"].as_array().unwrap().len(), 1, "{:?}", out.body);
    assert_eq!(
        (out.body["created"].as_array().unwrap().len(), out.body["deleted"].as_array().unwrap().len()),
        (1, 1),
        "{:?}",
        out.body
    );
    assert_eq!(out.body["deleted"][0]["snapshot_id"], oldest.as_str(), "{:?}", out.body);
    let good_snaps = keyword_snapshots_of(&ec2, &good.volumes[0].1, DAILY).await;
    let ids: Vec<_> = good_snaps.iter().filter_map(|s| s.snapshot_id()).collect();
    let new_id = out.body["created"][0]["snapshot_id"].as_str().unwrap();
    assert_eq!(ids, [newer.as_str(), new_id], "the good instance rotated: its retention of old ones, and the new one");
    assert_eq!(keyword_snapshots_of(&ec2, &bad.volumes[0].1, DAILY).await.len(), 1, "nothing of the bad one touched");

    let mail = inbox.messages().await;
    assert_eq!(mail.len(), 1, "one message per run");
    assert_eq!(mail[0].subject, "snapcycle SnapshotDaily: 1 failure");
    assert!(mail[0].body.contains(&format!("instance {}", bad.instance_id)), "{}", mail[0].body);
    assert!(mail[0].body.contains("the retention \"-1\" is negative"), "{}", mail[0].body);
    assert!(
        mail[0].body.contains("The whole report is in CloudWatch Logs") && mail[0].body.contains("request id"),
        "{}",
        mail[0].body
    );

    // The same scheduled time again (a retry): nothing new is created.
    ec2.create_tags()
        .resources(&bad.instance_id)
        .tags(aws_sdk_ec2::types::Tag::builder().key(DAILY).value("1").build())
        .send()
        .await
        .unwrap();
    let out = lambda.api.invoke(event, limit).await.unwrap();
    assert!(out.ok, "{:?}", out.body);
    let created = out.body["created"].as_array().unwrap();
    assert_eq!(created.len(), 1, "only the volume of the mended instance: {:?}", out.body);
    assert_eq!(created[0]["instance_id"], bad.instance_id.as_str());
    // The good volume's snapshot of this run has completed, but a run's own snapshots count from
    // the next run: the retry deletes nothing more than the first attempt did (`newer` stays).
    let deleted = out.body["deleted"].as_array().unwrap();
    assert!(deleted.is_empty(), "{:?}", out.body);
    assert!(keyword_snapshots_of(&ec2, &good.volumes[0].1, DAILY)
        .await
        .iter()
        .any(|s| s.snapshot_id() == Some(newer.as_str())));
    assert_eq!(out.body["scheduled_time"], "2026-11-26T00:00:00Z");
    assert!(out.body["api_calls"]["DescribeInstances"].as_u64().unwrap() >= 1);

    // A dry run through the event contract.
    let dry = serde_json::json!({"SnapshotKeyWord": "SnapshotDaily", "DryRun": true});
    let out = lambda.api.invoke(dry, limit).await.unwrap();
    assert!(out.ok, "{:?}", out.body);
    assert_eq!(out.body["dry_run"], true);
    let logs = lambda.function.logs();
    assert!(logs.lines().any(|l| l.starts_with('{') && l.contains("\"snapshot created\"")), "JSON logs: {logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_function_expires_orphans_when_its_stack_says_so() {
    let moto = Moto::start_instant().unwrap();
    let sdk = moto.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    // Tagged, then untagged: its volume's daily snapshots are orphans, the oldest past 90 days.
    let gone = seed::instance(&ec2, &[(DAILY, "3")], 1).await;
    let old = keyword_snapshot(&ec2, &gone, 0, DAILY, "3", "2026-06-01T00:00:00Z").await;
    let newest = keyword_snapshot(&ec2, &gone, 0, DAILY, "3", "2026-07-01T00:00:00Z").await;
    ec2.delete_tags()
        .resources(&gone.instance_id)
        .tags(aws_sdk_ec2::types::Tag::builder().key(DAILY).build())
        .send()
        .await
        .unwrap();
    let proxy = FaultProxy::start(&moto.url(), FaultConfig::default()).await.unwrap();
    let env =
        [("SNAPCYCLE_KEYWORDS", "SnapshotDaily".to_owned()), ("SNAPCYCLE_ORPHANS_EXPIRE_AFTER", "90d".to_owned())];
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let mut lambda =
        snapcycle_testkit::lambda::start(&moto, &proxy.url(), Duration::from_secs(60), bootstrap, &env, "orphans")
            .await
            .unwrap();
    let event = serde_json::json!({"SnapshotKeyWord": "SnapshotDaily", "ScheduledTime": "2026-11-26T00:00:00Z"});
    let out = lambda.api.invoke(event, Duration::from_secs(60)).await.unwrap();
    assert!(out.ok, "{:?}", out.body);
    assert_eq!(out.body["orphans_deleted"][0]["snapshot_id"], old.as_str(), "{:?}", out.body);
    assert_eq!(out.body["orphans_deleted"].as_array().unwrap().len(), 1, "{:?}", out.body);
    assert!(out.body["deleted"].as_array().unwrap().is_empty(), "rotation deleted nothing: {:?}", out.body);
    let left = keyword_snapshots_of(&ec2, &gone.volumes[0].1, DAILY).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].snapshot_id(), Some(newest.as_str()), "a terminated server's last backup stays");
}

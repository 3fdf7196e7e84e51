//! Lambda's retries and deadlines, end to end through `bootstrap` on the loopback Runtime API:
//! a retry of an event without `ScheduledTime` takes no second set (issue #10.2), and a throttled
//! invocation ends before its deadline and hands over (issue #10.9).

use std::time::Duration;

use snapcycle_core::tags::{TAG_REQUEST, TAG_RUN};
use snapcycle_testkit::faults::{Bucket, FaultConfig, FaultProxy, OperationMatcher, ThrottleConfig};
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of, tag};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";
const INSTANCES: u64 = 6;

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_of_an_event_without_scheduled_time_takes_no_second_set() {
    // Instant completion: the first attempt's snapshots are complete when the retry comes.
    let moto = Moto::start_instant().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let mut fleet = Vec::new();
    for _ in 0..2 {
        let s = seed::instance(&ec2, &[(DAILY, "2")], 1).await;
        keyword_snapshot(&ec2, &s, 0, DAILY, "2", "2026-11-24T00:00:00Z").await;
        keyword_snapshot(&ec2, &s, 0, DAILY, "2", "2026-11-25T00:00:00Z").await;
        fleet.push(s);
    }
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let env = [("SNAPCYCLE_KEYWORDS", DAILY.to_owned())];
    let mut lambda =
        snapcycle_testkit::lambda::start(&moto, &moto.url(), Duration::from_secs(30), bootstrap, &env, "retry")
            .await
            .unwrap();
    let api = &mut lambda.api;
    // The classic lab's event: no ScheduledTime.
    let classic = serde_json::json!({"SnapshotKeyWord": DAILY});
    api.enqueue_as(classic.clone(), "req-0001");
    let first = api.next_finished(Duration::from_secs(60)).await.expect("the first attempt ends");
    assert!(first.ok, "{}", first.body);
    assert_eq!(first.body["created"].as_array().unwrap().len(), 2, "{}", first.body);
    assert_eq!(first.body["api_calls"]["CreateSnapshots"], 2, "one set per instance: {}", first.body);
    // Its snapshots carry the request id. Make the attempt look hours old, as a retry after
    // Lambda's back-off (or a throttled queue) would find it: its run is no longer this minute.
    let earlier = "2026-11-26T00:00:00Z";
    for s in &fleet {
        let snaps = keyword_snapshots_of(&ec2, &s.volumes[0].1, DAILY).await;
        let new: Vec<_> = snaps.iter().filter(|x| tag(x, TAG_REQUEST) == Some("req-0001")).collect();
        assert_eq!(new.len(), 1, "{snaps:?}");
        ec2.create_tags()
            .resources(new[0].snapshot_id().unwrap())
            .tags(aws_sdk_ec2::types::Tag::builder().key(TAG_RUN).value(earlier).build())
            .send()
            .await
            .unwrap();
    }

    // Lambda's retry: the same event, the same request id.
    api.enqueue_as(classic, "req-0001");
    let retry = api.next_finished(Duration::from_secs(60)).await.expect("the retry ends");
    assert!(retry.ok, "{}", retry.body);
    assert_eq!(retry.body["scheduled_time"], earlier, "the retry continues the first attempt's run: {}", retry.body);
    assert_eq!(retry.body["created"].as_array().unwrap().len(), 0, "no second set: {}", retry.body);
    assert!(retry.body["api_calls"]["CreateSnapshots"].is_null(), "no set asked for: {}", retry.body);
    for s in &fleet {
        let snaps = keyword_snapshots_of(&ec2, &s.volumes[0].1, DAILY).await;
        // Retention 2 keeps both old ones: the run's own snapshot, completed, counts from the
        // next run, in the first attempt as in the retry.
        assert_eq!(snaps.len(), 3, "the two old ones and the run's: {snaps:?}");
        assert!(snaps.iter().any(|x| tag(x, TAG_RUN) == Some(earlier)));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_invocation_ends_before_its_deadline_and_hands_over() {
    let moto = Moto::start_instant().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    // Six instances of two volumes: six sets, one CreateSnapshots call each.
    for _ in 0..INSTANCES {
        seed::instance(&ec2, &[(DAILY, "1")], 2).await;
    }
    // One set, then CreateSnapshots is throttled for the rest of the test: every later call
    // retries with back-off for far longer than the invocation has.
    let throttle = ThrottleConfig::new().with(OperationMatcher::exact("CreateSnapshots"), Bucket::new(0.01, 1.0));
    let proxy = FaultProxy::start(&moto.url(), FaultConfig { throttle: Some(throttle), ..FaultConfig::default() })
        .await
        .unwrap();
    let timeout = Duration::from_secs(4);
    let env = [("SNAPCYCLE_KEYWORDS", DAILY.to_owned()), ("SNAPCYCLE_MAX_CONCURRENCY", "1".to_owned())];
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let mut lambda =
        snapcycle_testkit::lambda::start(&moto, &proxy.url(), timeout, bootstrap, &env, "throttled").await.unwrap();
    let api = &mut lambda.api;
    api.enqueue(serde_json::json!({"SnapshotKeyWord": DAILY, "ScheduledTime": "2026-11-26T00:00:00Z"}));
    let first = api.next_finished(Duration::from_secs(30)).await.expect("the invocation ends");
    assert!(first.took < timeout, "ended before Lambda's deadline: {:?}", first.took);
    assert!(first.ok, "{}", first.body);
    let created = first.body["created"].as_array().unwrap();
    assert_eq!(created.len(), 2, "one whole set, both volumes of one instance: {}", first.body);
    assert_eq!(created[0]["instance_id"], created[1]["instance_id"], "{}", first.body);
    assert_eq!(
        first.body["continued"]["left"],
        2 * (INSTANCES - 1),
        "the throttled sets' volumes are handed over: {}",
        first.body
    );
    let stats = proxy.stats();
    assert_eq!(stats.get("CreateSnapshots").forwarded, 1, "one set taken, the others refused: {stats}");
    assert!(stats.get("CreateSnapshots").throttled > 0);
    assert_eq!(stats.get("CreateSnapshot").requests, 0, "sets only: {stats}");
}

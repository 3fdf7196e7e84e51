//! Error paths moto cannot produce, with aws-smithy-mocks: pagination, throttling, an AMI using a
//! snapshot, a snapshot already gone, EC2's per-volume rate limit.

use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::create_snapshot::{CreateSnapshotError, CreateSnapshotOutput};
use aws_sdk_ec2::operation::delete_snapshot::{DeleteSnapshotError, DeleteSnapshotOutput};
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
use aws_sdk_ec2::types::{
    EbsInstanceBlockDevice, Instance, InstanceBlockDeviceMapping, InstanceState, InstanceStateName, Reservation, Snapshot,
    SnapshotState, Tag,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::retry::RetryConfig;
use snapcycle_core::tags::{TAG_KEYWORD, TAG_RUN};
use snapcycle_core::{Keyword, RunRequest};
use snapcycle_ec2::calls::CountCalls;
use snapcycle_ec2::{Runner, Settings};

const K: &str = "SnapshotDaily";
const OWNER: &str = "123456789012";

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

fn one_instance(retention: &'static str) -> Rule {
    mock!(Client::describe_instances).then_output(move || {
        DescribeInstancesOutput::builder()
            .reservations(
                Reservation::builder()
                    .owner_id(OWNER)
                    .instances(
                        Instance::builder()
                            .instance_id("i-1")
                            .state(InstanceState::builder().name(InstanceStateName::Running).build())
                            .tags(tag(K, retention))
                            .block_device_mappings(
                                InstanceBlockDeviceMapping::builder()
                                    .device_name("/dev/xvda")
                                    .ebs(EbsInstanceBlockDevice::builder().volume_id("vol-1").build())
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

fn old_snapshot(id: &str, day: u32) -> Snapshot {
    Snapshot::builder()
        .snapshot_id(id)
        .volume_id("vol-1")
        .owner_id(OWNER)
        .state(SnapshotState::Completed)
        .start_time(aws_smithy_types::DateTime::from_secs(1_700_000_000 + i64::from(day) * 86_400))
        .tags(tag(K, "1"))
        .tags(tag(TAG_KEYWORD, K))
        .tags(tag(TAG_RUN, &format!("day-{day:03}")))
        .build()
}

fn created_ok() -> Rule {
    mock!(Client::create_snapshot).then_output(|| {
        CreateSnapshotOutput::builder()
            .snapshot_id("snap-new")
            .volume_id("vol-1")
            .owner_id(OWNER)
            .state(SnapshotState::Pending)
            .start_time(aws_smithy_types::DateTime::from_secs(1_800_000_000))
            .build()
    })
}

fn ec2_error(code: &'static str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(format!("{code} (mocked)")).build()
}

fn runner(rules: &[&Rule]) -> Runner {
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(4).with_initial_backoff(std::time::Duration::from_millis(1)))
        .interceptor(CountCalls));
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, &[]);
    Runner::from_clients(ec2, sns, Settings { keywords: vec![Keyword::new(K).unwrap()], ..Settings::default() })
}

fn req() -> RunRequest {
    RunRequest::new(Keyword::new(K).unwrap(), snapcycle_core::event::parse_time("2026-11-26T00:00:00Z"), false)
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[tokio::test]
async fn reads_every_page_of_snapshots() {
    let pages = mock!(Client::describe_snapshots)
        .sequence()
        .output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-a", 1)).next_token("t1").build())
        .output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-b", 2)).next_token("t2").build())
        .output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-c", 3)).build())
        .build();
    let deletes = mock!(Client::delete_snapshot).then_output(|| DeleteSnapshotOutput::builder().build());
    let r = runner(&[&one_instance("1"), &pages, &created_ok(), &deletes]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(pages.num_calls(), 3);
    // Retention 1 and the new snapshot still pending: the newest completed stays, two older go.
    let mut deleted: Vec<_> = report.deleted.iter().map(|d| d.snapshot_id.as_str()).collect();
    deleted.sort();
    assert_eq!(deleted, ["snap-a", "snap-b"]);
    assert_eq!(report.api_calls.get("DescribeSnapshots"), Some(&3));
}

#[tokio::test]
async fn throttled_calls_are_retried_until_they_succeed() {
    let throttled = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>";
    let create = mock!(Client::create_snapshot)
        .sequence()
        .http_response(move || {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
                aws_smithy_types::body::SdkBody::from(throttled),
            )
        })
        .times(2)
        .output(|| CreateSnapshotOutput::builder().snapshot_id("snap-new").state(SnapshotState::Pending).build())
        .build();
    let none = mock!(Client::describe_snapshots).then_output(|| DescribeSnapshotsOutput::builder().build());
    let r = runner(&[&one_instance("3"), &none, &create]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.created.len(), 1);
    assert_eq!(create.num_calls(), 3, "two throttled attempts, then success");
    assert_eq!(report.api_calls.get("CreateSnapshot"), Some(&1), "the report counts operations, not attempts");
}

#[tokio::test]
async fn throttling_that_never_ends_is_a_failure_with_its_code() {
    let throttled = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>";
    let create = mock!(Client::create_snapshot)
        .sequence()
        .http_response(move || {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
                aws_smithy_types::body::SdkBody::from(throttled),
            )
        })
        .repeatedly()
        .build();
    let snaps = mock!(Client::describe_snapshots)
        .then_output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-a", 1)).snapshots(old_snapshot("snap-b", 2)).build());
    let r = runner(&[&one_instance("2"), &snaps, &create]);
    let report = r.run(&req(), now()).await;
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].code, "RequestLimitExceeded");
    assert_eq!(report.failures[0].volume_id.as_deref(), Some("vol-1"));
    assert!(report.deleted.is_empty(), "two completed snapshots for retention 2: nothing to delete");
}

#[tokio::test]
async fn a_snapshot_an_ami_uses_is_skipped_and_the_rest_of_the_rotation_goes_on() {
    let snaps = mock!(Client::describe_snapshots).then_output(|| {
        DescribeSnapshotsOutput::builder()
            .snapshots(old_snapshot("snap-ami", 1))
            .snapshots(old_snapshot("snap-old", 2))
            .snapshots(old_snapshot("snap-keep", 3))
            .build()
    });
    let in_use = mock!(Client::delete_snapshot)
        .match_requests(|r| r.snapshot_id() == Some("snap-ami"))
        .then_error(|| DeleteSnapshotError::generic(ec2_error("InvalidSnapshot.InUse")));
    let ok = mock!(Client::delete_snapshot)
        .match_requests(|r| r.snapshot_id() == Some("snap-old"))
        .then_output(|| DeleteSnapshotOutput::builder().build());
    let r = runner(&[&one_instance("1"), &snaps, &created_ok(), &in_use, &ok]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.deleted.len(), 1);
    assert_eq!(report.deleted[0].snapshot_id, "snap-old");
    let skip = report.skipped.iter().find(|s| s.snapshot_id.as_deref() == Some("snap-ami")).unwrap();
    assert!(skip.reason.starts_with("InvalidSnapshot.InUse"), "{}", skip.reason);
}

#[tokio::test]
async fn a_snapshot_already_gone_counts_as_deleted() {
    let snaps = mock!(Client::describe_snapshots)
        .then_output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-gone", 1)).snapshots(old_snapshot("snap-keep", 2)).build());
    let gone = mock!(Client::delete_snapshot).then_error(|| DeleteSnapshotError::generic(ec2_error("InvalidSnapshot.NotFound")));
    let r = runner(&[&one_instance("1"), &snaps, &created_ok(), &gone]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.deleted.len(), 1);
    assert_eq!(report.deleted[0].snapshot_id, "snap-gone");
}

#[tokio::test]
async fn the_per_volume_rate_limit_is_a_skip_not_a_failure() {
    for code in ["SnapshotCreationPerVolumeRateExceeded", "ConcurrentSnapshotLimitExceeded"] {
        let snaps = mock!(Client::describe_snapshots)
            .then_output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-a", 1)).snapshots(old_snapshot("snap-b", 2)).build());
        let limited = mock!(Client::create_snapshot).then_error(move || CreateSnapshotError::generic(ec2_error(code)));
        let deletes = mock!(Client::delete_snapshot).then_output(|| DeleteSnapshotOutput::builder().build());
        let r = runner(&[&one_instance("1"), &snaps, &limited, &deletes]);
        let report = r.run(&req(), now()).await;
        assert!(report.failures.is_empty(), "{code}: {report:#?}");
        assert!(report.skipped.iter().any(|s| s.reason.starts_with(code)), "{report:#?}");
        assert_eq!(limited.num_calls(), 1, "{code} is not retried");
        // Rotation still runs on what exists: the newest completed snapshot stays.
        assert_eq!(report.deleted.len(), 1);
        assert_eq!(report.deleted[0].snapshot_id, "snap-a");
    }
}

#[tokio::test]
async fn a_failing_describe_is_one_failure_and_nothing_is_deleted() {
    let broken = mock!(Client::describe_instances).then_error(|| {
        aws_sdk_ec2::operation::describe_instances::DescribeInstancesError::generic(ec2_error("UnauthorizedOperation"))
    });
    let snaps = mock!(Client::describe_snapshots).then_output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-a", 1)).build());
    let deletes = mock!(Client::delete_snapshot).then_output(|| DeleteSnapshotOutput::builder().build());
    let r = runner(&[&broken, &snaps, &deletes]);
    let report = r.run(&req(), now()).await;
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].code, "UnauthorizedOperation");
    assert!(report.failures[0].message.contains("DescribeInstances"), "{}", report.failures[0].message);
    assert_eq!(deletes.num_calls(), 0);
}

//! aws-smithy-mocks fixtures shared by the tests of error paths moto cannot produce.

use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::types::{
    EbsInstanceBlockDevice, Instance, InstanceBlockDeviceMapping, InstanceState, InstanceStateName, Reservation,
    Snapshot, SnapshotState, Tag,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::retry::RetryConfig;
use snapcycle_aws::calls::CountCalls;
use snapcycle_aws::Runner;
use snapcycle_core::tags::{TAG_KEYWORD, TAG_RUN};

use super::{stack_settings, DAILY};

/// The account the mocked EC2 answers for.
pub const OWNER: &str = "123456789012";

pub fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// DescribeInstances: one running instance `i-1`, tagged `SnapshotDaily = retention`, with `vol-1`.
pub fn one_instance(retention: &'static str) -> Rule {
    instance_i1(retention, None, &[("/dev/xvda", "vol-1")])
}

/// DescribeInstances: one running instance `i-1`, tagged `SnapshotDaily = retention`, with its root
/// volume `vol-1` on /dev/xvda and the data volume `vol-2` on /dev/sdf: a set of two.
pub fn two_volume_instance(retention: &'static str) -> Rule {
    instance_i1(retention, Some("/dev/xvda"), &[("/dev/xvda", "vol-1"), ("/dev/sdf", "vol-2")])
}

/// DescribeInstances: one running instance `i-1` tagged `SnapshotDaily = retention`, with these
/// `(device, volume)` attachments and, when given, its root device name.
fn instance_i1(
    retention: &'static str,
    root: Option<&'static str>,
    volumes: &'static [(&'static str, &'static str)],
) -> Rule {
    mock!(Client::describe_instances).then_output(move || {
        let mut instance = Instance::builder()
            .instance_id("i-1")
            .state(InstanceState::builder().name(InstanceStateName::Running).build())
            .tags(tag(DAILY, retention))
            .set_root_device_name(root.map(str::to_owned));
        for (device, volume) in volumes {
            instance = instance.block_device_mappings(
                InstanceBlockDeviceMapping::builder()
                    .device_name(*device)
                    .ebs(EbsInstanceBlockDevice::builder().volume_id(*volume).build())
                    .build(),
            );
        }
        DescribeInstancesOutput::builder()
            .reservations(Reservation::builder().owner_id(OWNER).instances(instance.build()).build())
            .build()
    })
}

/// A completed daily snapshot of `vol-1`, `day` days into the mocked past (older days first).
pub fn old_snapshot(id: &str, day: i64) -> Snapshot {
    Snapshot::builder()
        .snapshot_id(id)
        .volume_id("vol-1")
        .owner_id(OWNER)
        .state(SnapshotState::Completed)
        .start_time(aws_smithy_types::DateTime::from_secs(1_700_000_000 + day * 86_400))
        .tags(tag(DAILY, "1"))
        .tags(tag(TAG_KEYWORD, DAILY))
        .tags(tag(TAG_RUN, &format!("day-{day:03}")))
        .build()
}

/// An EC2 error with this code.
pub fn ec2_error(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(format!("{code} (mocked)")).build()
}

/// EC2's 503 `RequestLimitExceeded` answer, as the SDK sees it on the wire.
pub fn throttled() -> aws_smithy_runtime_api::http::Response {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>";
    aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
        aws_smithy_types::body::SdkBody::from(body),
    )
}

/// DescribeSnapshots filtered on `snapcycle:run`, the re-read after creating: none of the mocked
/// snapshots is of the run under test, so EC2 would list none.
fn no_snapshot_of_this_run() -> Rule {
    mock!(Client::describe_snapshots)
        .match_requests(|r| r.filters().iter().any(|f| f.name() == Some(&format!("tag:{TAG_RUN}"))))
        .then_output(|| aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput::builder().build())
}

/// DescribeVolumes filtered on `snapcycle:exclude`, read beside the instances: no volume is
/// excluded.
pub fn no_excluded_volume() -> Rule {
    mock!(Client::describe_volumes)
        .then_output(|| aws_sdk_ec2::operation::describe_volumes::DescribeVolumesOutput::builder().build())
}

/// DescribeLockedSnapshots, read beside the instances: the account has no locked snapshot.
pub fn no_locked_snapshot() -> Rule {
    mock!(Client::describe_locked_snapshots).then_output(|| {
        aws_sdk_ec2::operation::describe_locked_snapshots::DescribeLockedSnapshotsOutput::builder().build()
    })
}

/// A runner on mocked clients, counting calls, with quick retries. The read of this run's
/// snapshots answers none, and no volume is excluded; the tests' own DescribeSnapshots rules
/// answer the history read. No snapshot is locked unless a test's own DescribeLockedSnapshots
/// rule says otherwise (that default comes after the tests' rules, so theirs match first).
pub fn mock_runner(rules: &[&Rule]) -> Runner {
    let first = no_snapshot_of_this_run();
    let volumes = no_excluded_volume();
    let unlocked = no_locked_snapshot();
    let rules: Vec<&Rule> =
        [&first, &volumes].into_iter().chain(rules.iter().copied()).chain(std::iter::once(&unlocked)).collect();
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &rules, |c| c
        .retry_config(
            RetryConfig::standard().with_max_attempts(4).with_initial_backoff(std::time::Duration::from_millis(1))
        )
        .interceptor(CountCalls));
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, &[]);
    Runner::from_clients(ec2, sns, stack_settings())
}

//! Error paths moto cannot produce, with aws-smithy-mocks: pagination, throttling, an AMI using a
//! snapshot, a snapshot already gone, EC2's per-volume rate limit and its 'not now' (one
//! CreateSnapshots set per instance, completed after a lost answer), a role that may not read
//! snapshot locks.

mod common;

use aws_sdk_ec2::operation::create_snapshots::{CreateSnapshotsError, CreateSnapshotsInput, CreateSnapshotsOutput};
use aws_sdk_ec2::operation::delete_snapshot::{DeleteSnapshotError, DeleteSnapshotOutput};
use aws_sdk_ec2::operation::describe_snapshots::{DescribeSnapshotsInput, DescribeSnapshotsOutput};
use aws_sdk_ec2::types::{SnapshotInfo, SnapshotState};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, Rule};
use common::mocks::*;
use common::{request, DAILY};
use snapcycle_core::Event;

fn req() -> Event {
    request(DAILY, "2026-11-26T00:00:00Z")
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// The run under test (`req()`), as its snapshots' `snapcycle:run` tag says.
const RUN: &str = "2026-11-26T00:00:00Z";

/// One item of CreateSnapshots' answer: `volume_id`'s new pending snapshot.
fn taken(snapshot_id: &str, volume_id: &str) -> SnapshotInfo {
    SnapshotInfo::builder()
        .snapshot_id(snapshot_id)
        .volume_id(volume_id)
        .owner_id(OWNER)
        .state(SnapshotState::Pending)
        .start_time(aws_smithy_types::DateTime::from_secs(1_800_000_000))
        .build()
}

/// CreateSnapshots answering with the set of `one_instance`: `vol-1`'s new pending snapshot.
fn set_ok() -> Rule {
    mock!(Client::create_snapshots)
        .then_output(|| CreateSnapshotsOutput::builder().snapshots(taken("snap-new", "vol-1")).build())
}

/// CreateSnapshots refused with this code.
fn refused(code: &str) -> CreateSnapshotsError {
    CreateSnapshotsError::generic(ec2_error(code))
}

/// The set's request for `i-1` leaves out exactly these data volumes, and never the root.
fn leaves_out(r: &CreateSnapshotsInput, data: &[&str]) -> bool {
    r.instance_specification().is_some_and(|i| {
        i.instance_id() == Some("i-1") && i.exclude_boot_volume() != Some(true) && i.exclude_data_volume_ids() == data
    })
}

/// This run's snapshot of `volume_id`, as DescribeSnapshots lists it.
fn this_runs(snapshot_id: &str, volume_id: &str) -> aws_sdk_ec2::types::Snapshot {
    aws_sdk_ec2::types::Snapshot::builder()
        .snapshot_id(snapshot_id)
        .volume_id(volume_id)
        .owner_id(OWNER)
        .state(SnapshotState::Pending)
        .start_time(aws_smithy_types::DateTime::from_secs(1_764_115_200))
        .tags(tag(DAILY, "1"))
        .tags(tag(snapcycle_core::tags::TAG_KEYWORD, DAILY))
        .tags(tag(snapcycle_core::tags::TAG_RUN, RUN))
        .build()
}

/// The values of a DescribeSnapshots filter, when the request has it.
fn filter_values<'a>(r: &'a DescribeSnapshotsInput, name: &str) -> Option<&'a [String]> {
    r.filters().iter().find(|f| f.name() == Some(name)).map(|f| f.values())
}

/// The read of the keyword's whole history: DescribeSnapshots filtered on the keyword's tag key
/// (this run's snapshots are read with a `snapcycle:run` filter instead).
fn is_history_read(r: &DescribeSnapshotsInput) -> bool {
    r.filters().iter().any(|f| f.name() == Some("tag-key") && f.values() == [DAILY])
}

/// The history read follows NextToken to the last page, and rotation is decided from every page.
#[tokio::test]
async fn reads_every_page_of_snapshots() {
    let pages = mock!(Client::describe_snapshots)
        .match_requests(is_history_read)
        .sequence()
        .output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-a", 1)).next_token("t1").build())
        .output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-b", 2)).next_token("t2").build())
        .output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-c", 3)).build())
        .build();
    let deletes = mock!(Client::delete_snapshot).then_output(|| DeleteSnapshotOutput::builder().build());
    let r = mock_runner(&[&one_instance("1"), &pages, &set_ok(), &deletes]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(pages.num_calls(), 3);
    assert_eq!(report.created.len(), 1, "{report:#?}");
    // Retention 1, decided from the three pages: the newest completed stays, the two older go (the
    // new snapshot counts from the next run).
    let mut deleted: Vec<_> = report.deleted.iter().map(|d| d.snapshot_id.as_str()).collect();
    deleted.sort();
    assert_eq!(deleted, ["snap-a", "snap-b"]);
    assert_eq!(
        report.api_calls.get("DescribeSnapshots"),
        Some(&4),
        "three pages of history, then this run's snapshots once, after creating"
    );
    assert_eq!((report.run_snapshots, report.snapshots), (Some(0), Some(3)), "three old snapshots in the history");
}

#[tokio::test]
async fn throttled_calls_are_retried_until_they_succeed() {
    let create = mock!(Client::create_snapshots)
        .sequence()
        .http_response(throttled)
        .times(2)
        .output(|| CreateSnapshotsOutput::builder().snapshots(taken("snap-new", "vol-1")).build())
        .build();
    let none = mock!(Client::describe_snapshots).then_output(|| DescribeSnapshotsOutput::builder().build());
    let r = mock_runner(&[&one_instance("3"), &none, &create]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty() && report.skipped.is_empty(), "{report:#?}");
    assert_eq!(report.created.len(), 1);
    assert_eq!(report.created[0].snapshot_id.as_deref(), Some("snap-new"));
    assert_eq!(create.num_calls(), 3, "two throttled attempts, then success");
    assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&1), "the report counts operations, not attempts");
    assert_eq!(report.api_calls.get("CreateSnapshot"), None, "one set per instance, no call per volume");
}

#[tokio::test]
async fn throttling_that_never_ends_is_a_failure_with_its_code() {
    let create = mock!(Client::create_snapshots).sequence().http_response(throttled).repeatedly().build();
    let snaps = mock!(Client::describe_snapshots).then_output(|| {
        DescribeSnapshotsOutput::builder()
            .snapshots(old_snapshot("snap-a", 1))
            .snapshots(old_snapshot("snap-b", 2))
            .build()
    });
    let r = mock_runner(&[&one_instance("2"), &snaps, &create]);
    let report = r.run(&req(), now()).await;
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].code, "RequestLimitExceeded");
    assert_eq!(report.failures[0].volume_id.as_deref(), Some("vol-1"));
    assert!(report.created.is_empty(), "{report:#?}");
    assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&1), "one operation, every attempt throttled");
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
    let r = mock_runner(&[&one_instance("1"), &snaps, &set_ok(), &in_use, &ok]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.deleted.len(), 1);
    assert_eq!(report.deleted[0].snapshot_id, "snap-old");
    let skip = report.skipped.iter().find(|s| s.snapshot_id.as_deref() == Some("snap-ami")).unwrap();
    assert!(skip.reason.starts_with("InvalidSnapshot.InUse"), "{}", skip.reason);
}

#[tokio::test]
async fn a_snapshot_already_gone_counts_as_deleted() {
    let snaps = mock!(Client::describe_snapshots).then_output(|| {
        DescribeSnapshotsOutput::builder()
            .snapshots(old_snapshot("snap-gone", 1))
            .snapshots(old_snapshot("snap-keep", 2))
            .build()
    });
    let gone = mock!(Client::delete_snapshot)
        .then_error(|| DeleteSnapshotError::generic(ec2_error("InvalidSnapshot.NotFound")));
    let r = mock_runner(&[&one_instance("1"), &snaps, &set_ok(), &gone]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.deleted.len(), 1);
    assert_eq!(report.deleted[0].snapshot_id, "snap-gone");
}

/// EC2's "not now" (issue #10.1): the run waits as EC2 says and asks again; the snapshot is
/// taken, never skipped. The wait is shortened from EC2's 15 s to 20 ms.
#[tokio::test]
async fn not_now_is_waited_out_and_the_snapshot_is_taken() {
    for code in ["SnapshotCreationPerVolumeRateExceeded", "ConcurrentSnapshotLimitExceeded"] {
        let snaps = mock!(Client::describe_snapshots).then_output(|| {
            DescribeSnapshotsOutput::builder()
                .snapshots(old_snapshot("snap-a", 1))
                .snapshots(old_snapshot("snap-b", 2))
                .build()
        });
        let limited = mock!(Client::create_snapshots)
            .sequence()
            .error(move || refused(code))
            .times(2)
            .output(|| CreateSnapshotsOutput::builder().snapshots(taken("snap-new", "vol-1")).build())
            .build();
        let deletes = mock!(Client::delete_snapshot).then_output(|| DeleteSnapshotOutput::builder().build());
        let r = quick(mock_runner(&[&one_instance("1"), &snaps, &limited, &deletes]));
        let started = tokio::time::Instant::now();
        let report = r.run(&req(), now()).await;
        assert!(report.failures.is_empty(), "{code}: {report:#?}");
        assert_eq!(report.created.len(), 1, "{code}: the snapshot was taken: {report:#?}");
        assert!(report.skipped.is_empty(), "{code}: {report:#?}");
        assert_eq!(limited.num_calls(), 3, "{code}: asked three times");
        assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&3), "{code}");
        // One wait, then two: the second refusal waits twice as long (the concurrency limit doubles both).
        assert!(started.elapsed() >= QUICK * 3, "{code}: waited before asking again");
        assert_eq!(report.deleted.len(), 1);
    }
}

/// Without a deadline (`snapcycle run`), a set EC2 keeps refusing is a failure after about four
/// minutes, one for each volume of the set, never a success with the snapshots missing.
#[tokio::test]
async fn not_now_that_lasts_is_a_failure_not_a_success() {
    let snaps = mock!(Client::describe_snapshots).then_output(|| DescribeSnapshotsOutput::builder().build());
    let limited = mock!(Client::create_snapshots).then_error(|| refused("ConcurrentSnapshotLimitExceeded"));
    let r = quick(mock_runner(&[&two_volume_instance("1"), &snaps, &limited]));
    let report = r.run(&req(), now()).await;
    assert!(report.created.is_empty() && report.skipped.is_empty(), "{report:#?}");
    assert_eq!(report.failures.len(), 2, "one failure per volume of the set: {report:#?}");
    let mut volumes: Vec<_> = report.failures.iter().map(|f| f.volume_id.as_deref()).collect();
    volumes.sort();
    assert_eq!(volumes, [Some("vol-1"), Some("vol-2")]);
    for f in &report.failures {
        assert_eq!((f.instance_id.as_deref(), f.code.as_str()), (Some("i-1"), "ConcurrentSnapshotLimitExceeded"));
        assert!(f.message.contains("still refused after 8 attempts"), "{report:#?}");
    }
    assert_eq!(limited.num_calls(), 8, "eight attempts of the whole set, not eight per volume");
    assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&8));
}

/// With a deadline (the Lambda), "not now" that outlasts the invocation hands the volume over.
#[tokio::test]
async fn not_now_past_the_deadline_hands_the_volume_over() {
    let snaps = mock!(Client::describe_snapshots).then_output(|| DescribeSnapshotsOutput::builder().build());
    let limited = mock!(Client::create_snapshots).then_error(|| refused("SnapshotCreationPerVolumeRateExceeded"));
    let r = mock_runner(&[&one_instance("1"), &snaps, &limited]);
    // EC2's 15 s wait does not fit before the deadline, so the volume is handed over at once.
    let start_by = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let deadline = snapcycle_aws::Deadline::new(start_by, std::time::Duration::from_secs(5));
    let report = r.run_until(&req(), now(), Some(deadline)).await;
    assert!(report.failures.is_empty() && report.created.is_empty() && report.skipped.is_empty(), "{report:#?}");
    let c = report.continued.expect("handed over");
    assert_eq!((c.left, c.rotating), (1, false));
    assert_eq!(limited.num_calls(), 1, "not asked again");
    assert!(tokio::time::Instant::now() <= deadline.start_by, "handed over without waiting");
}

const QUICK: std::time::Duration = std::time::Duration::from_millis(20);

fn quick(r: snapcycle_aws::Runner) -> snapcycle_aws::Runner {
    let settings = snapcycle_aws::Settings { not_now_wait: QUICK, ..r.settings().clone() };
    r.with_settings(settings)
}

#[tokio::test]
async fn a_failing_describe_is_one_failure_and_nothing_is_deleted() {
    let broken = mock!(Client::describe_instances).then_error(|| {
        aws_sdk_ec2::operation::describe_instances::DescribeInstancesError::generic(ec2_error("UnauthorizedOperation"))
    });
    let snaps = mock!(Client::describe_snapshots)
        .then_output(|| DescribeSnapshotsOutput::builder().snapshots(old_snapshot("snap-a", 1)).build());
    let deletes = mock!(Client::delete_snapshot).then_output(|| DeleteSnapshotOutput::builder().build());
    let r = mock_runner(&[&broken, &snaps, &deletes]);
    let report = r.run(&req(), now()).await;
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].code, "UnauthorizedOperation");
    assert!(report.failures[0].message.contains("DescribeInstances"), "{}", report.failures[0].message);
    assert_eq!(deletes.num_calls(), 0);
}

/// The history is read before anything is done, and both streams are decided from it: when it
/// fails, nothing is created or deleted, and the one failure says so.
#[tokio::test]
async fn a_history_read_that_fails_creates_and_deletes_nothing_and_says_so() {
    let broken = mock!(Client::describe_snapshots).match_requests(is_history_read).then_error(|| {
        aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsError::generic(ec2_error("UnauthorizedOperation"))
    });
    let creates = set_ok();
    let deletes = mock!(Client::delete_snapshot).then_output(|| DeleteSnapshotOutput::builder().build());
    let r = mock_runner(&[&one_instance("1"), &broken, &creates, &deletes]);
    let report = r.run(&req(), now()).await;
    assert_eq!(broken.num_calls(), 1, "the history was read");
    assert!(report.created.is_empty() && report.deleted.is_empty(), "{report:#?}");
    assert_eq!(report.failures.len(), 1, "{report:#?}");
    assert_eq!(report.failures[0].code, "UnauthorizedOperation");
    let message = &report.failures[0].message;
    assert!(message.contains("DescribeSnapshots"), "{message}");
    assert!(message.ends_with("nothing was created or deleted"), "{message}");
    assert_eq!((report.run_snapshots, report.snapshots), (None, None));
    assert_eq!((creates.num_calls(), deletes.num_calls()), (0, 0));
}

/// A set whose answer was lost, retried by the SDK into EC2's per-volume rule: the run finds
/// this run's snapshot of the volume and adopts it instead of waiting and taking a second one.
#[tokio::test]
async fn not_now_after_a_lost_answer_adopts_this_runs_snapshot() {
    let mine = || this_runs("snap-lost-answer", "vol-1");
    let snaps = mock!(Client::describe_snapshots)
        .sequence()
        .output(|| DescribeSnapshotsOutput::builder().build())
        .output(move || DescribeSnapshotsOutput::builder().snapshots(mine()).build())
        .output(move || {
            DescribeSnapshotsOutput::builder().snapshots(mine()).snapshots(old_snapshot("snap-a", 1)).build()
        })
        .build();
    let limited = mock!(Client::create_snapshots).then_error(|| refused("SnapshotCreationPerVolumeRateExceeded"));
    // Not mock_runner: its first rule answers every read of this run's snapshots with none.
    let instance = one_instance("1");
    let volumes = common::mocks::no_excluded_volume();
    let unlocked = common::mocks::no_locked_snapshot();
    let rules: [&aws_smithy_mocks::Rule; 5] = [&instance, &volumes, &snaps, &limited, &unlocked];
    let ec2 = aws_smithy_mocks::mock_client!(aws_sdk_ec2, aws_smithy_mocks::RuleMode::MatchAny, &rules, |c| c
        .interceptor(snapcycle_aws::calls::CountCalls));
    let sns = aws_smithy_mocks::mock_client!(aws_sdk_sns, aws_smithy_mocks::RuleMode::MatchAny, &[]);
    let r = quick(snapcycle_aws::Runner::from_clients(ec2, sns, common::stack_settings()));
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty() && report.skipped.is_empty(), "{report:#?}");
    assert_eq!(report.created.len(), 1, "{report:#?}");
    assert_eq!(
        snaps.num_calls(),
        3,
        "the history, this run's of the set's volumes after 'not now', this run's after creating"
    );
    assert_eq!(report.created[0].snapshot_id.as_deref(), Some("snap-lost-answer"));
    assert_eq!(limited.num_calls(), 1, "not asked again");
    assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&1));
    assert!(report.deleted.is_empty(), "the adopted one is pending: the old one stays");
}

/// A set of two whose answer was lost, retried into EC2's per-volume rule, where EC2 lists this
/// run's snapshot of one volume only: that one is adopted, and the set is completed by a second
/// CreateSnapshots that leaves the adopted volume out (ExcludeDataVolumeIds) and takes the other
/// one alone. One snapshot per volume, never two.
#[tokio::test]
async fn not_now_after_a_lost_answer_adopts_the_part_of_the_set_taken_and_completes_only_the_rest() {
    let history = mock!(Client::describe_snapshots)
        .match_requests(is_history_read)
        .then_output(|| DescribeSnapshotsOutput::builder().build());
    // After "not now": this run's snapshots of every volume still wanted, in one read.
    let adoption = mock!(Client::describe_snapshots)
        .match_requests(|r| {
            let mut wanted = filter_values(r, "volume-id").map(<[String]>::to_vec).unwrap_or_default();
            wanted.sort();
            filter_values(r, &format!("tag:{}", snapcycle_core::tags::TAG_RUN)) == Some(&[RUN.to_owned()][..])
                && wanted == ["vol-1", "vol-2"]
        })
        .then_output(|| DescribeSnapshotsOutput::builder().snapshots(this_runs("snap-lost-answer", "vol-2")).build());
    // After creating: every snapshot of this run, one of each volume.
    let reread = mock!(Client::describe_snapshots)
        .match_requests(|r| {
            filter_values(r, &format!("tag:{}", snapcycle_core::tags::TAG_RUN)).is_some()
                && filter_values(r, "volume-id").is_none()
        })
        .then_output(|| {
            DescribeSnapshotsOutput::builder()
                .snapshots(this_runs("snap-lost-answer", "vol-2"))
                .snapshots(this_runs("snap-rest", "vol-1"))
                .build()
        });
    let whole = mock!(Client::create_snapshots)
        .match_requests(|r| leaves_out(r, &[]))
        .then_error(|| refused("SnapshotCreationPerVolumeRateExceeded"));
    let rest = mock!(Client::create_snapshots)
        .match_requests(|r| leaves_out(r, &["vol-2"]))
        .then_output(|| CreateSnapshotsOutput::builder().snapshots(taken("snap-rest", "vol-1")).build());
    // Not mock_runner: its first rule answers every read of this run's snapshots with none.
    let instance = two_volume_instance("1");
    let volumes = common::mocks::no_excluded_volume();
    let unlocked = common::mocks::no_locked_snapshot();
    let rules: [&Rule; 8] = [&instance, &volumes, &history, &adoption, &reread, &whole, &rest, &unlocked];
    let ec2 = aws_smithy_mocks::mock_client!(aws_sdk_ec2, aws_smithy_mocks::RuleMode::MatchAny, &rules, |c| c
        .interceptor(snapcycle_aws::calls::CountCalls));
    let sns = aws_smithy_mocks::mock_client!(aws_sdk_sns, aws_smithy_mocks::RuleMode::MatchAny, &[]);
    let r = quick(snapcycle_aws::Runner::from_clients(ec2, sns, common::stack_settings()));
    let report = r.run(&req(), now()).await;

    assert!(report.failures.is_empty() && report.skipped.is_empty(), "{report:#?}");
    let mut created: Vec<_> = report
        .created
        .iter()
        .map(|c| (c.instance_id.as_str(), c.volume_id.as_str(), c.snapshot_id.as_deref()))
        .collect();
    created.sort();
    assert_eq!(
        created,
        [("i-1", "vol-1", Some("snap-rest")), ("i-1", "vol-2", Some("snap-lost-answer"))],
        "the adopted snapshot and the rest of the set, one per volume"
    );
    assert_eq!((whole.num_calls(), rest.num_calls()), (1, 1), "the whole set once, then the rest once");
    assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&2));
    assert_eq!((history.num_calls(), adoption.num_calls(), reread.num_calls()), (1, 1, 1));
    assert_eq!(report.run_snapshots, Some(2), "this run has one snapshot of each volume");
    assert!(report.deleted.is_empty(), "{report:#?}");
}

/// Three old snapshots under retention 1 (the two oldest to delete), and the account's locks.
fn three_old_snapshots() -> aws_smithy_mocks::Rule {
    mock!(Client::describe_snapshots).match_requests(is_history_read).then_output(|| {
        DescribeSnapshotsOutput::builder()
            .snapshots(old_snapshot("snap-a", 1))
            .snapshots(old_snapshot("snap-b", 2))
            .snapshots(old_snapshot("snap-c", 3))
            .build()
    })
}

/// A role deployed before locks were read has no `ec2:DescribeLockedSnapshots`: the run warns
/// and rotates as before, with no failure (a locked snapshot's delete would then fail as it did).
#[tokio::test]
async fn a_failing_lock_read_does_not_stop_rotation() {
    let denied = mock!(Client::describe_locked_snapshots).then_error(|| {
        aws_sdk_ec2::operation::describe_locked_snapshots::DescribeLockedSnapshotsError::generic(ec2_error(
            "UnauthorizedOperation",
        ))
    });
    let history = three_old_snapshots();
    let deletes = mock!(Client::delete_snapshot).then_output(|| DeleteSnapshotOutput::builder().build());
    let r = mock_runner(&[&one_instance("1"), &history, &denied, &set_ok(), &deletes]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty() && report.skipped.is_empty(), "{report:#?}");
    assert_eq!(denied.num_calls(), 1, "read once, not retried: access denied is not transient");
    assert_eq!(report.created.len(), 1);
    let mut deleted: Vec<_> = report.deleted.iter().map(|d| d.snapshot_id.as_str()).collect();
    deleted.sort();
    assert_eq!(deleted, ["snap-a", "snap-b"]);
    assert_eq!(report.api_calls.get("DescribeLockedSnapshots"), Some(&1));

    // A dry run goes on the same way.
    let mut dry = req();
    dry.dry_run = true;
    let report = r.run(&dry, now()).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.deleted.len(), 2, "{report:#?}");
}

/// The locks are read to the last page (the SDK has no paginator for DescribeLockedSnapshots):
/// a snapshot locked on the second page is kept and reported as a skip with its mode and expiry,
/// and DeleteSnapshot is never called on it.
#[tokio::test]
async fn a_snapshot_locked_on_any_page_is_skipped_and_never_deleted() {
    use aws_sdk_ec2::operation::describe_locked_snapshots::DescribeLockedSnapshotsOutput;
    use aws_sdk_ec2::types::{LockState, LockedSnapshotsInfo};
    let locked = |id: &str, state: LockState| {
        LockedSnapshotsInfo::builder()
            .owner_id(OWNER)
            .snapshot_id(id)
            .lock_state(state)
            .lock_expires_on(aws_smithy_types::DateTime::from_secs(1_809_478_566))
            .build()
    };
    let locks = mock!(Client::describe_locked_snapshots)
        .match_requests(|r| {
            let states = r.filters().iter().find(|f| f.name() == Some("lock-state")).map(|f| f.values().to_vec());
            states.is_some_and(|s| s == ["compliance-cooloff", "governance", "compliance"])
                && r.max_results() == Some(1000)
        })
        .sequence()
        .output(move || {
            DescribeLockedSnapshotsOutput::builder()
                .snapshots(locked("snap-other-volume", LockState::Compliance))
                .next_token("t1")
                .build()
        })
        .output(move || {
            DescribeLockedSnapshotsOutput::builder().snapshots(locked("snap-a", LockState::Governance)).build()
        })
        .build();
    let history = three_old_snapshots();
    let deletes = mock!(Client::delete_snapshot)
        .match_requests(|r| r.snapshot_id() == Some("snap-b"))
        .then_output(|| DeleteSnapshotOutput::builder().build());
    let r = mock_runner(&[&one_instance("1"), &history, &locks, &set_ok(), &deletes]);
    let report = r.run(&req(), now()).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(locks.num_calls(), 2, "both pages");
    assert_eq!(report.deleted.iter().map(|d| d.snapshot_id.as_str()).collect::<Vec<_>>(), ["snap-b"]);
    assert_eq!(deletes.num_calls(), 1, "snap-a was never asked to go");
    let skip = report.skipped.iter().find(|s| s.snapshot_id.as_deref() == Some("snap-a")).expect("snap-a skipped");
    assert_eq!(skip.reason, "locked (governance until 2027-05-05T00:56:06Z)");
    assert_eq!((skip.instance_id.as_deref(), skip.volume_id.as_deref()), (Some("i-1"), Some("vol-1")));
    assert_eq!(report.api_calls.get("DescribeLockedSnapshots"), Some(&2));
}

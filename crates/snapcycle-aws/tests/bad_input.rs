//! Bad input, as a table: every bad event, tag value and instance gives a clear error or skip, and
//! nothing of what was bad is deleted. Events go through `snapcycle_core::Event::parse` (behind the
//! same gate as the Lambda: no request, no run), tag values and odd instances through whole runs
//! against moto's server, and "gone between describe and snapshot" (a volume the instance's
//! snapshot set leaves out, or a set EC2 refuses) through aws-smithy-mocks, since moto cannot
//! produce it.

mod common;

use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::create_snapshots::{CreateSnapshotsError, CreateSnapshotsOutput};
use aws_sdk_ec2::operation::delete_snapshot::DeleteSnapshotOutput;
use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
use aws_sdk_ec2::types::{SnapshotInfo, SnapshotState};
use aws_smithy_mocks::mock;
use common::mocks::{mock_runner, old_snapshot, two_volume_instance, OWNER};
use common::*;
use serde_json::{json, Value};
use snapcycle_aws::Runner;
use snapcycle_core::tags::TAG_RUN;
use snapcycle_core::{Event, Report};
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of, snapshots_of};
use snapcycle_testkit::Moto;

// ---------------------------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------------------------

/// One bad event: its raw body (what the Lambda would receive) and what the error must say.
struct EventCase {
    name: &'static str,
    body: String,
    /// Every one of these must appear in the error message.
    want: &'static [&'static str],
}

fn ev(name: &'static str, body: Value, want: &'static [&'static str]) -> EventCase {
    EventCase { name, body: body.to_string(), want }
}

fn event_cases() -> Vec<EventCase> {
    let daily = DAILY;
    vec![
        ev("missing keyword", json!({}), &["no \"SnapshotKeyWord\""]),
        ev("missing keyword, other fields present", json!({"DryRun": true}), &["no \"SnapshotKeyWord\""]),
        ev("empty keyword", json!({"SnapshotKeyWord": ""}), &["\"SnapshotKeyWord\"", "empty"]),
        ev("whitespace-only keyword", json!({"SnapshotKeyWord": "  \t "}), &["\"SnapshotKeyWord\"", "empty"]),
        ev("keyword is a number", json!({"SnapshotKeyWord": 7}), &["\"SnapshotKeyWord\" must be a string, got a number"]),
        ev("keyword is null", json!({"SnapshotKeyWord": null}), &["\"SnapshotKeyWord\" must be a string, got null"]),
        ev("keyword is an array", json!({"SnapshotKeyWord": [daily]}), &["\"SnapshotKeyWord\" must be a string, got an array"]),
        ev("keyword is an object", json!({"SnapshotKeyWord": {"name": daily}}), &["\"SnapshotKeyWord\" must be a string, got an object"]),
        ev("keyword is a bool", json!({"SnapshotKeyWord": true}), &["\"SnapshotKeyWord\" must be a string, got a boolean"]),
        ev(
            "unknown keyword",
            json!({"SnapshotKeyWord": "SnapshotWeekly"}),
            &["\"SnapshotKeyWord\" \"SnapshotWeekly\" is not one of this stack's schedules (SnapshotHourly, SnapshotDaily)"],
        ),
        ev("keyword in the wrong case", json!({"SnapshotKeyWord": "snapshotdaily"}), &["\"snapshotdaily\"", "not one of this stack's schedules"]),
        ev("keyword with a trailing space", json!({"SnapshotKeyWord": "SnapshotDaily "}), &["\"SnapshotKeyWord\" is invalid", "\"SnapshotDaily \""]),
        ev("aws: keyword", json!({"SnapshotKeyWord": "aws:backup"}), &["\"SnapshotKeyWord\" is invalid", "\"aws:backup\"", "reserved prefix \"aws:\""]),
        ev("snapcycle: keyword", json!({"SnapshotKeyWord": "snapcycle:run"}), &["\"SnapshotKeyWord\" is invalid", "own prefix \"snapcycle:\""]),
        ev(
            "misspelt DryRun field",
            json!({"SnapshotKeyWord": daily, "Dryrun": true}),
            &["unknown field `Dryrun`", "`DryRun`"],
        ),
        ev("extra field", json!({"SnapshotKeyWord": daily, "Retention": 3}), &["unknown field `Retention`"]),
        ev(
            "ScheduledTime not RFC 3339",
            json!({"SnapshotKeyWord": daily, "ScheduledTime": "yesterday"}),
            &["\"ScheduledTime\" must be an RFC 3339 time", "\"yesterday\""],
        ),
        ev(
            "ScheduledTime without a zone",
            json!({"SnapshotKeyWord": daily, "ScheduledTime": "2026-11-26T00:00:00"}),
            &["\"ScheduledTime\" must be an RFC 3339 time", "\"2026-11-26T00:00:00\""],
        ),
        ev(
            "ScheduledTime is a number",
            json!({"SnapshotKeyWord": daily, "ScheduledTime": 1_795_000_000}),
            &["\"ScheduledTime\" must be an RFC 3339 time", "got 1795000000"],
        ),
        ev("DryRun is \"yes\"", json!({"SnapshotKeyWord": daily, "DryRun": "yes"}), &["\"DryRun\" must be true or false", "got \"yes\""]),
        ev("DryRun is a number", json!({"SnapshotKeyWord": daily, "DryRun": 1}), &["\"DryRun\" must be true or false", "got 1"]),
        ev("event is a JSON array", json!([{"SnapshotKeyWord": daily}]), &["must be a JSON object", "got an array"]),
        ev("event is a JSON string", json!(daily), &["must be a JSON object", "got a string"]),
        ev("event is JSON null", json!(null), &["must be a JSON object", "got null"]),
        EventCase { name: "body is not JSON", body: "SnapshotKeyWord=SnapshotDaily".into(), want: &["expected value at line 1 column 1"] },
        EventCase { name: "body is truncated JSON", body: "{\"SnapshotKeyWord\": \"SnapshotDa".into(), want: &["EOF while parsing a string at line 1"] },
        EventCase { name: "body is empty", body: String::new(), want: &["EOF while parsing a value at line 1 column 0"] },
    ]
}

/// Retention tag values that must be refused. moto accepted every one of them as a tag value.
const BAD_RETENTIONS: &[&str] =
    &["abc", "-1", "0", "3.5", "", " ", "1000000", "1e3", "0x10", "+", "7 days", "٣", "99999999999999999999"];

/// Instances bad in other ways than their tag (each has its own test below).
const ODD_INSTANCES: &[&str] = &["no EBS volumes", "stopped (still snapshotted)", "terminated (not counted)"];

/// CreateSnapshots errors meaning the instance or a volume of its set went away between describe
/// and snapshot: EC2 refuses the whole set, and every volume of it is a skip.
const VANISHED_CODES: &[&str] = &["IncorrectState", "InvalidVolume.NotFound", "InvalidInstanceID.NotFound"];

#[test]
fn the_table_has_at_least_twenty_distinct_bad_inputs() {
    let events = event_cases();
    let mut names: Vec<&str> = events.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), events.len(), "event case names are distinct");
    let mut bodies: Vec<&str> = events.iter().map(|c| c.body.as_str()).collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), events.len(), "event bodies are distinct");
    let mut values = BAD_RETENTIONS.to_vec();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), BAD_RETENTIONS.len(), "retention values are distinct");
    let total = events.len() + BAD_RETENTIONS.len() + ODD_INSTANCES.len() + VANISHED_CODES.len();
    eprintln!(
        "bad inputs: {} events, {} retention values, {} odd instances, {} vanished-volume codes = {total}",
        events.len(),
        BAD_RETENTIONS.len(),
        ODD_INSTANCES.len(),
        VANISHED_CODES.len()
    );
    assert!(events.len() >= 17 && BAD_RETENTIONS.len() >= 13, "every category the brief lists is present");
    assert!(total >= 20, "{total}");
}

// ---------------------------------------------------------------------------------------------
// Events.
// ---------------------------------------------------------------------------------------------

/// What the Lambda does with a body: JSON first, then the event contract; only a valid request runs.
/// Returns the report, or the error message with no run made.
async fn gate(r: &Runner, body: &str) -> Result<Report, String> {
    let value: Value = serde_json::from_str(body).map_err(|e| {
        assert!(e.is_syntax() || e.is_eof(), "a non-JSON body is a syntax error: {e:?}");
        e.to_string()
    })?;
    let req = Event::parse(&value, &r.settings().keywords).map_err(|e| e.to_string())?;
    Ok(r.run(&req, at("2026-11-26T00:00:00Z")).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_event_is_refused_with_a_message_naming_the_problem_and_nothing_runs() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    // Any run of either keyword, had one happened, would delete two of its keyword's three here
    // (retention 1 of three completed).
    let host = seed::instance(&ec2, &[(DAILY, "1"), (HOURLY, "1")], 1).await;
    let vol = host.volumes[0].1.clone();
    for day in 20..23 {
        keyword_snapshot(&ec2, &host, 0, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
        keyword_snapshot(&ec2, &host, 0, HOURLY, "1", &format!("2026-11-{day}T05:00:00Z")).await;
    }
    let r = runner(&moto, stack_settings()).await;

    let cases = event_cases();
    for case in &cases {
        let err = match gate(&r, &case.body).await {
            Err(e) => e,
            Ok(report) => panic!("{}: {} was accepted and ran: {report:#?}", case.name, case.body),
        };
        for want in case.want {
            assert!(
                err.contains(want),
                "{}: body {:?} gave {err:?}, which does not say {want:?}",
                case.name,
                case.body
            );
        }
    }
    assert_eq!(snapshots_of(&ec2, &vol).await.len(), 6, "no bad event created or deleted anything");

    // The gate is not simply closed: a good event through it does run and rotate (the new
    // snapshot counts from the next run, so the newest old one stays and the two older go).
    let report = gate(&r, &json!({"SnapshotKeyWord": DAILY, "ScheduledTime": "2026-11-26T00:00:00Z"}).to_string())
        .await
        .expect("the control event is valid");
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!((report.created.len(), report.deleted.len()), (1, 2), "{report:#?}");
    assert_eq!(keyword_snapshots_of(&ec2, &vol, DAILY).await.len(), 2);
    assert_eq!(keyword_snapshots_of(&ec2, &vol, HOURLY).await.len(), 3);
}

#[test]
fn a_non_json_body_is_a_clear_syntax_error_before_any_event_parsing() {
    for body in [
        "SnapshotKeyWord=SnapshotDaily",
        "{'SnapshotKeyWord': 'SnapshotDaily'}",
        "{\"SnapshotKeyWord\": \"SnapshotDaily\",}",
    ] {
        let err = serde_json::from_str::<Value>(body).expect_err(body);
        assert!(err.is_syntax(), "{body}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains("at line 1 column"), "{body}: {msg}");
    }
}

// ---------------------------------------------------------------------------------------------
// Retention tag values: one moto run, one instance per bad value, one good control instance.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_retention_is_an_invalid_retention_failure_and_its_snapshots_stay() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let mut bad = Vec::new();
    for value in BAD_RETENTIONS {
        let inst = seed::instance(&ec2, &[(DAILY, value), ("Name", &format!("bad {value}"))], 1).await;
        // Tagged retention "1" on the snapshots themselves: only the instance's value may count
        // (were the snapshots' value used, the run would delete the older of the two).
        for day in 20..22 {
            keyword_snapshot(&ec2, &inst, 0, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
        }
        bad.push((*value, inst));
    }
    // moto keeps every one of these values verbatim (none had to be dropped from the table).
    for (value, inst) in &bad {
        let out = ec2.describe_instances().instance_ids(&inst.instance_id).send().await.unwrap();
        let tags = out.reservations()[0].instances()[0].tags();
        let stored = tags.iter().find(|t| t.key() == Some(DAILY)).and_then(|t| t.value());
        assert_eq!(stored, Some(*value), "moto stored the tag value as given");
    }
    let control = seed::instance(&ec2, &[(DAILY, "1"), ("Name", "control")], 1).await;
    let mut control_old = Vec::new();
    for day in 20..23 {
        control_old.push(keyword_snapshot(&ec2, &control, 0, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await);
    }

    let r = runner(&moto, stack_settings()).await;
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;

    assert_eq!(report.instances, BAD_RETENTIONS.len() + 1, "every tagged instance was read: {report:#?}");
    assert_eq!(report.failures.len(), BAD_RETENTIONS.len(), "{report:#?}");
    for (value, inst) in &bad {
        let vol = &inst.volumes[0].1;
        let mine: Vec<_> =
            report.failures.iter().filter(|f| f.instance_id.as_deref() == Some(inst.instance_id.as_str())).collect();
        assert_eq!(mine.len(), 1, "{value:?}: exactly one failure for the instance: {report:#?}");
        let f = mine[0];
        assert_eq!(f.code, "InvalidRetention", "{value:?}");
        assert_eq!((f.volume_id.as_deref(), f.snapshot_id.as_deref()), (None, None), "{value:?}");
        assert!(f.message.contains(&format!("tag {DAILY}:")), "{value:?}: names the tag: {}", f.message);
        if value.trim().is_empty() {
            // RetentionError::Empty says "empty" instead of quoting the (blank) value.
            assert!(f.message.contains("the retention is empty"), "{value:?}: {}", f.message);
        } else {
            assert!(f.message.contains(&format!("{value:?}")), "{value:?}: quotes the value: {}", f.message);
        }
        assert!(f.message.contains("nothing of this instance was created or deleted"), "{value:?}: {}", f.message);
        assert!(!report.created.iter().any(|c| c.instance_id == inst.instance_id), "{value:?}: nothing created");
        assert!(!report.deleted.iter().any(|d| d.volume_id == vol), "{value:?}: nothing deleted");
        assert!(
            !report.skipped.iter().any(|s| s.instance_id.as_deref() == Some(inst.instance_id.as_str())),
            "{value:?}"
        );
        let all = snapshots_of(&ec2, vol).await;
        assert_eq!(all.len(), 2, "{value:?}: both old snapshots are there and none was added");
        assert!(all.iter().all(|s| seed::tag(s, TAG_RUN) != Some("2026-11-26T00:00:00Z")), "{value:?}");
    }

    // The control rotated as usual: retention 1 of its three completed keeps 22 Nov's and the two
    // older go; the new snapshot counts from the next run.
    let cvol = &control.volumes[0].1;
    assert_eq!(report.created.len(), 1, "{report:#?}");
    assert_eq!(report.created[0].instance_id, control.instance_id);
    let mut deleted: Vec<_> = report.deleted.iter().map(|d| d.snapshot_id.clone()).collect();
    deleted.sort();
    let mut want = control_old[..2].to_vec();
    want.sort();
    assert_eq!(deleted, want, "only the control's two oldest snapshots were deleted");
    assert!(report.deleted.iter().all(|d| d.volume_id == cvol));
    let left = keyword_snapshots_of(&ec2, cvol, DAILY).await;
    assert_eq!(left.len(), 2);
    assert_eq!(left[0].snapshot_id(), Some(control_old[2].as_str()));
    assert_eq!(seed::tag(&left[1], TAG_RUN), Some("2026-11-26T00:00:00Z"));
    assert_eq!(report.api_calls.get("DeleteSnapshot"), Some(&2));
    assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&1), "one set, the control's: {:?}", report.api_calls);
    assert_eq!(report.api_calls.get("CreateSnapshot"), None, "no call per volume");
}

// ---------------------------------------------------------------------------------------------
// Instances bad in other ways: one moto run with all three.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn no_volumes_is_a_skip_stopped_is_snapshotted_and_terminated_is_neither_counted_nor_rotated() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;

    // moto's RunInstances without BlockDeviceMappings attaches a default root volume (/dev/sda1),
    // so the instance-store-like case is made by detaching it after its snapshots were taken.
    let bare = seed::instance(&ec2, &[(DAILY, "1"), ("Name", "bare")], 0).await;
    assert_eq!(bare.volumes.len(), 1, "moto gives an instance without mappings a root volume: {bare:?}");
    let (bare_dev, bare_vol) = bare.volumes[0].clone();
    for day in 20..22 {
        keyword_snapshot(&ec2, &bare, 0, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
    }
    ec2.detach_volume().volume_id(&bare_vol).instance_id(&bare.instance_id).device(&bare_dev).send().await.unwrap();
    let described = ec2.describe_instances().instance_ids(&bare.instance_id).send().await.unwrap();
    let bdm = described.reservations()[0].instances()[0].block_device_mappings();
    assert!(bdm.is_empty(), "the instance now has no EBS volume: {bdm:?}");

    // Retention 2 of three completed: a run deletes the oldest.
    let stopped = seed::instance(&ec2, &[(DAILY, "2"), ("Name", "stopped")], 1).await;
    let mut stopped_old = Vec::new();
    for day in 20..23 {
        stopped_old.push(keyword_snapshot(&ec2, &stopped, 0, DAILY, "2", &format!("2026-11-{day}T00:00:00Z")).await);
    }
    ec2.stop_instances().instance_ids(&stopped.instance_id).send().await.unwrap();

    let gone = seed::instance(&ec2, &[(DAILY, "1"), ("Name", "gone")], 1).await;
    let gone_vol = gone.volumes[0].1.clone();
    for day in 20..23 {
        keyword_snapshot(&ec2, &gone, 0, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
    }
    ec2.terminate_instances().instance_ids(&gone.instance_id).send().await.unwrap();

    let states = ec2
        .describe_instances()
        .instance_ids(&stopped.instance_id)
        .instance_ids(&gone.instance_id)
        .send()
        .await
        .unwrap();
    for inst in states.reservations().iter().flat_map(|r| r.instances()) {
        let want = if inst.instance_id() == Some(stopped.instance_id.as_str()) { "stopped" } else { "terminated" };
        assert_eq!(inst.state().and_then(|s| s.name()).map(|n| n.as_str()), Some(want));
    }

    let r = runner(&moto, stack_settings()).await;
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(report.failures.is_empty(), "none of these is a failure: {report:#?}");
    assert_eq!(report.instances, 2, "bare and stopped are counted, the terminated one is not: {report:#?}");

    // No EBS volumes: one skip that says so, nothing created, nothing deleted.
    let skips: Vec<_> =
        report.skipped.iter().filter(|s| s.instance_id.as_deref() == Some(bare.instance_id.as_str())).collect();
    assert_eq!(skips.len(), 1, "{report:#?}");
    assert!(skips[0].reason.contains("no EBS volumes"), "{}", skips[0].reason);
    assert!(!report.created.iter().any(|c| c.instance_id == bare.instance_id));
    assert_eq!(snapshots_of(&ec2, &bare_vol).await.len(), 2, "the detached volume's snapshots are untouched");

    // Stopped: state is no reason to skip; it is snapshotted and rotated like any other.
    let svol = &stopped.volumes[0].1;
    assert!(
        !report.skipped.iter().any(|s| s.instance_id.as_deref() == Some(stopped.instance_id.as_str())),
        "{report:#?}"
    );
    assert_eq!(report.created.len(), 1, "{report:#?}");
    assert_eq!(
        (report.created[0].instance_id.as_str(), report.created[0].volume_id.as_str()),
        (stopped.instance_id.as_str(), svol.as_str())
    );
    assert_eq!(report.deleted.len(), 1, "retention 2 of three completed: the oldest goes: {report:#?}");
    assert_eq!(report.deleted[0].snapshot_id, stopped_old[0]);
    assert_eq!(keyword_snapshots_of(&ec2, svol, DAILY).await.len(), 3, "two completed and the new one");

    // Terminated: not in the report at all, and its snapshots are kept as they are.
    let mentions = |id: &str| {
        report.created.iter().any(|c| c.instance_id == id)
            || report.skipped.iter().any(|s| s.instance_id.as_deref() == Some(id))
            || report.failures.iter().any(|f| f.instance_id.as_deref() == Some(id))
    };
    assert!(!mentions(&gone.instance_id), "{report:#?}");
    assert!(!report.deleted.iter().any(|d| d.volume_id == gone_vol), "{report:#?}");
    assert_eq!(keyword_snapshots_of(&ec2, &gone_vol, DAILY).await.len(), 3, "the terminated instance's snapshots stay");
}

// ---------------------------------------------------------------------------------------------
// Gone between describe and snapshot (aws-smithy-mocks: moto cannot race like this).
// ---------------------------------------------------------------------------------------------

/// What EC2 answers the instance's snapshot set when `vol-2`, planned in it, went away between
/// DescribeInstances and CreateSnapshots.
#[derive(Debug, Clone, Copy)]
enum Vanished {
    /// The set leaves it out: what a volume detached since the read gets. CreateSnapshots names the
    /// instance, not the volumes ("Each volume attached to the specified instance will produce one
    /// snapshot", EC2 API Reference, CreateSnapshots), so EC2 takes what is attached when the call
    /// runs and has no planned volume to refuse the set for; the answer just lacks it.
    Omitted,
    /// The whole set is refused with this code (the instance is gone, or a volume of the set is
    /// in no state to be snapshotted): nothing is taken.
    Refused(&'static str),
}

/// [`old_snapshot`] of `vol-2`.
fn old_snapshot_of_vol2(id: &str, day: i64) -> aws_sdk_ec2::types::Snapshot {
    let mut s = old_snapshot(id, day);
    s.volume_id = Some("vol-2".into());
    s
}

#[tokio::test]
async fn a_volume_gone_between_describe_and_snapshot_is_a_skip_and_rotation_keeps_to_the_plan() {
    let cases = std::iter::once(Vanished::Omitted).chain(VANISHED_CODES.iter().map(|c| Vanished::Refused(c)));
    for vanished in cases {
        // (retention, snapshot ids the plan allows deleting): the newest completed ones of each
        // volume always stay, whether or not the volume is still there.
        for (retention, allowed) in
            [("1", &["snap-a", "snap-b", "snap-d", "snap-e"][..]), ("2", &["snap-a", "snap-d"][..]), ("3", &[][..])]
        {
            let snaps = mock!(aws_sdk_ec2::Client::describe_snapshots).then_output(|| {
                DescribeSnapshotsOutput::builder()
                    .snapshots(old_snapshot("snap-a", 1))
                    .snapshots(old_snapshot("snap-b", 2))
                    .snapshots(old_snapshot("snap-c", 3))
                    .snapshots(old_snapshot_of_vol2("snap-d", 1))
                    .snapshots(old_snapshot_of_vol2("snap-e", 2))
                    .snapshots(old_snapshot_of_vol2("snap-f", 3))
                    .build()
            });
            // The set asks for the whole instance: nothing left out, so both volumes were planned.
            let create = mock!(aws_sdk_ec2::Client::create_snapshots)
                .match_requests(|r| {
                    r.instance_specification().is_some_and(|i| {
                        i.instance_id() == Some("i-1")
                            && i.exclude_boot_volume() != Some(true)
                            && i.exclude_data_volume_ids().is_empty()
                    })
                })
                .then_compute_response(move |_| match vanished {
                    Vanished::Omitted => aws_smithy_mocks::MockResponse::Output(
                        CreateSnapshotsOutput::builder()
                            .snapshots(
                                SnapshotInfo::builder()
                                    .snapshot_id("snap-new")
                                    .volume_id("vol-1")
                                    .owner_id(OWNER)
                                    .state(SnapshotState::Pending)
                                    .start_time(aws_smithy_types::DateTime::from_secs(1_795_651_500))
                                    .build(),
                            )
                            .build(),
                    ),
                    Vanished::Refused(code) => aws_smithy_mocks::MockResponse::Error(CreateSnapshotsError::generic(
                        ErrorMetadata::builder().code(code).message(format!("{code} (mocked)")).build(),
                    )),
                });
            let deletes =
                mock!(aws_sdk_ec2::Client::delete_snapshot).then_output(|| DeleteSnapshotOutput::builder().build());
            let r = mock_runner(&[&two_volume_instance(retention), &snaps, &create, &deletes]);
            assert_eq!(r.settings().keywords, [kw(HOURLY), kw(DAILY)]);
            let report = r.run(&request(DAILY, "2026-11-26T00:00:00Z"), at("2026-11-26T00:05:00Z")).await;
            let case = format!("{vanished:?}, retention {retention}");

            assert!(report.failures.is_empty(), "{case}: a skip, not a failure: {report:#?}");
            assert_eq!(create.num_calls(), 1, "{case}: not retried");
            assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&1), "{case}: one set for the instance");
            let skip_of = |volume: &str| {
                let mine: Vec<_> = report
                    .skipped
                    .iter()
                    .filter(|s| s.volume_id.as_deref() == Some(volume) && s.snapshot_id.is_none())
                    .collect();
                assert!(mine.len() <= 1, "{case}: one skip at most for {volume}: {report:#?}");
                mine.first().copied()
            };
            let created: Vec<_> =
                report.created.iter().map(|c| (c.volume_id.as_str(), c.snapshot_id.as_deref())).collect();
            match vanished {
                Vanished::Omitted => {
                    // The rest of the set was taken, and the volume missing from it says why.
                    assert_eq!(created, [("vol-1", Some("snap-new"))], "{case}: {report:#?}");
                    assert!(skip_of("vol-1").is_none(), "{case}: {report:#?}");
                    let skip = skip_of("vol-2").unwrap_or_else(|| panic!("{case}: no skip for vol-2: {report:#?}"));
                    assert!(skip.reason.starts_with("NotInSet"), "{case}: {}", skip.reason);
                    assert_eq!(skip.instance_id.as_deref(), Some("i-1"));
                }
                Vanished::Refused(code) => {
                    // Nothing was taken, and every volume of the set is a skip with EC2's code.
                    assert!(created.is_empty(), "{case}: {report:#?}");
                    for volume in ["vol-1", "vol-2"] {
                        let skip =
                            skip_of(volume).unwrap_or_else(|| panic!("{case}: no skip for {volume}: {report:#?}"));
                        assert!(skip.reason.starts_with(code), "{case}: {}", skip.reason);
                        assert_eq!(skip.instance_id.as_deref(), Some("i-1"));
                    }
                }
            }

            let mut deleted: Vec<_> = report.deleted.iter().map(|d| d.snapshot_id.as_str()).collect();
            deleted.sort();
            assert_eq!(deleted, allowed, "{case}: only what the plan allows, never snap-c or snap-f: {report:#?}");
            assert_eq!(deletes.num_calls(), allowed.len(), "{case}");
        }
    }
}

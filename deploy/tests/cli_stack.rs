//! `snapcycle deploy`, `status` and `destroy` against moto's CloudFormation: create, update (a
//! changed schedule shows as a modification), no-op redeploy, destroy; and bad input refused
//! before any AWS call. What moto skips (subscriptions, EventInvokeConfig, alarms) is checked in
//! the template tests instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::moto::{bootstrap_zip, command};
use snapcycle_testkit::Moto;

fn snapcycle(endpoint: &str, args: &[&str]) -> Output {
    command(Path::new(env!("CARGO_BIN_EXE_snapcycle")), Some(endpoint)).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The real `bootstrap` from this build, zipped as Lambda wants it (moto stores it, never runs it).
fn artifact() -> PathBuf {
    bootstrap_zip(Path::new(env!("CARGO_BIN_EXE_snapcycle"))).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_update_noop_status_and_destroy() {
    let moto = Moto::start().unwrap();
    let zip = artifact();
    let zip = zip.to_str().unwrap();
    let url = moto.url();

    let first = snapcycle(&url, &["deploy", "--yes", "--artifact", zip, "--email", "ops@example.com"]);
    let out = text(&first);
    assert_eq!(first.status.code(), Some(0), "{out}");
    assert!(out.contains("creating the artifact bucket snapcycle-artifacts-123456789012-us-east-1"), "{out}");
    assert!(out.contains("(CREATE)") && out.contains("+ add     ScheduleSnapshotDailyRule"), "{out}");
    assert!(out.contains("Stack snapcycle deployed."), "{out}");

    // What moto creates, checked through each service's own API.
    let sdk = moto.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let f = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    assert_eq!(f.runtime().map(|r| r.as_str()), Some("provided.al2023"));
    assert_eq!(f.handler(), Some("bootstrap"));
    // moto drops Architectures when CloudFormation creates the function; the template test checks it.
    assert_eq!(f.timeout(), Some(900));
    let env = f.environment().unwrap().variables().unwrap();
    assert_eq!(env["SNAPCYCLE_KEYWORDS"], "SnapshotHourly,SnapshotDaily");
    assert!(env["SNAPCYCLE_TOPIC_ARN"].starts_with("arn:aws:sns:us-east-1:123456789012:"), "{env:?}");
    let policy = lambda.get_policy().function_name("snapcycle-snapshots").send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 2, "one permission per rule: {policy}");

    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let rules = events.list_rules().send().await.unwrap();
    assert_eq!(rules.rules().len(), 2);
    for r in rules.rules() {
        let targets = events.list_targets_by_rule().rule(r.name().unwrap()).send().await.unwrap();
        let t = &targets.targets()[0];
        assert!(t.arn().ends_with(":function:snapcycle-snapshots"), "{t:?}");
        let it = t.input_transformer().unwrap();
        assert_eq!(it.input_paths_map().unwrap()["time"], "$.time");
        assert!(it.input_template().contains("\"ScheduledTime\": <time>"), "{}", it.input_template());
    }
    let iam = aws_sdk_iam::Client::new(&sdk);
    assert!(!iam.list_roles().send().await.unwrap().roles().is_empty());
    let sns = aws_sdk_sns::Client::new(&sdk);
    assert_eq!(sns.list_topics().send().await.unwrap().topics().len(), 1);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    assert_eq!(sqs.list_queues().send().await.unwrap().queue_urls().len(), 1);

    let st = snapcycle(&url, &["status"]);
    let out = text(&st);
    assert_eq!(st.status.code(), Some(0), "{out}");
    assert!(out.contains("SnapshotDaily") && out.contains("cron(0 0 * * ? *)"), "{out}");
    assert!(out.contains("SnapshotHourly") && out.contains("rate(1 hour)"), "{out}");
    assert!(out.contains("provided.al2023"), "{out}");

    // `snapcycle run` without --keywords learns the stack's keywords from its function, so a
    // daily snapshot does not carry the hourly schedule's tag (issue #10.11).
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let host = snapcycle_testkit::seed::instance(&ec2, &[("SnapshotDaily", "2"), ("SnapshotHourly", "3")], 1).await;
    let by_hand = snapcycle(&url, &["run", "--keyword", "SnapshotDaily", "--scheduled-time", "2026-11-26T00:00:00Z"]);
    let out = text(&by_hand);
    assert_eq!(by_hand.status.code(), Some(0), "{out}");
    assert!(
        out.contains("keywords of stack snapcycle (function snapcycle-snapshots): SnapshotHourly, SnapshotDaily"),
        "{out}"
    );
    let snaps = snapcycle_testkit::seed::keyword_snapshots_of(&ec2, &host.volumes[0].1, "SnapshotDaily").await;
    assert_eq!(snaps.len(), 1);
    assert_eq!(
        snapcycle_testkit::seed::tag(&snaps[0], "SnapshotHourly"),
        None,
        "the other schedule's tag is not copied"
    );
    let unknown = snapcycle(&url, &["run", "--keyword", "SnapshotWeekly", "--dry-run"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("not one of this stack's schedules (SnapshotHourly, SnapshotDaily)"),
        "{}",
        text(&unknown)
    );

    // Deployed twice: the first changes the daily rule, the second is a no-op.
    let changed_schedules = [
        "deploy",
        "--yes",
        "--artifact",
        zip,
        "--email",
        "ops@example.com",
        "--schedule",
        "SnapshotHourly=rate(1 hour)",
        "--schedule",
        "SnapshotDaily=cron(0 1 * * ? *)",
    ];
    let changed = snapcycle(&url, &changed_schedules);
    let out = text(&changed);
    assert_eq!(changed.status.code(), Some(0), "{out}");
    assert!(out.contains("(UPDATE)"), "{out}");
    assert!(out.contains("~ modify  ScheduleSnapshotDailyRule"), "{out}");
    let st = text(&snapcycle(&url, &["status"]));
    assert!(st.contains("cron(0 1 * * ? *)"), "{st}");

    let again = snapcycle(&url, &changed_schedules);
    let out = text(&again);
    assert_eq!(again.status.code(), Some(0), "{out}");
    assert!(out.contains("No changes"), "{out}");

    let gone = snapcycle(&url, &["destroy", "--yes"]);
    let out = text(&gone);
    assert_eq!(gone.status.code(), Some(0), "{out}");
    assert!(out.contains("Stack snapcycle deleted.") && out.contains("snapshots are kept"), "{out}");
    let st = snapcycle(&url, &["status"]);
    assert_eq!(st.status.code(), Some(1), "{}", text(&st));
}

/// A KMS key of the emulator's region (`command` sets `AWS_REGION=us-east-1`), and one of another.
const HOME_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const WEST_KEY: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[tokio::test(flavor = "multi_thread")]
async fn bad_stack_input_exits_2_before_any_aws_call() {
    let moto = Moto::start().unwrap();
    let proxy = FaultProxy::start(&moto.url(), FaultConfig::default()).await.unwrap();
    let long = "s".repeat(60);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["deploy", "--yes", "--schedule", "SnapshotDaily=rate(0 hours)"], "rate(0 hours)"),
        (vec!["deploy", "--yes", "--schedule", "SnapshotDaily=rate(1 hours)"], "rate(1 hours)"),
        (vec!["deploy", "--yes", "--schedule", "SnapshotDaily=cron(0 0 * * *)"], "cron(0 0 * * *)"),
        (vec!["deploy", "--yes", "--schedule", "SnapshotDaily=cron(0 0 * * * *)"], "day-of-week"),
        (vec!["deploy", "--yes", "--schedule", "SnapshotDaily=cron(0 0 ? FOO * *)"], "month"),
        (vec!["deploy", "--yes", "--schedule", "=rate(1 day)"], "empty"),
        (vec!["deploy", "--yes", "--schedule", "aws:x=rate(1 day)"], "aws:"),
        (vec!["deploy", "--yes", "--schedule", "A=rate(1 day)", "--schedule", "A=rate(2 days)"], "A"),
        (vec!["deploy", "--yes", "--email", "not-an-address"], "not-an-address"),
        (vec!["deploy", "--yes", "--stack-name", &long], "longer than"),
        (vec!["deploy", "--yes", "--artifact", "/nonexistent.zip"], "no such file"),
        (vec!["render", "--schedule", "Daily"], "KEYWORD=EXPRESSION"),
        (vec!["deploy", "--yes", "--arch", "sparc"], "sparc"),
        (vec!["deploy"], "pass --yes"),
        (vec!["destroy"], "pass --yes"),
        (vec!["deploy", "--yes", "--attempt-timeout", "0"], "--attempt-timeout"),
        (vec!["deploy", "--yes", "--orphans-expire-after", "90"], "a number without a unit"),
        (vec!["render", "--orphans-expire-after", "12h"], "shorter than a day"),
        (vec!["run", "--keyword", "SnapshotDaily", "--orphans-expire-after", "soon"], "not a duration"),
        (vec!["render", "--recycle-bin-days", "0"], "0 is not in 1..=365"),
        (vec!["deploy", "--yes", "--recycle-bin-days", "366"], "366 is not in 1..=365"),
        (vec!["render", "--recycle-bin-days", "seven"], "--recycle-bin-days"),
        (vec!["render", "--copy-to", "us-west"], "\"us-west\" is not a region name"),
        (vec!["deploy", "--yes", "--copy-to", "us-west-2,eu-west-1"], "one region per --copy-to"),
        (vec!["deploy", "--yes", "--copy-to", "us-east-1"], "--copy-to us-east-1 is the stack's own region"),
        (vec!["deploy", "--yes", "--copy-to", "cn-northwest-1"], "only be copied within its partition"),
        (vec!["deploy", "--yes", "--copy-to", "us-gov-east-1"], "only be copied within its partition"),
        (vec!["deploy", "--yes", "--copy-to", "us-west-2", "--copy-to", "us-west-2"], "us-west-2 is named twice"),
        (vec!["render", "--copy-to", "us-west-2", "--copy-to", "cn-northwest-1"], "within its partition"),
        (
            vec![
                "render",
                "--copy-kms-key",
                "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ],
            "is not REGION=KEY_ARN",
        ),
        (
            vec![
                "render",
                "--copy-to",
                "eu-west-1",
                "--copy-kms-key",
                "us-west-2=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ],
            "us-west-2 is not one of --copy-to (eu-west-1)",
        ),
        (
            vec![
                "render",
                "--copy-to",
                "eu-west-1",
                "--copy-kms-key",
                "eu-west-1=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ],
            "a key of its own region",
        ),
        (
            vec![
                "render",
                "--copy-to",
                "us-west-2",
                "--copy-kms-key",
                "us-west-2=arn:aws:kms:us-west-2:111122223333:alias/dr",
            ],
            "not an alias",
        ),
        (vec!["deploy", "--yes", "--copy-retention", "30"], "--copy-retention needs --copy-to"),
        (vec!["render", "--copy-to", "us-west-2", "--copy-retention", "daily=0"], "daily=0"),
        (vec!["render", "--kms-key", HOME_KEY], "--encrypt"),
        (vec!["deploy", "--yes", "--kms-key", HOME_KEY], "--encrypt"),
        (
            vec!["deploy", "--yes", "--encrypt", "--copy-to", "us-west-2"],
            "--encrypt and --copy-to cannot be used together",
        ),
        (
            vec!["render", "--encrypt", "--kms-key", HOME_KEY, "--copy-to", "us-west-2"],
            "--encrypt and --copy-to cannot be used together",
        ),
        (vec!["deploy", "--yes", "--encrypt", "--kms-key", WEST_KEY], "is not a key of the stack's region us-east-1"),
        (vec!["render", "--encrypt", "--kms-key", WEST_KEY], "is not a key of the stack's region us-east-1"),
        (
            vec!["render", "--region", "cn-north-1", "--encrypt", "--kms-key", HOME_KEY],
            "give a key ARN of cn-north-1 (arn:aws-cn:kms:cn-north-1:ACCOUNT:key/ID)",
        ),
        (vec!["render", "--encrypt", "--kms-key", "arn:aws:kms:us-east-1:111122223333:alias/backups"], "not an alias"),
        (vec!["render", "--encrypt", "--kms-key", "default"], "uses the region's default EBS key"),
        (vec!["deploy", "--yes", "--encrypt", "--kms-key", "alias/backups"], "is not a KMS key ARN"),
        (vec!["undo", "--since", "soon"], "\"soon\" is not an age"),
        (vec!["undo", "--since", "2"], "a number without a unit"),
        (vec!["undo", "--restore", "vol-0123456789abcdef0"], "is not a snapshot id such as snap-"),
        (vec!["undo", "--restore"], "a value is required for '--restore"),
        (vec!["undo", "--restore", "snap-0123456789abcdef0", "--since", "2d"], "cannot be used with '--since"),
        (vec!["undo", "--keep-forever"], "--restore"),
        (vec!["undo", "--keyword", "aws:x"], "aws:"),
    ];
    for (args, want) in cases {
        let o = snapcycle(&proxy.url(), &args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}");
        assert!(out.contains(want), "{args:?} should mention {want:?}: {out}");
    }
    assert_eq!(proxy.stats().total().requests, 0, "no AWS call for bad input");
}

#[test]
fn render_with_no_flags_is_the_checked_in_template() {
    let o = Command::new(env!("CARGO_BIN_EXE_snapcycle")).arg("render").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let golden =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/snapcycle.json")).unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout) == golden,
        "templates/snapcycle.json is stale: rewrite it with `cargo run -p snapcycle -- render -o templates/snapcycle.json`"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_counts_days_in_the_deployed_functions_time_zone_and_refuses_another() {
    let moto = Moto::start().unwrap();
    let url = moto.url();
    let zip = artifact();
    let d = snapcycle(&url, &["deploy", "--yes", "--artifact", zip.to_str().unwrap()]);
    assert_eq!(d.status.code(), Some(0), "{}", text(&d));
    // The function's zone, as the stack will set it (today only by hand on the function).
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk_config().await);
    let conf = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    let mut vars = conf.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
    vars.insert("SNAPCYCLE_TIME_ZONE".into(), "Asia/Shanghai".into());
    lambda
        .update_function_configuration()
        .function_name("snapcycle-snapshots")
        .environment(aws_sdk_lambda::types::Environment::builder().set_variables(Some(vars)).build())
        .send()
        .await
        .unwrap();

    let run = ["run", "--keyword", "SnapshotDaily", "--dry-run", "--scheduled-time", "2026-11-26T00:00:00Z"];
    let o = snapcycle(&url, &run);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("time zone of stack snapcycle: Asia/Shanghai"), "{}", text(&o));
    let same = snapcycle(&url, &[&run[..], &["--time-zone", "Asia/Shanghai"]].concat());
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    let other = snapcycle(&url, &[&run[..], &["--time-zone", "UTC"]].concat());
    assert_eq!(other.status.code(), Some(2), "{}", text(&other));
    assert!(
        text(&other).contains("differs from the deployed function's SNAPCYCLE_TIME_ZONE=Asia/Shanghai"),
        "{}",
        text(&other)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orphan_expiry_reaches_the_function_and_a_run_by_hand_keeps_to_it() {
    let moto = Moto::start().unwrap();
    let url = moto.url();
    let zip = artifact();
    let d = snapcycle(&url, &["deploy", "--yes", "--artifact", zip.to_str().unwrap(), "--orphans-expire-after", "90d"]);
    assert_eq!(d.status.code(), Some(0), "{}", text(&d));
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk_config().await);
    let conf = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    let vars = conf.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
    assert_eq!(vars.get("SNAPCYCLE_ORPHANS_EXPIRE_AFTER").map(String::as_str), Some("90d"), "{vars:?}");

    let run = ["run", "--keyword", "SnapshotDaily", "--dry-run", "--scheduled-time", "2026-11-26T00:00:00Z"];
    let o = snapcycle(&url, &run);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("orphans of stack snapcycle expire after 90d"), "{}", text(&o));
    let other = snapcycle(&url, &[&run[..], &["--orphans-expire-after", "30d"]].concat());
    assert_eq!(other.status.code(), Some(2), "{}", text(&other));
    assert!(
        text(&other).contains("differs from the deployed function's SNAPCYCLE_ORPHANS_EXPIRE_AFTER=90d"),
        "{}",
        text(&other)
    );
    // A redeploy that forgets the option takes it back, and says so before the change set.
    let again = snapcycle(&url, &["deploy", "--yes", "--artifact", zip.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        text(&again).contains(
            "note: orphans expire after 90d now; without --orphans-expire-after they are kept again \
             (pass --orphans-expire-after 90d to keep expiring them)"
        ),
        "{}",
        text(&again)
    );
    // Without the option the variable is not set at all: the checked-in template has none.
    let plain = Command::new(env!("CARGO_BIN_EXE_snapcycle")).arg("render").output().unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("SNAPCYCLE_ORPHANS_EXPIRE_AFTER"));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_deploy_moves_a_stack_from_utc_rules_to_schedules_in_a_time_zone() {
    let moto = Moto::start().unwrap();
    let url = moto.url();
    let zip = artifact();
    let zip = zip.to_str().unwrap();
    let utc = snapcycle(&url, &["deploy", "--yes", "--artifact", zip, "--schedule", "SnapshotDaily=cron(0 0 * * ? *)"]);
    assert_eq!(utc.status.code(), Some(0), "{}", text(&utc));

    // 08:00 in Beijing is the same instant as 00:00 UTC: one deploy swaps the rule for a schedule.
    let moved = snapcycle(
        &url,
        &[
            "deploy",
            "--yes",
            "--artifact",
            zip,
            "--tz",
            "Asia/Shanghai",
            "--schedule",
            "SnapshotDaily=cron(0 8 * * ? *)",
        ],
    );
    let out = text(&moved);
    assert_eq!(moved.status.code(), Some(0), "{out}");
    for line in [
        "+ add     ScheduleSnapshotDailySchedule",
        "+ add     EventSchedulerRole",
        "- remove  ScheduleSnapshotDailyRule",
        "- remove  ScheduleSnapshotDailyPermission",
        "~ modify  Function",
    ] {
        assert!(out.contains(line), "the change set shows {line:?}: {out}");
    }

    let sdk = moto.sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    assert!(events.list_rules().send().await.unwrap().rules().is_empty(), "the rule is gone");
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    let listed = scheduler.list_schedules().send().await.unwrap();
    assert_eq!(listed.schedules().len(), 1);
    let s = scheduler.get_schedule().name(listed.schedules()[0].name().unwrap()).send().await.unwrap();
    assert_eq!(s.schedule_expression(), Some("cron(0 8 * * ? *)"));
    assert_eq!(s.schedule_expression_timezone(), Some("Asia/Shanghai"));
    let t = s.target().unwrap();
    assert!(t.arn().ends_with(":function:snapcycle-snapshots"), "{t:?}");
    assert_eq!(
        t.input(),
        Some("{\"SnapshotKeyWord\": \"SnapshotDaily\", \"ScheduledTime\": \"<aws.scheduler.scheduled-time>\"}")
    );
    assert!(t.role_arn().contains(":role/"), "{t:?}");
    assert!(t.dead_letter_config().and_then(|d| d.arn()).is_some_and(|a| a.contains(":sqs:")), "{t:?}");
    let retry = t.retry_policy().unwrap();
    assert_eq!((retry.maximum_retry_attempts(), retry.maximum_event_age_in_seconds()), (Some(185), Some(21_600)));
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let f = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    assert_eq!(f.environment().unwrap().variables().unwrap()["SNAPCYCLE_TIME_ZONE"], "Asia/Shanghai");

    let st = text(&snapcycle(&url, &["status"]));
    assert!(st.contains("cron(0 8 * * ? *)") && st.contains("Asia/Shanghai") && st.contains("schedule "), "{st}");
    // A run by hand counts days where the schedule fires.
    let by_hand = snapcycle(&url, &["run", "--keyword", "SnapshotDaily", "--dry-run"]);
    assert!(text(&by_hand).contains("time zone of stack snapcycle: Asia/Shanghai"), "{}", text(&by_hand));

    // A redeploy without --tz moves back to rules on UTC, and says so before the change set.
    let back =
        snapcycle(&url, &["deploy", "--yes", "--artifact", zip, "--schedule", "SnapshotDaily=cron(0 0 * * ? *)"]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    assert!(
        text(&back).contains("note: the stack's schedules fire in Asia/Shanghai now; without --tz they go back"),
        "{}",
        text(&back)
    );
    assert!(text(&back).contains("- remove  ScheduleSnapshotDailySchedule"), "{}", text(&back));
    let st = text(&snapcycle(&url, &["status"]));
    assert_eq!(events.list_rules().send().await.unwrap().rules().len(), 1, "the rule is back: {st}");

    let gone = snapcycle(&url, &["destroy", "--yes"]);
    assert_eq!(gone.status.code(), Some(0), "{}", text(&gone));
    assert!(scheduler.list_schedules().send().await.unwrap().schedules().is_empty(), "destroy removes the schedule");
}

/// `--copy-to` adds the completion rule and its permission, sets the function's environment, is
/// not a schedule to `status`, and a redeploy without it says what it takes back.
#[tokio::test(flavor = "multi_thread")]
async fn copies_add_the_completion_rule_and_a_redeploy_without_them_says_so() {
    let moto = Moto::start().unwrap();
    let url = moto.url();
    let zip = artifact();
    let zip = zip.to_str().unwrap();
    let key = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let flags = ["--copy-to", "us-west-2", "--copy-kms-key", &format!("us-west-2={key}"), "--copy-retention", "30"];
    let d = snapcycle(&url, &[&["deploy", "--yes", "--artifact", zip][..], &flags].concat());
    let out = text(&d);
    assert_eq!(d.status.code(), Some(0), "{out}");
    assert!(
        out.contains("+ add     SnapshotCompletedRule") && out.contains("+ add     SnapshotCompletedPermission"),
        "{out}"
    );

    let sdk = moto.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let f = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    let env = f.environment().unwrap().variables().unwrap();
    assert_eq!(env["SNAPCYCLE_COPY_TO"], format!("us-west-2={key}"));
    assert_eq!(env["SNAPCYCLE_COPY_RETENTION"], "30");
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let rules = events.list_rules().send().await.unwrap();
    let copy_rule = rules.rules().iter().find(|r| r.event_pattern().is_some()).expect("the completion rule");
    let pattern: serde_json::Value = serde_json::from_str(copy_rule.event_pattern().unwrap()).unwrap();
    assert_eq!(pattern["detail"]["result"], serde_json::json!(["succeeded"]));
    let targets = events.list_targets_by_rule().rule(copy_rule.name().unwrap()).send().await.unwrap();
    let t = &targets.targets()[0];
    assert!(t.arn().ends_with(":function:snapcycle-snapshots"), "{t:?}");
    assert!(t.input().is_none() && t.input_transformer().is_none(), "the whole event: {t:?}");

    let st = snapcycle(&url, &["status"]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
    assert!(!text(&st).contains(copy_rule.name().unwrap()), "the copy rule is no schedule: {}", text(&st));

    let again = snapcycle(&url, &["deploy", "--yes", "--artifact", zip]);
    let out = text(&again);
    assert_eq!(again.status.code(), Some(0), "{out}");
    assert!(
        out.contains("note: snapshots are copied to us-west-2 now; without --copy-to its rule is removed"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "pass --copy-to us-west-2 --copy-kms-key us-west-2={key} --copy-retention '30' to keep copying"
        )),
        "{out}"
    );
    assert!(out.contains("- remove  SnapshotCompletedRule"), "{out}");
    let f = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    assert!(f.environment().and_then(|e| e.variables()).is_none_or(|v| !v.contains_key("SNAPCYCLE_COPY_TO")));
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_sizes_the_function_for_the_fleet_it_finds() {
    let moto = Moto::start().unwrap();
    let url = moto.url();
    let zip = artifact();
    let zip = zip.to_str().unwrap();
    let sdk = moto.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    // 25 instances × 2 volumes, each volume keeping up to 6,000 daily snapshots (+1 pending, +1
    // this run's): the daily run reads up to 300,100 snapshots, about 189 MB with headroom.
    let policy = "last=1000 hourly=1000 daily=1000 weekly=1000 monthly=1000 yearly=1000";
    snapcycle_testkit::seed::instances(&ec2, &[("SnapshotDaily", policy), ("SnapshotHourly", "24")], 2, 25).await;
    let d = snapcycle(&url, &["deploy", "--yes", "--artifact", zip]);
    let out = text(&d);
    assert_eq!(d.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "fleet: the largest run, SnapshotDaily, reads up to 300100 snapshots (25 instances, 50 volumes tagged)"
        ),
        "{out}"
    );
    assert!(out.contains("so the function gets 192 MB instead of 128 MB"), "{out}");
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let f = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    assert_eq!(f.memory_size(), Some(192));
    // A larger --memory is kept.
    let d = snapcycle(&url, &["deploy", "--yes", "--artifact", zip, "--memory", "512"]);
    assert!(text(&d).contains("512 MB is enough"), "{}", text(&d));
}

/// `render --encrypt` knows the stack's region from `--region` or `AWS_REGION`: a key of it renders
/// (the variable, the rule that also takes `copySnapshot`), and without a region only the key's
/// own form is checked.
#[test]
fn render_encrypts_in_place_with_a_key_of_the_region_given() {
    let bin = Path::new(env!("CARGO_BIN_EXE_snapcycle"));
    let o = command(bin, None).args(["render", "--encrypt", "--kms-key", HOME_KEY]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let template: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let resources = &template["Resources"];
    assert_eq!(resources["Function"]["Properties"]["Environment"]["Variables"]["SNAPCYCLE_ENCRYPT"], HOME_KEY);
    let events = &resources["SnapshotCompletedRule"]["Properties"]["EventPattern"]["detail"]["event"];
    assert_eq!(*events, serde_json::json!(["createSnapshot", "createSnapshots", "copySnapshot"]));

    let o = command(bin, None).args(["render", "--encrypt"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"SNAPCYCLE_ENCRYPT\": \"default\""), "{}", text(&o));

    let o = command(bin, None)
        .env_remove("AWS_REGION")
        .args(["render", "--encrypt", "--kms-key", WEST_KEY])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "no region, no region check: {}", text(&o));
    let o = command(bin, None)
        .args(["render", "--region", "us-west-2", "--encrypt", "--kms-key", WEST_KEY])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "--region wins over AWS_REGION: {}", text(&o));
}

/// `--encrypt --kms-key` adds the completion rule (with `copySnapshot`) and sets the function's
/// `SNAPCYCLE_ENCRYPT`; the rule is no schedule to `status`; a redeploy with another key, and one
/// without `--encrypt`, say what they change before the change set.
#[tokio::test(flavor = "multi_thread")]
async fn encryption_in_place_adds_the_completion_rule_and_a_redeploy_without_it_says_so() {
    let moto = Moto::start().unwrap();
    let url = moto.url();
    let zip = artifact();
    let zip = zip.to_str().unwrap();
    let d = snapcycle(&url, &["deploy", "--yes", "--artifact", zip, "--encrypt", "--kms-key", HOME_KEY]);
    let out = text(&d);
    assert_eq!(d.status.code(), Some(0), "{out}");
    assert!(
        out.contains("+ add     SnapshotCompletedRule") && out.contains("+ add     SnapshotCompletedPermission"),
        "{out}"
    );

    let sdk = moto.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let f = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    let env = f.environment().unwrap().variables().unwrap();
    assert_eq!(env["SNAPCYCLE_ENCRYPT"], HOME_KEY);
    assert!(!env.contains_key("SNAPCYCLE_COPY_TO"), "{env:?}");
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let rules = events.list_rules().send().await.unwrap();
    let rule = rules.rules().iter().find(|r| r.event_pattern().is_some()).expect("the completion rule");
    let pattern: serde_json::Value = serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
    assert_eq!(pattern["detail"]["event"], serde_json::json!(["createSnapshot", "createSnapshots", "copySnapshot"]));
    assert_eq!(pattern["detail"]["result"], serde_json::json!(["succeeded"]));
    let targets = events.list_targets_by_rule().rule(rule.name().unwrap()).send().await.unwrap();
    let t = &targets.targets()[0];
    assert!(t.arn().ends_with(":function:snapcycle-snapshots"), "{t:?}");
    assert!(t.input().is_none() && t.input_transformer().is_none(), "the whole event: {t:?}");

    let st = snapcycle(&url, &["status"]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
    assert!(!text(&st).contains(rule.name().unwrap()), "the completion rule is no schedule: {}", text(&st));
    assert!(text(&st).contains(&format!("SNAPCYCLE_ENCRYPT={HOME_KEY}")), "{}", text(&st));

    let rekeyed = snapcycle(&url, &["deploy", "--yes", "--artifact", zip, "--encrypt"]);
    let out = text(&rekeyed);
    assert_eq!(rekeyed.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "note: snapshots are encrypted in place with the region's default EBS key instead of {HOME_KEY} from now on"
        )),
        "{out}"
    );
    let f = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    assert_eq!(f.environment().unwrap().variables().unwrap()["SNAPCYCLE_ENCRYPT"], "default");

    let off = snapcycle(&url, &["deploy", "--yes", "--artifact", zip]);
    let out = text(&off);
    assert_eq!(off.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "note: snapshots are encrypted in place now (with the region's default EBS key); without --encrypt its \
             rule is removed and new snapshots stay unencrypted"
        ),
        "{out}"
    );
    assert!(out.contains("pass --encrypt to keep encrypting"), "{out}");
    assert!(out.contains("- remove  SnapshotCompletedRule"), "{out}");
    let f = lambda.get_function_configuration().function_name("snapcycle-snapshots").send().await.unwrap();
    assert!(f.environment().and_then(|e| e.variables()).is_none_or(|v| !v.contains_key("SNAPCYCLE_ENCRYPT")));
}

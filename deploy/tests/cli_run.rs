//! `snapcycle run` as a person runs it: the real binary against moto.

use std::path::Path;
use std::process::Output;

use snapcycle_testkit::moto::command;

use snapcycle_testkit::faults::{FaultConfig, FaultProxy};
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";

fn snapcycle(endpoint: &str, args: &[&str]) -> Output {
    command(Path::new(env!("CARGO_BIN_EXE_snapcycle")), Some(endpoint)).args(args).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn run_prints_a_table_then_json_and_exits_by_outcome() {
    let moto = Moto::start().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let web = seed::instance(&ec2, &[(DAILY, "2"), ("Name", "web")], 2).await;
    for day in 22..25 {
        keyword_snapshot(&ec2, &web, 0, DAILY, "2", &format!("2026-11-{day}T00:00:00Z")).await;
    }

    let dry =
        snapcycle(&moto.url(), &["run", "--keyword", DAILY, "--dry-run", "--scheduled-time", "2026-11-26T00:00:00Z"]);
    let (out, err) = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{out}{err}");
    assert!(out.starts_with("DRY RUN: SnapshotDaily run 2026-11-26T00:00:00Z: 1 instances, 2 volumes"), "{out}");
    assert!(out.contains("would create") && out.contains("would delete"), "{out}");
    // Every snapshot of the keyword with the reason it stays or goes: the new one counts as
    // pending, so retention 2 keeps the two newest completed and the oldest goes.
    let rows = |action: &str| out.lines().filter(|l| l.contains(action)).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(rows("would delete").len(), 1, "{out}");
    assert!(rows("would delete")[0].ends_with("delete: beyond the newest 2 completed"), "{out}");
    // Rows come in snapshot id order, so the reasons are compared as a set.
    let mut keep: Vec<String> =
        rows("would keep").iter().map(|l| l.split("  ").last().unwrap_or_default().trim().to_owned()).collect();
    keep.sort();
    assert_eq!(keep, ["keep: last 1", "keep: last 2"], "{out}");
    assert_eq!(keyword_snapshots_of(&ec2, &web.volumes[0].1, DAILY).await.len(), 3, "a dry run changes nothing");

    // Out of time before the first call: everything is handed over, nothing is done (the two
    // creations and the deletion, which run side by side).
    let args = [
        "run",
        "--keyword",
        DAILY,
        "--scheduled-time",
        "2026-11-26T00:00:00Z",
        "--output",
        "json",
        "--time-limit",
        "0.001",
    ];
    let short = snapcycle(&moto.url(), &args);
    let (out, err) = text(&short);
    assert_eq!(short.status.code(), Some(0), "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["continued"]["left"], 3, "{out}");
    assert_eq!(report["created"].as_array().unwrap().len() + report["deleted"].as_array().unwrap().len(), 0, "{out}");

    let real = snapcycle(&moto.url(), &["run", "--keyword", DAILY, "--scheduled-time", "2026-11-26T00:00:00Z"]);
    let (out, err) = text(&real);
    assert_eq!(real.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("INSTANCE") && out.contains(&web.instance_id) && out.contains("created"), "{out}");
    // What the dry run said: the new snapshots count from the next run on.
    assert!(out.contains("2 created, 1 deleted, 0 skipped, 0 failed"), "{out}");

    let again = snapcycle(
        &moto.url(),
        &["run", "--keyword", DAILY, "--scheduled-time", "2026-11-26T00:00:00Z", "--output", "json"],
    );
    let (out, err) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["created"].as_array().unwrap().len(), 0);
    assert_eq!(report["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(report["keyword"], DAILY);

    seed::instance(&ec2, &[(DAILY, "3.5")], 1).await;
    let failed = snapcycle(&moto.url(), &["run", "--keyword", DAILY]);
    let (out, err) = text(&failed);
    assert_eq!(failed.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("FAILED") && out.contains("InvalidRetention"), "{out}");
    // No stack deployed here: the README's promise that `run` says what that means.
    assert!(err.contains("warning: no stack snapcycle here (no function snapcycle-snapshots)"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_usage_exits_2_before_any_aws_call() {
    let moto = Moto::start().unwrap();
    let proxy = FaultProxy::start(&moto.url(), FaultConfig::default()).await.unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--keyword", ""], "empty"),
        (&["run", "--keyword", "aws:backup"], "reserved"),
        (&["run", "--keyword", DAILY, "--scheduled-time", "tomorrow"], "RFC 3339"),
        (&["run", "--keyword", DAILY, "--max-concurrency", "0"], "--max-concurrency"),
        (&["run", "--keyword", DAILY, "--keywords", "SnapshotHourly"], "not one of this stack's schedules"),
        (&["run", "--keyword", DAILY, "--output", "yaml"], "invalid value 'yaml'"),
        (&["run"], "--keyword"),
        (&["run", "--keyword", DAILY, "--time-limit", "60"], "--scheduled-time"),
        (
            &["run", "--keyword", DAILY, "--scheduled-time", "2026-11-26T00:00:00Z", "--time-limit", "0"],
            "not a number of seconds",
        ),
        (
            &["run", "--keyword", DAILY, "--scheduled-time", "2026-11-26T00:00:00Z", "--time-limit", "soon"],
            "not a number of seconds",
        ),
    ];
    for (args, want) in cases {
        let o = snapcycle(&proxy.url(), args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}{err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert_eq!(proxy.stats().total().requests, 0);
}

/// Without credentials or a region, every command says in one line what is missing and how to
/// fix it, exits 2, and makes no call (issue #10.12).
#[test]
fn missing_credentials_or_region_is_one_line_and_exit_2() {
    let home = tempfile_dir();
    let bare = |region: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_snapcycle"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("AWS_CONFIG_FILE", home.join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            // Nothing listens here: a call would show up as a dispatch failure.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
        if region {
            cmd.env("AWS_REGION", "cn-north-1");
        }
        cmd
    };
    let cases: [(&[&str], bool, &str); 4] = [
        (&["run", "--keyword", "SnapshotDaily", "--keywords", "SnapshotDaily"], true, "no AWS credentials"),
        (&["status"], true, "no AWS credentials"),
        (&["destroy", "--yes"], true, "no AWS credentials"),
        (&["run", "--keyword", "SnapshotDaily", "--keywords", "SnapshotDaily"], false, "no AWS region: pass --region"),
    ];
    for (args, region, want) in cases {
        let o = bare(region).args(args).output().unwrap();
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}{err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: one line: {err}");
        assert!(!err.contains("DispatchFailure") && !err.contains("SdkBody"), "{args:?}: {err}");
        if want.contains("credentials") {
            assert!(
                err.contains("--profile") && err.contains("aws sso login") && err.contains("AWS_ACCESS_KEY_ID"),
                "{err}"
            );
        }
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("snapcycle-nocreds-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

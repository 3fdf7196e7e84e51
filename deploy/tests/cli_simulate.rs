//! `snapcycle schedules` and `snapcycle simulate`: the schedules understood, and played forward
//! on moto with the real bootstrap under cargo-lambda's runtime emulator.

use std::path::Path;
use std::process::Output;

use snapcycle_testkit::moto::{bootstrap_zip, command, EMU_PENDING_SECONDS, EMU_VOLUME_INTERVAL_SECONDS};
use snapcycle_testkit::seed::{self, keyword_snapshot};
use snapcycle_testkit::Moto;

fn snapcycle(endpoint: Option<&str>, args: &[&str]) -> Output {
    command(Path::new(env!("CARGO_BIN_EXE_snapcycle")), endpoint).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn schedules_lists_next_fires_in_utc_and_a_time_zone() {
    let o = snapcycle(None, &["schedules", "--from", "2026-11-26T09:30:00Z", "--next", "2", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"keyword": "SnapshotHourly", "expression": "rate(1 hour)", "next": ["2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z"]},
            {"keyword": "SnapshotDaily", "expression": "cron(0 0 * * ? *)", "next": ["2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z"]}
        ])
    );
    let o = snapcycle(
        None,
        &[
            "schedules",
            "--schedule",
            "SnapshotDaily=cron(0 0 * * ? *)",
            "--from",
            "2026-11-26T09:30:00Z",
            "--next",
            "1",
            "--tz",
            "Asia/Shanghai",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    // With --tz the cron is read on Beijing's clock, as `deploy --tz` fires it: midnight there.
    assert!(out.contains("  2026-11-27 Fri 00:00 CST (Asia/Shanghai)   2026-11-26T16:00:00Z"), "{out}");
    // Daylight saving as EventBridge Scheduler does it: 02:30 does not exist in New York on
    // 8 March 2026 (02:00 EST jumps to 03:00 EDT), so that day has no fire. The day before is EST
    // (02:30 = 07:30Z), the days after EDT (02:30 = 06:30Z).
    let o = snapcycle(
        None,
        &[
            "schedules",
            "--schedule",
            "SnapshotDaily=cron(30 2 * * ? *)",
            "--tz",
            "America/New_York",
            "--from",
            "2026-03-06T12:00:00Z",
            "--next",
            "4",
            "--output",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{
            "keyword": "SnapshotDaily",
            "expression": "cron(30 2 * * ? *)",
            "next": ["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z", "2026-03-11T06:30:00Z"],
            "time_zone": "America/New_York",
            "next_local": [
                "2026-03-07T02:30:00-05:00",
                "2026-03-09T02:30:00-04:00",
                "2026-03-10T02:30:00-04:00",
                "2026-03-11T02:30:00-04:00"
            ]
        }])
    );
    // 1 November 2026: 02:00 EDT falls back to 01:00 EST, so 01:30 shows twice (05:30Z EDT and
    // 06:30Z EST); Scheduler fires it once, and we show the first: one EDT line, then EST days.
    let o = snapcycle(
        None,
        &[
            "schedules",
            "--schedule",
            "SnapshotDaily=cron(30 1 * * ? *)",
            "--tz",
            "America/New_York",
            "--from",
            "2026-10-31T12:00:00Z",
            "--next",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "SnapshotDaily  cron(30 1 * * ? *)\n  \
         2026-11-01 Sun 01:30 EDT (America/New_York)   2026-11-01T05:30:00Z\n  \
         2026-11-02 Mon 01:30 EST (America/New_York)   2026-11-02T06:30:00Z\n"
    );
    // Without --tz the text is UTC run ids only, as before time zones.
    let o = snapcycle(None, &["schedules", "--from", "2026-11-26T09:30:00Z", "--next", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "SnapshotHourly  rate(1 hour)\n  2026-11-26T10:00:00Z\n  2026-11-26T11:00:00Z\n\
         SnapshotDaily  cron(0 0 * * ? *)\n  2026-11-27T00:00:00Z\n  2026-11-28T00:00:00Z\n"
    );
    for bad in [
        &["schedules", "--schedule", "X=cron(0 0 * * * *)"][..],
        &["schedules", "--tz", "Mars/Olympus"],
        &["schedules", "--from", "soon"],
    ] {
        let o = snapcycle(None, bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn simulate_plays_the_deployed_schedules_forward() {
    // `simulate` replays hours of fires in seconds: EC2's timed rules (pending for minutes, 15 s per volume) would be about the wrong clock, so both are off here, as in the demo.
    let moto = Moto::start_with(&[(EMU_PENDING_SECONDS, "0"), (EMU_VOLUME_INTERVAL_SECONDS, "0")]).unwrap();
    let url = moto.url();
    let zip = bootstrap_zip(Path::new(env!("CARGO_BIN_EXE_snapcycle"))).unwrap();
    let d = snapcycle(
        Some(&url),
        &[
            "deploy",
            "--yes",
            "--artifact",
            zip.to_str().unwrap(),
            "--schedule",
            "SnapshotHourly=rate(1 hour)",
            "--schedule",
            "SnapshotDaily=cron(0 0 * * ? *)",
        ],
    );
    assert_eq!(d.status.code(), Some(0), "{}", text(&d));

    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let host = seed::instance(&ec2, &[("Name", "web"), ("SnapshotHourly", "2"), ("SnapshotDaily", "1")], 1).await;
    let kept = keyword_snapshot(&ec2, &host, 0, "SnapshotHourly", "2", "2026-11-01T00:00:00Z").await;
    ec2.delete_tags()
        .resources(&kept)
        .tags(aws_sdk_ec2::types::Tag::builder().key("SnapshotHourly").build())
        .send()
        .await
        .unwrap();

    let o = snapcycle(Some(&url), &["simulate", "--hours", "4", "--from", "2026-11-25T22:00:00Z"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("(5 fires)"), "{out}");
    // 22:00 and 23:00 hourly, 00:00 daily and hourly, 01:00 hourly. A run deletes from the
    // snapshots it found, not counting the one it takes: hourly retention 2 finds 0, 1, 2 and 3
    // completed snapshots, so only the 01:00 run deletes one.
    for line in [
        "2026-11-25T22:00:00Z  SnapshotHourly          1       0",
        "2026-11-25T23:00:00Z  SnapshotHourly          1       0",
        "2026-11-26T00:00:00Z  SnapshotDaily           1       0",
        "2026-11-26T00:00:00Z  SnapshotHourly          1       0",
        "2026-11-26T01:00:00Z  SnapshotHourly          1       1",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let end = out.lines().find(|l| l.starts_with(&host.volumes[0].1)).expect("a row for the volume");
    let cols: Vec<&str> = end.split_whitespace().collect();
    // Daily 1; hourly 3: retention 2 of the completed ones, and the 01:00 one, which counts from
    // the next run on.
    assert_eq!(cols[3..], ["1", "3", kept.as_str(), "(SnapshotHourly)"], "{end}");
}

#[tokio::test(flavor = "multi_thread")]
async fn simulate_fires_schedules_in_a_time_zone_as_scheduler_does() {
    // Off as in the test above: hours of fires replayed in seconds.
    let moto = Moto::start_with(&[(EMU_PENDING_SECONDS, "0"), (EMU_VOLUME_INTERVAL_SECONDS, "0")]).unwrap();
    let url = moto.url();
    let zip = bootstrap_zip(Path::new(env!("CARGO_BIN_EXE_snapcycle"))).unwrap();
    let d = snapcycle(
        Some(&url),
        &[
            "deploy",
            "--yes",
            "--artifact",
            zip.to_str().unwrap(),
            "--tz",
            "America/New_York",
            "--schedule",
            "SnapshotDaily=cron(30 2 * * ? *)",
        ],
    );
    assert_eq!(d.status.code(), Some(0), "{}", text(&d));
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    seed::instance(&ec2, &[("SnapshotDaily", "daily=7")], 1).await;

    // Three UTC days across the spring change: 02:30 New York time fires on the 7th (EST) and the
    // 9th (EDT), and not on the 8th, whose 02:30 does not exist.
    let o = snapcycle(Some(&url), &["simulate", "--days", "3", "--from", "2026-03-07T00:00:00Z"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("(2 fires)"), "{out}");
    assert!(out.contains("America/New_York schedule "), "the schedule as EventBridge Scheduler holds it: {out}");
    for line in [
        "2026-03-07T07:30:00Z  SnapshotDaily           1       0",
        "2026-03-09T06:30:00Z  SnapshotDaily           1       0",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn simulate_refuses_a_real_endpoint() {
    let o = snapcycle(None, &["simulate", "--days", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = snapcycle(Some("https://ec2.us-east-1.amazonaws.com"), &["simulate", "--days", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not on loopback"));
}

//! `snapcycle orphans`: the snapshots no run rotates, listed per volume against moto.

use std::path::Path;
use std::process::Output;

use aws_sdk_ec2::types::Tag;
use snapcycle_testkit::moto::command;
use snapcycle_testkit::seed::{self, keyword_snapshot};
use snapcycle_testkit::Moto;

const DAILY: &str = "SnapshotDaily";
const HOURLY: &str = "SnapshotHourly";

fn snapcycle(endpoint: &str, args: &[&str]) -> Output {
    command(Path::new(env!("CARGO_BIN_EXE_snapcycle")), Some(endpoint)).args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn orphans_lists_snapshots_whose_volume_no_tagged_instance_has() {
    let moto = Moto::start().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    // Still rotated: nothing to list.
    let live = seed::instance(&ec2, &[(DAILY, "2")], 1).await;
    keyword_snapshot(&ec2, &live, 0, DAILY, "2", "2026-11-20T00:00:00Z").await;
    // Untagged: its two daily snapshots are orphans; a kept-forever one and an hourly one are not.
    let untagged = seed::instance(&ec2, &[(DAILY, "2"), (HOURLY, "3")], 1).await;
    keyword_snapshot(&ec2, &untagged, 0, DAILY, "2", "2026-11-20T00:00:00Z").await;
    keyword_snapshot(&ec2, &untagged, 0, DAILY, "2", "2026-11-21T00:00:00Z").await;
    let forever = keyword_snapshot(&ec2, &untagged, 0, DAILY, "2", "2026-11-22T00:00:00Z").await;
    ec2.delete_tags().resources(&forever).tags(Tag::builder().key(DAILY).build()).send().await.unwrap();
    keyword_snapshot(&ec2, &untagged, 0, HOURLY, "3", "2026-11-22T01:00:00Z").await;
    ec2.delete_tags().resources(&untagged.instance_id).tags(Tag::builder().key(DAILY).build()).send().await.unwrap();
    // Terminated: its snapshot is an orphan whatever became of the volume.
    let gone = seed::instance(&ec2, &[(DAILY, "2")], 1).await;
    keyword_snapshot(&ec2, &gone, 0, DAILY, "2", "2026-11-19T00:00:00Z").await;
    ec2.terminate_instances().instance_ids(&gone.instance_id).send().await.unwrap();
    let gone_volume_exists = ec2
        .describe_volumes()
        .filters(aws_sdk_ec2::types::Filter::builder().name("volume-id").values(&gone.volumes[0].1).build())
        .send()
        .await
        .unwrap()
        .volumes()
        .len()
        == 1;

    let o = snapcycle(&moto.url(), &["orphans", "--keyword", DAILY, "--output", "json"]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let row = |i: &seed::Seeded| rows.iter().find(|r| r["volume_id"] == i.volumes[0].1.as_str()).cloned().unwrap();
    let u = row(&untagged);
    assert_eq!(u["keyword"], DAILY);
    assert_eq!(u["snapshots"], 2, "not the kept-forever one, not the hourly one: {u}");
    assert_eq!((u["oldest"].is_string(), u["newest"].is_string()), (true, true), "{u}");
    assert_eq!(u["instance_id"], untagged.instance_id.as_str());
    assert_eq!(u["instance_state"], "running");
    assert_eq!(u["volume_exists"], true);
    assert_eq!(u["size_gib"], 8);
    let g = row(&gone);
    assert_eq!(g["snapshots"], 1);
    assert_eq!(g["instance_state"], "terminated");
    assert_eq!(g["volume_exists"], gone_volume_exists);

    let text = snapcycle(&moto.url(), &["orphans", "--keyword", DAILY]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.contains("3 snapshots of 2 volumes that no run rotates"), "{out}");
    let none = snapcycle(&moto.url(), &["orphans", "--keyword", "SnapshotWeekly"]);
    assert!(String::from_utf8_lossy(&none.stdout).starts_with("No orphaned snapshots"));
    // No keyword and no stack: exit 2, saying what to pass.
    let bare = snapcycle(&moto.url(), &["orphans"]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("--keyword"));
}

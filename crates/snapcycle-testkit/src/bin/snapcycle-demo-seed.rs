//! Seeds an emulator (AWS_ENDPOINT_URL) with the demo fleet: two schedules, one invalid retention,
//! and a snapshot kept forever. Used by `scripts/demo`; never point it at a real account.

use aws_config::{BehaviorVersion, Region};
use snapcycle_testkit::moto::{test_credentials, REGION};
use snapcycle_testkit::seed::{self, keyword_snapshot};

#[tokio::main]
async fn main() {
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") else {
        eprintln!("snapcycle-demo-seed: set AWS_ENDPOINT_URL to the emulator; it never seeds a real account");
        std::process::exit(2);
    };
    if !endpoint.starts_with("http://127.") && !endpoint.starts_with("http://localhost") {
        eprintln!("snapcycle-demo-seed: {endpoint} is not on loopback; refusing");
        std::process::exit(2);
    }
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&endpoint)
        .credentials_provider(test_credentials())
        .load()
        .await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let web =
        seed::instance(&ec2, &[("Name", "web"), ("SnapshotDaily", "3"), ("SnapshotHourly", "4"), ("Team", "shop")], 2)
            .await;
    let db = seed::instance(&ec2, &[("Name", "db"), ("SnapshotDaily", "seven")], 1).await;
    let build = seed::instance(&ec2, &[("Name", "build"), ("SnapshotHourly", "2")], 1).await;
    // A snapshot someone decided to keep: made by the hourly stream, its keyword tag removed.
    let kept = keyword_snapshot(&ec2, &build, 0, "SnapshotHourly", "2", "2026-11-01T09:00:00Z").await;
    ec2.delete_tags()
        .resources(&kept)
        .tags(aws_sdk_ec2::types::Tag::builder().key("SnapshotHourly").build())
        .send()
        .await
        .expect("DeleteTags");
    for (name, s) in [("web", &web), ("db", &db), ("build", &build)] {
        let vols: Vec<&str> = s.volumes.iter().map(|(_, v)| v.as_str()).collect();
        println!("seeded {name:<5} {} volumes {}", s.instance_id, vols.join(" "));
    }
    println!("kept forever: {kept} (volume {}, its SnapshotHourly tag removed)", build.volumes[0].1);
}

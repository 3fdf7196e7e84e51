//! Seeding moto with tagged instances and snapshots, and reading back what a run left.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, InstanceType, ResourceType, Snapshot, Tag, TagSpecification,
};
use aws_sdk_ec2::Client;
use snapcycle_core::tags::{TAG_DEVICES, TAG_INSTANCE, TAG_KEYWORD, TAG_RUN};

/// Device names given to seeded volumes, root first.
pub const DEVICES: [&str; 6] = ["/dev/xvda", "/dev/sdf", "/dev/sdg", "/dev/sdh", "/dev/sdi", "/dev/sdj"];

/// An instance made by [`instance`].
#[derive(Debug, Clone)]
pub struct Seeded {
    /// Its id.
    pub instance_id: String,
    /// Its volumes as (device, volume id), in device order.
    pub volumes: Vec<(String, String)>,
}

fn tag_list(tags: &[(&str, &str)]) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect()
}

/// Launches one instance with `tags` and `volumes` EBS volumes (up to six).
pub async fn instance(ec2: &Client, tags: &[(&str, &str)], volumes: usize) -> Seeded {
    instances(ec2, tags, volumes, 1).await.remove(0)
}

/// Launches `count` alike instances in one call (a fleet for the benchmark).
pub async fn instances(ec2: &Client, tags: &[(&str, &str)], volumes: usize, count: i32) -> Vec<Seeded> {
    instances_on(ec2, tags, &DEVICES[..volumes.min(DEVICES.len())], count).await
}

/// Launches one instance with an EBS volume on each of `devices` (moto names the root device
/// `/dev/sda1` for an image it does not know: put a volume there to have a root volume).
pub async fn instance_on(ec2: &Client, tags: &[(&str, &str)], devices: &[&str]) -> Seeded {
    instances_on(ec2, tags, devices, 1).await.remove(0)
}

async fn instances_on(ec2: &Client, tags: &[(&str, &str)], devices: &[&str], count: i32) -> Vec<Seeded> {
    let mut req = ec2
        .run_instances()
        .image_id("ami-12345678")
        .instance_type(InstanceType::T3Micro)
        .min_count(count)
        .max_count(count);
    for dev in devices {
        req = req.block_device_mappings(
            BlockDeviceMapping::builder()
                .device_name(*dev)
                .ebs(EbsBlockDevice::builder().volume_size(8).build())
                .build(),
        );
    }
    if !tags.is_empty() {
        req = req.tag_specifications(
            TagSpecification::builder().resource_type(ResourceType::Instance).set_tags(Some(tag_list(tags))).build(),
        );
    }
    let out = req.send().await.expect("RunInstances on moto");
    out.instances()
        .iter()
        .map(|inst| {
            let mut vols: Vec<(String, String)> = inst
                .block_device_mappings()
                .iter()
                .filter_map(|m| Some((m.device_name()?.to_owned(), m.ebs()?.volume_id()?.to_owned())))
                .collect();
            vols.sort();
            Seeded { instance_id: inst.instance_id().unwrap().to_owned(), volumes: vols }
        })
        .collect()
}

/// Creates a snapshot of `volume_id` with exactly these tags.
pub async fn snapshot(ec2: &Client, volume_id: &str, tags: &[(&str, &str)]) -> String {
    let mut req = ec2.create_snapshot().volume_id(volume_id);
    if !tags.is_empty() {
        req = req.tag_specifications(
            TagSpecification::builder().resource_type(ResourceType::Snapshot).set_tags(Some(tag_list(tags))).build(),
        );
    }
    req.send().await.expect("CreateSnapshot on moto").snapshot_id().unwrap().to_owned()
}

/// A snapshot as an earlier snapcycle run for `keyword` at `run` would have left it.
pub async fn keyword_snapshot(
    ec2: &Client,
    seeded: &Seeded,
    volume: usize,
    keyword: &str,
    retention: &str,
    run: &str,
) -> String {
    let (device, volume_id) = &seeded.volumes[volume];
    let devices = format!("{volume_id}={device}");
    snapshot(
        ec2,
        volume_id,
        &[
            (keyword, retention),
            (TAG_KEYWORD, keyword),
            (TAG_INSTANCE, &seeded.instance_id),
            (TAG_DEVICES, &devices),
            (TAG_RUN, run),
        ],
    )
    .await
}

/// Every snapshot of a volume, oldest first (ties by the run tag).
pub async fn snapshots_of(ec2: &Client, volume_id: &str) -> Vec<Snapshot> {
    let mut out: Vec<Snapshot> = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(Filter::builder().name("volume-id").values(volume_id).build())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("DescribeSnapshots on moto");
    out.sort_by_key(|s| (s.start_time().map(|t| (t.secs(), t.subsec_nanos())), tag(s, TAG_RUN).map(str::to_owned)));
    out
}

/// A snapshot's tag value.
pub fn tag<'a>(s: &'a Snapshot, key: &str) -> Option<&'a str> {
    s.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

/// The snapshots of a volume made for `keyword` (by the marker tag).
pub async fn keyword_snapshots_of(ec2: &Client, volume_id: &str, keyword: &str) -> Vec<Snapshot> {
    snapshots_of(ec2, volume_id).await.into_iter().filter(|s| tag(s, TAG_KEYWORD) == Some(keyword)).collect()
}

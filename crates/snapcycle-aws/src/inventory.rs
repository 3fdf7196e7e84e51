//! Reading what a plan needs: instances tagged with the keyword (with the exclusion tags of their
//! volumes), the keyword's snapshots, and the account's snapshot locks. Always paginated, always
//! filtered on the server, snapshots always with `OwnerIds=self`.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ec2::types::{Filter, Instance as Ec2Instance, Snapshot as Ec2Snapshot, Tag as Ec2Tag};
use aws_sdk_ec2::Client;
use chrono::{DateTime, Utc};
use snapcycle_core::exclude::TAG_EXCLUDE;
use snapcycle_core::tags::{read_by_plan, TAG_KEYWORD, TAG_RUN};
use snapcycle_core::{
    Attachment, CompactString, Instance, Inventory, Keyword, Lock, LockMode, Snapshot, SnapshotState, Tag, TagList,
};
use tracing::warn;

use crate::Error;

/// Largest page EC2 serves for these calls; fewer pages means fewer calls against the quota.
const PAGE: i32 = 1000;

/// DescribeInstances' page: a quarter of what EC2 serves. An instance is kilobytes of XML and
/// several more parsed (every field of the instance, its interfaces and groups, read for a few);
/// a page of 1,000 was about 9.5 MB at once, above the whole plan of 10,000 volumes, and set the
/// function's peak. Four times the pages is 15 more calls per 5,000 instances, on the describe
/// bucket (20 a second), beside thousands of creations and deletions.
const INSTANCE_PAGE: i32 = 250;

/// A server-side filter of a Describe call (`tag-key`, `volume-id`, `tag:K`, ...).
pub fn filter<V: Into<String>>(name: &str, values: impl IntoIterator<Item = V>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().map(Into::into).collect())).build()
}

fn tags(t: &[Ec2Tag]) -> Vec<Tag> {
    t.iter().map(|t| Tag::new(t.key().unwrap_or_default(), t.value().unwrap_or_default())).collect()
}

/// The SDK's time as chrono's; an absent (or unrepresentable) time is the epoch, which sorts a
/// snapshot EC2 gave no time as the oldest.
pub fn to_chrono(t: Option<&aws_smithy_types::DateTime>) -> DateTime<Utc> {
    use aws_smithy_types_convert::date_time::DateTimeExt as _;
    t.and_then(|t| t.to_chrono_utc().ok()).unwrap_or_default()
}

/// Largest page DescribeVolumes serves (EC2 API Reference, DescribeVolumes: MaxResults 5 to 500).
const VOLUME_PAGE: i32 = 500;

/// Every instance tagged `keyword`, in any state but terminated, with its EBS volumes and their
/// `snapcycle:exclude` tags. Volume tags are not in DescribeInstances, so the volumes that carry
/// the tag (usually few: one page) are read beside the instances with a filtered DescribeVolumes.
pub async fn read_instances(ec2: &Client, keyword: &Keyword) -> Result<Vec<Instance>, Error> {
    read_instances_where(ec2, keyword, None).await
}

/// [`read_instances`] for the instances that have `volume_id` attached now (one page each way):
/// what a plan of that one volume needs.
pub async fn read_volume_instances(ec2: &Client, keyword: &Keyword, volume_id: &str) -> Result<Vec<Instance>, Error> {
    read_instances_where(ec2, keyword, Some(volume_id)).await
}

async fn read_instances_where(
    ec2: &Client,
    keyword: &Keyword,
    volume_id: Option<&str>,
) -> Result<Vec<Instance>, Error> {
    let (mut instances, excluded) =
        tokio::try_join!(read_tagged_instances(ec2, keyword, volume_id), read_excluded(ec2, keyword, volume_id))?;
    if !excluded.is_empty() {
        for a in instances.iter_mut().flat_map(|i| i.volumes.iter_mut()) {
            a.exclude = excluded.get(a.volume_id.as_str()).cloned();
        }
    }
    Ok(instances)
}

/// Volume id → the value of its `snapcycle:exclude` tag, for every volume that carries it.
async fn read_excluded(
    ec2: &Client,
    keyword: &Keyword,
    volume_id: Option<&str>,
) -> Result<HashMap<String, String>, Error> {
    let mut filters = vec![filter("tag-key", [TAG_EXCLUDE])];
    filters.extend(volume_id.map(|v| filter("volume-id", [v])));
    let mut pages = ec2.describe_volumes().set_filters(Some(filters)).max_results(VOLUME_PAGE).into_paginator().send();
    let mut out = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|source| Error::DescribeVolumes { keyword: keyword.to_string(), source })?;
        for v in page.volumes() {
            // A tag without a value is kept as empty: an unreadable exclusion, never "not excluded".
            let value = v.tags().iter().find(|t| t.key() == Some(TAG_EXCLUDE)).map(|t| t.value().unwrap_or(""));
            if let (Some(id), Some(value)) = (v.volume_id(), value) {
                out.insert(id.to_owned(), value.to_owned());
            }
        }
    }
    Ok(out)
}

async fn read_tagged_instances(
    ec2: &Client,
    keyword: &Keyword,
    volume_id: Option<&str>,
) -> Result<Vec<Instance>, Error> {
    let mut filters = vec![
        filter("tag-key", [keyword.as_str()]),
        filter("instance-state-name", ["pending", "running", "stopping", "stopped", "shutting-down"]),
    ];
    filters.extend(volume_id.map(|v| filter("block-device-mapping.volume-id", [v])));
    let mut pages =
        ec2.describe_instances().set_filters(Some(filters)).max_results(INSTANCE_PAGE).into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|source| Error::DescribeInstances { keyword: keyword.to_string(), source })?;
        for r in page.reservations() {
            let owner = r.owner_id().unwrap_or_default();
            out.extend(r.instances().iter().map(|i| instance(owner, i)));
        }
    }
    Ok(out)
}

fn instance(owner: &str, i: &Ec2Instance) -> Instance {
    Instance {
        id: i.instance_id().unwrap_or_default().to_owned().into(),
        owner_id: owner.to_owned().into(),
        state: i.state().and_then(|s| s.name()).map(|n| n.as_str().to_owned()).unwrap_or_default().into(),
        tags: tags(i.tags()),
        volumes: i
            .block_device_mappings()
            .iter()
            .filter_map(|m| {
                let volume_id = m.ebs()?.volume_id()?.to_owned();
                Some(Attachment {
                    volume_id: volume_id.into(),
                    device: m.device_name().unwrap_or_default().to_owned().into(),
                    exclude: None,
                })
            })
            .collect(),
        root_device: i.root_device_name().map(CompactString::from),
    }
}

/// The account's snapshots marked for `keyword` that still carry the keyword's tag key. The
/// planner checks each condition again; the filters only keep the pages few.
pub async fn read_snapshots(ec2: &Client, keyword: &Keyword) -> Result<Vec<Snapshot>, Error> {
    read_marked(ec2, keyword, vec![filter("tag-key", [keyword.as_str()])]).await
}

/// The account's snapshots made for `keyword` by the run `run` (its `snapcycle:run` tag).
pub async fn read_run_snapshots(ec2: &Client, keyword: &Keyword, run: &str) -> Result<Vec<Snapshot>, Error> {
    read_marked(ec2, keyword, vec![filter(&format!("tag:{TAG_RUN}"), [run])]).await
}

/// The snapshots of `keyword` that run `run` took of any of `volume_ids` (one filter, up to a
/// set's worth of volumes).
pub async fn read_volumes_run_snapshots(
    ec2: &Client,
    keyword: &Keyword,
    volume_ids: &[CompactString],
    run: &str,
) -> Result<Vec<Snapshot>, Error> {
    read_marked(
        ec2,
        keyword,
        vec![filter(&format!("tag:{TAG_RUN}"), [run]), filter("volume-id", volume_ids.iter().map(|v| v.as_str()))],
    )
    .await
}

/// The snapshots of `keyword` that Lambda request `request_id` took (`snapcycle:request`).
pub async fn read_request_snapshots(ec2: &Client, keyword: &Keyword, request_id: &str) -> Result<Vec<Snapshot>, Error> {
    read_marked(ec2, keyword, vec![filter(&format!("tag:{}", snapcycle_core::tags::TAG_REQUEST), [request_id])]).await
}

/// The account's snapshots among `ids` with all their tags (a copy takes its source's run,
/// instance and `Name`). Read with a filter rather than `SnapshotIds`, so that one deleted since
/// EC2's event is simply not listed instead of failing the read.
pub async fn read_by_ids(ec2: &Client, ids: &[impl AsRef<str>]) -> Result<Vec<Snapshot>, Error> {
    read_filtered(ec2, vec![filter("snapshot-id", ids.iter().map(|id| id.as_ref()))], "the completed snapshots", |_| {
        true
    })
    .await
}

/// The copies of `keyword`'s snapshots that came from `source_region`, in the region `dest` calls
/// (README, "Copies to other regions"), with the tags their rotation reads.
pub async fn read_copies(dest: &Client, keyword: &Keyword, source_region: &str) -> Result<Vec<Snapshot>, Error> {
    use snapcycle_core::copy::{TAG_SOURCE_REGION, TAG_SOURCE_SNAPSHOT, TAG_SOURCE_VOLUME};
    let filters = vec![
        filter(&format!("tag:{TAG_KEYWORD}"), [keyword.as_str()]),
        filter(&format!("tag:{TAG_SOURCE_REGION}"), [source_region]),
    ];
    read_filtered(dest, filters, keyword.as_str(), |k| {
        read_by_plan(k, keyword) || k == TAG_SOURCE_REGION || k == TAG_SOURCE_SNAPSHOT || k == TAG_SOURCE_VOLUME
    })
    .await
}

/// The copies of one source snapshot in the region `dest` calls (ids are unique across regions):
/// a copy never starts twice, whoever delivered the event again.
pub async fn read_copies_of(dest: &Client, source_id: &str) -> Result<Vec<Snapshot>, Error> {
    use snapcycle_core::copy::TAG_SOURCE_SNAPSHOT;
    let filters = vec![filter(&format!("tag:{TAG_SOURCE_SNAPSHOT}"), [source_id])];
    read_filtered(dest, filters, "the copies", |_| false).await
}

/// Every page of the account's snapshots marked for `keyword` that also match `extra`.
async fn read_marked(ec2: &Client, keyword: &Keyword, extra: Vec<Filter>) -> Result<Vec<Snapshot>, Error> {
    let filters = std::iter::once(filter(&format!("tag:{TAG_KEYWORD}"), [keyword.as_str()])).chain(extra).collect();
    read_filtered(ec2, filters, keyword.as_str(), |k| read_by_plan(k, keyword)).await
}

/// Every page of the account's snapshots matching `filters`, keeping the tags `keep` names.
async fn read_filtered(
    ec2: &Client,
    filters: Vec<Filter>,
    what: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Snapshot>, Error> {
    let mut pages =
        ec2.describe_snapshots().owner_ids("self").set_filters(Some(filters)).max_results(PAGE).into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|source| Error::DescribeSnapshots { keyword: what.to_owned(), source })?;
        out.extend(page.snapshots().iter().map(|s| snapshot(s, &keep)));
    }
    // Held for the whole plan: without the growth's slack (up to half again at fleet scale).
    out.shrink_to_fit();
    Ok(out)
}

/// Converts an SDK snapshot from a describe page, keeping only the tags `keep` names (for the
/// plan, those it reads: memory does not grow with the instance tags copied onto every snapshot).
fn snapshot(s: &Ec2Snapshot, keep: &impl Fn(&str) -> bool) -> Snapshot {
    // Inline up to three (a run's snapshot has exactly three the plan reads): the history holds
    // tens of thousands of these. An encrypted copy keeps five or six, on the heap, sized exactly
    // (a filtered collect grows by doubling: eight).
    let mut tags: TagList = s
        .tags()
        .iter()
        .filter(|t| t.key().is_some_and(keep))
        .map(|t| Tag::new(t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    tags.shrink_to_fit();
    Snapshot {
        id: s.snapshot_id().unwrap_or_default().into(),
        volume_id: s.volume_id().unwrap_or_default().into(),
        owner_id: s.owner_id().unwrap_or_default().into(),
        state: SnapshotState::from_ec2(s.state().map(|st| st.as_str()).unwrap_or_default()),
        start_time: to_chrono(s.start_time()),
        encrypted: s.encrypted().unwrap_or(false),
        tags,
    }
}

/// The lock states that forbid DeleteSnapshot (EC2 API Reference, DescribeLockedSnapshots,
/// `lock-state`): every one but `expired`.
const LOCKED_STATES: [&str; 3] = ["compliance-cooloff", "governance", "compliance"];

/// The account's snapshot locks in force, by snapshot id: every page of DescribeLockedSnapshots
/// filtered on the states that forbid a delete. EC2 cannot filter them by tag, so this is the
/// account's whole list (usually one page); the planner looks up only the snapshots it would delete.
pub async fn read_locks(ec2: &Client) -> Result<BTreeMap<CompactString, Lock>, Error> {
    use aws_smithy_types_convert::date_time::DateTimeExt as _;
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    // The SDK has no paginator for this operation: follow NextToken by hand.
    loop {
        let page = ec2
            .describe_locked_snapshots()
            .filters(filter("lock-state", LOCKED_STATES))
            .max_results(PAGE)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|source| Error::DescribeLockedSnapshots { source })?;
        for s in page.snapshots() {
            let mode = s.lock_state().and_then(|st| LockMode::from_ec2(st.as_str()));
            if let (Some(id), Some(mode)) = (s.snapshot_id(), mode) {
                let expires = s.lock_expires_on().and_then(|t| t.to_chrono_utc().ok());
                out.insert(id.into(), Lock { mode, expires });
            }
        }
        match page.next_token() {
            // A token answered twice would loop for ever; what was read so far is kept.
            Some(next) if !next.is_empty() && token.as_deref() != Some(next) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// [`read_locks`], or none when it fails (an older role without `ec2:DescribeLockedSnapshots`,
/// a throttled read): rotation never waits on locks, and a locked snapshot's delete then fails
/// as it would without the read.
pub async fn read_locks_or_none(ec2: &Client) -> BTreeMap<CompactString, Lock> {
    match read_locks(ec2).await {
        Ok(locks) => locks,
        Err(e) => {
            warn!(error = %e, code = %e.code(), "{}; going on without lock information", e.message());
            BTreeMap::new()
        }
    }
}

/// Reads the whole inventory of one keyword: the instances, the snapshots and the account's
/// snapshot locks, side by side. Only the first two can fail the read.
pub async fn read(ec2: &Client, keyword: &Keyword) -> Result<Inventory, Error> {
    let (read, locks) = tokio::join!(
        async { tokio::try_join!(read_instances(ec2, keyword), read_snapshots(ec2, keyword)) },
        read_locks_or_none(ec2)
    );
    let (instances, snapshots) = read?;
    Ok(Inventory { instances, snapshots, locks })
}

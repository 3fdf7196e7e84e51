//! `snapcycle orphans`: the snapshots no run will ever rotate. A snapshot of keyword K that still
//! carries K but whose volume is no longer attached to an instance tagged K (the instance was
//! terminated or untagged, the volume detached or deleted) is never deleted, which is safe, but
//! nobody sees it; this lists them per volume, reading only (no change is made).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;

use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use serde::Serialize;
use snapcycle_aws::inventory::filter;
use snapcycle_core::report::run_time;
use snapcycle_core::tags::{TAG_INSTANCE, TAG_KEYWORD};
use snapcycle_core::{run_id, Keyword};

use crate::cli::{Global, OrphansArgs, Output};
use crate::{failed, usage, Failure};

/// The orphaned snapshots of one volume and keyword.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct OrphanVolume {
    pub(crate) keyword: String,
    pub(crate) volume_id: String,
    /// Whether EC2 still has the volume.
    pub(crate) volume_exists: bool,
    /// The instance the snapshots were taken for (their `snapcycle:instance` tag).
    pub(crate) instance_id: Option<String>,
    /// That instance's state now (`running`, `terminated`, ...), or `None` when EC2 no longer
    /// knows it.
    pub(crate) instance_state: Option<String>,
    pub(crate) snapshots: usize,
    #[serde(serialize_with = "run_time::serialize")]
    pub(crate) oldest: DateTime<Utc>,
    #[serde(serialize_with = "run_time::serialize")]
    pub(crate) newest: DateTime<Utc>,
    /// The volume's size as the snapshots record it, in GiB.
    pub(crate) size_gib: Option<i32>,
}

pub(crate) async fn orphans(global: &Global, args: OrphansArgs) -> Result<ExitCode, Failure> {
    let sdk = snapcycle_aws::load_config(&global.aws_options()).await;
    crate::aws::preflight(&sdk).await?;
    let keywords = if args.keywords.is_empty() {
        let k = crate::run::stack_keywords(&sdk, &args.stack_name).await?.keywords;
        if k.is_empty() {
            return Err(usage(anyhow!("no keyword to look for: pass --keyword K (repeatable) or deploy the stack")));
        }
        k
    } else {
        args.keywords.clone()
    };
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let mut found = Vec::new();
    for k in &keywords {
        found.extend(orphans_of(&ec2, k).await.map_err(failed)?);
    }
    match args.output {
        Output::Json => {
            println!("{}", serde_json::to_string_pretty(&found).map_err(|e| failed(e.into()))?);
        }
        Output::Text => print!("{}", table(&found)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The orphans of one keyword: its snapshots (still carrying the keyword) whose volume no
/// instance tagged with the keyword has now.
async fn orphans_of(ec2: &aws_sdk_ec2::Client, keyword: &Keyword) -> anyhow::Result<Vec<OrphanVolume>> {
    let attached: HashSet<snapcycle_core::CompactString> = snapcycle_aws::inventory::read_instances(ec2, keyword)
        .await
        .with_context(|| format!("reading the instances tagged {keyword}"))?
        .into_iter()
        .filter(|i| !matches!(i.state.as_str(), "shutting-down" | "terminated"))
        .flat_map(|i| i.volumes.into_iter().map(|a| a.volume_id))
        .collect();
    let mut pages = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(filter(&format!("tag:{TAG_KEYWORD}"), [keyword.to_string()]))
        .filters(filter("tag-key", [keyword.to_string()]))
        .max_results(1000)
        .into_paginator()
        .send();
    let mut by_volume: BTreeMap<String, OrphanVolume> = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("reading the snapshots of {keyword} (DescribeSnapshots)"))?;
        for s in page.snapshots() {
            let volume = s.volume_id().unwrap_or_default();
            if attached.contains(volume) {
                continue;
            }
            let started = snapcycle_aws::inventory::to_chrono(s.start_time());
            let instance = s.tags().iter().find(|t| t.key() == Some(TAG_INSTANCE)).and_then(|t| t.value());
            let o = by_volume.entry(volume.to_owned()).or_insert_with(|| OrphanVolume {
                keyword: keyword.to_string(),
                volume_id: volume.to_owned(),
                volume_exists: false,
                instance_id: instance.map(str::to_owned),
                instance_state: None,
                snapshots: 0,
                oldest: started,
                newest: started,
                size_gib: s.volume_size(),
            });
            o.snapshots += 1;
            o.oldest = o.oldest.min(started);
            o.newest = o.newest.max(started);
        }
    }
    // Which volumes and instances EC2 still has, with filters (an id filter never fails on an id
    // that is gone, unlike VolumeIds), 200 ids a call.
    let volumes: Vec<String> = by_volume.keys().cloned().collect();
    let mut existing = HashSet::new();
    for chunk in volumes.chunks(200) {
        let mut pages = ec2
            .describe_volumes()
            .filters(filter("volume-id", chunk.iter().cloned()))
            .max_results(500)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.context("reading the orphans' volumes (DescribeVolumes)")?;
            existing.extend(page.volumes().iter().filter_map(|v| v.volume_id().map(str::to_owned)));
        }
    }
    let instances: Vec<String> =
        by_volume.values().filter_map(|o| o.instance_id.clone()).collect::<HashSet<_>>().into_iter().collect();
    let mut states: HashMap<String, String> = HashMap::new();
    for chunk in instances.chunks(200) {
        let mut pages = ec2
            .describe_instances()
            .filters(filter("instance-id", chunk.iter().cloned()))
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.context("reading the orphans' instances (DescribeInstances)")?;
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                if let (Some(id), Some(state)) = (i.instance_id(), i.state().and_then(|s| s.name())) {
                    states.insert(id.to_owned(), state.as_str().to_owned());
                }
            }
        }
    }
    Ok(by_volume
        .into_values()
        .map(|mut o| {
            o.volume_exists = existing.contains(&o.volume_id);
            o.instance_state = o.instance_id.as_ref().and_then(|i| states.get(i).cloned());
            o
        })
        .collect())
}

fn table(found: &[OrphanVolume]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if found.is_empty() {
        out.push_str("No orphaned snapshots: every snapshot still carrying its keyword belongs to a volume of an instance tagged with it.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<16} {:<22} {:<7} {:<20} {:<11} {:>5} {:<20} {:<20} {:>5}",
        "KEYWORD", "VOLUME", "EXISTS", "INSTANCE", "STATE", "COUNT", "OLDEST", "NEWEST", "GIB"
    );
    for o in found {
        let _ = writeln!(
            out,
            "{:<16} {:<22} {:<7} {:<20} {:<11} {:>5} {:<20} {:<20} {:>5}",
            o.keyword,
            o.volume_id,
            if o.volume_exists { "yes" } else { "no" },
            o.instance_id.as_deref().unwrap_or("-"),
            o.instance_state.as_deref().unwrap_or("gone"),
            o.snapshots,
            run_id(o.oldest),
            run_id(o.newest),
            o.size_gib.map_or("-".to_owned(), |g| g.to_string()),
        );
    }
    let total: usize = found.iter().map(|o| o.snapshots).sum();
    let _ = writeln!(
        out,
        "{total} snapshots of {} volumes that no run rotates; each is kept until you delete it (or its keyword tag)",
        found.len()
    );
    out
}

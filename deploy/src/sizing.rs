//! Sizing the function for the fleet it runs. A run holds its keyword's whole inventory in
//! memory, about 0.32 KiB per snapshot read (`plan_scale`: 895 MiB at 3,000,000 snapshots), so a
//! fleet that keeps many snapshots per volume outgrows 128 MB and the function would die of it.
//! `deploy` reads the tagged instances of each keyword (the same two describe calls a run makes
//! first), bounds what the largest keyword's run will read, and raises the memory to fit, saying so.

use std::collections::HashMap;
use std::time::Duration;

use snapcycle_core::tags::tag_value;
use snapcycle_core::RetentionPolicy;
use snapcycle_stack::StackSpec;

/// Peak memory per snapshot a run reads (`plan_scale`, release build, 2026-12-07: 0.32 KiB at
/// 300,000 and 0.31 KiB at 3,000,000 snapshots; 0.74 KiB before the history held its tags
/// inline), and half again as room for the SDK's pages on top.
const KIB_PER_SNAPSHOT: f64 = 0.32 * 1.5;
/// The same for a `--encrypt` stack, whose history is encrypted copies: five kept tags each,
/// two more than fit inline (`plan_scale … encrypted`: 0.62 KiB at 300,000, 0.60 at 3,000,000).
const KIB_PER_ENCRYPTED_SNAPSHOT: f64 = 0.62 * 1.5;
/// The runtime, the SDK's clients and a page in flight (the function doing nothing peaks at
/// about 23 MiB; the benchmark's 10,000 volumes with a few snapshots each at about 35).
const BASE_MB: f64 = 48.0;
/// Memory is rounded up to this many MB, within Lambda's 128 to 10,240.
const STEP_MB: u32 = 64;
const MIN_MB: u32 = 128;
const MAX_MB: u32 = 10_240;

/// What one keyword's run will read, as far as its instances' tags tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeywordFleet {
    pub(crate) keyword: String,
    pub(crate) instances: usize,
    pub(crate) volumes: usize,
    /// At most this many snapshots of the keyword: each volume's policy bound, plus one pending
    /// and this run's own. Orphans and snapshots kept forever are not counted (nothing tells
    /// how many there are short of reading them all).
    pub(crate) snapshots: u64,
}

/// Reads each keyword's tagged instances and bounds its run's snapshots.
pub(crate) async fn survey(ec2: &aws_sdk_ec2::Client, spec: &StackSpec) -> anyhow::Result<Vec<KeywordFleet>> {
    let mut out = Vec::new();
    for schedule in &spec.schedules {
        let keyword = &schedule.keyword;
        // A keyword whose schedule fires at most once keeps what its counts say; `within` then
        // counts one snapshot a day.
        let every = Duration::from_secs(schedule.min_interval_seconds().unwrap_or(86_400));
        let instances = snapcycle_aws::inventory::read_instances(ec2, keyword).await.map_err(|e| {
            anyhow::anyhow!("reading the instances tagged {keyword} to size the function: {}", e.message())
        })?;
        let mut per_volume: HashMap<&str, u64> = HashMap::new();
        let mut live = 0;
        for i in instances.iter().filter(|i| !matches!(i.state.as_str(), "shutting-down" | "terminated")) {
            live += 1;
            let kept = tag_value(&i.tags, keyword.as_str())
                .and_then(|v| RetentionPolicy::parse(v).ok())
                .map_or(0, |p| p.kept_at_most(every));
            for a in &i.volumes {
                let slot = per_volume.entry(a.volume_id.as_str()).or_default();
                *slot = (*slot).max(kept + 2);
            }
        }
        out.push(KeywordFleet {
            keyword: keyword.to_string(),
            instances: live,
            volumes: per_volume.len(),
            snapshots: per_volume.values().sum(),
        });
    }
    Ok(out)
}

/// The memory, in MB, a run reading `snapshots` snapshots needs (encrypted copies, with
/// `--encrypt`): rounded up to 64 MB, from 128 to 10,240 (Lambda's range).
pub(crate) fn memory_for(snapshots: u64, encrypted: bool) -> u32 {
    let per_snapshot = if encrypted { KIB_PER_ENCRYPTED_SNAPSHOT } else { KIB_PER_SNAPSHOT };
    let mb = BASE_MB + snapshots as f64 * per_snapshot / 1024.0;
    let steps = (mb / f64::from(STEP_MB)).ceil();
    let mb = if steps.is_finite() && steps < f64::from(MAX_MB / STEP_MB) { steps as u32 * STEP_MB } else { MAX_MB };
    mb.clamp(MIN_MB, MAX_MB)
}

/// Raises `spec`'s memory to what the largest keyword's run needs, and says what it found.
pub(crate) fn fit(spec: &mut StackSpec, fleet: &[KeywordFleet]) {
    let Some(largest) = fleet.iter().max_by_key(|f| f.snapshots) else { return };
    let encrypted = spec.encrypt.is_some();
    let needed = memory_for(largest.snapshots, encrypted);
    let found = format!(
        "the largest run, {}, reads up to {} snapshots ({} instances, {} volumes tagged)",
        largest.keyword, largest.snapshots, largest.instances, largest.volumes
    );
    if needed > spec.memory_mb {
        println!(
            "fleet: {found}: that needs about {needed} MB ({} KiB a snapshot, with headroom), so the function gets \
             {needed} MB instead of {} MB",
            if encrypted { "0.62" } else { "0.32" },
            spec.memory_mb
        );
        spec.memory_mb = needed;
        if needed == MAX_MB {
            println!("warning: that is Lambda's most; a fleet this large needs its keywords split across stacks");
        }
    } else {
        println!("fleet: {found}: {} MB is enough", spec.memory_mb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_grows_with_the_snapshots_a_run_reads() {
        assert_eq!(memory_for(0, false), 128);
        assert_eq!(memory_for(30_000, false), 128, "the benchmark's fleet fits the default");
        // 10,000 volumes × 30 snapshots: plan_scale peaked at 93.4 MiB, 180.8 MiB encrypted.
        assert_eq!(memory_for(300_000, false), 192);
        assert_eq!(memory_for(300_000, true), 384);
        // 100,000 × 30: plan_scale peaked at 895.3 MiB, 1,765.8 MiB encrypted.
        assert_eq!(memory_for(3_000_000, false), 1472);
        assert_eq!(memory_for(3_000_000, true), 2816);
        assert_eq!(memory_for(u64::MAX, true), 10_240);
    }
}

//! Copies in other regions (README, "Copies to other regions"): started when EC2's event says a
//! snapshot completed, and rotated in each destination beside a scheduled run's own streams.
//! Every decision is `snapcycle_core::copy`'s; this module only calls EC2 in the destinations.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};
use snapcycle_core::copy::{copy_tags, plan_copies, CopyTarget, TAG_SOURCE_SNAPSHOT};
use snapcycle_core::report::{Copied, CopyDeleted, Failure, Skipped};
use snapcycle_core::tags::{tag_value, TAG_KEYWORD, TAG_RUN};
use snapcycle_core::{CompactString, Completed, Keyword, Plan, Policy, Report, Snapshot};
use tracing::{error, info, warn};

use crate::calls::CallCounts;
use crate::error::{code_of, message_of};
use crate::inventory;
use crate::run::{before, within, Deadline, Runner};

/// CopySnapshot calls per copy: the first, and up to three more after failures that may pass
/// (throttling, a connection lost), each after checking the copy was not made (2, 4, 8 s apart).
const COPY_ATTEMPTS: u32 = 4;

/// A copy whose call did not end before the invocation's deadline: a failure a retry of the
/// event finishes.
/// The most copies a run starts per destination for events it missed: EBS's copies in flight per
/// destination region ("Copy an Amazon EBS snapshot").
const MAX_CATCH_UP: usize = 20;

fn out_of_time() -> Copy1 {
    Copy1::Fail { code: "OutOfTime".into(), message: "the copy did not finish before the invocation's deadline".into() }
}

/// What became of one source snapshot in one destination.
enum Copy1 {
    Started(CompactString),
    /// A copy of this source is there already (the event delivered again, or a retry).
    Already(CompactString),
    Fail {
        code: String,
        message: String,
    },
}

impl Runner {
    /// Copies the snapshots EC2 says completed to every destination of `SNAPCYCLE_COPY_TO`, once
    /// each: a destination that already holds a copy of the source gets none (EventBridge and
    /// Lambda deliver at least once). Only the stack's own snapshots are copied (the marker names
    /// one of its keywords and the keyword tag is there). Never returns an error: what failed is
    /// in the report, and the Lambda decides retry or e-mail as for a run.
    pub async fn copy_completed(&self, completed: &Completed, deadline: Option<Deadline>) -> Report {
        let calls = CallCounts::default();
        let mut report = calls.scope(self.copy_counted(completed, deadline)).await;
        report.api_calls = calls.snapshot();
        report.sort();
        report
    }

    async fn copy_counted(&self, completed: &Completed, deadline: Option<Deadline>) -> Report {
        let mut report = Report::default();
        let settings = self.settings();
        let source_region = self.region();
        let skip = |report: &mut Report, reason: String| {
            info!("{reason}");
            report.skipped.push(Skipped { instance_id: None, volume_id: None, snapshot_id: None, reason });
        };
        if !completed.succeeded {
            skip(&mut report, "EC2 says the snapshot creation did not succeed: nothing to copy".into());
            return report;
        }
        let targets = self.copy_targets();
        if targets.is_empty() {
            skip(
                &mut report,
                "no copy destinations (SNAPCYCLE_COPY_TO) and no encryption in place (SNAPCYCLE_ENCRYPT): nothing to copy"
                    .into(),
            );
            return report;
        }
        if let Some(original) = &completed.copy_of {
            if completed.region == source_region && settings.encrypt.is_some() {
                self.replace_original(completed, original, &mut report).await;
            } else {
                skip(&mut report, format!("a copy of {original} completed: nothing to replace here"));
            }
            return report;
        }
        if completed.region != source_region {
            skip(
                &mut report,
                format!(
                    "the event is about {}, not this function's region {source_region}: not copied",
                    completed.region
                ),
            );
            return report;
        }
        let sources = match inventory::read_by_ids(&self.ec2, &completed.snapshot_ids).await {
            Ok(s) => s,
            Err(e) => {
                error!(error = %e, code = %e.code(), "could not read the completed snapshots; nothing copied");
                report.failures.push(Failure {
                    instance_id: None,
                    volume_id: None,
                    snapshot_id: None,
                    code: e.code(),
                    message: format!("{}; nothing was copied", e.message()),
                });
                return report;
            }
        };
        let mut jobs = Vec::new();
        for id in &completed.snapshot_ids {
            let Some(source) = sources.iter().find(|s| s.id == id) else {
                skip(&mut report, format!("{id} is gone (or not this account's): not copied"));
                continue;
            };
            let keyword = tag_value(&source.tags, TAG_KEYWORD)
                .and_then(|k| Keyword::new(k).ok())
                .filter(|k| settings.keywords.contains(k) && tag_value(&source.tags, k.as_str()).is_some());
            let Some(keyword) = keyword else {
                report.skipped.push(Skipped {
                    instance_id: None,
                    volume_id: Some(source.volume_id.clone()),
                    snapshot_id: Some(source.id.clone()),
                    reason: "not one of this stack's snapshots in rotation (no marker of its keywords, or the keyword tag removed): not copied".into(),
                });
                continue;
            };
            if report.keyword.is_empty() {
                report.keyword = keyword.to_string();
                if let Some(t) =
                    tag_value(&source.tags, TAG_RUN).and_then(|r| chrono::DateTime::parse_from_rfc3339(r).ok())
                {
                    report.scheduled_time = t.with_timezone(&chrono::Utc);
                }
            }
            if settings.encrypt.is_some() && source.encrypted {
                report.skipped.push(Skipped {
                    instance_id: None,
                    volume_id: Some(source.volume_id.clone()),
                    snapshot_id: Some(source.id.clone()),
                    reason: "encrypted already (its volume is): no copy needed".into(),
                });
                continue;
            }
            for target in &targets {
                jobs.push((source, keyword.clone(), target));
            }
        }
        let source_region = &source_region;
        // One client per destination, built once: its connections serve every copy there.
        let dests: HashMap<&str, aws_sdk_ec2::Client> =
            targets.iter().map(|t| (t.region.as_str(), self.in_region(&t.region))).collect();
        let dests = &dests;
        let total = jobs.len();
        let mut started = 0usize;
        let mut results = stream::iter(jobs)
            .take_while(|_| std::future::ready(before(deadline)))
            .inspect(|_| started += 1)
            .map(|(source, keyword, target)| async move {
                let dest = &dests[target.region.as_str()];
                let outcome = within(deadline, self.copy_one(dest, source, &keyword, target, source_region))
                    .await
                    .unwrap_or_else(out_of_time);
                (source, target, outcome)
            })
            .buffer_unordered(settings.max_concurrency.max(1));
        while let Some((source, target, outcome)) = results.next().await {
            record_copy(&mut report, source, target, outcome);
        }
        drop(results);
        if started < total {
            // A retry of the event (Lambda's, for this transient failure) starts the rest; what
            // was copied already is found and not copied again.
            report.failures.push(Failure {
                instance_id: None,
                volume_id: None,
                snapshot_id: None,
                code: "OutOfTime".into(),
                message: format!("{} copies were not started before the invocation's deadline", total - started),
            });
        }
        report
    }

    /// Copies `ids` (each a volume's newest completed snapshot, not yet in `target`) there: what a
    /// missed event would have started. Sources read with all their tags, as for an event. Each is
    /// looked for in the destination first (an event may have started it since the history was
    /// read), at most [`MAX_CATCH_UP`] per run and none after `deadline`: EBS runs 20 copies per
    /// destination at a time, and the next run starts the rest. EC2's limit is a skip here, not a
    /// failure: the next run tries again.
    async fn catch_up(
        &self,
        ids: &[CompactString],
        keyword: &Keyword,
        target: &CopyTarget,
        source_region: &str,
        report: &mut Report,
        deadline: Option<Deadline>,
    ) {
        let ids = &ids[..ids.len().min(MAX_CATCH_UP)];
        let sources = match inventory::read_by_ids(&self.ec2, ids).await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, region = %target.region, "could not read the snapshots to copy; the next run tries again");
                return;
            }
        };
        info!(region = %target.region, missing = sources.len(), "copying what EC2's events did not start");
        let dest = self.in_region(&target.region);
        let mut results = stream::iter(&sources)
            .take_while(|_| std::future::ready(before(deadline)))
            .map(|source| {
                let dest = &dest;
                async move {
                    let copied = self.copy_one(dest, source, keyword, target, source_region);
                    (source, within(deadline, copied).await.unwrap_or_else(out_of_time))
                }
            })
            .buffer_unordered(self.settings().max_concurrency.max(1));
        while let Some((source, outcome)) = results.next().await {
            match outcome {
                Copy1::Fail { code, message } if code == "ResourceLimitExceeded" || code == "OutOfTime" => {
                    report.skipped.push(Skipped {
                        instance_id: None,
                        volume_id: Some(source.volume_id.clone()),
                        snapshot_id: Some(source.id.clone()),
                        reason: format!(
                            "not copied to {} this run ({code}: {message}); the next run tries again",
                            target.region
                        ),
                    });
                }
                outcome => record_copy(report, source, target, outcome),
            }
        }
    }

    /// One source to one destination: nothing when a copy is there already, else CopySnapshot in
    /// the destination, encrypted, tagged at creation.
    async fn copy_one(
        &self,
        dest: &aws_sdk_ec2::Client,
        source: &Snapshot,
        keyword: &Keyword,
        target: &CopyTarget,
        source_region: &str,
    ) -> Copy1 {
        match existing_copy(dest, source).await {
            Ok(Some(id)) => return Copy1::Already(id),
            Ok(None) => {}
            Err(e) => return Copy1::Fail { code: e.code(), message: e.message() },
        }
        self.start_copy(dest, source, keyword, target, source_region).await
    }

    /// CopySnapshot in the destination `dest` calls: encrypted (with the target's key, or the
    /// region's default EBS key), tagged at creation so that the destination rotates it.
    async fn start_copy(
        &self,
        dest: &aws_sdk_ec2::Client,
        source: &Snapshot,
        keyword: &Keyword,
        target: &CopyTarget,
        source_region: &str,
    ) -> Copy1 {
        // In place, the copy replaces its source in the source's own rotation: no source region,
        // and the source's retention.
        let in_place = target.region == source_region;
        let tags = if in_place {
            copy_tags(source, keyword, None, None)
        } else {
            copy_tags(source, keyword, Some(source_region), self.settings().copy_retention.as_ref())
        };
        let description = if in_place {
            format!("snapcycle {keyword} encrypted copy of {}", source.id)
        } else {
            format!("snapcycle {keyword} copy of {} from {source_region}", source.id)
        };
        let spec = crate::run::snapshot_tags_spec(&tags);
        // CopySnapshot has no idempotency token, so the SDK must not retry it: a retry after an
        // answer lost in transit would start a second copy (a whole data transfer, and one of
        // the destination's 20 in flight). Each attempt is one call; after a failure that may
        // pass, the destination is asked whether the copy exists before asking again.
        let once = aws_sdk_ec2::config::Builder::default()
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::standard().with_max_attempts(1));
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let sent = dest
                .copy_snapshot()
                .source_region(source_region)
                .source_snapshot_id(source.id.as_str())
                .encrypted(true)
                .set_kms_key_id(target.kms_key.clone())
                .description(&description)
                .tag_specifications(spec.clone())
                .customize()
                .config_override(once.clone())
                .send()
                .await;
            let (code, message) = match sent {
                Ok(out) => return Copy1::Started(out.snapshot_id().unwrap_or_default().into()),
                Err(e) => (code_of(&e), message_of(&e)),
            };
            if !crate::error::is_transient(&code) || attempt >= COPY_ATTEMPTS {
                return Copy1::Fail { code, message };
            }
            if let Ok(Some(id)) = existing_copy(dest, source).await {
                info!(snapshot_id = %source.id, copy_id = %id, "the copy was started though its answer was lost");
                return Copy1::Started(id);
            }
            warn!(snapshot_id = %source.id, region = %target.region, code = %code, attempt, "copy refused for now; asking again");
            tokio::time::sleep(std::time::Duration::from_secs(1 << attempt)).await;
        }
    }

    /// The copies' part of a scheduled run, in every destination: first the copies EC2's events
    /// missed (EventBridge keeps no event it could not deliver), of `newest`, each volume's
    /// newest completed snapshot, when the destination holds no copy of it; then rotation of the
    /// copies of `plan`'s volumes by the plan's rules (or the copy retention). Starts nothing
    /// after `deadline`; records into `report` and returns how many deletions were left. A
    /// destination that cannot be read is a failure, and the others go on.
    pub(crate) async fn copies_of_run(
        &self,
        policy: &Policy,
        plan: &Plan,
        newest: &[CompactString],
        report: &mut Report,
        deadline: Option<Deadline>,
    ) -> usize {
        let source_region = self.region();
        let mut left = 0;
        for target in &self.copy_targets() {
            let dest = self.in_region(&target.region);
            if target.region == source_region {
                // Encryption in place: the plan rotates the copies with their sources' volumes and
                // deletes the originals they replace; only the copies EC2's events missed remain.
                if !newest.is_empty() && before(deadline) {
                    self.catch_up(newest, &policy.keyword, target, &source_region, report, deadline).await;
                }
                continue;
            }
            let copies = match within(deadline, inventory::read_copies(&dest, &policy.keyword, &source_region)).await {
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    error!(region = %target.region, error = %e, "could not read the copies; they are not rotated this run");
                    report.failures.push(Failure {
                        instance_id: None,
                        volume_id: None,
                        snapshot_id: None,
                        code: e.code(),
                        message: format!(
                            "reading the copies in {} failed: {}; none was deleted there",
                            target.region,
                            e.message()
                        ),
                    });
                    continue;
                }
                None => {
                    warn!(region = %target.region, "no time left to rotate the copies; the next run does");
                    continue;
                }
            };
            let copied: std::collections::HashSet<&str> =
                copies.iter().filter_map(|c| tag_value(&c.tags, TAG_SOURCE_SNAPSHOT)).collect();
            let missing: Vec<CompactString> =
                newest.iter().filter(|id| !copied.contains(id.as_str())).cloned().collect();
            drop(copied);
            if !missing.is_empty() && before(deadline) {
                self.catch_up(&missing, &policy.keyword, target, &source_region, report, deadline).await;
            }
            let rotation = plan_copies(policy, plan, &copies, &source_region, self.settings().copy_retention.as_ref());
            drop(copies);
            let jobs: Vec<(&str, &str)> = rotation
                .iter()
                .flat_map(|r| r.delete.iter().map(move |id| (r.volume_id.as_str(), id.as_str())))
                .collect();
            let total = jobs.len();
            let mut started = 0usize;
            let dest = &dest;
            let mut results = stream::iter(jobs)
                .take_while(|_| std::future::ready(before(deadline)))
                .inspect(|_| started += 1)
                .map(|(volume_id, id)| async move {
                    let sent = within(deadline, dest.delete_snapshot().snapshot_id(id).send()).await;
                    (volume_id, id, sent)
                })
                .buffer_unordered(self.settings().max_concurrency.max(1));
            let mut later = 0;
            while let Some((volume_id, id, sent)) = results.next().await {
                let deleted =
                    CopyDeleted { region: target.region.clone(), volume_id: volume_id.into(), snapshot_id: id.into() };
                match sent {
                    None => later += 1,
                    Some(Ok(_)) => report.copies_deleted.push(deleted),
                    Some(Err(e)) if code_of(&e) == "InvalidSnapshot.NotFound" => report.copies_deleted.push(deleted),
                    Some(Err(e)) => report.failures.push(Failure {
                        instance_id: None,
                        volume_id: Some(volume_id.into()),
                        snapshot_id: Some(id.into()),
                        code: code_of(&e),
                        message: format!("deleting the copy in {} failed: {}", target.region, message_of(&e)),
                    }),
                }
            }
            drop(results);
            left += total - started + later;
        }
        left
    }
}

impl Runner {
    /// EC2 says the copy `completed.snapshot_ids[0]` of `original` completed: with encryption in
    /// place, the unencrypted original it replaces is deleted now rather than at the next run.
    /// Only when both are what they say: the copy completed, encrypted, made in place of exactly
    /// this original and marked for one of the stack's keywords; the original unencrypted,
    /// marked for the same keyword and still carrying its keyword tag (a person who removed it
    /// keeps the original for ever). Anything else is a skip; the next run decides the same.
    async fn replace_original(&self, completed: &Completed, original: &str, report: &mut Report) {
        use snapcycle_core::copy::is_copy_in_place;
        use snapcycle_core::report::Deleted;
        let Some(copy_id) = completed.snapshot_ids.first() else { return };
        let found = match inventory::read_by_ids(&self.ec2, &[copy_id.as_str(), original]).await {
            Ok(found) => found,
            Err(e) => {
                error!(error = %e, code = %e.code(), "could not read the copy and its original; nothing deleted");
                report.failures.push(Failure {
                    instance_id: None,
                    volume_id: None,
                    snapshot_id: Some(original.into()),
                    code: e.code(),
                    message: format!("{}; the original was not deleted", e.message()),
                });
                return;
            }
        };
        let (copy, source) = (found.iter().find(|s| s.id == copy_id), found.iter().find(|s| s.id == original));
        let keyword = copy.and_then(|c| tag_value(&c.tags, TAG_KEYWORD)).and_then(|k| Keyword::new(k).ok());
        let why_not = match (copy, source, &keyword) {
            (_, None, _) => Some(format!("{original} is gone already")),
            (None, _, _) => Some(format!("the copy {copy_id} is gone")),
            (_, _, None) => Some(format!("the copy {copy_id} carries no marker of this stack")),
            (Some(c), Some(s), Some(k)) => {
                if c.state != snapcycle_core::SnapshotState::Completed || !c.encrypted || !is_copy_in_place(c) {
                    Some(format!("{copy_id} is not a completed encrypted copy in place"))
                } else if tag_value(&c.tags, snapcycle_core::copy::TAG_SOURCE_SNAPSHOT) != Some(original) {
                    Some(format!("{copy_id} is not a copy of {original}"))
                } else if !self.settings().keywords.contains(k) {
                    Some(format!("{copy_id} is marked for {k}, not one of this stack's keywords"))
                } else if s.encrypted
                    || tag_value(&s.tags, TAG_KEYWORD) != Some(k.as_str())
                    || tag_value(&s.tags, k.as_str()).is_none()
                {
                    Some(format!(
                        "{original} is not an unencrypted snapshot of {k} in rotation (kept for ever, or not ours)"
                    ))
                } else {
                    None
                }
            }
        };
        if let Some(reason) = why_not {
            info!("{reason}: the original is not deleted");
            report.skipped.push(Skipped {
                instance_id: None,
                volume_id: None,
                snapshot_id: Some(original.into()),
                reason: format!("{reason}: not deleted"),
            });
            return;
        }
        let (Some(source), Some(copy), Some(keyword)) = (source, copy, keyword) else { return };
        report.keyword = keyword.to_string();
        let now = chrono::Utc::now();
        let run = tag_value(&source.tags, TAG_RUN)
            .and_then(|r| chrono::DateTime::parse_from_rfc3339(r).ok())
            .map_or(now, |t| t.with_timezone(&chrono::Utc));
        report.scheduled_time = run;
        // The plan decides, as a run would: the original goes only if the plan of the instances
        // that have its volume now deletes it. An instance untagged, a retention that does not
        // parse, an exclusion, a hold or a lock keeps it (one page of instances, of excluded
        // volumes and of locks: 3 calls).
        let instances = match inventory::read_volume_instances(&self.ec2, &keyword, &source.volume_id).await {
            Ok(i) => i,
            Err(e) => {
                error!(error = %e, code = %e.code(), "could not read the volume's instances; the original is not deleted");
                report.failures.push(Failure {
                    instance_id: None,
                    volume_id: Some(source.volume_id.clone()),
                    snapshot_id: Some(source.id.clone()),
                    code: e.code(),
                    message: format!("{}; the original replaced by {copy_id} was not deleted", e.message()),
                });
                return;
            }
        };
        let inventory = snapcycle_core::Inventory {
            instances,
            snapshots: vec![source.clone(), copy.clone()],
            locks: inventory::read_locks_or_none(&self.ec2).await,
        };
        let policy = Policy {
            keyword: keyword.clone(),
            all_keywords: self.settings().keywords.clone(),
            scheduled_time: run,
            request: None,
            time_zone: self.settings().time_zone,
            now,
            explain: false,
            orphans_expire_after: None,
        };
        let plan = snapcycle_core::plan(&policy, &inventory);
        if !plan.volumes().any(|(_, v)| v.delete.iter().any(|d| d == original)) {
            let reason = format!(
                "{original} is replaced by {copy_id}, but its volume's plan keeps it now (no instance tagged {keyword} has the volume, or it is excluded, held or locked): not deleted; the runs decide"
            );
            info!("{reason}");
            report.skipped.push(Skipped {
                instance_id: None,
                volume_id: Some(source.volume_id.clone()),
                snapshot_id: Some(source.id.clone()),
                reason,
            });
            return;
        }
        let deleted = Deleted {
            volume_id: source.volume_id.clone(),
            snapshot_id: source.id.clone(),
            reason: Some(format!("replaced by its encrypted copy {copy_id}")),
        };
        match self.deletes.delete_snapshot().snapshot_id(original).send().await {
            Ok(_) => {
                info!(snapshot_id = %original, copy_id = %copy_id, "original replaced by its encrypted copy");
                report.deleted.push(deleted);
            }
            Err(e) if code_of(&e) == "InvalidSnapshot.NotFound" => report.deleted.push(deleted),
            Err(e) if code_of(&e) == "InvalidSnapshot.InUse" => report.skipped.push(Skipped {
                instance_id: None,
                volume_id: Some(source.volume_id.clone()),
                snapshot_id: Some(source.id.clone()),
                reason: format!("InvalidSnapshot.InUse: kept because an AMI uses it ({})", message_of(&e)),
            }),
            Err(e) => {
                error!(snapshot_id = %original, code = %code_of(&e), "deleting the replaced original failed");
                report.failures.push(Failure {
                    instance_id: None,
                    volume_id: Some(source.volume_id.clone()),
                    snapshot_id: Some(source.id.clone()),
                    code: code_of(&e),
                    message: format!("deleting the original replaced by {copy_id} failed: {}", message_of(&e)),
                });
            }
        }
    }
}

/// The copy of `source` that the region `dest` calls holds, if any (one that ended in `error`
/// does not count): a copy never starts twice. Snapshot ids are unique across regions, so the
/// source's id alone finds its copy, in another region or in place.
async fn existing_copy(dest: &aws_sdk_ec2::Client, source: &Snapshot) -> Result<Option<CompactString>, crate::Error> {
    let found = inventory::read_copies_of(dest, &source.id).await?;
    Ok(found.into_iter().find(|c| c.state != snapcycle_core::SnapshotState::Error).map(|c| c.id))
}

/// Records what became of one copy.
fn record_copy(report: &mut Report, source: &Snapshot, target: &CopyTarget, outcome: Copy1) {
    match outcome {
        Copy1::Started(copy_id) => {
            info!(snapshot_id = %source.id, region = %target.region, copy_id = %copy_id, "copy started");
            report.copied.push(Copied {
                volume_id: source.volume_id.clone(),
                snapshot_id: source.id.clone(),
                region: target.region.clone(),
                copy_id,
            });
        }
        Copy1::Already(copy_id) => {
            info!(snapshot_id = %source.id, region = %target.region, copy_id = %copy_id, "already copied");
            report.skipped.push(Skipped {
                instance_id: None,
                volume_id: Some(source.volume_id.clone()),
                snapshot_id: Some(source.id.clone()),
                reason: format!("already copied to {} ({copy_id})", target.region),
            });
        }
        Copy1::Fail { code, message } => {
            error!(snapshot_id = %source.id, region = %target.region, code = %code, "copy failed: {message}");
            report.failures.push(Failure {
                instance_id: None,
                volume_id: Some(source.volume_id.clone()),
                snapshot_id: Some(source.id.clone()),
                code,
                message: format!("copying the snapshot to {} failed: {message}", target.region),
            });
        }
    }
}

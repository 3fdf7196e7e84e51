//! Carrying out a plan: creations and deletions side by side, each stream with bounded
//! concurrency and its own EC2 client; every outcome lands in the report. One failing volume
//! never stops the others (README, "How it decides").

use aws_config::SdkConfig;
use aws_sdk_ec2::config::retry::RetryPartition;
use aws_sdk_ec2::types::{InstanceSpecification, ResourceType, Tag as Ec2Tag, TagSpecification};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use snapcycle_core::event::default_scheduled_time;
use snapcycle_core::report::{Continuation, Created, Deleted, Failure, Skipped};
use snapcycle_core::{
    plan, Event, Instance, InstancePlan, Inventory, Keyword, Policy, Report, Snapshot, SnapshotSet, SnapshotState,
    VolumePlan,
};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::calls::{CallCounts, CountCalls};
use crate::error::{code_of, message_of};
use crate::inventory::{self, to_chrono};
use crate::Error;

pub use snapcycle_core::config::DEFAULT_MAX_CONCURRENCY;
use snapcycle_core::config::{
    ENV_COPY_RETENTION, ENV_COPY_TO, ENV_ENCRYPT, ENV_KEYWORDS, ENV_MAX_CONCURRENCY, ENV_ORPHANS_EXPIRE_AFTER,
    ENV_TIME_ZONE, ENV_TOPIC_ARN, MAX_CONCURRENCY,
};
use snapcycle_core::copy::{CopyTarget, EncryptInPlace};
use snapcycle_core::{CompactString, OrphanExpiry, RetentionPolicy};

/// Create errors that mean "not now" for one volume: EC2 will take the snapshot later, so the run
/// waits and asks again, or hands the volume to the next invocation; it never counts as done.
/// The number is how many [`Settings::not_now_wait`]s to wait: a volume's pending snapshots take
/// longer to clear than the per-volume rule, so that wait is doubled.
const CREATE_NOT_NOW: &[(&str, u32)] =
    &[("SnapshotCreationPerVolumeRateExceeded", 1), ("ConcurrentSnapshotLimitExceeded", 2)];

/// EC2's own figure for the per-volume rule: "Wait at least 15 seconds between concurrent volume
/// snapshots" (EC2 API Reference, error codes).
pub const DEFAULT_NOT_NOW_WAIT: Duration = Duration::from_secs(15);

/// How often one volume is asked again without a deadline (`snapcycle run`): about 4 minutes of
/// waiting before the run reports the volume as a failure.
const NOT_NOW_ATTEMPTS: u32 = 8;

/// Create errors that mean the instance or volume went away or is being deleted: nothing left
/// to snapshot.
const CREATE_SKIPS: &[&str] =
    &["IncorrectState", "IncorrectInstanceState", "InvalidVolume.NotFound", "InvalidInstanceID.NotFound"];

/// When an invocation must stop. No call starts after `start_by`; a call still running at
/// `finish_by` (its SDK retries included) is abandoned and its work handed to the next invocation,
/// so no call outlives the time the caller has (a throttled call may retry for minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// No new call after this.
    pub start_by: Instant,
    /// Every call has ended by this.
    pub finish_by: Instant,
}

impl Deadline {
    /// Starts no call after `start_by` and gives calls in flight `grace` more to finish.
    pub fn new(start_by: Instant, grace: Duration) -> Deadline {
        Deadline { start_by, finish_by: start_by + grace }
    }
}

/// What the runner needs besides clients; the Lambda reads it from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// SNS topic for the failure e-mail; without one failures are only logged and returned.
    pub topic_arn: Option<String>,
    /// Every keyword of the stack (for tag copying and for refusing unknown keywords).
    pub keywords: Vec<Keyword>,
    /// Most EC2 calls in flight at once.
    pub max_concurrency: usize,
    /// How long to wait before asking again after EC2's "not now" (tests shorten it).
    pub not_now_wait: Duration,
    /// Where a retention policy's days, weeks, months and years begin (`SNAPCYCLE_TIME_ZONE`,
    /// an IANA name; UTC by default).
    pub time_zone: chrono_tz::Tz,
    /// Delete orphans' snapshots older than this (`SNAPCYCLE_ORPHANS_EXPIRE_AFTER`); off when
    /// `None`.
    pub orphans_expire_after: Option<OrphanExpiry>,
    /// The regions every completed snapshot is copied to (`SNAPCYCLE_COPY_TO`); none by default.
    pub copy_to: Vec<CopyTarget>,
    /// The copies' retention (`SNAPCYCLE_COPY_RETENTION`); `None` keeps each source's.
    pub copy_retention: Option<RetentionPolicy>,
    /// Encryption in place (`SNAPCYCLE_ENCRYPT`); off when `None`. Never with `copy_to`.
    pub encrypt: Option<EncryptInPlace>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            topic_arn: None,
            keywords: Vec::new(),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            not_now_wait: DEFAULT_NOT_NOW_WAIT,
            time_zone: chrono_tz::Tz::UTC,
            orphans_expire_after: None,
            copy_to: Vec::new(),
            copy_retention: None,
            encrypt: None,
        }
    }
}

/// Why the Lambda's environment is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// `SNAPCYCLE_KEYWORDS` holds an invalid keyword.
    #[error("{ENV_KEYWORDS} is invalid: {0}")]
    Keywords(#[from] snapcycle_core::KeywordError),
    /// `SNAPCYCLE_MAX_CONCURRENCY` is not a whole number from 1 to 256.
    #[error("{ENV_MAX_CONCURRENCY} must be a whole number from 1 to {MAX_CONCURRENCY}, got {0:?}")]
    Concurrency(String),
    /// `SNAPCYCLE_TIME_ZONE` is not an IANA time zone name.
    #[error("{ENV_TIME_ZONE} must be an IANA time zone such as Asia/Shanghai or UTC, got {0:?}")]
    TimeZone(String),
    /// `SNAPCYCLE_ORPHANS_EXPIRE_AFTER` is not a duration of a day or more.
    #[error("{ENV_ORPHANS_EXPIRE_AFTER}: {0}")]
    OrphansExpireAfter(#[from] snapcycle_core::OrphanExpiryError),
    /// `SNAPCYCLE_COPY_TO` names something that is not a destination.
    #[error("{ENV_COPY_TO}: {0}")]
    CopyTo(#[from] snapcycle_core::copy::CopyTargetError),
    /// `SNAPCYCLE_ENCRYPT` is neither `default` nor a KMS key ARN.
    #[error("{ENV_ENCRYPT} must be \"default\" or a KMS key ARN: {0}")]
    Encrypt(snapcycle_core::copy::CopyTargetError),
    /// Both `SNAPCYCLE_ENCRYPT` and `SNAPCYCLE_COPY_TO`: copies to other regions are encrypted
    /// already, and one snapshot cannot be both replaced in place and the source of copies.
    #[error("{ENV_ENCRYPT} and {ENV_COPY_TO} cannot both be set: copies to other regions are encrypted already")]
    EncryptWithCopies,
    /// `SNAPCYCLE_COPY_RETENTION` is not a retention.
    #[error("{ENV_COPY_RETENTION}: {0}")]
    CopyRetention(#[from] snapcycle_core::PolicyError),
}

impl Settings {
    /// Reads `SNAPCYCLE_TOPIC_ARN`, `SNAPCYCLE_KEYWORDS`, `SNAPCYCLE_MAX_CONCURRENCY`, `SNAPCYCLE_TIME_ZONE` and
    /// `SNAPCYCLE_ORPHANS_EXPIRE_AFTER` through
    /// `var`, so the caller decides where the environment comes from (tests pass a map).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let topic_arn = var(ENV_TOPIC_ARN).filter(|s| !s.trim().is_empty());
        let keywords = Keyword::parse_list(&var(ENV_KEYWORDS).unwrap_or_default())?;
        let max_concurrency = match var(ENV_MAX_CONCURRENCY).filter(|s| !s.trim().is_empty()) {
            None => DEFAULT_MAX_CONCURRENCY,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => n,
                _ => return Err(SettingsError::Concurrency(raw)),
            },
        };
        let time_zone = match var(ENV_TIME_ZONE).filter(|s| !s.trim().is_empty()) {
            None => chrono_tz::Tz::UTC,
            Some(raw) => raw.trim().parse().map_err(|_| SettingsError::TimeZone(raw))?,
        };
        let orphans_expire_after =
            var(ENV_ORPHANS_EXPIRE_AFTER).filter(|s| !s.trim().is_empty()).map(|raw| raw.parse()).transpose()?;
        let copy_to = snapcycle_core::copy::parse_copy_targets(&var(ENV_COPY_TO).unwrap_or_default())?;
        let copy_retention = var(ENV_COPY_RETENTION)
            .filter(|s| !s.trim().is_empty())
            .map(|raw| RetentionPolicy::parse(&raw))
            .transpose()?;
        let encrypt = snapcycle_core::copy::parse_encrypt(&var(ENV_ENCRYPT).unwrap_or_default())
            .map_err(SettingsError::Encrypt)?;
        if encrypt.is_some() && !copy_to.is_empty() {
            return Err(SettingsError::EncryptWithCopies);
        }
        Ok(Settings {
            topic_arn,
            keywords,
            max_concurrency,
            not_now_wait: DEFAULT_NOT_NOW_WAIT,
            time_zone,
            orphans_expire_after,
            copy_to,
            copy_retention,
            encrypt,
        })
    }
}

/// The AWS shell: clients built once, used by every run.
#[derive(Debug, Clone)]
pub struct Runner {
    /// Reads (Describe*), and the re-reads after a creation EC2 refused.
    pub(crate) ec2: aws_sdk_ec2::Client,
    /// CreateSnapshots, with its own retry partition (see [`Runner::new`]).
    creates: aws_sdk_ec2::Client,
    /// DeleteSnapshot, with its own retry partition.
    pub(crate) deletes: aws_sdk_ec2::Client,
    sns: aws_sdk_sns::Client,
    settings: Settings,
    /// The shared configuration, for the clients of the copies' destination regions; `None`
    /// when the clients came from elsewhere (then the one EC2 client serves every region).
    sdk: Option<SdkConfig>,
}

/// A run's report and whether the failure e-mail went out.
#[derive(Debug)]
pub struct Outcome {
    /// The report.
    pub report: Report,
    /// The SNS message id, when a failure e-mail was published.
    pub notified: Option<String>,
    /// Why the e-mail could not be published, if it could not.
    pub notify_error: Option<Error>,
}

enum Created1 {
    Done(Snapshot),
    /// Not taken yet ("not now" outlasted the invocation, or the call ran out of time).
    Later,
    Skip {
        code: String,
        message: String,
    },
    Fail {
        code: String,
        message: String,
    },
}

enum Deleted1 {
    Done,
    /// The call ran out of time; the next invocation deletes it.
    Later,
    Gone,
    InUse(String),
    Fail {
        code: String,
        message: String,
    },
}

impl Runner {
    /// Builds the clients from shared configuration, each counting its calls for the report.
    ///
    /// EC2 throttles each action in its own token bucket, but the SDK's adaptive retry slows down
    /// every call that shares a retry partition (its client-side rate limiter and retry quota are
    /// kept per partition, by default one per service). So reads, creations and deletions each get
    /// a client of their own partition: throttled deletions never slow the creations beside them.
    pub fn new(sdk: &SdkConfig, settings: Settings) -> Runner {
        let ec2 = |partition: &'static str| {
            let conf = aws_sdk_ec2::config::Builder::from(sdk)
                .interceptor(CountCalls)
                .retry_partition(RetryPartition::new(partition))
                .build();
            aws_sdk_ec2::Client::from_conf(conf)
        };
        let sns = aws_sdk_sns::config::Builder::from(sdk).interceptor(CountCalls).build();
        Runner {
            ec2: ec2("snapcycle-ec2-read"),
            creates: ec2("snapcycle-ec2-create"),
            deletes: ec2("snapcycle-ec2-delete"),
            sns: aws_sdk_sns::Client::from_conf(sns),
            settings,
            sdk: Some(sdk.clone()),
        }
    }

    /// The region this runner's EC2 client calls: where the stack and its sources are.
    pub fn region(&self) -> String {
        self.ec2.config().region().map(|r| r.to_string()).unwrap_or_default()
    }

    /// Where completed snapshots are copied: the destinations of `SNAPCYCLE_COPY_TO`, or with
    /// encryption in place the function's own region (the copies' one code path serves both).
    pub(crate) fn copy_targets(&self) -> Vec<CopyTarget> {
        match &self.settings.encrypt {
            Some(e) => vec![CopyTarget { region: self.region(), kms_key: e.kms_key.clone() }],
            None => self.settings.copy_to.clone(),
        }
    }

    /// An EC2 client of `region` (a copies' destination), counting its calls, with a retry
    /// partition of its own: a throttled destination never slows the source's streams.
    pub(crate) fn in_region(&self, region: &str) -> aws_sdk_ec2::Client {
        let Some(sdk) = &self.sdk else { return self.ec2.clone() };
        let conf = aws_sdk_ec2::config::Builder::from(sdk)
            .region(aws_sdk_ec2::config::Region::new(region.to_owned()))
            .interceptor(CountCalls)
            .retry_partition(RetryPartition::new(format!("snapcycle-ec2-{region}")))
            .build();
        aws_sdk_ec2::Client::from_conf(conf)
    }

    /// Uses clients built elsewhere (tests hand in mocked ones); one EC2 client does everything.
    pub fn from_clients(ec2: aws_sdk_ec2::Client, sns: aws_sdk_sns::Client, settings: Settings) -> Runner {
        Runner { creates: ec2.clone(), deletes: ec2.clone(), ec2, sns, settings, sdk: None }
    }

    /// The same clients with other settings.
    pub fn with_settings(self, settings: Settings) -> Runner {
        Runner { settings, ..self }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs one keyword and, when anything failed, publishes one e-mail. This is the one code path
    /// of both the Lambda and `snapcycle run`. With a `deadline`, no new work starts after it and
    /// the report's `continued` says how much is left for the next invocation.
    pub async fn run_and_notify(&self, req: &Event, now: DateTime<Utc>, deadline: Option<Deadline>) -> Outcome {
        let report = self.run_until(req, now, deadline).await;
        let (mut notified, mut notify_error) = (None, None);
        if report.has_failures() {
            match self.notify(&report, None).await {
                Ok(id) => notified = id,
                Err(e) => {
                    error!(error = %e, code = %e.code(), "the failure e-mail could not be published");
                    notify_error = Some(e);
                }
            }
        }
        Outcome { report, notified, notify_error }
    }

    /// Runs one keyword: read, plan, create, plan again with the new snapshots, delete. Never
    /// returns an error: what failed is in the report's `failures`.
    pub async fn run(&self, req: &Event, now: DateTime<Utc>) -> Report {
        self.run_until(req, now, None).await
    }

    /// [`Runner::run`], starting no new call after `deadline`. Work left over is counted in the
    /// report's `continued`; running the same request again finishes it: it takes no second
    /// snapshot of a volume, and deletes by the history it reads.
    pub async fn run_until(&self, req: &Event, now: DateTime<Utc>, deadline: Option<Deadline>) -> Report {
        let calls = CallCounts::default();
        let mut report = calls.scope(self.run_counted(req, now, deadline)).await;
        report.api_calls = calls.snapshot();
        report.sort();
        report
    }

    async fn run_counted(&self, req: &Event, now: DateTime<Utc>, deadline: Option<Deadline>) -> Report {
        let scheduled_time = req.scheduled_time.unwrap_or_else(|| default_scheduled_time(now));
        let mut all_keywords = self.settings.keywords.clone();
        if !all_keywords.contains(&req.keyword) {
            all_keywords.push(req.keyword.clone());
        }
        let policy = Policy {
            keyword: req.keyword.clone(),
            all_keywords,
            scheduled_time,
            request: req.request_id.clone(),
            time_zone: self.settings.time_zone,
            now,
            explain: req.dry_run,
            orphans_expire_after: self.settings.orphans_expire_after,
        };
        if req.dry_run {
            // A dry run reads everything at once: it shows creations and deletions together.
            return match inventory::read(&self.ec2, &req.keyword).await {
                Ok(inv) => {
                    let p = plan(&policy, &inv);
                    info!(
                        keyword = %policy.keyword, run = %p.run, instances = p.instance_count(),
                        volumes = p.volume_count(), snapshots = inv.snapshots.len(), "planned a dry run"
                    );
                    let mut report = Report::dry_run(&p);
                    report.snapshots = Some(inv.snapshots.len());
                    report
                }
                Err(e) => self.whole_run_failed(&policy, true, &e, "nothing was created or deleted"),
            };
        }
        // Rotation is decided from completed snapshots only, so it does not wait for this run's
        // new ones (pending on EC2 for minutes): the instances and the whole history are read at
        // once, and the deletions run beside the creations, each stream paced by its own EC2
        // token bucket (README, "How it decides", step 4). The history holds this run's
        // snapshots too, so a retry or a hand-over skips the volumes already done.
        let run = policy.run_id();
        // A warm function keeps what earlier invocations freed resident; the history goes to a
        // fresh mapping, so without this each hand-over's peak sat on top of the last one's.
        release_freed_memory();
        // The account's snapshot locks are read beside them: a locked snapshot the plan would
        // delete is kept and reported as a skip (README, "Locked snapshots").
        let read = within(deadline, inventory::read(&self.ec2, &req.keyword));
        let mut inventory = match read.await {
            Some(Ok(inventory)) => inventory,
            Some(Err(e)) => return self.whole_run_failed(&policy, false, &e, "nothing was created or deleted"),
            None => return self.out_of_time(&policy, "reading the inventory", "nothing was created or deleted"),
        };
        let first = plan(&policy, &inventory);
        info!(
            keyword = %policy.keyword, run = %first.run, instances = first.instance_count(),
            volumes = first.volume_count(), snapshots = inventory.snapshots.len(), "planned"
        );
        let mut report = Report::begin(&first, false);
        report.snapshots = Some(inventory.snapshots.len());
        for f in &report.failures {
            error!(instance_id = ?f.instance_id, code = %f.code, "{}", f.message);
        }
        // With copies on, each volume's newest completed snapshot is what a destination must
        // hold: the copies' stream starts any copy EC2's events missed.
        // With encryption in place, it is each volume's newest snapshot still unencrypted.
        let newest = if self.settings.encrypt.is_some() {
            snapcycle_core::copy::to_encrypt(&first, &inventory.snapshots)
        } else if self.settings.copy_to.is_empty() {
            Vec::new()
        } else {
            snapcycle_core::copy::newest_completed(&first, &inventory.snapshots)
        };
        // Once planned, the history's work is done: the duplicate pass below decides from this
        // run's snapshots alone (`plan`'s duplicates never depend on older ones), so the rest,
        // most of the memory at fleet scale, goes before the streams start.
        inventory
            .snapshots
            .retain(|s| snapcycle_core::tags::tag_value(&s.tags, snapcycle_core::tags::TAG_RUN) == Some(run.as_str()));
        inventory.snapshots.shrink_to_fit();
        release_freed_memory();
        // Each stream records into its own report, merged below, so neither waits on the other.
        // Deleting from this plan is never more than the plan with this run's snapshots would
        // delete: a newer snapshot only ever pushes older ones out of a count, a bucket or a
        // `within` window. Those snapshots count from the next run on.
        let (mut made, mut creations, mut deletions, mut copies) =
            (Vec::new(), Report::default(), Report::default(), Report::default());
        let (created_left, deleted_left, copies_left) = tokio::join!(
            self.create_all(&policy, &first, &inventory.instances, &mut made, &mut creations, deadline),
            self.delete_all(deletions_of(&first), &mut deletions, deadline),
            self.copies_of_run(&policy, &first, &newest, &mut copies, deadline),
        );
        drop(newest);
        // The plan's work is done; at fleet scale it is megabytes.
        drop(first);
        absorb(&mut report, creations);
        absorb(&mut report, deletions);
        absorb(&mut report, copies);
        let deleted_left = deleted_left + copies_left;
        if created_left + deleted_left > 0 {
            // The next invocation reads the history again, with this one's snapshots and without
            // its deletions, and finishes both streams.
            warn!(
                creations_left = created_left,
                deletions_left = deleted_left,
                invocation = req.invocation,
                "ran short of time; handing the rest over"
            );
            report.continued = Some(Continuation {
                left: created_left + deleted_left,
                invocation: req.invocation,
                rotating: created_left == 0,
            });
            return report;
        }
        // CreateSnapshots has no idempotency token: a retried call whose first answer was lost can
        // leave a second set. Only this run's snapshots are read again, only when
        // this invocation created any, and only their completed extras are deleted (step 4).
        if !made.is_empty() {
            match within(deadline, inventory::read_run_snapshots(&self.ec2, &req.keyword, &run)).await {
                Some(Ok(found)) => {
                    report.run_snapshots = Some(found.len());
                    merge(&mut inventory, made, found);
                    let gone: HashSet<&str> =
                        report.deleted.iter().chain(&report.orphans_deleted).map(|d| d.snapshot_id.as_str()).collect();
                    inventory.snapshots.retain(|s| !gone.contains(s.id.as_str()));
                    drop(gone);
                    // Only a volume holding two of this run's snapshots can have a duplicate:
                    // without one (every run but a retried creation's), no second plan of the
                    // fleet is made at all.
                    if snapcycle_core::may_have_duplicates(&inventory.snapshots, &run) {
                        let again = plan(&policy, &inventory);
                        // Only the plan's extra snapshots of this run: its rotation is the next
                        // run's business, as for every snapshot this run took.
                        let extras: Vec<Deletion<'_>> =
                            volume_deletions(&again, |v| &v.delete[..v.duplicates.min(v.delete.len())]).collect();
                        if !extras.is_empty() {
                            info!(duplicates = extras.len(), "deleting this run's completed duplicates");
                            let mut dups = Report::default();
                            let left = self.delete_all(extras, &mut dups, deadline).await;
                            absorb(&mut report, dups);
                            if left > 0 {
                                report.continued =
                                    Some(Continuation { left, invocation: req.invocation, rotating: true });
                            }
                        }
                    }
                }
                None => {
                    warn!("no time to re-read this run's snapshots; a duplicate a retried creation left, if any, stays")
                }
                Some(Err(e)) => {
                    warn!(error = %e, "could not re-read this run's snapshots; a duplicate a retried creation left, if any, stays")
                }
            }
        }
        info!(
            keyword = %policy.keyword, created = report.created.len(), deleted = report.deleted.len(), orphans_deleted = report.orphans_deleted.len(),
            skipped = report.skipped.len(), failures = report.failures.len(), "run finished"
        );
        report
    }

    /// The report of a run whose first read did not finish in the invocation's time: a failure a
    /// retry may fix (the read was slow or throttled), with nothing done.
    fn out_of_time(&self, policy: &Policy, what: &str, done: &str) -> Report {
        error!("the run ran out of time {what}; {done}");
        let mut r =
            Report { keyword: policy.keyword.to_string(), scheduled_time: policy.scheduled_time, ..Report::default() };
        r.failures.push(Failure {
            instance_id: None,
            volume_id: None,
            snapshot_id: None,
            code: "OutOfTime".into(),
            message: format!("the invocation ran out of time {what}; {done}"),
        });
        r
    }

    /// The report of a run that could not read what it needed; `done` says what that left undone.
    fn whole_run_failed(&self, policy: &Policy, dry_run: bool, e: &Error, done: &str) -> Report {
        error!(error = %e, code = %e.code(), "the run could not read its inventory; {done}");
        let mut r = Report {
            keyword: policy.keyword.to_string(),
            scheduled_time: policy.scheduled_time,
            dry_run,
            ..Report::default()
        };
        r.failures.push(Failure {
            instance_id: None,
            volume_id: None,
            snapshot_id: None,
            code: e.code(),
            message: format!("{}; {done}", e.message()),
        });
        r
    }

    /// Takes every planned set, one CreateSnapshots call per instance, starting none after
    /// `deadline`; returns how many volumes were left for the next invocation.
    async fn create_all(
        &self,
        policy: &Policy,
        plan: &snapcycle_core::Plan,
        instances: &[Instance],
        made: &mut Vec<Snapshot>,
        report: &mut Report,
        deadline: Option<Deadline>,
    ) -> usize {
        // The plan's instances are the inventory's, deduplicated by id; the first of an id wins.
        let mut by_id: HashMap<&str, &Instance> = HashMap::with_capacity(instances.len());
        for inst in instances {
            by_id.entry(inst.id.as_str()).or_insert(inst);
        }
        let mut jobs: Vec<(&InstancePlan, &SnapshotSet, &Instance)> = Vec::new();
        for ip in &plan.instances {
            let Some(set) = &ip.set else { continue };
            match by_id.get(ip.instance_id.as_str()) {
                Some(inst) => jobs.push((ip, set, inst)),
                // Not reachable (the plan was made from these instances), but never a silent skip.
                None => {
                    for v in &set.volumes {
                        let message = "the set's instance is not in the inventory the plan was made from".to_owned();
                        record_creation(
                            ip,
                            v.clone(),
                            Created1::Fail { code: "Internal".into(), message },
                            made,
                            report,
                        );
                    }
                }
            }
        }
        drop(by_id);
        let total: usize = jobs.iter().map(|(_, set, _)| set.volumes.len()).sum();
        let mut started = 0usize;
        let mut results = stream::iter(jobs)
            .take_while(|_| std::future::ready(before(deadline)))
            .inspect(|(_, set, _)| started += set.volumes.len())
            .map(|(ip, set, inst)| async move {
                // The tags are made now, one set at a time: the plan holds no copy of them.
                let tags = set.tags(policy, inst);
                if !tags.dropped.is_empty() {
                    warn!(instance_id = %ip.instance_id, dropped = ?tags.dropped, "instance tags not copied: EC2 allows 50 tags per snapshot");
                }
                (ip, self.create_set(ip, set, &tags.tags, (&plan.keyword, &plan.run), deadline).await)
            })
            .buffer_unordered(self.settings.max_concurrency.max(1));
        let mut later = 0;
        while let Some((ip, outcomes)) = results.next().await {
            for (volume_id, outcome) in outcomes {
                if matches!(outcome, Created1::Later) {
                    warn!(instance_id = %ip.instance_id, volume_id = %volume_id, "snapshot not taken yet; left for the next invocation");
                    later += 1;
                } else {
                    record_creation(ip, volume_id, outcome, made, report);
                }
            }
        }
        drop(results);
        total - started + later
    }

    /// Takes one instance's set, waiting out EC2's "not now" while the deadline allows. Every
    /// volume of the set gets an outcome; a volume EC2 added (attached since the read) is
    /// recorded as created too, since it carries the run's tags.
    async fn create_set(
        &self,
        ip: &InstancePlan,
        planned: &SnapshotSet,
        tags: &[snapcycle_core::Tag],
        (keyword, run): (&Keyword, &str),
        deadline: Option<Deadline>,
    ) -> Vec<(CompactString, Created1)> {
        let mut set = planned.clone();
        let mut out = Vec::with_capacity(set.volumes.len());
        let rest = |set: &SnapshotSet, outcome: &dyn Fn() -> Created1| {
            set.volumes.iter().map(|v| (v.clone(), outcome())).collect::<Vec<_>>()
        };
        let mut attempt = 1;
        loop {
            let (code, message) = match within(deadline, self.create_set_once(&ip.instance_id, &set, tags, keyword))
                .await
            {
                None => {
                    out.extend(rest(&set, &|| Created1::Later));
                    return out;
                }
                Some(Ok(taken)) => {
                    for v in set.volumes.iter().filter(|v| !taken.iter().any(|s| s.volume_id == *v)) {
                        out.push((
                            v.clone(),
                            Created1::Skip {
                                code: "NotInSet".into(),
                                message: "EC2's snapshot set of the instance did not include the volume (detached since the run read it?)".into(),
                            },
                        ));
                    }
                    out.extend(taken.into_iter().map(|s| (s.volume_id.clone(), Created1::Done(s))));
                    return out;
                }
                Some(Err(e)) => e,
            };
            let Some(&(_, times)) = CREATE_NOT_NOW.iter().find(|(c, _)| *c == code) else {
                let skip = CREATE_SKIPS.contains(&code.as_str());
                out.extend(rest(&set, &|| {
                    let (code, message) = (code.clone(), message.clone());
                    if skip {
                        Created1::Skip { code, message }
                    } else {
                        Created1::Fail { code, message }
                    }
                }));
                return out;
            };
            // "Not now" right after a lost answer is EC2 refusing a second set because the SDK's
            // retry already took this run's: adopt what it took and complete only the rest.
            if let Some(Ok(found)) = within(deadline, self.this_runs_snapshots(keyword, &set.volumes, run)).await {
                for s in found {
                    info!(instance_id = %ip.instance_id, volume_id = %s.volume_id, snapshot_id = %s.id, "EC2 said not now; this run's snapshot was taken already");
                    set.leave_out(&s.volume_id);
                    out.push((s.volume_id.clone(), Created1::Done(s)));
                }
                if set.volumes.is_empty() {
                    return out;
                }
            }
            let wait = self.settings.not_now_wait * times * attempt.min(4);
            match deadline {
                Some(d) if Instant::now() + wait >= d.start_by => {
                    out.extend(rest(&set, &|| Created1::Later));
                    return out;
                }
                None if attempt >= NOT_NOW_ATTEMPTS => {
                    let message = format!("{message} (still refused after {attempt} attempts)");
                    out.extend(rest(&set, &|| Created1::Fail { code: code.clone(), message: message.clone() }));
                    return out;
                }
                _ => {}
            }
            warn!(instance_id = %ip.instance_id, code = %code, wait_ms = wait.as_millis() as u64, attempt, "EC2 says not now; asking again");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// This run's snapshot of each of `volumes` that EC2 lists (the oldest, when a lost answer
    /// left two: the duplicate pass removes the other once it completes).
    async fn this_runs_snapshots(
        &self,
        keyword: &Keyword,
        volumes: &[CompactString],
        run: &str,
    ) -> Result<Vec<Snapshot>, Error> {
        let found = inventory::read_volumes_run_snapshots(&self.ec2, keyword, volumes, run).await?;
        let mut first: std::collections::BTreeMap<CompactString, Snapshot> = std::collections::BTreeMap::new();
        // EC2 filtered already; checked again so that nothing but this run's snapshots is adopted.
        for s in found.into_iter().filter(|s| {
            volumes.contains(&s.volume_id)
                && s.state != SnapshotState::Error
                && snapcycle_core::tags::tag_value(&s.tags, snapcycle_core::tags::TAG_RUN) == Some(run)
        }) {
            match first.get(&s.volume_id) {
                Some(held) if (held.start_time, &held.id) <= (s.start_time, &s.id) => {}
                _ => {
                    first.insert(s.volume_id.clone(), s);
                }
            }
        }
        Ok(first.into_values().collect())
    }

    /// One CreateSnapshots call: the set's volumes at one instant, the others left out.
    async fn create_set_once(
        &self,
        instance_id: &str,
        set: &SnapshotSet,
        tags: &[snapcycle_core::Tag],
        keyword: &Keyword,
    ) -> Result<Vec<Snapshot>, (String, String)> {
        let spec = snapshot_tags_spec(tags);
        let instance = InstanceSpecification::builder()
            .instance_id(instance_id)
            .exclude_boot_volume(set.exclude_boot)
            .set_exclude_data_volume_ids(
                (!set.exclude_data.is_empty()).then(|| set.exclude_data.iter().map(|v| v.to_string()).collect()),
            )
            .build();
        let sent = self
            .creates
            .create_snapshots()
            .instance_specification(instance)
            .description(&set.description)
            .tag_specifications(spec)
            .send()
            .await;
        // The plan reads only these tags; the rest of the copied instance tags are not kept.
        let kept: snapcycle_core::TagList =
            tags.iter().filter(|t| snapcycle_core::tags::read_by_plan(&t.key, keyword)).cloned().collect();
        match sent {
            Ok(out) => Ok(out
                .snapshots()
                .iter()
                .map(|i| Snapshot {
                    id: i.snapshot_id().unwrap_or_default().into(),
                    volume_id: i.volume_id().unwrap_or_default().into(),
                    owner_id: i.owner_id().unwrap_or_default().into(),
                    state: SnapshotState::from_ec2(i.state().map(|x| x.as_str()).unwrap_or("pending")),
                    start_time: to_chrono(i.start_time()),
                    encrypted: i.encrypted().unwrap_or(false),
                    tags: kept.clone(),
                })
                .collect()),
            Err(e) => Err((code_of(&e), message_of(&e))),
        }
    }

    /// Deletes `jobs`, starting none after `deadline`; returns how many were left.
    async fn delete_all(&self, jobs: Vec<Deletion<'_>>, report: &mut Report, deadline: Option<Deadline>) -> usize {
        let total = jobs.len();
        let mut started = 0usize;
        let mut results = stream::iter(jobs)
            .take_while(|_| std::future::ready(before(deadline)))
            .inspect(|_| started += 1)
            .map(|job| async move {
                let outcome = within(deadline, self.delete_one(job.snapshot_id)).await.unwrap_or(Deleted1::Later);
                (job, outcome)
            })
            .buffer_unordered(self.settings.max_concurrency.max(1));
        let mut later = 0;
        while let Some((job, outcome)) = results.next().await {
            if matches!(outcome, Deleted1::Later) {
                warn!(snapshot_id = %job.snapshot_id, "the delete ran out of time; left for the next invocation");
                later += 1;
            } else {
                record_deletion(&job, outcome, report);
            }
        }
        drop(results);
        total - started + later
    }

    async fn delete_one(&self, snapshot_id: &str) -> Deleted1 {
        match self.deletes.delete_snapshot().snapshot_id(snapshot_id).send().await {
            Ok(_) => Deleted1::Done,
            Err(e) => match code_of(&e).as_str() {
                "InvalidSnapshot.NotFound" => Deleted1::Gone,
                "InvalidSnapshot.InUse" => Deleted1::InUse(message_of(&e)),
                code => Deleted1::Fail { code: code.to_owned(), message: message_of(&e) },
            },
        }
    }

    /// The scheduled time of the run that Lambda request `request_id` started, if it took any
    /// snapshot: a retry of an event without `ScheduledTime` continues that run.
    pub async fn run_of_request(&self, keyword: &Keyword, request_id: &str) -> Result<Option<DateTime<Utc>>, Error> {
        let found = inventory::read_request_snapshots(&self.ec2, keyword, request_id).await?;
        Ok(found
            .iter()
            .filter_map(|s| snapcycle_core::tags::tag_value(&s.tags, snapcycle_core::tags::TAG_RUN))
            .filter_map(snapcycle_core::event::parse_time)
            .min())
    }

    /// Publishes the failure e-mail when a topic is configured; returns the message id. `origin`
    /// says where the whole report is (the Lambda's log group and request id).
    pub async fn notify(&self, report: &Report, origin: Option<&str>) -> Result<Option<String>, Error> {
        let Some(topic_arn) = &self.settings.topic_arn else {
            return Ok(None);
        };
        let (subject, body) = report.failure_message(origin);
        let out = self
            .sns
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(body)
            .send()
            .await
            .map_err(|source| Error::Publish { topic_arn: topic_arn.clone(), source })?;
        info!(topic_arn = %topic_arn, message_id = ?out.message_id(), "failure e-mail published");
        Ok(out.message_id().map(str::to_owned))
    }
}

/// Gives the free pages of glibc's heap back to the system, at the start of a run and once its
/// history is dropped: what earlier invocations and the pages' parsed answers freed stays
/// resident until trimmed, and the history and the streams' large buffers (mapped apart) would
/// add to it rather than reuse it.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only hands free pages of the allocator's arenas back to the kernel;
    // no allocation is moved or freed.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// This run's snapshots as the duplicate pass sees them: a snapshot EC2 lists again (`found`)
/// replaces the copy held (its state may have moved on), and one held that EC2 does not list yet
/// (the inventory's, or in `made`, just created) stays. Built by growing `found` (its buffer is
/// remapped, not copied): at 10,000 volumes each list is megabytes.
fn merge(inventory: &mut Inventory, made: Vec<Snapshot>, mut found: Vec<Snapshot>) {
    let listed: HashSet<CompactString> = found.iter().map(|s| s.id.clone()).collect();
    let unlisted: Vec<Snapshot> =
        std::mem::take(&mut inventory.snapshots).into_iter().chain(made).filter(|s| !listed.contains(&s.id)).collect();
    drop(listed);
    found.splice(0..0, unlisted);
    inventory.snapshots = found;
}

/// The deletions `pick` chooses from each volume's plan, with where they came from.
fn volume_deletions(
    plan: &snapcycle_core::Plan,
    pick: fn(&VolumePlan) -> &[CompactString],
) -> impl Iterator<Item = Deletion<'_>> {
    plan.volumes().flat_map(move |(ip, v)| {
        pick(v).iter().map(move |id| Deletion {
            instance_id: Some(&ip.instance_id),
            volume_id: &v.volume_id,
            snapshot_id: id,
            orphan: false,
        })
    })
}

/// Every snapshot `plan` deletes, rotation's and expired orphans'.
fn deletions_of(plan: &snapcycle_core::Plan) -> Vec<Deletion<'_>> {
    let rotation = volume_deletions(plan, |v| &v.delete);
    let orphans = plan.orphans.iter().flat_map(|o| {
        o.delete.iter().map(move |id| Deletion {
            instance_id: None,
            volume_id: &o.volume_id,
            snapshot_id: id,
            orphan: true,
        })
    });
    rotation.chain(orphans).collect()
}

/// Adds what one stream did to the run's report.
fn absorb(report: &mut Report, stream: Report) {
    report.created.extend(stream.created);
    report.deleted.extend(stream.deleted);
    report.orphans_deleted.extend(stream.orphans_deleted);
    report.copied.extend(stream.copied);
    report.copies_deleted.extend(stream.copies_deleted);
    report.skipped.extend(stream.skipped);
    report.failures.extend(stream.failures);
}

/// The TagSpecification that tags new snapshots (a set's, a copy's) with `tags` as they are created.
pub(crate) fn snapshot_tags_spec(tags: &[snapcycle_core::Tag]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(ResourceType::Snapshot)
        .set_tags(Some(
            tags.iter().map(|t| Ec2Tag::builder().key(t.key.as_str()).value(t.value.as_str()).build()).collect(),
        ))
        .build()
}

/// Whether new work may still start.
pub(crate) fn before(deadline: Option<Deadline>) -> bool {
    deadline.is_none_or(|d| Instant::now() < d.start_by)
}

/// Runs `f` to its end, or until the deadline's `finish_by` (`None`: abandoned, its work left).
pub(crate) async fn within<F: std::future::Future>(deadline: Option<Deadline>, f: F) -> Option<F::Output> {
    match deadline {
        None => Some(f.await),
        Some(d) => tokio::time::timeout_at(d.finish_by, f).await.ok(),
    }
}

fn record_creation(
    ip: &InstancePlan,
    volume_id: CompactString,
    outcome: Created1,
    made: &mut Vec<Snapshot>,
    report: &mut Report,
) {
    let instance_id = ip.instance_id.clone();
    match outcome {
        Created1::Done(s) => {
            info!(instance_id = %instance_id, volume_id = %volume_id, snapshot_id = %s.id, state = ?s.state, "snapshot created");
            report.created.push(Created { instance_id, volume_id, snapshot_id: Some(s.id.clone()) });
            made.push(s);
        }
        Created1::Later => {}
        Created1::Skip { code, message } => {
            warn!(instance_id = %instance_id, volume_id = %volume_id, code = %code, "snapshot not taken: {message}");
            report.skipped.push(Skipped {
                instance_id: Some(instance_id),
                volume_id: Some(volume_id),
                snapshot_id: None,
                reason: format!("{code}: {message}"),
            });
        }
        Created1::Fail { code, message } => {
            error!(instance_id = %instance_id, volume_id = %volume_id, code = %code, "snapshot failed: {message}");
            report.failures.push(Failure {
                instance_id: Some(instance_id),
                volume_id: Some(volume_id),
                snapshot_id: None,
                code,
                message: format!("creating the snapshot failed: {message}"),
            });
        }
    }
}

/// One snapshot to delete, with where it came from for the report.
struct Deletion<'a> {
    /// The instance whose rotation deletes it; `None` for an expired orphan.
    instance_id: Option<&'a str>,
    volume_id: &'a str,
    snapshot_id: &'a str,
    /// An orphan past the expiry: reported apart from rotation's deletions.
    orphan: bool,
}

fn record_deletion(job: &Deletion<'_>, outcome: Deleted1, report: &mut Report) {
    let (volume_id, id) = (job.volume_id, job.snapshot_id);
    let mut deleted = || {
        let d = Deleted { volume_id: volume_id.into(), snapshot_id: id.into(), reason: None };
        if job.orphan {
            report.orphans_deleted.push(d);
        } else {
            report.deleted.push(d);
        }
    };
    match outcome {
        Deleted1::Done => {
            info!(volume_id = %volume_id, snapshot_id = %id, orphan = job.orphan, "snapshot deleted");
            deleted();
        }
        Deleted1::Later => {}
        Deleted1::Gone => {
            info!(volume_id = %volume_id, snapshot_id = %id, "snapshot already gone; counted as deleted");
            deleted();
        }
        Deleted1::InUse(message) => {
            warn!(volume_id = %volume_id, snapshot_id = %id, "snapshot kept, an AMI uses it: {message}");
            report.skipped.push(Skipped {
                instance_id: job.instance_id.map(CompactString::from),
                volume_id: Some(volume_id.into()),
                snapshot_id: Some(id.into()),
                reason: format!("InvalidSnapshot.InUse: kept because an AMI uses it ({message})"),
            });
        }
        Deleted1::Fail { code, message } => {
            error!(volume_id = %volume_id, snapshot_id = %id, code = %code, "delete failed: {message}");
            report.failures.push(Failure {
                instance_id: job.instance_id.map(CompactString::from),
                volume_id: Some(volume_id.into()),
                snapshot_id: Some(id.into()),
                code,
                message: format!(
                    "deleting the {} failed: {message}",
                    if job.orphan { "expired orphan snapshot" } else { "snapshot" }
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_env(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn the_orphan_expiry_is_off_unless_set_and_a_bad_one_names_the_variable() {
        assert_eq!(settings(&[]).unwrap().orphans_expire_after, None);
        assert_eq!(settings(&[(ENV_ORPHANS_EXPIRE_AFTER, " ")]).unwrap().orphans_expire_after, None);
        let set = settings(&[(ENV_ORPHANS_EXPIRE_AFTER, "90d")]).unwrap();
        assert_eq!(set.orphans_expire_after.map(|e| e.to_string()).as_deref(), Some("90d"));
        let bad = settings(&[(ENV_ORPHANS_EXPIRE_AFTER, "90")]).unwrap_err().to_string();
        assert!(bad.starts_with("SNAPCYCLE_ORPHANS_EXPIRE_AFTER: \"90\" is not an age"), "{bad}");
    }
}

//! The run report: the Lambda's response, `snapcycle run --output json`, and the source of the
//! failure e-mail and the text table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::plan::{Create, Plan};
use crate::CompactString;

/// The outcome of one run, in the shape of the event contract's response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The keyword run.
    pub keyword: String,
    /// The run's identity, written as its run id (RFC 3339, UTC, whole seconds).
    #[serde(with = "run_time")]
    pub scheduled_time: DateTime<Utc>,
    /// True when nothing was changed.
    pub dry_run: bool,
    /// Instances tagged with the keyword.
    pub instances: usize,
    /// Their EBS volumes.
    pub volumes: usize,
    /// This run's snapshots read again after creating, to find a duplicate a retried creation
    /// left (it sets how many pages that costs). `None` when the invocation created nothing or
    /// handed over: the next invocation's history holds any duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_snapshots: Option<usize>,
    /// The keyword's history read at the start, this run's snapshots among them (they set how
    /// many pages an invocation reads); `None` when that read failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<usize>,
    /// Snapshots created (or, in a dry run, that would be).
    pub created: Vec<Created>,
    /// Snapshots deleted (or, in a dry run, that would be).
    pub deleted: Vec<Deleted>,
    /// In a dry run, every snapshot of the keyword that stays, with the term that keeps it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<Kept>,
    /// Orphans' snapshots deleted because they were older than the orphan expiry (or, in a dry
    /// run, that would be), apart from rotation's (README, "Orphans").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphans_deleted: Vec<Deleted>,
    /// In a dry run, every orphan's snapshot that stays, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphans_kept: Vec<Kept>,
    /// Copies started in other regions, one per completed snapshot and destination (README,
    /// "Copies to other regions").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copied: Vec<Copied>,
    /// Copies deleted by rotation in the destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copies_deleted: Vec<CopyDeleted>,
    /// Work deliberately not done, with the reason.
    pub skipped: Vec<Skipped>,
    /// What went wrong; a non-empty list makes the run fail and e-mails a person.
    pub failures: Vec<Failure>,
    /// AWS API calls made, per operation.
    pub api_calls: BTreeMap<String, u64>,
    /// Set when the run ran short of time and handed the rest to a new invocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued: Option<Continuation>,
    /// Set when the lists above were cut to their first [`MAX_LISTED_ENTRIES`] (the Lambda's
    /// response at fleet scale): every list's full length. The whole lists are in the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
}

/// The full length of each list of a report whose lists were cut ([`Report::bounded`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Snapshots created (or that would be).
    pub created: usize,
    /// Snapshots deleted by rotation (or that would be).
    pub deleted: usize,
    /// Snapshots a dry run keeps.
    pub kept: usize,
    /// Orphans' snapshots expired (or that would be).
    pub orphans_deleted: usize,
    /// Orphans' snapshots a dry run keeps.
    pub orphans_kept: usize,
    /// Copies started.
    #[serde(default)]
    pub copied: usize,
    /// Copies deleted by the destinations' rotation.
    #[serde(default)]
    pub copies_deleted: usize,
    /// Skips.
    pub skipped: usize,
    /// Failures.
    pub failures: usize,
}

/// A hand-over to a new invocation with the same scheduled time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// Creations or deletions not started, left for the next invocation.
    pub left: usize,
    /// Which invocation in the chain this one was (1 for the scheduled one).
    pub invocation: u32,
    /// Every creation was done and deletions were left: the next invocation reads the history
    /// at once.
    #[serde(default)]
    pub rotating: bool,
}

/// A snapshot created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The instance.
    pub instance_id: CompactString,
    /// The volume.
    pub volume_id: CompactString,
    /// The new snapshot; null in a dry run.
    pub snapshot_id: Option<CompactString>,
}

/// A snapshot deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// The volume it was taken from.
    pub volume_id: CompactString,
    /// The snapshot.
    pub snapshot_id: CompactString,
    /// In a dry run, why it goes (`delete: beyond weekly=4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A copy started in another region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copied {
    /// The source snapshot's volume.
    pub volume_id: CompactString,
    /// The source snapshot.
    pub snapshot_id: CompactString,
    /// The destination region.
    pub region: String,
    /// The copy (pending until EC2 has copied it).
    pub copy_id: CompactString,
}

/// A copy deleted by rotation in its region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyDeleted {
    /// The region the copy is in.
    pub region: String,
    /// The source volume.
    pub volume_id: CompactString,
    /// The copy.
    pub snapshot_id: CompactString,
}

/// A snapshot a dry run keeps, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// The volume it was taken from.
    pub volume_id: CompactString,
    /// The snapshot.
    pub snapshot_id: CompactString,
    /// Which term keeps it (`keep: daily 2026-11-30`, `keep: pending`).
    pub reason: String,
}

/// Work not done on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The instance, if the skip concerns one.
    pub instance_id: Option<CompactString>,
    /// The volume, if the skip concerns one.
    pub volume_id: Option<CompactString>,
    /// The snapshot, if the skip concerns one.
    pub snapshot_id: Option<CompactString>,
    /// Why, in words.
    pub reason: String,
}

/// Something that went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The instance, if known.
    pub instance_id: Option<CompactString>,
    /// The volume, if known.
    pub volume_id: Option<CompactString>,
    /// The snapshot, if known.
    pub snapshot_id: Option<CompactString>,
    /// AWS's error code, or the tool's own (`InvalidRetention`).
    pub code: String,
    /// AWS's message, or the tool's own, in words.
    pub message: String,
}

/// Longest SNS subject (Amazon SNS allows 100 characters).
pub const MAX_SUBJECT: usize = 99;
/// Failures listed in full in the e-mail; the rest are counted. With [`MAX_FAILURE_CHARS`] each,
/// the body stays far below SNS's 256 KiB (a Publish over it fails, and the e-mail is lost).
pub const MAX_LISTED_FAILURES: usize = 50;
/// Longest line for one failure in the e-mail (AWS messages are short; a transport error's
/// chain is not).
pub const MAX_FAILURE_CHARS: usize = 1000;
/// Error codes counted one per line in the e-mail.
pub const MAX_LISTED_CODES: usize = 20;
/// SNS's limit on a message: 256 KiB.
pub const MAX_SNS_MESSAGE_BYTES: usize = 256 * 1024;
/// Lambda's limit on a function's response: the Runtime API refuses a larger one with 413
/// ("Exceeded maximum allowed payload size (6291556 bytes)") and the invocation fails.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;
/// Entries kept per list in a bounded report. With every text clipped to
/// [`MAX_FAILURE_CHARS`], nine lists of this many stay far below [`MAX_RESPONSE_BYTES`]
/// whatever the fleet: a dry run of 100,000 volumes, or a hand-over that skips 100,000 volumes
/// already done, would otherwise answer with tens of megabytes and fail.
pub const MAX_LISTED_ENTRIES: usize = 1000;

impl Report {
    /// Starts a report from a plan: counts, and the skips and failures the plan itself decided.
    pub fn begin(plan: &Plan, dry_run: bool) -> Report {
        let mut r = Report {
            keyword: plan.keyword.to_string(),
            scheduled_time: plan.scheduled_time,
            dry_run,
            instances: plan.instance_count(),
            volumes: plan.volume_count(),
            ..Report::default()
        };
        for ip in &plan.instances {
            match &ip.problem {
                Some(p) if p.is_failure() => r.failures.push(Failure {
                    instance_id: Some(ip.instance_id.clone()),
                    volume_id: None,
                    snapshot_id: None,
                    code: p.code().unwrap_or("InvalidInput").into(),
                    message: format!("{p}; nothing of this instance was created or deleted"),
                }),
                Some(p) => r.skipped.push(Skipped {
                    instance_id: Some(ip.instance_id.clone()),
                    volume_id: None,
                    snapshot_id: None,
                    reason: p.to_string(),
                }),
                None => {}
            }
            for v in &ip.volumes {
                r.skipped.extend(v.locked.iter().map(|l| Skipped {
                    instance_id: Some(ip.instance_id.clone()),
                    volume_id: Some(v.volume_id.clone()),
                    snapshot_id: Some(l.snapshot_id.clone()),
                    reason: l.reason.clone(),
                }));
                let reason = match &v.create {
                    Create::New => continue,
                    Create::AlreadyDone { snapshot_id } => {
                        format!("already snapshotted by this run ({snapshot_id})")
                    }
                    Create::Covered { by_instance } => {
                        format!("volume also attached to {by_instance}, whose retention decides it")
                    }
                    Create::Held { by_instance } => format!(
                        "volume also attached to {by_instance}, whose retention or exclude-root tag is invalid; nothing of it was created or deleted"
                    ),
                    Create::Excluded { tag, value } => {
                        format!("excluded by {tag} = {value}: no snapshot taken, its snapshots of {} left alone", plan.keyword)
                    }
                    Create::BadExclusion { error } => {
                        r.failures.push(Failure {
                            instance_id: Some(ip.instance_id.clone()),
                            volume_id: Some(v.volume_id.clone()),
                            snapshot_id: None,
                            code: "InvalidExclusion".into(),
                            message: format!(
                                "tag {} of the volume: {error}; nothing of this volume was created or deleted",
                                crate::exclude::TAG_EXCLUDE
                            ),
                        });
                        continue;
                    }
                };
                r.skipped.push(Skipped {
                    instance_id: Some(ip.instance_id.clone()),
                    volume_id: Some(v.volume_id.clone()),
                    snapshot_id: None,
                    reason,
                });
            }
        }
        // A locked snapshot is a skip, not a failure: no e-mail, no retry, and the next run
        // reports it again until its lock ends.
        for o in &plan.orphans {
            r.skipped.extend(o.locked.iter().map(|l| Skipped {
                instance_id: None,
                volume_id: Some(o.volume_id.clone()),
                snapshot_id: Some(l.snapshot_id.clone()),
                reason: l.reason.clone(),
            }));
        }
        r
    }

    /// The report of a dry run: what a real run would create and delete now.
    pub fn dry_run(plan: &Plan) -> Report {
        let mut r = Report::begin(plan, true);
        for (ip, v) in plan.volumes() {
            if matches!(v.create, Create::New) {
                r.created.push(Created {
                    instance_id: ip.instance_id.clone(),
                    volume_id: v.volume_id.clone(),
                    snapshot_id: None,
                });
            }
            let why = |id: &str| v.reasons.iter().find(|r| r.snapshot_id == id).map(|r| r.reason.clone());
            for d in &v.delete {
                r.deleted.push(Deleted { volume_id: v.volume_id.clone(), snapshot_id: d.clone(), reason: why(d) });
            }
            for k in &v.keep {
                if let Some(reason) = why(k) {
                    r.kept.push(Kept { volume_id: v.volume_id.clone(), snapshot_id: k.clone(), reason });
                }
            }
        }
        for o in &plan.orphans {
            let why = |id: &str| o.reasons.iter().find(|r| r.snapshot_id == id).map(|r| r.reason.clone());
            for d in &o.delete {
                r.orphans_deleted.push(Deleted {
                    volume_id: o.volume_id.clone(),
                    snapshot_id: d.clone(),
                    reason: why(d),
                });
            }
            for k in &o.keep {
                if let Some(reason) = why(k) {
                    r.orphans_kept.push(Kept { volume_id: o.volume_id.clone(), snapshot_id: k.clone(), reason });
                }
            }
        }
        r
    }

    /// Puts every list in a stable order (instance, volume, snapshot): work finishes in any order
    /// under concurrency, but a report should read the same each time.
    pub fn sort(&mut self) {
        self.created.sort_by(|a, b| (&a.instance_id, &a.volume_id).cmp(&(&b.instance_id, &b.volume_id)));
        self.deleted.sort_by(|a, b| (&a.volume_id, &a.snapshot_id).cmp(&(&b.volume_id, &b.snapshot_id)));
        self.kept.sort_by(|a, b| (&a.volume_id, &a.snapshot_id).cmp(&(&b.volume_id, &b.snapshot_id)));
        self.orphans_deleted.sort_by(|a, b| (&a.volume_id, &a.snapshot_id).cmp(&(&b.volume_id, &b.snapshot_id)));
        self.orphans_kept.sort_by(|a, b| (&a.volume_id, &a.snapshot_id).cmp(&(&b.volume_id, &b.snapshot_id)));
        self.copied
            .sort_by(|a, b| (&a.region, &a.volume_id, &a.snapshot_id).cmp(&(&b.region, &b.volume_id, &b.snapshot_id)));
        self.copies_deleted
            .sort_by(|a, b| (&a.region, &a.volume_id, &a.snapshot_id).cmp(&(&b.region, &b.volume_id, &b.snapshot_id)));
        self.skipped.sort_by(|a, b| {
            (&a.instance_id, &a.volume_id, &a.snapshot_id).cmp(&(&b.instance_id, &b.volume_id, &b.snapshot_id))
        });
        self.failures.sort_by(|a, b| {
            (&a.instance_id, &a.volume_id, &a.snapshot_id).cmp(&(&b.instance_id, &b.volume_id, &b.snapshot_id))
        });
    }

    /// The report with every list cut to its first `max` entries and every message and reason
    /// clipped to [`MAX_FAILURE_CHARS`], and `counts` holding the full lengths; `None` when
    /// nothing needs cutting. Call after [`Report::sort`], so the entries kept are the first ones.
    pub fn bounded(&self, max: usize) -> Option<Report> {
        let lens = Counts {
            created: self.created.len(),
            deleted: self.deleted.len(),
            kept: self.kept.len(),
            orphans_deleted: self.orphans_deleted.len(),
            orphans_kept: self.orphans_kept.len(),
            copied: self.copied.len(),
            copies_deleted: self.copies_deleted.len(),
            skipped: self.skipped.len(),
            failures: self.failures.len(),
        };
        let long_text = self.failures.iter().any(|f| f.message.chars().count() > MAX_FAILURE_CHARS)
            || self.skipped.iter().any(|s| s.reason.chars().count() > MAX_FAILURE_CHARS);
        let longest = [
            lens.created,
            lens.deleted,
            lens.kept,
            lens.orphans_deleted,
            lens.orphans_kept,
            lens.copied,
            lens.copies_deleted,
            lens.skipped,
            lens.failures,
        ];
        if longest.iter().all(|&n| n <= max) && !long_text {
            return None;
        }
        fn first<T: Clone>(v: &[T], max: usize) -> Vec<T> {
            v.iter().take(max).cloned().collect()
        }
        let mut r = Report {
            created: first(&self.created, max),
            deleted: first(&self.deleted, max),
            kept: first(&self.kept, max),
            orphans_deleted: first(&self.orphans_deleted, max),
            orphans_kept: first(&self.orphans_kept, max),
            copied: first(&self.copied, max),
            copies_deleted: first(&self.copies_deleted, max),
            skipped: first(&self.skipped, max),
            failures: first(&self.failures, max),
            counts: Some(lens),
            ..self.clone_without_lists()
        };
        for f in &mut r.failures {
            f.message = clip(&f.message, MAX_FAILURE_CHARS);
        }
        for s in &mut r.skipped {
            s.reason = clip(&s.reason, MAX_FAILURE_CHARS);
        }
        Some(r)
    }

    /// Everything but the lists (which can be megabytes), for [`Report::bounded`].
    fn clone_without_lists(&self) -> Report {
        Report {
            keyword: self.keyword.clone(),
            scheduled_time: self.scheduled_time,
            dry_run: self.dry_run,
            instances: self.instances,
            volumes: self.volumes,
            run_snapshots: self.run_snapshots,
            snapshots: self.snapshots,
            api_calls: self.api_calls.clone(),
            continued: self.continued.clone(),
            counts: self.counts,
            ..Report::default()
        }
    }

    /// Whether a person must be told.
    pub fn has_failures(&self) -> bool {
        !self.failures.is_empty()
    }

    /// The failure e-mail: a subject under 100 characters naming the keyword and the count, and a
    /// body that always fits one SNS message: the counts per error code, the first
    /// [`MAX_LISTED_FAILURES`] failures in words, "and N more", and `origin`, where the whole
    /// report is (the Lambda's log group and request id).
    pub fn failure_message(&self, origin: Option<&str>) -> (String, String) {
        let n = self.failures.len();
        let noun = if n == 1 { "failure" } else { "failures" };
        let tail = format!(": {n} {noun}");
        let room = MAX_SUBJECT - "snapcycle ".len() - tail.len();
        let mut kw: String = self.keyword.chars().take(room).collect();
        if kw.chars().count() < self.keyword.chars().count() {
            kw.pop();
            kw.push('…');
        }
        let subject = format!("snapcycle {kw}{tail}");
        let mut body = String::new();
        let _ = writeln!(
            body,
            "snapcycle's {} run for the schedule {} ({}) had {n} {noun}.\n",
            if self.dry_run { "dry" } else { "scheduled" },
            self.keyword,
            crate::run_id(self.scheduled_time)
        );
        let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &self.failures {
            *by_code.entry(f.code.as_str()).or_default() += 1;
        }
        if by_code.len() > 1 {
            let _ = writeln!(body, "By error code:");
            for (code, count) in by_code.iter().take(MAX_LISTED_CODES) {
                let _ = writeln!(body, "  {}: {count}", clip(code, 100));
            }
            if by_code.len() > MAX_LISTED_CODES {
                let _ = writeln!(body, "  and {} more codes", by_code.len() - MAX_LISTED_CODES);
            }
            body.push('\n');
        }
        for (i, f) in self.failures.iter().take(MAX_LISTED_FAILURES).enumerate() {
            let _ = writeln!(body, "{}. {}", i + 1, clip(&describe_failure(f), MAX_FAILURE_CHARS));
        }
        if n > MAX_LISTED_FAILURES {
            let _ = writeln!(body, "and {} more failures.", n - MAX_LISTED_FAILURES);
        }
        let _ = writeln!(
            body,
            "\nIn all: {} instances, {} volumes, {} snapshots created, {} deleted{}, {} skipped.",
            self.instances,
            self.volumes,
            self.created.len(),
            self.deleted.len(),
            match (self.orphans_deleted.len(), self.copied.len(), self.copies_deleted.len()) {
                (0, 0, 0) => String::new(),
                (o, c, d) => format!(" (and {o} expired orphans; {c} copies started, {d} copies deleted)"),
            },
            self.skipped.len()
        );
        let _ = writeln!(body, "Nothing was deleted for an instance or volume listed above unless it says so.");
        if let Some(origin) = origin {
            let _ = writeln!(body, "{}", clip(origin, 1000));
        }
        (subject, body)
    }
}

/// `s` cut to `max` characters, with `…` when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn describe_failure(f: &Failure) -> String {
    let mut place = Vec::new();
    if let Some(i) = &f.instance_id {
        place.push(format!("instance {i}"));
    }
    if let Some(v) = &f.volume_id {
        place.push(format!("volume {v}"));
    }
    if let Some(s) = &f.snapshot_id {
        place.push(format!("snapshot {s}"));
    }
    let place = if place.is_empty() { "the run".to_string() } else { place.join(", ") };
    format!("{place}: {} ({})", f.message, f.code)
}

/// The report's scheduled time as its run id, the same text as the `snapcycle:run` tag.
/// A time as the `snapcycle:run` tag writes it (RFC 3339, UTC, whole seconds), for
/// `#[serde(with = "snapcycle_core::report::run_time")]` wherever a report-like output holds one.
pub mod run_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the run id.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::run_id(*t))
    }

    /// Reads an RFC 3339 time back.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(d)?;
        crate::event::parse_time(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("scheduled_time {raw:?} is not an RFC 3339 time")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str) -> Failure {
        Failure {
            instance_id: Some("i-1".into()),
            volume_id: Some("vol-1".into()),
            snapshot_id: None,
            code: code.into(),
            message: "You have reached the maximum number of concurrent snapshots.".into(),
        }
    }

    #[test]
    fn failure_subject_stays_under_one_hundred_characters() {
        let mut r = Report { keyword: "K".repeat(127), ..Report::default() };
        r.failures = vec![failure("X"), failure("Y")];
        let (subject, body) = r.failure_message(None);
        assert!(subject.chars().count() < 100, "{subject}");
        assert!(subject.ends_with(": 2 failures"));
        assert!(body.contains("instance i-1, volume vol-1: You have reached"), "{body}");
    }

    #[test]
    fn the_failure_email_fits_one_sns_message_whatever_the_fleet() {
        let mut r = Report { keyword: "SnapshotDaily".into(), ..Report::default() };
        for i in 0..1300 {
            let mut f = failure(if i % 3 == 0 { "UnauthorizedOperation" } else { "InvalidRetention" });
            f.instance_id = Some(format!("i-{i:017}").into());
            f.message = "x".repeat(5_000);
            r.failures.push(f);
        }
        let origin = "The whole report is in CloudWatch Logs, log group /aws/lambda/snap, request id 42.";
        let (subject, body) = r.failure_message(Some(origin));
        assert!(subject.ends_with(": 1300 failures"), "{subject}");
        assert!(body.len() < MAX_SNS_MESSAGE_BYTES / 2, "{} bytes", body.len());
        assert!(body.contains("  InvalidRetention: 866\n  UnauthorizedOperation: 434\n"), "{body}");
        assert!(body.contains("\n50. instance i-"), "the first 50 in full");
        assert!(!body.contains("\n51. "), "{body}");
        assert!(body.contains("and 1250 more failures."));
        assert!(body.ends_with(&format!("{origin}\n")));
    }

    #[test]
    fn a_bounded_report_fits_lambdas_response_whatever_the_fleet() {
        let mut r = Report { keyword: "K".repeat(127), dry_run: true, ..Report::default() };
        let n = 20_000;
        for i in 0..n {
            let (vol, snap): (CompactString, CompactString) =
                (format!("vol-{i:017x}").into(), format!("snap-{i:017x}").into());
            r.created.push(Created {
                instance_id: format!("i-{i:017x}").into(),
                volume_id: vol.clone(),
                snapshot_id: None,
            });
            let reason = Some("delete: beyond last=24 hourly=48 daily=31 weekly=52 monthly=120 yearly=10".to_owned());
            r.deleted.push(Deleted { volume_id: vol.clone(), snapshot_id: snap.clone(), reason: reason.clone() });
            r.orphans_deleted.push(Deleted { volume_id: vol.clone(), snapshot_id: snap.clone(), reason });
            let why =
                "keep: last 1, hourly 2026-11-26T07, daily 2026-11-26, weekly 2026-W48, monthly 2026-11".to_owned();
            r.kept.push(Kept { volume_id: vol.clone(), snapshot_id: snap.clone(), reason: why.clone() });
            r.orphans_kept.push(Kept { volume_id: vol.clone(), snapshot_id: snap.clone(), reason: why });
            // The entries a bounded report keeps carry the longest texts the run can make.
            let long = if i < MAX_LISTED_ENTRIES { 5_000 } else { 50 };
            let reason = "x".repeat(long);
            r.skipped.push(Skipped { instance_id: None, volume_id: Some(vol.clone()), snapshot_id: None, reason });
            let mut f = failure("UnauthorizedOperation");
            f.message = "y".repeat(long);
            r.failures.push(f);
        }
        assert!(serde_json::to_vec(&r).unwrap().len() > 2 * MAX_RESPONSE_BYTES, "the whole report is far too big");
        let b = r.bounded(MAX_LISTED_ENTRIES).expect("cut");
        let bytes = serde_json::to_vec(&b).unwrap().len();
        assert!(bytes < MAX_RESPONSE_BYTES / 2, "{bytes} bytes");
        let c = b.counts.unwrap();
        assert_eq!(
            (c.created, c.deleted, c.kept, c.orphans_deleted, c.orphans_kept, c.skipped, c.failures),
            (n, n, n, n, n, n, n)
        );
        assert_eq!(b.created.len(), MAX_LISTED_ENTRIES);
        assert_eq!(b.created[0], r.created[0], "the first entries are kept");
        assert!(b.failures[0].message.ends_with('…') && b.failures[0].message.chars().count() == MAX_FAILURE_CHARS);
        assert_eq!((b.keyword.as_str(), b.dry_run), (r.keyword.as_str(), true));
        // A small report is left as it is: no counts, nothing cut.
        let small = Report { created: r.created[..3].to_vec(), ..Report::default() };
        assert_eq!(small.bounded(MAX_LISTED_ENTRIES), None);
    }

    #[test]
    fn report_json_has_the_contract_fields() {
        let r = Report { keyword: "SnapshotDaily".into(), ..Report::default() };
        let v = serde_json::to_value(&r).unwrap();
        for k in [
            "keyword",
            "scheduled_time",
            "dry_run",
            "instances",
            "volumes",
            "created",
            "deleted",
            "skipped",
            "failures",
            "api_calls",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert!(v.get("continued").is_none());
    }
}

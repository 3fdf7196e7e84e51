//! The snapcycle stack as Rust types, rendered to a deterministic CloudFormation template.
//!
//! [`StackSpec`] says what the user chose (schedules, recipients, function size); [`render`] turns
//! it into the whole stack: one EventBridge rule per schedule, the Lambda function and its
//! least-privilege role, and the failure path (encrypted SNS topic, dead-letter queue, alarms).
//! Everything here is pure: no AWS calls, no clock, no environment, no files. The same spec always
//! renders byte-for-byte the same template, which is what `templates/snapcycle.json` holds.
//!
//! Keywords and schedule expressions are checked with `snapcycle-core`'s rules ([`Keyword`],
//! [`ScheduleExpression`]), the same ones the function applies, when a [`Schedule`] is built; the
//! tag keys and event fields the template names come from core too, so the stack and the function
//! cannot disagree about them.
//!
//! The Lambda's code location is *not* part of the spec: the template declares the parameters
//! [`ARTIFACT_BUCKET_PARAMETER`] and [`ARTIFACT_KEY_PARAMETER`] without defaults, and the deploy
//! command passes [`CodeLocation::parameter_values`]. So the checked-in template does not change
//! with every build's artifact hash, and a code-only update is a parameter change.

#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

use std::fmt;
use std::str::FromStr;

use snapcycle_core::{Keyword, KeywordError};
use snapcycle_schedule::{ScheduleError, ScheduleExpression};

pub mod cfn;
pub mod iam;
pub mod ids;
pub mod resources;
mod stack;

pub use cfn::Template;
pub use ids::{
    logical_id_for_keyword, permission_logical_id, rule_logical_id, rule_output_key, schedule_logical_id,
    schedule_output_key,
};

/// This crate's version, quoted in the template's `Description`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Template parameter holding the S3 bucket of the Lambda zip.
pub const ARTIFACT_BUCKET_PARAMETER: &str = "ArtifactBucket";
/// Template parameter holding the S3 key of the Lambda zip.
pub const ARTIFACT_KEY_PARAMETER: &str = "ArtifactKey";

/// Suffix of the function's physical name, `${AWS::StackName}-snapshots`.
pub const FUNCTION_NAME_SUFFIX: &str = "-snapshots";

/// Longest stack name that still gives a valid function name (Lambda allows 64 characters).
/// The deploy command should reject longer names before calling CloudFormation.
pub const MAX_STACK_NAME_LEN: usize = 64 - FUNCTION_NAME_SUFFIX.len();

pub use snapcycle_core::config::{
    ENV_COPY_RETENTION, ENV_COPY_TO, ENV_ENCRYPT, ENV_KEYWORDS, ENV_MAX_CONCURRENCY, ENV_ORPHANS_EXPIRE_AFTER,
    ENV_TIME_ZONE, ENV_TOPIC_ARN,
};
pub use snapcycle_core::copy::{CopyTarget, CopyTargetError, EncryptInPlace};

/// The value of [`ENV_ENCRYPT`] for encryption in place with the region's default EBS key (what
/// core's `parse_encrypt` reads as no key); with a key, the variable holds the key ARN.
pub const ENCRYPT_WITH_DEFAULT_KEY: &str = "default";
pub use snapcycle_core::RetentionPolicy;

/// Output key: the function's physical name.
pub const OUTPUT_FUNCTION_NAME: &str = "FunctionName";
/// Output key: the function's ARN.
pub const OUTPUT_FUNCTION_ARN: &str = "FunctionArn";
/// Output key: the failure topic's ARN.
pub const OUTPUT_TOPIC_ARN: &str = "TopicArn";
/// Output key: the dead-letter queue's URL.
pub const OUTPUT_QUEUE_URL: &str = "QueueUrl";
/// Output key: the days the Recycle Bin keeps a deleted snapshot of the stack's keywords (only
/// with [`StackSpec::recycle_bin_days`]); `deploy` reads it back to say what a redeploy changes.
pub const OUTPUT_RECYCLE_BIN_DAYS: &str = "RecycleBinRetentionDays";

/// The longest a Recycle Bin retention rule keeps a snapshot, in days (Recycle Bin API Reference,
/// RetentionPeriod: `RetentionPeriodValue`, "Minimum value of 1. Maximum value of 365"; the EBS
/// User Guide, "Create a Recycle Bin retention rule": "EBS snapshots and EBS-backed AMIs: 1 - 365
/// days". cfn-lint's schema allows 3650; the service's limit is the one that holds).
pub const MAX_RECYCLE_BIN_DAYS: u32 = 365;

/// The most tag key and value pairs one retention rule takes (EBS User Guide, "Recycle Bin
/// quotas": "Tag key and value pairs per retention rule", 50; cfn-lint's schema, `maxItems`):
/// one per keyword, so a stack with the Recycle Bin has at most this many schedules.
pub const MAX_RECYCLE_BIN_KEYWORDS: usize = 50;

/// The most regions one stack copies its snapshots to. Every destination adds its snapshot ARN to
/// the role's copy, tag and per-keyword delete statements (and a key to the KMS statements), and
/// the role's inline policies may hold at most 10,240 characters in all (IAM quotas, "Role policy
/// size"): ten destinations, each with a key of its own, with the classic two schedules come to
/// about 7,200 characters at most, ten schedules copying to five regions to about 10,000. Each
/// completion event also
/// costs one `CopySnapshot` per destination, in one invocation of a function that runs one at a
/// time. Ten is more than a disaster-recovery plan needs (Data Lifecycle Manager allows three
/// cross-Region copy rules per schedule); `render` also refuses a stack with copies whose role
/// policy would not fit ([`StackError::RolePolicyTooLarge`]).
pub const MAX_COPY_DESTINATIONS: usize = 10;

/// IAM's limit on the inline policies of one role, in characters without white space (IAM User
/// Guide, "IAM and AWS STS quotas": "Role policy size cannot exceed 10,240 characters").
pub const MAX_ROLE_POLICY_CHARS: usize = 10_240;

/// The partition a region is in, as botocore's `partitions.json` reads region names (its
/// `regionRegex` per partition): `cn-*` is `aws-cn`, `us-gov-*` is `aws-us-gov`, the isolated
/// regions are theirs, everything else is `aws`. A snapshot can be copied only within its
/// partition, so every copy destination must be in the partition of the stack's region.
pub fn partition_of(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 7] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-iso-", "aws-iso"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    PREFIXES.iter().find(|(prefix, _)| region.starts_with(prefix)).map_or("aws", |(_, partition)| partition)
}

/// The longest a Lambda invocation may run, in seconds; also the default timeout when every
/// schedule's interval is at least this long.
pub use snapcycle_core::config::MAX_TIMEOUT_SECONDS;

/// The retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// One schedule: a keyword (the tag key instances opt in with) and when it runs. Both parts are
/// parsed with `snapcycle-core`'s rules, so a `Schedule` is always one EventBridge and EC2 accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The tag key, such as `SnapshotDaily`.
    pub keyword: Keyword,
    /// When the rule fires; rendered in its canonical text (`Display`).
    pub expression: ScheduleExpression,
}

impl Schedule {
    /// Parses a schedule for `keyword` at `expression` (`rate(...)` or six-field `cron(...)`).
    /// The error names the keyword and keeps core's [`KeywordError`] or [`ScheduleError`] (which
    /// names the field at fault) as its source.
    pub fn new(keyword: &str, expression: &str) -> Result<Self, StackError> {
        let keyword = Keyword::new(keyword)
            .map_err(|source| StackError::InvalidKeyword { keyword: keyword.to_owned(), source })?;
        let expression = expression
            .parse()
            .map_err(|source| StackError::InvalidExpression { keyword: keyword.as_str().to_owned(), source })?;
        Ok(Self { keyword, expression })
    }

    /// The shortest time between two fires, in whole seconds; `None` when the schedule fires at
    /// most once (a cron limited to one time), which then bounds nothing.
    pub fn min_interval_seconds(&self) -> Option<u64> {
        self.expression.min_interval().and_then(|gap| u64::try_from(gap.num_seconds()).ok())
    }
}

/// Parses `KEYWORD=EXPRESSION`, the form of `snapcycle --schedule`, as in
/// `SnapshotDaily=cron(0 0 * * ? *)`. The text is split at its last `=`: a keyword may contain
/// `=` but no schedule expression does. Nothing is trimmed; surrounding spaces are refused as
/// [`Schedule::new`] refuses them.
impl FromStr for Schedule {
    type Err = StackError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (keyword, expression) =
            text.rsplit_once('=').ok_or_else(|| StackError::MalformedSchedule(text.to_owned()))?;
        Self::new(keyword, expression)
    }
}

/// Writes `KEYWORD=EXPRESSION`, which [`Schedule::from_str`] reads back.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.keyword, self.expression)
    }
}

/// The function timeout to use for `schedules`: [`MAX_TIMEOUT_SECONDS`], or the shortest interval
/// between two fires of any schedule if that is shorter, so a run ends before the next is due
/// (`rate(5 minutes)` gives 300). Schedules that fire at most once do not count; with none
/// left, the result is [`MAX_TIMEOUT_SECONDS`].
pub fn default_timeout(schedules: &[Schedule]) -> u32 {
    match stack::shortest_interval(schedules) {
        Some((_, seconds)) => u32::try_from(seconds).unwrap_or(u32::MAX).min(MAX_TIMEOUT_SECONDS),
        None => MAX_TIMEOUT_SECONDS,
    }
}

/// The function's instruction set; Graviton (`arm64`) is cheaper per GB-second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Architecture {
    /// AWS Graviton (the default).
    #[default]
    Arm64,
    /// Intel or AMD.
    X86_64,
}

impl Architecture {
    /// The name Lambda uses: `arm64` or `x86_64`.
    pub fn as_lambda_str(self) -> &'static str {
        match self {
            Self::Arm64 => "arm64",
            Self::X86_64 => "x86_64",
        }
    }
}

/// Reads the name Lambda uses, `arm64` or `x86_64` (exactly; no aliases).
impl FromStr for Architecture {
    type Err = StackError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "arm64" => Ok(Self::Arm64),
            "x86_64" => Ok(Self::X86_64),
            _ => Err(StackError::UnknownArchitecture(text.to_owned())),
        }
    }
}

/// Writes the name Lambda uses.
impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_lambda_str())
    }
}

/// Where the Lambda zip is in S3; passed as parameter values, not rendered into the template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeLocation {
    /// The bucket, in the stack's region.
    pub bucket: String,
    /// The object key.
    pub key: String,
}

impl CodeLocation {
    /// The `(parameter name, value)` pairs the deploy command passes to CloudFormation.
    pub fn parameter_values(&self) -> [(&'static str, &str); 2] {
        [(ARTIFACT_BUCKET_PARAMETER, &self.bucket), (ARTIFACT_KEY_PARAMETER, &self.key)]
    }
}

/// Everything the user chooses about the stack; [`render`] turns it into a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackSpec {
    /// The schedules, one EventBridge rule each, in the order they are rendered.
    pub schedules: Vec<Schedule>,
    /// Who gets failure e-mails; each address must confirm its subscription once.
    pub emails: Vec<String>,
    /// The function's instruction set.
    pub arch: Architecture,
    /// The function's memory in MB (128 to 10240).
    pub memory_mb: u32,
    /// Longest run of one invocation in seconds: 1 to [`MAX_TIMEOUT_SECONDS`] and at most the
    /// shortest schedule's interval, so a run ends before the next one is due.
    /// [`default_timeout`] picks the longest allowed value.
    pub timeout_seconds: u32,
    /// How long the function's logs are kept; one of [`LOG_RETENTION_DAYS`].
    pub log_retention_days: u32,
    /// The function's bound on concurrent EC2 calls (1 to 256, what the function accepts).
    pub max_concurrency: u32,
    /// Delete orphans' snapshots older than this, keeping each volume's newest (README,
    /// "Orphans"); `None`, the default, never deletes an orphan.
    pub orphans_expire_after: Option<snapcycle_core::OrphanExpiry>,
    /// The zone on whose clock the schedules fire and a policy's days begin. `None` (the default)
    /// keeps one EventBridge rule per schedule, on UTC; a zone (UTC included) makes each schedule
    /// an EventBridge Scheduler schedule in it and sets the function's `SNAPCYCLE_TIME_ZONE`.
    pub time_zone: Option<chrono_tz::Tz>,
    /// Keep each deleted snapshot of the stack's keywords in the EC2 Recycle Bin for this many
    /// days (1 to [`MAX_RECYCLE_BIN_DAYS`]), restorable with `snapcycle undo`: one tag-level
    /// `AWS::Rbin::Rule` with the pair `snapcycle:keyword = K` per keyword. `None` (the default)
    /// renders no rule, and a deletion is final. Snapshots in the bin are billed as snapshots.
    pub recycle_bin_days: Option<u32>,
    /// Copy every snapshot the function takes, once it has completed, to each of these regions,
    /// encrypted with the destination's key (or its default EBS key), at most
    /// [`MAX_COPY_DESTINATIONS`], all in one partition. A list, not a flag per region, because
    /// the function reads them as one value (`SNAPCYCLE_COPY_TO`, core's `parse_copy_targets`).
    /// Non-empty adds an EventBridge rule for EC2's snapshot completion events and the role's copy
    /// permissions; empty (the default) renders nothing of it. That no destination is the stack's
    /// own region is checked at deploy time: the template only knows `${AWS::Region}`.
    pub copy_to: Vec<CopyTarget>,
    /// The retention every copy is tagged with and rotated by (`SNAPCYCLE_COPY_RETENTION`), such
    /// as a longer one for the disaster-recovery region; `None` (the default) gives each copy its
    /// source's. Only with [`StackSpec::copy_to`]: without copies it would mean nothing.
    pub copy_retention: Option<RetentionPolicy>,
    /// Encrypt in place (`SNAPCYCLE_ENCRYPT`): every unencrypted snapshot the function takes is
    /// copied, once it has completed, encrypted in the stack's own region (with
    /// [`EncryptInPlace::kms_key`], a key ARN of that region, or the region's default EBS key), and
    /// the unencrypted original is deleted once the copy has completed. Adds the rule for EC2's
    /// completion events (matching completed copies too) and the role's in-place copy permissions;
    /// `None` (the default) renders nothing of it. Not with [`StackSpec::copy_to`]: the function
    /// refuses both. That the key is of the stack's region is checked by
    /// [`StackSpec::validate_in_region`]: the template only knows `${AWS::Region}`.
    pub encrypt: Option<EncryptInPlace>,
}

impl StackSpec {
    /// A spec for `schedules` with every other choice at its default: no recipients, a 128 MB
    /// Graviton function, 30 days of logs, 16 concurrent EC2 calls, and the timeout
    /// [`default_timeout`] picks for these schedules. Override fields with struct update syntax.
    ///
    /// ```
    /// use snapcycle_stack::{render_string, Schedule, StackSpec};
    ///
    /// // What `snapcycle render --schedule ... --email ... --arch x86_64` does.
    /// let flags = ["SnapshotFast=rate(5 minutes)", "SnapshotDaily=cron(0 0 * * ? *)"];
    /// let schedules = flags
    ///     .iter()
    ///     .map(|flag| flag.parse())
    ///     .collect::<Result<Vec<Schedule>, _>>()?;
    /// let spec = StackSpec {
    ///     emails: vec!["ops@example.com".to_owned()],
    ///     arch: "x86_64".parse()?,
    ///     ..StackSpec::for_schedules(schedules)
    /// };
    /// assert_eq!(spec.timeout_seconds, 300);
    /// let template = render_string(&spec)?;
    /// # assert!(template.contains("rate(5 minutes)"));
    /// # Ok::<(), snapcycle_stack::StackError>(())
    /// ```
    pub fn for_schedules(schedules: Vec<Schedule>) -> Self {
        Self {
            timeout_seconds: default_timeout(&schedules),
            schedules,
            emails: Vec::new(),
            arch: Architecture::Arm64,
            memory_mb: 128,
            log_retention_days: 30,
            max_concurrency: 16,
            orphans_expire_after: None,
            time_zone: None,
            recycle_bin_days: None,
            copy_to: Vec::new(),
            copy_retention: None,
            encrypt: None,
        }
    }
}

impl Default for StackSpec {
    /// The classic lab's two schedules, `SnapshotHourly` at `rate(1 hour)` and `SnapshotDaily` at
    /// `cron(0 0 * * ? *)`, with [`StackSpec::for_schedules`]'s defaults: the hourly interval is
    /// longer than 900 s, so the timeout is 900.
    fn default() -> Self {
        let classic =
            |keyword, expression| Schedule::new(keyword, expression).expect("the classic schedules are valid");
        Self::for_schedules(vec![
            classic("SnapshotHourly", "rate(1 hour)"),
            classic("SnapshotDaily", "cron(0 0 * * ? *)"),
        ])
    }
}

/// Why a spec cannot be rendered. Each variant names the offending value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// A stack without schedules would never run.
    #[error("the stack needs at least one schedule")]
    NoSchedules,
    /// `--schedule` text without the `=` between keyword and expression.
    #[error("schedule {0:?} is not KEYWORD=EXPRESSION, such as SnapshotDaily=cron(0 0 * * ? *)")]
    MalformedSchedule(String),
    /// The keyword cannot be an EC2 tag key, or is reserved; the source says why.
    #[error("schedule keyword {keyword:?} cannot be used")]
    InvalidKeyword {
        /// The keyword as given.
        keyword: String,
        /// Core's reason.
        #[source]
        source: KeywordError,
    },
    /// Two schedules share a keyword.
    #[error("schedule keyword {0:?} is listed more than once")]
    DuplicateKeyword(String),
    /// The expression is not one EventBridge accepts; the source quotes it and names the field
    /// at fault.
    #[error("schedule {keyword:?} has an expression EventBridge would refuse")]
    InvalidExpression {
        /// The schedule's keyword.
        keyword: String,
        /// Core's reason, holding the expression as given.
        #[source]
        source: ScheduleError,
    },
    /// Two different keywords derive the same CloudFormation logical id.
    #[error(
        "schedule keywords {first:?} and {second:?} both map to the CloudFormation logical id {logical_id}; rename one"
    )]
    LogicalIdCollision {
        /// The first keyword.
        first: String,
        /// The second keyword.
        second: String,
        /// The id they share.
        logical_id: String,
    },
    /// The recipient is not an e-mail address.
    #[error("{0:?} is not an e-mail address")]
    InvalidEmail(String),
    /// The recipient is listed twice.
    #[error("e-mail address {0:?} is listed more than once")]
    DuplicateEmail(String),
    /// A number is outside what Lambda or snapcycle accepts.
    #[error("{field} is {value}, outside {min}..={max}")]
    OutOfRange {
        /// The spec field.
        field: &'static str,
        /// The value given.
        value: u32,
        /// The smallest accepted value.
        min: u32,
        /// The largest accepted value.
        max: u32,
    },
    /// The timeout is longer than a schedule's shortest interval: a run could still be going when
    /// the next one is due. Names the schedule with the shortest interval.
    #[error(
        "timeout_seconds is {timeout_seconds}, but schedule {keyword:?} ({expression}) can fire \
         again after {}; a run must end before the next is due, so use at most \
         {interval_seconds}",
        describe_seconds(*interval_seconds)
    )]
    TimeoutExceedsInterval {
        /// The timeout given.
        timeout_seconds: u32,
        /// The schedule with the shortest interval.
        keyword: String,
        /// Its expression, in canonical form.
        expression: String,
        /// Its shortest interval between two fires, in seconds.
        interval_seconds: u64,
    },
    /// CloudWatch Logs only accepts certain retention periods.
    #[error("log retention of {0} days is not one CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)")]
    InvalidLogRetention(u32),
    /// A Recycle Bin retention rule takes at most [`MAX_RECYCLE_BIN_KEYWORDS`] tag pairs, one
    /// per keyword.
    #[error(
        "the Recycle Bin rule needs one tag pair per keyword, and a rule takes at most {max}; this \
         stack has {count} schedules (drop --recycle-bin-days or use fewer schedules)"
    )]
    TooManyKeywordsForRecycleBin {
        /// The number of schedules.
        count: usize,
        /// The most a rule takes.
        max: usize,
    },
    /// A copy destination that core's `parse_copy_targets` would refuse (not a region, a key that
    /// is not a KMS key ARN or is in another region, a region named twice); the source says which.
    #[error("copy destination {region:?} is refused")]
    InvalidCopyTarget {
        /// The destination as given.
        region: String,
        /// Core's reason.
        #[source]
        source: CopyTargetError,
    },
    /// More destinations than [`MAX_COPY_DESTINATIONS`].
    #[error("{count} copy destinations, more than the {max} a stack copies to")]
    TooManyCopyDestinations {
        /// The number given.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// Two destinations in different partitions: a snapshot is copied only within its partition,
    /// so they cannot both be reached from one stack's region.
    #[error(
        "--copy-to {first} is in partition {first_partition} and {second} in {second_partition}: a snapshot \
         can only be copied within its partition, so one stack cannot copy to both"
    )]
    CopyPartitions {
        /// The first destination.
        first: String,
        /// Its partition.
        first_partition: &'static str,
        /// The destination in another partition.
        second: String,
        /// Its partition.
        second_partition: &'static str,
    },
    /// A key named by an alias: IAM grants use of a KMS key only by its key ARN (KMS Developer
    /// Guide, "Specifying KMS keys in IAM policy statements"), and an alias can be moved to
    /// another key.
    #[error(
        "--copy-kms-key {region}={key}: give the key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID), not an \
         alias: the function's role is granted exactly that key (look it up with `aws kms describe-key \
         --key-id {key} --region {region}`)"
    )]
    CopyKeyAlias {
        /// The destination.
        region: String,
        /// The alias ARN given.
        key: String,
    },
    /// A key ARN of another partition than its region's.
    #[error("--copy-kms-key {region}={key}: the key's partition is not {partition}, the partition of {region}")]
    CopyKeyPartition {
        /// The destination.
        region: String,
        /// The key given.
        key: String,
        /// The region's partition.
        partition: &'static str,
    },
    /// `copy_retention` without destinations.
    #[error("--copy-retention needs --copy-to: without destinations there are no copies to keep")]
    CopyRetentionWithoutCopies,
    /// Both encryption in place and copies to other regions: the function refuses the two
    /// variables together.
    #[error(
        "--encrypt and --copy-to cannot be used together: the function either encrypts each snapshot in place \
         or copies it to other regions (where the copies are encrypted already), not both; choose one"
    )]
    EncryptWithCopies,
    /// An encryption key that core's `parse_encrypt` would refuse (not a KMS key ARN).
    #[error("--kms-key {key} is refused")]
    InvalidEncryptKey {
        /// The key as given.
        key: String,
        /// Core's reason.
        #[source]
        source: CopyTargetError,
    },
    /// An encryption key named by an alias, refused as [`StackError::CopyKeyAlias`] is.
    #[error(
        "--kms-key {key}: give the key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID), not an alias: the \
         function's role is granted exactly that key (look it up with `aws kms describe-key --key-id {key}`)"
    )]
    EncryptKeyAlias {
        /// The alias ARN given.
        key: String,
    },
    /// An encryption key ARN of another partition than its region's.
    #[error("--kms-key {key}: the key's partition is not {partition}, the partition of its region {region}")]
    EncryptKeyPartition {
        /// The key given.
        key: String,
        /// The key's region.
        region: String,
        /// That region's partition.
        partition: &'static str,
    },
    /// An encryption key that is not of the stack's region ([`StackSpec::validate_in_region`]):
    /// KMS keys are regional, and the copy is made in the stack's region.
    #[error(
        "--kms-key {key} is not a key of the stack's region {region}: snapshots are encrypted in place, in \
         {region}, so give a key ARN of {region} (arn:{partition}:kms:{region}:ACCOUNT:key/ID)"
    )]
    EncryptKeyRegion {
        /// The key given.
        key: String,
        /// The stack's region.
        region: String,
        /// The stack region's partition.
        partition: &'static str,
    },
    /// The role's inline policy would be longer than IAM accepts ([`MAX_ROLE_POLICY_CHARS`]);
    /// CloudFormation would fail creating the role.
    #[error(
        "the function's role policy would be about {chars} characters, more than the {max} IAM allows for a \
         role's inline policies (each schedule and each --copy-to destination adds to it, and --encrypt does): \
         use fewer schedules or copy destinations"
    )]
    RolePolicyTooLarge {
        /// The estimated size (an upper bound).
        chars: usize,
        /// IAM's limit.
        max: usize,
    },
    /// Not a Lambda architecture name.
    #[error("{0:?} is not a Lambda architecture; use arm64 or x86_64")]
    UnknownArchitecture(String),
    /// Two resources were given one logical id; a bug in this crate, reported rather than hidden.
    #[error("logical id {0} is used twice in the template")]
    DuplicateLogicalId(String),
}

/// `300` as `5 minutes (300 s)`: the unit a person would write, with the exact seconds.
fn describe_seconds(seconds: u64) -> String {
    let (count, unit) = match seconds {
        s if s > 0 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s > 0 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s > 0 && s % 60 == 0 => (s / 60, "minute"),
        s => return format!("{s} s"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural} ({seconds} s)")
}

impl StackSpec {
    /// Checks what would otherwise give a template that fails at deploy time (or, worse, one
    /// that deploys but cannot work), so `snapcycle render` fails early with a clear message.
    pub fn validate(&self) -> Result<(), StackError> {
        stack::validate(self)
    }

    /// Checks, besides [`StackSpec::validate`], what only the stack's `region` can tell: that the
    /// `--encrypt` key is a key of that region and its partition. `deploy` knows its region, and
    /// `render` when given one; the template itself only says `${AWS::Region}`.
    pub fn validate_in_region(&self, region: &str) -> Result<(), StackError> {
        self.validate()?;
        stack::validate_in_region(self, region)
    }
}

/// The stack for `spec` as a typed template.
pub fn template(spec: &StackSpec) -> Result<Template, StackError> {
    stack::build(spec)
}

/// The stack for `spec` as JSON. Keys keep their build order, so the value is deterministic.
pub fn render(spec: &StackSpec) -> Result<serde_json::Value, StackError> {
    let template = template(spec)?;
    Ok(serde_json::to_value(&template).expect("a template always serializes"))
}

/// The stack for `spec` as pretty-printed JSON with a trailing newline: what `snapcycle render`
/// prints and what `templates/snapcycle.json` holds.
pub fn render_string(spec: &StackSpec) -> Result<String, StackError> {
    let template = template(spec)?;
    let mut text = serde_json::to_string_pretty(&template).expect("a template always serializes");
    text.push('\n');
    Ok(text)
}

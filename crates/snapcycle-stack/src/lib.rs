//! The snapcycle stack as Rust types, rendered to a deterministic CloudFormation template.
//!
//! [`StackSpec`] says what the user chose (schedules, recipients, function size); [`render`] turns
//! it into the whole stack: one EventBridge rule per schedule, the Lambda function and its
//! least-privilege role, and the failure path (encrypted SNS topic, dead-letter queue, alarms).
//! Everything here is pure: no AWS calls, no clock, no environment, no files. The same spec always
//! renders byte-for-byte the same template, which is what `templates/snapcycle.json` holds.
//!
//! The Lambda's code location is *not* part of the spec: the template declares the parameters
//! [`ARTIFACT_BUCKET_PARAMETER`] and [`ARTIFACT_KEY_PARAMETER`] without defaults, and the deploy
//! command passes [`CodeLocation::parameter_values`]. So the checked-in template does not change
//! with every build's artifact hash, and a code-only update is a parameter change.

#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod cfn;
pub mod iam;
pub mod ids;
pub mod resources;
mod stack;

pub use cfn::Template;
pub use ids::{logical_id_for_keyword, permission_logical_id, rule_logical_id, rule_output_key};

/// This crate's version, quoted in the template's `Description`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Template parameter holding the S3 bucket of the Lambda zip.
pub const ARTIFACT_BUCKET_PARAMETER: &str = "ArtifactBucket";
/// Template parameter holding the S3 key of the Lambda zip.
pub const ARTIFACT_KEY_PARAMETER: &str = "ArtifactKey";

/// The tag the function puts on every snapshot it creates, naming the schedule keyword it was made
/// for. IAM only lets the function create snapshots carrying it and delete snapshots still
/// carrying it (together with the keyword tag itself), so this must match the function's marker.
pub const KEYWORD_TAG_KEY: &str = "snapcycle:keyword";

/// Tag keys under this prefix belong to snapcycle and cannot be schedule keywords.
pub const RESERVED_TAG_PREFIX: &str = "snapcycle:";

/// Suffix of the function's physical name, `${AWS::StackName}-snapshots`.
pub const FUNCTION_NAME_SUFFIX: &str = "-snapshots";

/// Longest stack name that still gives a valid function name (Lambda allows 64 characters).
/// The deploy command should reject longer names before calling CloudFormation.
pub const MAX_STACK_NAME_LEN: usize = 64 - FUNCTION_NAME_SUFFIX.len();

/// Environment variable with the ARN of the failure topic.
pub const ENV_TOPIC_ARN: &str = "SNAPCYCLE_TOPIC_ARN";
/// Environment variable with every schedule keyword, comma-separated (tag keys cannot hold commas).
pub const ENV_KEYWORDS: &str = "SNAPCYCLE_KEYWORDS";
/// Environment variable with the function's bound on concurrent EC2 calls.
pub const ENV_MAX_CONCURRENCY: &str = "SNAPCYCLE_MAX_CONCURRENCY";

/// Field of the scheduled event's input naming the keyword (the classic lab's spelling).
pub const INPUT_KEYWORD_FIELD: &str = "SnapshotKeyWord";
/// Field of the scheduled event's input holding the schedule's own `time`, so a retried or
/// duplicated delivery of the same run is recognised as such.
pub const INPUT_SCHEDULED_TIME_FIELD: &str = "ScheduledTime";

/// Output key: the function's physical name.
pub const OUTPUT_FUNCTION_NAME: &str = "FunctionName";
/// Output key: the function's ARN.
pub const OUTPUT_FUNCTION_ARN: &str = "FunctionArn";
/// Output key: the failure topic's ARN.
pub const OUTPUT_TOPIC_ARN: &str = "TopicArn";
/// Output key: the dead-letter queue's URL.
pub const OUTPUT_QUEUE_URL: &str = "QueueUrl";

/// The retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// One schedule: a keyword (the tag key instances opt in with) and when it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The tag key, such as `SnapshotDaily`.
    pub keyword: String,
    /// An EventBridge schedule expression, `rate(...)` or `cron(...)`, already validated.
    pub expression: String,
}

impl Schedule {
    /// A schedule for `keyword` at `expression`.
    pub fn new(keyword: impl Into<String>, expression: impl Into<String>) -> Self {
        Self {
            keyword: keyword.into(),
            expression: expression.into(),
        }
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
        [
            (ARTIFACT_BUCKET_PARAMETER, &self.bucket),
            (ARTIFACT_KEY_PARAMETER, &self.key),
        ]
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
    /// Longest run of one invocation in seconds (1 to 900); the caller keeps it at or below the
    /// shortest schedule interval so a run ends before the next one is due.
    pub timeout_seconds: u32,
    /// How long the function's logs are kept; one of [`LOG_RETENTION_DAYS`].
    pub log_retention_days: u32,
    /// The function's bound on concurrent EC2 calls (1 to 1000).
    pub max_concurrency: u32,
}

impl Default for StackSpec {
    /// The classic lab's two schedules on a small Graviton function: an hourly rate (3600 s) is
    /// longer than the 900 s timeout, so runs never overlap.
    fn default() -> Self {
        Self {
            schedules: vec![
                Schedule::new("SnapshotHourly", "rate(1 hour)"),
                Schedule::new("SnapshotDaily", "cron(0 0 * * ? *)"),
            ],
            emails: Vec::new(),
            arch: Architecture::Arm64,
            memory_mb: 128,
            timeout_seconds: 900,
            log_retention_days: 30,
            max_concurrency: 16,
        }
    }
}

/// Why a spec cannot be rendered. Each variant names the offending value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// A stack without schedules would never run.
    #[error("the stack needs at least one schedule")]
    NoSchedules,
    /// The keyword cannot be an EC2 tag key, or is reserved.
    #[error("schedule keyword {keyword:?} cannot be used: {reason}")]
    InvalidKeyword {
        /// The keyword as given.
        keyword: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two schedules share a keyword.
    #[error("schedule keyword {0:?} is listed more than once")]
    DuplicateKeyword(String),
    /// The expression is not an EventBridge schedule expression.
    #[error("schedule {keyword:?} has expression {expression:?}, which is neither rate(...) nor cron(...)")]
    InvalidExpression {
        /// The schedule's keyword.
        keyword: String,
        /// The expression as given.
        expression: String,
    },
    /// Two different keywords derive the same CloudFormation logical id.
    #[error("schedule keywords {first:?} and {second:?} both map to the CloudFormation logical id {logical_id}; rename one")]
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
    /// CloudWatch Logs only accepts certain retention periods.
    #[error("log retention of {0} days is not one CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)")]
    InvalidLogRetention(u32),
    /// Two resources were given one logical id; a bug in this crate, reported rather than hidden.
    #[error("logical id {0} is used twice in the template")]
    DuplicateLogicalId(String),
}

impl StackSpec {
    /// Checks what would otherwise give a template that fails at deploy time (or, worse, one
    /// that deploys but cannot work), so `snapcycle render` fails early with a clear message.
    pub fn validate(&self) -> Result<(), StackError> {
        stack::validate(self)
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

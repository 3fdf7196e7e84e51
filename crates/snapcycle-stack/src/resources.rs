//! The CloudFormation resource types the stack uses, each with the properties snapcycle sets.
//!
//! Property names follow the CloudFormation resource reference exactly (serde renames the Rust
//! field to PascalCase); a property snapcycle never sets is simply not modelled.

use serde::{Serialize, Serializer};

use crate::cfn::{Expr, OrderedMap};
use crate::iam::PolicyDocument;

/// One resource of the stack, tagged with its CloudFormation type.
#[derive(Clone, Debug, PartialEq)]
pub enum Resource {
    /// `AWS::KMS::Key`: the key that encrypts the notification topic.
    KmsKey(KmsKey),
    /// `AWS::SNS::Topic`: where failures are published.
    Topic(Topic),
    /// `AWS::SNS::TopicPolicy`: who besides the account's own principals may publish.
    TopicPolicy(TopicPolicy),
    /// `AWS::SNS::Subscription`: one e-mail recipient.
    Subscription(Subscription),
    /// `AWS::SQS::Queue`: the dead-letter queue for events that could not be processed.
    Queue(Queue),
    /// `AWS::SQS::QueuePolicy`: lets EventBridge park undeliverable events in the queue.
    QueuePolicy(QueuePolicy),
    /// `AWS::Logs::LogGroup`: the function's logs, with a retention.
    LogGroup(LogGroup),
    /// `AWS::IAM::Role`: the function's execution role.
    Role(Role),
    /// `AWS::Lambda::Function`: the snapshot function.
    Function(Box<Function>),
    /// `AWS::Lambda::EventInvokeConfig`: retries and failure destination of async invocations.
    EventInvokeConfig(EventInvokeConfig),
    /// `AWS::Lambda::Permission`: lets one rule invoke the function.
    Permission(Permission),
    /// `AWS::Events::Rule`: one schedule, on UTC.
    Rule(Rule),
    /// `AWS::Events::Rule` with an event pattern: EC2's snapshot completion events, for copies.
    EventRule(EventRule),
    /// `AWS::Scheduler::Schedule`: one schedule on a time zone's clock (EventBridge Scheduler).
    ScheduleInZone(Box<ScheduleInZone>),
    /// `AWS::CloudWatch::Alarm`: turns a metric into an e-mail.
    Alarm(Alarm),
    /// `AWS::Rbin::Rule`: keeps deleted snapshots of the stack's keywords restorable for a while.
    RecycleBinRule(RecycleBinRule),
}

impl Resource {
    /// The CloudFormation type name, such as `AWS::Lambda::Function`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::KmsKey(_) => "AWS::KMS::Key",
            Self::Topic(_) => "AWS::SNS::Topic",
            Self::TopicPolicy(_) => "AWS::SNS::TopicPolicy",
            Self::Subscription(_) => "AWS::SNS::Subscription",
            Self::Queue(_) => "AWS::SQS::Queue",
            Self::QueuePolicy(_) => "AWS::SQS::QueuePolicy",
            Self::LogGroup(_) => "AWS::Logs::LogGroup",
            Self::Role(_) => "AWS::IAM::Role",
            Self::Function(_) => "AWS::Lambda::Function",
            Self::EventInvokeConfig(_) => "AWS::Lambda::EventInvokeConfig",
            Self::Permission(_) => "AWS::Lambda::Permission",
            Self::Rule(_) | Self::EventRule(_) => "AWS::Events::Rule",
            Self::ScheduleInZone(_) => "AWS::Scheduler::Schedule",
            Self::Alarm(_) => "AWS::CloudWatch::Alarm",
            Self::RecycleBinRule(_) => "AWS::Rbin::Rule",
        }
    }
}

/// Serializes the properties only; `ResourceDecl` wraps them with `Type`.
impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::KmsKey(p) => p.serialize(serializer),
            Self::Topic(p) => p.serialize(serializer),
            Self::TopicPolicy(p) => p.serialize(serializer),
            Self::Subscription(p) => p.serialize(serializer),
            Self::Queue(p) => p.serialize(serializer),
            Self::QueuePolicy(p) => p.serialize(serializer),
            Self::LogGroup(p) => p.serialize(serializer),
            Self::Role(p) => p.serialize(serializer),
            Self::Function(p) => p.serialize(serializer),
            Self::EventInvokeConfig(p) => p.serialize(serializer),
            Self::Permission(p) => p.serialize(serializer),
            Self::Rule(p) => p.serialize(serializer),
            Self::EventRule(p) => p.serialize(serializer),
            Self::ScheduleInZone(p) => p.serialize(serializer),
            Self::Alarm(p) => p.serialize(serializer),
            Self::RecycleBinRule(p) => p.serialize(serializer),
        }
    }
}

/// Properties of `AWS::KMS::Key`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KmsKey {
    /// What the key protects, shown in the KMS console.
    pub description: String,
    /// Yearly automatic rotation of the key material.
    pub enable_key_rotation: bool,
    /// Who may use and manage the key.
    pub key_policy: PolicyDocument,
}

/// Properties of `AWS::SNS::Topic`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    /// The sender name in the e-mails.
    pub display_name: String,
    /// The KMS key that encrypts messages at rest.
    pub kms_master_key_id: Expr,
}

/// Properties of `AWS::SNS::TopicPolicy`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicPolicy {
    /// The topics (ARNs) the policy is attached to.
    pub topics: Vec<Expr>,
    /// The resource policy.
    pub policy_document: PolicyDocument,
}

/// Properties of `AWS::SNS::Subscription`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    /// The topic to subscribe to.
    pub topic_arn: Expr,
    /// The delivery protocol; snapcycle uses `email`.
    pub protocol: String,
    /// The e-mail address.
    pub endpoint: String,
}

/// Properties of `AWS::SQS::Queue`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Queue {
    /// How long a message is kept, in seconds.
    pub message_retention_period: u32,
    /// Encryption at rest with SQS-owned keys.
    pub sqs_managed_sse_enabled: bool,
}

/// Properties of `AWS::SQS::QueuePolicy`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueuePolicy {
    /// The queues (URLs, which is what `Ref` of a queue returns) the policy is attached to.
    pub queues: Vec<Expr>,
    /// The resource policy.
    pub policy_document: PolicyDocument,
}

/// Properties of `AWS::Logs::LogGroup`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    /// Days before log events expire.
    pub retention_in_days: u32,
}

/// Properties of `AWS::IAM::Role`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    /// What the role is for, shown in the IAM console.
    pub description: String,
    /// Who may assume the role.
    pub assume_role_policy_document: PolicyDocument,
    /// Inline policies, deleted together with the role.
    pub policies: Vec<InlinePolicy>,
}

/// One inline policy of a role.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    /// The policy's name, unique within the role.
    pub policy_name: String,
    /// The permissions.
    pub policy_document: PolicyDocument,
}

/// Properties of `AWS::Lambda::Function`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    /// The physical name; explicit so the role can name the function's ARN without a cycle.
    pub function_name: Expr,
    /// What the function does, shown in the Lambda console.
    pub description: String,
    /// The runtime; `provided.al2023` for a Rust `bootstrap` binary.
    pub runtime: String,
    /// The handler; ignored by custom runtimes but conventionally `bootstrap`.
    pub handler: String,
    /// The instruction set, exactly one of `arm64` and `x86_64`.
    pub architectures: Vec<String>,
    /// Memory in MB (CPU scales with it).
    pub memory_size: u32,
    /// Maximum run time of one invocation, in seconds.
    pub timeout: u32,
    /// The execution role's ARN.
    pub role: Expr,
    /// Where the deployment package is.
    pub code: Code,
    /// Log format and destination.
    pub logging_config: LoggingConfig,
    /// Environment variables.
    pub environment: Environment,
    /// Concurrency reserved for (and capping) the function.
    pub reserved_concurrent_executions: u32,
    /// `Allow` or `Terminate`: whether Lambda's recursive loop detection may stop the function's
    /// chain of self-invocations.
    pub recursive_loop: String,
    /// Where async events go after the last failed attempt.
    pub dead_letter_config: FunctionDeadLetterConfig,
}

/// The deployment package location of a function.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Code {
    /// The S3 bucket.
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Expr,
    /// The object key of the zip.
    #[serde(rename = "S3Key")]
    pub s3_key: Expr,
}

/// The logging configuration of a function.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    /// `JSON` or `Text`.
    pub log_format: String,
    /// The log group name.
    pub log_group: Expr,
}

/// The environment of a function.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    /// Variables by name, in a fixed order.
    pub variables: OrderedMap<Expr>,
}

/// The dead-letter configuration of a function.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionDeadLetterConfig {
    /// The queue or topic ARN.
    pub target_arn: Expr,
}

/// Properties of `AWS::Lambda::EventInvokeConfig`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfig {
    /// The function.
    pub function_name: Expr,
    /// The version or alias; `$LATEST` for an unversioned function.
    pub qualifier: String,
    /// Retries after a failed attempt (0 to 2).
    pub maximum_retry_attempts: u32,
    /// How long an event may wait in Lambda's queue before it is given up, in seconds.
    pub maximum_event_age_in_seconds: u32,
    /// Where failed events are sent.
    pub destination_config: DestinationConfig,
}

/// The destinations of an event invoke config.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    /// The destination for events that failed every attempt or expired.
    pub on_failure: OnFailure,
}

/// A failure destination.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OnFailure {
    /// The ARN of the topic, queue, function or bus.
    pub destination: Expr,
}

/// Properties of `AWS::Lambda::Permission`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    /// The action granted; `lambda:InvokeFunction`.
    pub action: String,
    /// The function.
    pub function_name: Expr,
    /// The service principal granted the action.
    pub principal: String,
    /// The only resource (here: rule) on whose behalf the principal may act.
    pub source_arn: Expr,
}

/// Properties of `AWS::Events::Rule`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    /// What the rule is for, shown in the EventBridge console.
    pub description: String,
    /// `rate(...)` or `cron(...)`.
    pub schedule_expression: String,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// What the rule invokes.
    pub targets: Vec<Target>,
}

/// One target of a rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    /// The target's id, unique within the rule.
    pub id: String,
    /// The target's ARN.
    pub arn: Expr,
    /// How the event is turned into the target's input.
    pub input_transformer: InputTransformer,
    /// Where events go that EventBridge could not deliver.
    pub dead_letter_config: TargetDeadLetterConfig,
}

/// Properties of an `AWS::Events::Rule` that matches events instead of firing on a schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventRule {
    /// What the rule is for, shown in the EventBridge console.
    pub description: String,
    /// The events it matches (an EventBridge event pattern). No `EventBusName`: the default bus,
    /// where AWS services deliver their events.
    pub event_pattern: serde_json::Value,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// What the rule invokes.
    pub targets: Vec<EventTarget>,
}

/// A target that receives the matched event itself: no `Input`, `InputPath` or
/// `InputTransformer`, so EventBridge passes the whole event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventTarget {
    /// The target's id, unique within the rule.
    pub id: String,
    /// The target's ARN.
    pub arn: Expr,
    /// How long and how often EventBridge retries a delivery the target refused.
    pub retry_policy: RetryPolicy,
    /// Where events go that EventBridge could not deliver.
    pub dead_letter_config: TargetDeadLetterConfig,
}

/// An input transformer: values picked from the event and a template to place them in.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputTransformer {
    /// Placeholder name to JSON path in the event.
    pub input_paths_map: OrderedMap<String>,
    /// The input, with `<name>` placeholders.
    pub input_template: String,
}

/// The dead-letter queue of a rule target.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetDeadLetterConfig {
    /// The queue's ARN.
    pub arn: Expr,
}

/// Properties of `AWS::Scheduler::Schedule`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleInZone {
    /// What the schedule is for, shown in the Scheduler console.
    pub description: String,
    /// `rate(...)` or `cron(...)`, the same grammar as a rule's.
    pub schedule_expression: String,
    /// The IANA zone on whose clock a cron is read (Scheduler's daylight-saving rules apply).
    pub schedule_expression_timezone: String,
    /// `OFF`: fire at the scheduled time, not somewhere in a window.
    pub flexible_time_window: FlexibleTimeWindow,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// What the schedule invokes, with what input, retries and dead-letter queue.
    pub target: ScheduleTarget,
}

/// A schedule's flexible time window.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlexibleTimeWindow {
    /// `OFF` or `FLEXIBLE`.
    pub mode: String,
}

/// The target of a Scheduler schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleTarget {
    /// The function's ARN (a templated Lambda target).
    pub arn: Expr,
    /// The role Scheduler assumes to invoke it (Scheduler has no resource-policy path to Lambda).
    pub role_arn: Expr,
    /// The JSON input, with `<aws.scheduler.scheduled-time>` where Scheduler puts the time.
    pub input: String,
    /// How long and how often Scheduler retries a failed delivery.
    pub retry_policy: RetryPolicy,
    /// Where deliveries go that failed every retry.
    pub dead_letter_config: TargetDeadLetterConfig,
}

/// A retry policy, of a Scheduler target or a rule's target (the same two fields in both).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryPolicy {
    /// Give up on a delivery this many seconds after its scheduled time (60 to 86,400).
    pub maximum_event_age_in_seconds: u32,
    /// Retries before the dead-letter queue (0 to 185).
    pub maximum_retry_attempts: u32,
}

/// Properties of `AWS::CloudWatch::Alarm`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    /// What the alarm means and what to do, quoted in the notification.
    pub alarm_description: String,
    /// The metric's namespace, such as `AWS/Lambda`.
    pub namespace: String,
    /// The metric's name, such as `Errors`.
    pub metric_name: String,
    /// The dimensions that select the metric's series.
    pub dimensions: Vec<Dimension>,
    /// How data points in a period are combined.
    pub statistic: Statistic,
    /// The period in seconds.
    pub period: u32,
    /// How many periods are evaluated.
    pub evaluation_periods: u32,
    /// The value compared against.
    pub threshold: u32,
    /// How the statistic is compared with the threshold.
    pub comparison_operator: ComparisonOperator,
    /// How periods without data count; `NotBreaching` for metrics that only exist on failure.
    pub treat_missing_data: TreatMissingData,
    /// What happens when the alarm fires.
    pub alarm_actions: Vec<Expr>,
}

/// How an alarm combines a period's data points (CloudWatch's `Statistic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Statistic {
    /// The average.
    Average,
    /// The largest value.
    Maximum,
    /// The smallest value.
    Minimum,
    /// The number of data points.
    SampleCount,
    /// The total.
    Sum,
}

/// How an alarm compares its statistic with the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ComparisonOperator {
    /// `>=`.
    GreaterThanOrEqualToThreshold,
    /// `>`.
    GreaterThanThreshold,
    /// `<`.
    LessThanThreshold,
    /// `<=`.
    LessThanOrEqualToThreshold,
}

/// How an alarm treats periods without data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    /// As breaching the threshold.
    Breaching,
    /// As within the threshold: for metrics that only exist when something failed.
    NotBreaching,
    /// Keep the alarm's state.
    Ignore,
    /// As missing: the alarm may go to INSUFFICIENT_DATA.
    Missing,
}

/// One dimension of an alarm's metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    /// The dimension's name, such as `FunctionName`.
    pub name: String,
    /// The dimension's value.
    pub value: Expr,
}

/// Properties of `AWS::Rbin::Rule` (CloudFormation template reference, "AWS::Rbin::Rule"): a
/// tag-level retention rule, which retains a deleted resource of its type that has at least one
/// of its tag key and value pairs ("Resources (of the specified type) that have at least one of
/// these tag key and value pairs are automatically retained in the Recycle Bin upon deletion").
///
/// Not modelled: `LockConfiguration` (only Region-level rules can be locked, EBS User Guide,
/// "Create a Recycle Bin retention rule"; a lock would also stop `snapcycle destroy` from
/// deleting the rule), `ExcludeResourceTags` (Region-level rules only, Recycle Bin API Reference,
/// UpdateRule), `Status` and `Tags`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecycleBinRule {
    /// What the rule is for, shown in the Recycle Bin console (at most 255 characters, no line
    /// breaks: `^[\S ]{0,255}$`).
    pub description: String,
    /// `EBS_SNAPSHOT`, `EC2_IMAGE` or `EBS_VOLUME`; snapcycle retains snapshots.
    pub resource_type: String,
    /// The pairs a deleted resource must have one of (at most 50 per rule, EBS User Guide,
    /// "Recycle Bin quotas"); cfn-lint requires both the key and the value of each.
    pub resource_tags: Vec<ResourceTag>,
    /// How long a retained resource stays restorable before it is deleted for good.
    pub retention_period: RetentionPeriod,
}

/// One tag key and value pair of a retention rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceTag {
    /// The tag key (1 to 128 characters).
    pub resource_tag_key: String,
    /// The tag value (0 to 256 characters).
    pub resource_tag_value: String,
}

/// A retention rule's retention period.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetentionPeriod {
    /// The number of units: 1 to 365 days (Recycle Bin API Reference, RetentionPeriod).
    pub retention_period_value: u32,
    /// `DAYS`, the only unit.
    pub retention_period_unit: String,
}

//! Builds the snapcycle template from a validated [`StackSpec`].

use std::collections::HashMap;

use snapcycle_core::copy::{
    format_copy_targets, kms_key_region, parse_copy_targets, parse_encrypt, CopyTarget, EncryptInPlace,
    TAG_SOURCE_REGION, TAG_SOURCE_SNAPSHOT,
};
use snapcycle_core::event::{FIELD_KEYWORD, FIELD_SCHEDULED_TIME};
use snapcycle_core::tags::TAG_KEYWORD;

use crate::cfn::{DeletionPolicy, Expr, Handle, OrderedMap, Output, Parameter, Pseudo, ResourceDecl, Template};
use crate::iam::{Condition, Operator, PolicyDocument, Principal, Statement};
use crate::ids;
use crate::resources::{
    Alarm, Code, ComparisonOperator, DestinationConfig, Dimension, Environment, EventInvokeConfig, EventRule,
    EventTarget, FlexibleTimeWindow, Function, FunctionDeadLetterConfig, InlinePolicy, InputTransformer, KmsKey,
    LogGroup, LoggingConfig, OnFailure, Permission, Queue, QueuePolicy, RecycleBinRule, Resource, ResourceTag,
    RetentionPeriod, RetryPolicy, Role, Rule, ScheduleInZone, ScheduleTarget, Statistic, Subscription, Target,
    TargetDeadLetterConfig, Topic, TopicPolicy, TreatMissingData,
};
use snapcycle_schedule::ScheduleExpression;

use crate::{
    partition_of, Schedule, StackError, StackSpec, ARTIFACT_BUCKET_PARAMETER, ARTIFACT_KEY_PARAMETER,
    ENCRYPT_WITH_DEFAULT_KEY, ENV_COPY_RETENTION, ENV_COPY_TO, ENV_ENCRYPT, ENV_KEYWORDS, ENV_MAX_CONCURRENCY,
    ENV_ORPHANS_EXPIRE_AFTER, ENV_TIME_ZONE, ENV_TOPIC_ARN, FUNCTION_NAME_SUFFIX, LOG_RETENTION_DAYS,
    MAX_COPY_DESTINATIONS, MAX_RECYCLE_BIN_DAYS, MAX_RECYCLE_BIN_KEYWORDS, MAX_ROLE_POLICY_CHARS, MAX_TIMEOUT_SECONDS,
    OUTPUT_FUNCTION_ARN, OUTPUT_FUNCTION_NAME, OUTPUT_QUEUE_URL, OUTPUT_RECYCLE_BIN_DAYS, OUTPUT_TOPIC_ARN, VERSION,
};

// Fixed logical ids. None starts with "Schedule" or "EmailSubscription", the prefixes of the
// derived ids, so the two sets cannot meet.
const KEY: &str = "NotificationKey";
const TOPIC: &str = "FailureTopic";
const TOPIC_POLICY: &str = "FailureTopicPolicy";
const QUEUE: &str = "DeadLetterQueue";
const QUEUE_POLICY: &str = "DeadLetterQueuePolicy";
const LOG_GROUP: &str = "FunctionLogGroup";
const ROLE: &str = "FunctionRole";
const FUNCTION: &str = "Function";
const INVOKE_CONFIG: &str = "FunctionEventInvokeConfig";
const QUEUE_ALARM: &str = "DeadLetterQueueAlarm";
const SCHEDULER_ROLE: &str = "EventSchedulerRole";
const RECYCLE_BIN_RULE: &str = "RecycleBinRule";
const COPY_RULE: &str = "SnapshotCompletedRule";
const COPY_PERMISSION: &str = "SnapshotCompletedPermission";

/// Service principals. These services use the global `<service>.amazonaws.com` form in every
/// partition, aws-cn included (IAM in China rejects `lambda.amazonaws.com.cn` as an invalid
/// principal; the remaining `.amazonaws.com.cn` exceptions, such as ec2, are not used here).
const LAMBDA_PRINCIPAL: &str = "lambda.amazonaws.com";
const EVENTS_PRINCIPAL: &str = "events.amazonaws.com";
const CLOUDWATCH_PRINCIPAL: &str = "cloudwatch.amazonaws.com";
const SCHEDULER_PRINCIPAL: &str = "scheduler.amazonaws.com";

/// How often EventBridge Scheduler retries a delivery it could not make (Lambda throttled or
/// unreachable) before the dead-letter queue gets it: its most, as for a rule's target. Runs are
/// idempotent per scheduled time, so a late delivery only finishes what is left. The copy rule's
/// target retries as often: a copy started late is still a copy (the function copies each source
/// once per destination, whoever delivers it).
const SCHEDULER_RETRIES: u32 = 185;

/// The events that say a snapshot has completed, on the default bus (EBS User Guide, "Amazon
/// EventBridge events for Amazon EBS", <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-cloud-watch-events.html>,
/// "EBS snapshot events"): `createSnapshot` comes as `detail-type` "EBS Snapshot Notification" and
/// `createSnapshots` (a multi-volume set, which is what the function takes) as "EBS Multi-Volume
/// Snapshots Completion Status", both from `source` "aws.ec2" with `detail.event` naming the action
/// and `detail.result` "succeeded" or "failed". A set whose snapshots did not all complete comes
/// as "failed" and is not copied. Only the event names and result are matched: EC2 events carry
/// no tags, so the function checks each snapshot's marker before it copies.
///
/// With encryption in place the pattern also takes `copySnapshot` (detail-type "EBS Snapshot
/// Notification", the same guide's "Copy snapshot" event) that succeeded: a copy completed, and
/// the function deletes the unencrypted original it replaces (after checking that the copy is
/// an encrypted copy in place of it, marked for one of its keywords). Without it a completed copy
/// is not matched: a copy into this region must not be copied on.
fn copy_event_pattern(encrypt: bool) -> serde_json::Value {
    let events: &[&str] = if encrypt {
        &["createSnapshot", "createSnapshots", "copySnapshot"]
    } else {
        &["createSnapshot", "createSnapshots"]
    };
    serde_json::json!({
        "source": ["aws.ec2"],
        "detail-type": ["EBS Snapshot Notification", "EBS Multi-Volume Snapshots Completion Status"],
        "detail": {
            "event": events,
            "result": ["succeeded"],
        },
    })
}

/// SQS keeps a message at most 14 days; the dead-letter queue keeps them that long.
const QUEUE_RETENTION_SECONDS: u32 = 1_209_600;
/// Lambda retries a failed async invocation twice (the most it allows) before the failure
/// destination and the dead-letter queue get the event.
const ASYNC_RETRIES: u32 = 2;
/// How long an event may wait in Lambda's internal queue. With reserved concurrency 1, a
/// schedule firing while a run (up to 900 s, plus any continuation it invokes) is in progress
/// waits here; six hours (the maximum) lets a backlog drain instead of being dropped, and a late
/// run is harmless because the function recognises runs by `ScheduledTime`.
const MAX_EVENT_AGE_SECONDS: u32 = 21_600;
/// Alarm period: a failure is e-mailed within minutes, and a burst of errors is one e-mail.
const ALARM_PERIOD_SECONDS: u32 = 300;

/// The most concurrent EC2 calls the function accepts in `SNAPCYCLE_MAX_CONCURRENCY`; a larger
/// value would deploy a function that refuses to start.
const MAX_CONCURRENCY: u32 = snapcycle_core::config::MAX_CONCURRENCY as u32;

pub(crate) fn validate(spec: &StackSpec) -> Result<(), StackError> {
    if spec.schedules.is_empty() {
        return Err(StackError::NoSchedules);
    }
    // Keywords and expressions were parsed when each `Schedule` was built; what is left are the
    // rules about the list as a whole.
    let mut by_logical_id: HashMap<String, &str> = HashMap::new();
    for schedule in &spec.schedules {
        let keyword = schedule.keyword.as_str();
        let logical_id = ids::logical_id_for_keyword(keyword);
        if let Some(first) = by_logical_id.insert(logical_id.clone(), keyword) {
            return Err(if first == keyword {
                StackError::DuplicateKeyword(keyword.to_owned())
            } else {
                StackError::LogicalIdCollision { first: first.to_owned(), second: keyword.to_owned(), logical_id }
            });
        }
    }
    let mut seen_emails: Vec<&str> = Vec::new();
    for email in &spec.emails {
        validate_email(email)?;
        if seen_emails.contains(&email.as_str()) {
            return Err(StackError::DuplicateEmail(email.clone()));
        }
        seen_emails.push(email);
    }
    in_range("memory_mb", spec.memory_mb, 128, 10_240)?;
    in_range("timeout_seconds", spec.timeout_seconds, 1, MAX_TIMEOUT_SECONDS)?;
    if let Some((schedule, interval_seconds)) = shortest_interval(&spec.schedules) {
        if u64::from(spec.timeout_seconds) > interval_seconds {
            return Err(StackError::TimeoutExceedsInterval {
                timeout_seconds: spec.timeout_seconds,
                keyword: schedule.keyword.as_str().to_owned(),
                expression: schedule.expression.to_string(),
                interval_seconds,
            });
        }
    }
    in_range("max_concurrency", spec.max_concurrency, 1, MAX_CONCURRENCY)?;
    if !LOG_RETENTION_DAYS.contains(&spec.log_retention_days) {
        return Err(StackError::InvalidLogRetention(spec.log_retention_days));
    }
    validate_copies(spec)?;
    validate_encrypt(spec)?;
    if let Some(days) = spec.recycle_bin_days {
        in_range("recycle_bin_days", days, 1, MAX_RECYCLE_BIN_DAYS)?;
        if spec.schedules.len() > MAX_RECYCLE_BIN_KEYWORDS {
            return Err(StackError::TooManyKeywordsForRecycleBin {
                count: spec.schedules.len(),
                max: MAX_RECYCLE_BIN_KEYWORDS,
            });
        }
    }
    Ok(())
}

/// The copy destinations are what the function will accept (core's own parser reads them back
/// from the environment the template sets), at most [`MAX_COPY_DESTINATIONS`], in one partition,
/// each key an ARN of its region's partition that IAM can name; a copy retention comes with them.
fn validate_copies(spec: &StackSpec) -> Result<(), StackError> {
    if spec.copy_to.is_empty() {
        return match spec.copy_retention {
            Some(_) => Err(StackError::CopyRetentionWithoutCopies),
            None => Ok(()),
        };
    }
    if spec.copy_to.len() > MAX_COPY_DESTINATIONS {
        return Err(StackError::TooManyCopyDestinations { count: spec.copy_to.len(), max: MAX_COPY_DESTINATIONS });
    }
    let mut seen: Vec<&CopyTarget> = Vec::new();
    for target in &spec.copy_to {
        // One at a time through core's parser, then the list: each error names its entry.
        let alone = parse_copy_targets(&format_copy_targets(std::slice::from_ref(target)));
        let with_seen = || {
            let mut list: Vec<CopyTarget> = seen.iter().map(|t| (*t).clone()).collect();
            list.push(target.clone());
            parse_copy_targets(&format_copy_targets(&list))
        };
        match alone.and_then(|parsed| with_seen().map(|_| parsed)) {
            Ok(parsed) if parsed.as_slice() == std::slice::from_ref(target) => {}
            Ok(_) => {
                // Surrounding spaces or commas: parsing gave something else than was given.
                return Err(StackError::InvalidCopyTarget {
                    region: target.region.clone(),
                    source: snapcycle_core::copy::CopyTargetError::Region(target.region.clone()),
                });
            }
            Err(source) => return Err(StackError::InvalidCopyTarget { region: target.region.clone(), source }),
        }
        let partition = partition_of(&target.region);
        if let Some(first) = seen.iter().find(|t| partition_of(&t.region) != partition) {
            return Err(StackError::CopyPartitions {
                first: first.region.clone(),
                first_partition: partition_of(&first.region),
                second: target.region.clone(),
                second_partition: partition,
            });
        }
        if let Some(key) = &target.kms_key {
            let mut parts = key.splitn(6, ':');
            let key_partition = parts.nth(1).unwrap_or_default();
            if parts.nth(3).is_some_and(|resource| resource.starts_with("alias/")) {
                return Err(StackError::CopyKeyAlias { region: target.region.clone(), key: key.clone() });
            }
            if key_partition != partition {
                return Err(StackError::CopyKeyPartition {
                    region: target.region.clone(),
                    key: key.clone(),
                    partition,
                });
            }
        }
        seen.push(target);
    }
    Ok(())
}

/// Encryption in place is what the function accepts: not with copies to other regions, and a key
/// that core's `parse_encrypt` reads back as given, by its key ARN (not an alias, as for
/// `--copy-kms-key`), in the partition of its own region.
fn validate_encrypt(spec: &StackSpec) -> Result<(), StackError> {
    let Some(encrypt) = &spec.encrypt else { return Ok(()) };
    if !spec.copy_to.is_empty() {
        return Err(StackError::EncryptWithCopies);
    }
    let Some(key) = &encrypt.kms_key else { return Ok(()) };
    match parse_encrypt(key) {
        Ok(Some(parsed)) if parsed == *encrypt => {}
        Ok(_) => {
            // Surrounding spaces, or `default`: parsing gave something else than was given.
            return Err(StackError::InvalidEncryptKey {
                key: key.clone(),
                source: snapcycle_core::copy::CopyTargetError::Key {
                    region: "encryption in place".to_owned(),
                    key: key.clone(),
                },
            });
        }
        Err(source) => return Err(StackError::InvalidEncryptKey { key: key.clone(), source }),
    }
    let mut parts = key.splitn(6, ':');
    let key_partition = parts.nth(1).unwrap_or_default();
    if parts.nth(3).is_some_and(|resource| resource.starts_with("alias/")) {
        return Err(StackError::EncryptKeyAlias { key: key.clone() });
    }
    let region = kms_key_region(key).unwrap_or_default();
    if key_partition != partition_of(region) {
        return Err(StackError::EncryptKeyPartition {
            key: key.clone(),
            region: region.to_owned(),
            partition: partition_of(region),
        });
    }
    Ok(())
}

/// What only the stack's region tells (`StackSpec::validate_in_region`): the encryption key is a
/// key of that region, so of its partition too. A copy in place is made in the stack's region,
/// and KMS keys are regional.
pub(crate) fn validate_in_region(spec: &StackSpec, region: &str) -> Result<(), StackError> {
    let Some(key) = spec.encrypt.as_ref().and_then(|e| e.kms_key.as_ref()) else { return Ok(()) };
    // `validate` has checked the key's partition against its region's.
    if kms_key_region(key) != Some(region) {
        return Err(StackError::EncryptKeyRegion {
            key: key.clone(),
            region: region.to_owned(),
            partition: partition_of(region),
        });
    }
    Ok(())
}

/// The schedule that can fire again soonest, with that interval in seconds (the first such
/// schedule on a tie); `None` when every schedule fires at most once.
pub(crate) fn shortest_interval(schedules: &[Schedule]) -> Option<(&Schedule, u64)> {
    schedules.iter().filter_map(|s| Some((s, s.min_interval_seconds()?))).min_by_key(|&(_, seconds)| seconds)
}

fn validate_email(email: &str) -> Result<(), StackError> {
    let well_formed = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c == ',')
        }
        None => false,
    };
    if well_formed {
        Ok(())
    } else {
        Err(StackError::InvalidEmail(email.to_owned()))
    }
}

fn in_range(field: &'static str, value: u32, min: u32, max: u32) -> Result<(), StackError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(StackError::OutOfRange { field, value, min, max })
    }
}

/// Accumulates resources and reports a duplicate id instead of dropping a resource. Each
/// resource is added before anything that refers to it, since a reference needs its handle:
/// the template reads in dependency order.
struct Builder {
    template: Template,
}

impl Builder {
    fn add(&mut self, id: impl Into<String>, resource: impl Into<ResourceDecl>) -> Result<Handle, StackError> {
        let id = id.into();
        self.template.add_resource(id.clone(), resource).ok_or(StackError::DuplicateLogicalId(id))
    }

    fn output(
        &mut self,
        key: impl Into<String>,
        description: impl Into<String>,
        value: Expr,
    ) -> Result<(), StackError> {
        let key = key.into();
        let output = Output { description: description.into(), value };
        if self.template.outputs.insert(key.clone(), output) {
            Ok(())
        } else {
            Err(StackError::DuplicateLogicalId(key))
        }
    }
}

pub(crate) fn build(spec: &StackSpec) -> Result<Template, StackError> {
    validate(spec)?;
    let keywords: Vec<&str> = spec.schedules.iter().map(|s| s.keyword.as_str()).collect();

    let mut b = Builder {
        template: Template {
            description: format!(
                "snapcycle {VERSION}: tag-driven EBS snapshots on EventBridge schedules, run by a \
                 Rust Lambda, failures e-mailed through SNS. Generated by `snapcycle render`; do \
                 not edit by hand."
            ),
            ..Template::default()
        },
    };
    let artifact = add_parameters(&mut b.template)?;

    // Failure path first: everything else points at it. The stateful resources say explicitly
    // that they go with the stack: `snapcycle destroy` removes everything it made (the key is
    // only scheduled for deletion, after KMS's 30-day waiting period), and nothing in them is
    // worth keeping once the tool is gone: the snapshots themselves are not stack resources.
    let key = b.add(
        KEY,
        ResourceDecl::from(Resource::KmsKey(notification_key())).with_deletion_policy(DeletionPolicy::Delete),
    )?;
    let topic = b.add(
        TOPIC,
        Resource::Topic(Topic { display_name: "snapcycle".to_owned(), kms_master_key_id: key.reference() }),
    )?;
    for email in &spec.emails {
        b.add(
            ids::subscription_logical_id(email),
            Resource::Subscription(Subscription {
                topic_arn: topic.reference(),
                protocol: "email".to_owned(),
                endpoint: email.clone(),
            }),
        )?;
    }
    let queue = b.add(
        QUEUE,
        ResourceDecl::from(Resource::Queue(Queue {
            message_retention_period: QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled: true,
        }))
        .with_deletion_policy(DeletionPolicy::Delete)
        .skip_check(
            "CKV_AWS_27",
            "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which the check does not \
             recognise. Not KMS: the last-resort failure path should not depend on a key policy \
             that EventBridge dead-lettering would also need.",
        ),
    )?;

    // The function.
    let log_group = b.add(
        LOG_GROUP,
        ResourceDecl::from(Resource::LogGroup(LogGroup { retention_in_days: spec.log_retention_days }))
            .with_deletion_policy(DeletionPolicy::Delete)
            .skip_check(
                "CKV_AWS_158",
                "Logs are encrypted at rest by CloudWatch Logs already and hold no secrets (instance, \
             volume and snapshot ids, error messages); a customer key would need a regional \
             logs principal in its policy and could stop logging if the key were disabled.",
            ),
    )?;
    let failure_path = FailurePath { key, topic, queue };
    let role_properties = execution_role(&keywords, &spec.copy_to, spec.encrypt.as_ref(), &failure_path, &log_group);
    // Copies add to every delete statement, and encryption in place lists the keywords twice more.
    // Checked only with either, so a stack without them renders as before (though about 27
    // schedules already exceed IAM's limit without copies).
    if !spec.copy_to.is_empty() || spec.encrypt.is_some() {
        check_role_policy_size(&role_properties)?;
    }
    let role = b.add(ROLE, Resource::Role(role_properties))?;
    let wiring = FunctionWiring { role, log_group, artifact };
    let function = b.add(
        FUNCTION,
        ResourceDecl::from(Resource::Function(Box::new(self::function(spec, &keywords, &failure_path, &wiring))))
            .skip_check(
                "CKV_AWS_117",
                "The function only calls AWS APIs (EC2, SNS, SQS, Lambda) and accepts no inbound \
                 traffic; a VPC would add NAT or interface endpoints and cost without reducing \
                 exposure.",
            )
            .skip_check(
                "CKV_AWS_173",
                "The environment holds no secrets (a topic ARN, the keyword list and a number); \
                 Lambda encrypts it at rest with its own key.",
            ),
    )?;
    b.add(
        INVOKE_CONFIG,
        Resource::EventInvokeConfig(EventInvokeConfig {
            function_name: function.reference(),
            qualifier: "$LATEST".to_owned(),
            maximum_retry_attempts: ASYNC_RETRIES,
            maximum_event_age_in_seconds: MAX_EVENT_AGE_SECONDS,
            destination_config: DestinationConfig {
                on_failure: OnFailure { destination: failure_path.topic.reference() },
            },
        }),
    )?;

    // One rule, one target and one permission per schedule on UTC. In a time zone each cron is an
    // EventBridge Scheduler schedule instead, invoked through the role Scheduler assumes. A rate
    // stays a rule: it is the same interval in every zone, and a Scheduler rate schedule without
    // a start date fires the moment it is created, so moving it would add a run.
    let mut rules = Vec::new();
    let mut schedules = Vec::new();
    let in_zone = |s: &Schedule| spec.time_zone.filter(|_| matches!(s.expression, ScheduleExpression::Cron(_)));
    let scheduler_role = match spec.schedules.iter().any(|s| in_zone(s).is_some()) {
        true => Some(b.add(SCHEDULER_ROLE, Resource::Role(scheduler_role(&function, &failure_path.queue)))?),
        false => None,
    };
    for schedule in &spec.schedules {
        let keyword = schedule.keyword.as_str();
        if let (Some(zone), Some(role)) = (in_zone(schedule), &scheduler_role) {
            let handle = b.add(
                ids::schedule_logical_id(keyword),
                Resource::ScheduleInZone(Box::new(ScheduleInZone {
                    description: format!("snapcycle: snapshots for instances tagged {keyword}"),
                    schedule_expression: schedule.expression.to_string(),
                    schedule_expression_timezone: zone.name().to_owned(),
                    flexible_time_window: FlexibleTimeWindow { mode: "OFF".to_owned() },
                    state: "ENABLED".to_owned(),
                    target: ScheduleTarget {
                        arn: function.arn(),
                        role_arn: role.arn(),
                        input: scheduler_input(keyword),
                        retry_policy: RetryPolicy {
                            maximum_event_age_in_seconds: MAX_EVENT_AGE_SECONDS,
                            maximum_retry_attempts: SCHEDULER_RETRIES,
                        },
                        dead_letter_config: TargetDeadLetterConfig { arn: failure_path.queue.arn() },
                    },
                })),
            )?;
            schedules.push((keyword, handle));
            continue;
        }
        let rule = b.add(
            ids::rule_logical_id(keyword),
            Resource::Rule(Rule {
                description: format!("snapcycle: snapshots for instances tagged {keyword}"),
                schedule_expression: schedule.expression.to_string(),
                state: "ENABLED".to_owned(),
                targets: vec![Target {
                    id: "snapcycle-function".to_owned(),
                    arn: function.arn(),
                    input_transformer: input_transformer(keyword),
                    dead_letter_config: TargetDeadLetterConfig { arn: failure_path.queue.arn() },
                }],
            }),
        )?;
        b.add(
            ids::permission_logical_id(keyword),
            Resource::Permission(Permission {
                action: "lambda:InvokeFunction".to_owned(),
                function_name: function.reference(),
                principal: EVENTS_PRINCIPAL.to_owned(),
                source_arn: rule.arn(),
            }),
        )?;
        rules.push((keyword, rule));
    }
    // With copies, one more rule: EC2's completion events go to the function, which copies each
    // completed snapshot to every destination. Nothing polls for completion. With encryption in
    // place the same rule copies in this region, and also brings the copies' completion, on which
    // the function deletes each unencrypted original.
    let copy_rule = match spec.copy_to.is_empty() && spec.encrypt.is_none() {
        true => None,
        false => {
            let description = match spec.encrypt {
                None => "snapcycle: a snapshot completed; the function copies snapcycle's to the other regions",
                Some(_) => {
                    "snapcycle: a snapshot or a copy completed; the function encrypts snapcycle's unencrypted \
                     snapshots in place and deletes each original once its encrypted copy completed"
                }
            };
            let rule = b.add(
                COPY_RULE,
                Resource::EventRule(EventRule {
                    description: description.to_owned(),
                    event_pattern: copy_event_pattern(spec.encrypt.is_some()),
                    state: "ENABLED".to_owned(),
                    targets: vec![EventTarget {
                        id: "snapcycle-function".to_owned(),
                        arn: function.arn(),
                        retry_policy: RetryPolicy {
                            maximum_event_age_in_seconds: MAX_EVENT_AGE_SECONDS,
                            maximum_retry_attempts: SCHEDULER_RETRIES,
                        },
                        dead_letter_config: TargetDeadLetterConfig { arn: failure_path.queue.arn() },
                    }],
                }),
            )?;
            b.add(
                COPY_PERMISSION,
                Resource::Permission(Permission {
                    action: "lambda:InvokeFunction".to_owned(),
                    function_name: function.reference(),
                    principal: EVENTS_PRINCIPAL.to_owned(),
                    source_arn: rule.arn(),
                }),
            )?;
            Some(rule)
        }
    };
    // Rules deliver failed events to the queue under its policy; Scheduler does with its role.
    let dead_lettering: Vec<&Handle> = rules.iter().map(|(_, rule)| rule).chain(copy_rule.as_ref()).collect();
    if !dead_lettering.is_empty() {
        b.add(QUEUE_POLICY, Resource::QueuePolicy(queue_policy(&failure_path.queue, &dead_lettering)))?;
    }

    // Alarms, and the topic policy that lets exactly these alarms publish.
    // No alarm on the function's Errors metric: the function returns an error only for failures
    // a retry may fix, so Lambda's retries run and the last one's record reaches the topic
    // (OnFailure). An Errors alarm would add a second e-mail for the same run (issue #10.6).
    let queue_alarm = b.add(
        QUEUE_ALARM,
        alarm(
            "snapcycle: events are waiting in the dead-letter queue: a scheduled run was not \
             delivered or failed every retry. The messages say which.",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            Dimension { name: "QueueName".to_owned(), value: failure_path.queue.get_att("QueueName") },
            Statistic::Maximum,
            &failure_path.topic,
        ),
    )?;
    b.add(TOPIC_POLICY, Resource::TopicPolicy(topic_policy(&failure_path.topic, &queue_alarm)))?;
    if let Some(days) = spec.recycle_bin_days {
        b.add(RECYCLE_BIN_RULE, Resource::RecycleBinRule(recycle_bin_rule(&keywords, days)))?;
    }

    b.output(OUTPUT_FUNCTION_NAME, "Name of the snapshot function", function.reference())?;
    b.output(OUTPUT_FUNCTION_ARN, "ARN of the snapshot function", function.arn())?;
    b.output(OUTPUT_TOPIC_ARN, "ARN of the SNS topic that e-mails failures", failure_path.topic.reference())?;
    b.output(OUTPUT_QUEUE_URL, "URL of the dead-letter queue", failure_path.queue.reference())?;
    for (keyword, rule) in &rules {
        b.output(
            ids::rule_output_key(keyword),
            format!("Name of the EventBridge rule for schedule {keyword}"),
            rule.reference(),
        )?;
    }
    for (keyword, schedule) in &schedules {
        b.output(
            ids::schedule_output_key(keyword),
            format!("Name of the EventBridge Scheduler schedule for {keyword}"),
            schedule.reference(),
        )?;
    }
    if let Some(days) = spec.recycle_bin_days {
        b.output(
            OUTPUT_RECYCLE_BIN_DAYS,
            "Days the Recycle Bin keeps a deleted snapshot of this stack's keywords",
            Expr::lit(days.to_string()),
        )?;
    }
    Ok(b.template)
}

/// The tag-level retention rule that keeps every deleted snapshot marked `snapcycle:keyword = K`,
/// for any of the stack's keywords K, restorable for `days` days.
///
/// One pair per keyword: the rule retains a snapshot that has at least one of its pairs
/// (CloudFormation template reference, `AWS::Rbin::Rule`), and cfn-lint requires each pair's
/// value, so `snapcycle:keyword` with any value cannot be said. The function only deletes
/// snapshots so marked (its role's DeleteSnapshot statements require the marker), so every one of
/// its deletions is retained; so is a deletion of such a snapshot by anyone else. Deleting into the
/// bin is DeleteSnapshot itself: the function's role needs nothing more. A rule applies when a
/// snapshot is deleted: changing or removing it later leaves what is in the bin as it was (EBS
/// User Guide, "Update" and "Delete a Recycle Bin retention rule").
fn recycle_bin_rule(keywords: &[&str], days: u32) -> RecycleBinRule {
    RecycleBinRule {
        description: format!(
            "snapcycle: snapshots of this stack's schedules stay restorable for {days} day{} after they are deleted",
            if days == 1 { "" } else { "s" }
        ),
        resource_type: "EBS_SNAPSHOT".to_owned(),
        resource_tags: keywords
            .iter()
            .map(|k| ResourceTag { resource_tag_key: TAG_KEYWORD.to_owned(), resource_tag_value: (*k).to_owned() })
            .collect(),
        retention_period: RetentionPeriod { retention_period_value: days, retention_period_unit: "DAYS".to_owned() },
    }
}

/// Where failures go: the topic that e-mails them, its key, and the dead-letter queue.
struct FailurePath {
    key: Handle,
    topic: Handle,
    queue: Handle,
}

/// What the function is built from besides the failure path.
struct FunctionWiring {
    role: Handle,
    log_group: Handle,
    artifact: Artifact,
}

/// The parameters naming the Lambda zip that `snapcycle deploy` uploaded.
struct Artifact {
    bucket: Handle,
    key: Handle,
}

fn add_parameters(template: &mut Template) -> Result<Artifact, StackError> {
    let bucket = Parameter {
        allowed_pattern: Some("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$".to_owned()),
        constraint_description: Some("an S3 bucket name".to_owned()),
        ..Parameter::string("S3 bucket (in the stack's region) holding the Lambda zip; passed by `snapcycle deploy`")
    };
    let key = Parameter {
        min_length: Some(1),
        max_length: Some(1024),
        ..Parameter::string("S3 key of the Lambda zip; passed by `snapcycle deploy`")
    };
    let taken = |id: &str| StackError::DuplicateLogicalId(id.to_owned());
    Ok(Artifact {
        bucket: template
            .add_parameter(ARTIFACT_BUCKET_PARAMETER, bucket)
            .ok_or_else(|| taken(ARTIFACT_BUCKET_PARAMETER))?,
        key: template.add_parameter(ARTIFACT_KEY_PARAMETER, key).ok_or_else(|| taken(ARTIFACT_KEY_PARAMETER))?,
    })
}

/// The key that encrypts the topic.
///
/// Not the AWS managed `alias/aws/sns`: its key policy cannot be changed and does not let
/// CloudWatch use it, so alarms publishing to a topic encrypted with it fail ("CloudWatch Alarms
/// does not have authorization to access the SNS topic encryption key") and nobody is told.
/// The account statement is KMS's default (it lets IAM policies, such as the function role's,
/// grant use of the key); the CloudWatch statement is scoped to this account's alarms in this
/// region.
fn notification_key() -> KmsKey {
    KmsKey {
        description: "snapcycle: encrypts the failure topic (readable by this account's IAM \
                      principals it is granted to, and by this region's CloudWatch alarms)"
            .to_owned(),
        enable_key_rotation: true,
        key_policy: PolicyDocument::new(vec![
            Statement::allow(["kms:*"])
                .sid("AccountAdministersKeyThroughIam")
                .principal(Principal::Aws(Expr::arn("iam::${AWS::AccountId}:root")))
                .on(vec![Expr::any()]),
            Statement::allow(["kms:Decrypt", "kms:GenerateDataKey*"])
                .sid("CloudWatchAlarmsPublishToTopic")
                .principal(Principal::Service(CLOUDWATCH_PRINCIPAL.to_owned()))
                .on(vec![Expr::any()])
                .when(
                    Condition::new()
                        .with(Operator::StringEquals, "aws:SourceAccount", vec![Expr::pseudo(Pseudo::AccountId)])
                        .with(
                            Operator::ArnLike,
                            "aws:SourceArn",
                            vec![Expr::arn("cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*")],
                        ),
                ),
        ]),
    }
}

/// Lets the stack's alarm publish. The function needs no statement here: it is in the
/// same account, so its role's identity policy suffices.
fn topic_policy(topic: &Handle, alarm: &Handle) -> TopicPolicy {
    TopicPolicy {
        topics: vec![topic.reference()],
        policy_document: PolicyDocument::new(vec![Statement::allow(["sns:Publish"])
            .sid("StackAlarmsPublish")
            .principal(Principal::Service(CLOUDWATCH_PRINCIPAL.to_owned()))
            .on(vec![topic.reference()])
            .when(Condition::new().with(Operator::ArnEquals, "aws:SourceArn", vec![alarm.arn()]))]),
    }
}

/// Lets EventBridge park events it could not deliver to the function, for this stack's rules
/// only. (Lambda's own dead-letter delivery uses the function role instead.)
fn queue_policy(queue: &Handle, rules: &[&Handle]) -> QueuePolicy {
    let rule_arns = rules.iter().map(|rule| rule.arn()).collect();
    QueuePolicy {
        queues: vec![queue.reference()],
        policy_document: PolicyDocument::new(vec![Statement::allow(["sqs:SendMessage"])
            .sid("StackRulesDeadLetter")
            .principal(Principal::Service(EVENTS_PRINCIPAL.to_owned()))
            .on(vec![queue.arn()])
            .when(Condition::new().with(Operator::ArnEquals, "aws:SourceArn", rule_arns))]),
    }
}

/// `{"SnapshotKeyWord": "<keyword>", "ScheduledTime": "<aws.scheduler.scheduled-time>"}`: Scheduler
/// puts the time it was asked to fire (RFC 3339, UTC, "2022-03-22T18:59:43Z" in its guide's
/// "Adding context attributes") in place of the context attribute, so a Scheduler run has the same
/// identity as a rule's at the same instant. The keyword is JSON-escaped; tag keys cannot contain
/// `<` or `>`, so it cannot be mistaken for an attribute.
fn scheduler_input(keyword: &str) -> String {
    let keyword_json = serde_json::to_string(keyword).expect("a string always serializes");
    format!("{{\"{FIELD_KEYWORD}\": {keyword_json}, \"{FIELD_SCHEDULED_TIME}\": \"<aws.scheduler.scheduled-time>\"}}")
}

/// The role EventBridge Scheduler assumes for this stack's schedules: invoke this function and
/// dead-letter into this queue, nothing else (Scheduler delivers to the queue with the execution
/// role, not through a queue policy: its guide's "Configuring a schedule's dead-letter queue").
/// The trust is limited to this account's schedules (`aws:SourceAccount`) against the confused
/// deputy.
fn scheduler_role(function: &Handle, queue: &Handle) -> Role {
    Role {
        description: "snapcycle: lets this stack's EventBridge Scheduler schedules invoke the snapshot function"
            .to_owned(),
        assume_role_policy_document: PolicyDocument::new(vec![Statement::allow(["sts:AssumeRole"])
            .principal(Principal::Service(SCHEDULER_PRINCIPAL.to_owned()))
            .when(Condition::new().with(
                Operator::StringEquals,
                "aws:SourceAccount",
                vec![Expr::pseudo(Pseudo::AccountId)],
            ))]),
        policies: vec![InlinePolicy {
            policy_name: "snapcycle-scheduler".to_owned(),
            policy_document: PolicyDocument::new(vec![
                Statement::allow(["lambda:InvokeFunction"]).sid("InvokeTheFunction").on(vec![function.arn()]),
                Statement::allow(["sqs:SendMessage"]).sid("DeadLetterUndelivered").on(vec![queue.arn()]),
            ]),
        }],
    }
}

/// `{"SnapshotKeyWord": "<keyword>", "ScheduledTime": <time>}`; EventBridge substitutes the
/// scheduled event's `time` (a JSON string) for `<time>`. The keyword is JSON-escaped; tag keys
/// cannot contain `<` or `>`, so it cannot be mistaken for a placeholder.
fn input_transformer(keyword: &str) -> InputTransformer {
    let mut paths = OrderedMap::new();
    let inserted = paths.insert("time", "$.time".to_owned());
    debug_assert!(inserted);
    let keyword_json = serde_json::to_string(keyword).expect("a string always serializes");
    InputTransformer {
        input_paths_map: paths,
        input_template: format!("{{\"{FIELD_KEYWORD}\": {keyword_json}, \"{FIELD_SCHEDULED_TIME}\": <time>}}"),
    }
}

fn function(spec: &StackSpec, keywords: &[&str], failure_path: &FailurePath, wiring: &FunctionWiring) -> Function {
    let mut variables = OrderedMap::new();
    let inserted = variables.insert(ENV_TOPIC_ARN, failure_path.topic.reference())
        && variables.insert(ENV_KEYWORDS, Expr::lit(keywords.join(",")))
        && variables.insert(ENV_MAX_CONCURRENCY, Expr::lit(spec.max_concurrency.to_string()))
        && spec
            .orphans_expire_after
            .is_none_or(|e| variables.insert(ENV_ORPHANS_EXPIRE_AFTER, Expr::lit(e.to_string())))
        && spec.time_zone.is_none_or(|z| variables.insert(ENV_TIME_ZONE, Expr::lit(z.name())))
        && (spec.copy_to.is_empty() || variables.insert(ENV_COPY_TO, Expr::lit(format_copy_targets(&spec.copy_to))))
        && spec.copy_retention.as_ref().is_none_or(|r| variables.insert(ENV_COPY_RETENTION, Expr::lit(r.to_string())))
        && spec.encrypt.as_ref().is_none_or(|e| {
            variables.insert(ENV_ENCRYPT, Expr::lit(e.kms_key.as_deref().unwrap_or(ENCRYPT_WITH_DEFAULT_KEY)))
        });
    debug_assert!(inserted);
    Function {
        function_name: function_name(),
        description: "snapcycle: snapshots the EBS volumes of tagged instances and prunes old \
                      snapshots"
            .to_owned(),
        runtime: "provided.al2023".to_owned(),
        handler: "bootstrap".to_owned(),
        architectures: vec![spec.arch.as_lambda_str().to_owned()],
        memory_size: spec.memory_mb,
        timeout: spec.timeout_seconds,
        role: wiring.role.arn(),
        code: Code { s3_bucket: wiring.artifact.bucket.reference(), s3_key: wiring.artifact.key.reference() },
        logging_config: LoggingConfig { log_format: "JSON".to_owned(), log_group: wiring.log_group.reference() },
        environment: Environment { variables },
        // Runs never overlap: a second invocation (another schedule, a retry, or the function's
        // own continuation when a run nears its timeout) waits in Lambda's queue until this
        // one ends. Intended.
        reserved_concurrent_executions: 1,
        // A long run hands over to itself, and Lambda's recursive loop detection would stop the
        // chain after about 16 hops (the SDK passes on the trace header it counts): beyond about
        // 30,000 volumes at EC2's rates. The function bounds its own chain (MAX_INVOCATIONS).
        recursive_loop: "Allow".to_owned(),
        dead_letter_config: FunctionDeadLetterConfig { target_arn: failure_path.queue.arn() },
    }
}

/// The function's explicit name. Explicit so the role can grant `lambda:InvokeFunction` on the
/// function's own ARN (for continuations) without referencing the function, which references
/// the role: that would be a circular dependency.
fn function_name() -> Expr {
    Expr::sub(format!("${{AWS::StackName}}{FUNCTION_NAME_SUFFIX}"))
}

fn execution_role(
    keywords: &[&str],
    copies: &[CopyTarget],
    encrypt: Option<&EncryptInPlace>,
    failure_path: &FailurePath,
    log_group: &Handle,
) -> Role {
    let snapshots = || Expr::arn("ec2:${AWS::Region}::snapshot/*");
    // Snapshots in the copy destinations, in the stack's partition: a copy cannot leave it, and
    // `deploy` refuses a destination of another partition than its region's.
    let copies_at: Vec<Expr> = copies.iter().map(|c| Expr::arn(&format!("ec2:{}::snapshot/*", c.region))).collect();
    let keyword_values: Vec<Expr> = keywords.iter().map(|k| Expr::lit(*k)).collect();
    let request_tag = format!("aws:RequestTag/{TAG_KEYWORD}");

    let mut statements = vec![
        // Describe* actions have no resource-level permissions: "*" is the only form.
        // DescribeLockedSnapshots (List level, "*" only) tells a locked snapshot from one to
        // delete; without it a run goes on, and a locked snapshot's delete fails.
        Statement::allow([
            "ec2:DescribeInstances",
            "ec2:DescribeLockedSnapshots",
            "ec2:DescribeSnapshots",
            "ec2:DescribeVolumes",
        ])
        .sid("ReadInventory")
        .on(vec![Expr::any()]),
        // CreateSnapshots (one crash-consistent set per instance) is authorized against the
        // instance, its volumes and each new snapshot (Service Authorization Reference, Amazon
        // EC2). The request-tag keys (aws:RequestTag, aws:TagKeys) exist only for the snapshot
        // resource type; the instance and volume types support only keys describing what exists
        // (ec2:ResourceTag, ...). The keyword tag is on the instance, but a condition on it could
        // not name every keyword's value, so the instance and volume statement is scoped to this
        // account and region; the snapshot statement below is what forces every snapshot of a
        // set to carry snapcycle's marker.
        Statement::allow(["ec2:CreateSnapshots"]).sid("SnapshotInstancesOfThisAccount").on(vec![
            Expr::arn("ec2:${AWS::Region}:${AWS::AccountId}:instance/*"),
            Expr::arn("ec2:${AWS::Region}:${AWS::AccountId}:volume/*"),
        ]),
        Statement::allow(["ec2:CreateSnapshots"]).sid("CreateOnlyMarkedSnapshots").on(vec![snapshots()]).when(
            Condition::new().with(Operator::Null, request_tag.clone(), vec![Expr::lit("false")]).with(
                Operator::StringEquals,
                request_tag,
                keyword_values,
            ),
        ),
        // Tagging is allowed only as part of CreateSnapshots: the function cannot retag (and so
        // cannot re-mark) an existing snapshot.
        Statement::allow(["ec2:CreateTags"]).sid("TagSnapshotsOnCreation").on(vec![snapshots()]).when(
            Condition::new().with(Operator::StringEquals, "ec2:CreateAction", vec![Expr::lit("CreateSnapshots")]),
        ),
    ];
    if !copies.is_empty() {
        statements.extend(copy_statements(keywords, copies, &copies_at));
    }
    if let Some(encrypt) = encrypt {
        statements.extend(encrypt_statements(keywords, encrypt));
    }
    // One statement per keyword, so IAM itself refuses to delete a snapshot that is not marked
    // for that keyword or whose keyword tag a person removed to keep it. Copies are rotated by the
    // same rule in their regions: the same statement names their snapshots too.
    for keyword in keywords {
        let mut deletable = vec![snapshots()];
        deletable.extend(copies_at.iter().cloned());
        statements.push(
            Statement::allow(["ec2:DeleteSnapshot"])
                .sid(format!("Delete{}", ids::logical_id_for_keyword(keyword)))
                .on(deletable)
                .when(
                    Condition::new()
                        .with(
                            Operator::StringEquals,
                            format!("ec2:ResourceTag/{TAG_KEYWORD}"),
                            vec![Expr::lit(*keyword)],
                        )
                        .with(Operator::Null, format!("ec2:ResourceTag/{keyword}"), vec![Expr::lit("false")]),
                ),
        );
    }
    statements.extend([
        Statement::allow(["sns:Publish"]).sid("PublishFailures").on(vec![failure_path.topic.reference()]),
        // Publishing to a KMS-encrypted topic needs the publisher to be able to use the key.
        Statement::allow(["kms:Decrypt", "kms:GenerateDataKey*"])
            .sid("EncryptFailureMessages")
            .on(vec![failure_path.key.arn()]),
        Statement::allow(["sqs:SendMessage"]).sid("DeadLetterFailedEvents").on(vec![failure_path.queue.arn()]),
        Statement::allow(["lambda:InvokeFunction"]).sid("ContinueInANewInvocation").on(vec![Expr::arn(&format!(
            "lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:${{AWS::StackName}}{FUNCTION_NAME_SUFFIX}"
        ))]),
        // The log group's Arn attribute ends in ":*", which covers its log streams.
        Statement::allow(["logs:CreateLogStream", "logs:PutLogEvents"]).sid("WriteOwnLogs").on(vec![log_group.arn()]),
    ]);

    Role {
        description: "snapcycle: execution role of the snapshot function".to_owned(),
        assume_role_policy_document: PolicyDocument::new(vec![
            Statement::allow(["sts:AssumeRole"]).principal(Principal::Service(LAMBDA_PRINCIPAL.to_owned()))
        ]),
        policies: vec![InlinePolicy {
            policy_name: "snapcycle-function".to_owned(),
            policy_document: PolicyDocument::new(statements),
        }],
    }
}

/// What copying to other regions adds to the role, besides the destinations in the delete
/// statements: copy marked snapshots of this region, create copies only marked and declaring this
/// region as their source, tag them only while copying, and use exactly the KMS keys given.
///
/// `CopySnapshot` is called in the destination and authorized against both the source snapshot
/// and the new one (Service Authorization Reference, Amazon EC2, CopySnapshot: "Resource-level
/// permissions specified for this action apply to both the snapshot copy and the source snapshot";
/// AWS Storage Blog, "Enhancing resource-level permissions for copying Amazon EBS snapshots").
/// The source exists, so it is matched by its tags (`ec2:ResourceTag`); the copy does not exist
/// yet, so it is matched by the tags of the request (`aws:RequestTag`, which the snapshot type
/// takes on CopySnapshot), as `CreateOnlyMarkedSnapshots` does for CreateSnapshots. Each ARN names
/// its region, so neither statement can stand in for the other: `deploy` refuses a destination
/// that is the stack's own region.
///
/// KMS: with no `--copy-kms-key` a copy is encrypted with the destination's default EBS key. The
/// AWS managed key `aws/ebs` lets every principal of the account use it through EC2 in its
/// region (its key policy, "Allow access through EBS for all principals in the account that are
/// authorized to use EBS": kms:Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, CreateGrant,
/// DescribeKey with kms:ViaService ec2.<region> and kms:CallerAccount), so nothing is granted
/// here. A customer managed key needs what the EBS User Guide lists for EBS encryption
/// ("Requirements for Amazon EBS encryption", Permissions for users: kms:CreateGrant, Decrypt,
/// DescribeKey, GenerateDataKeyWithoutPlainText, ReEncrypt, CreateGrant only with
/// kms:GrantIsForAWSResource), on exactly its key ARN (IAM cannot name a key by alias), and its key
/// policy must let the account's IAM policies grant it (KMS's default key policy does).
fn copy_statements(keywords: &[&str], copies: &[CopyTarget], copies_at: &[Expr]) -> Vec<Statement> {
    let keyword_values: Vec<Expr> = keywords.iter().map(|k| Expr::lit(*k)).collect();
    let request_tag = |key: &str| format!("aws:RequestTag/{key}");
    let mut statements = vec![
        // The source side: only snapshots marked with one of this stack's keywords, in this
        // stack's region, can be copied at all.
        Statement::allow(["ec2:CopySnapshot"])
            .sid("CopyOnlyMarkedSnapshots")
            .on(vec![Expr::arn("ec2:${AWS::Region}::snapshot/*")])
            .when(Condition::new().with(
                Operator::StringEquals,
                format!("ec2:ResourceTag/{TAG_KEYWORD}"),
                keyword_values.clone(),
            )),
        // The destination side: a copy is created only carrying the marker for one of this
        // stack's keywords and this region as its source, which is what rotation in the
        // destination goes by (core's `plan_copies`).
        Statement::allow(["ec2:CopySnapshot"]).sid("CreateOnlyMarkedCopies").on(copies_at.to_vec()).when(
            Condition::new()
                .with(Operator::Null, request_tag(TAG_KEYWORD), vec![Expr::lit("false")])
                .with(Operator::StringEquals, request_tag(TAG_KEYWORD), keyword_values)
                .with(Operator::StringEquals, request_tag(TAG_SOURCE_REGION), vec![Expr::pseudo(Pseudo::Region)]),
        ),
        // Tags go on a copy only as part of CopySnapshot: the function cannot retag (and so
        // cannot re-mark) a snapshot in a destination.
        Statement::allow(["ec2:CreateTags"])
            .sid("TagCopiesOnCreation")
            .on(copies_at.to_vec())
            .when(Condition::new().with(Operator::StringEquals, "ec2:CreateAction", vec![Expr::lit("CopySnapshot")])),
    ];
    let keys: Vec<Expr> = copies.iter().filter_map(|c| c.kms_key.clone()).map(Expr::lit).collect();
    if !keys.is_empty() {
        statements.extend(ebs_key_statements(keys, "GrantCopyKeysToEbs", "EncryptCopiesWithTheirKeys"));
    }
    statements
}

/// What encryption in place adds to the role: copy marked snapshots of this region, into copies
/// of this region created only marked and naming their source, tag them only while copying, and
/// use exactly the key given. Deleting the unencrypted original once its copy completed needs
/// nothing more: it carries the marker and its keyword tag, which is what the per-keyword
/// `Delete…` statements on this region's snapshots require (a person who removed the keyword tag
/// keeps the original, and IAM refuses the delete).
///
/// `CopySnapshot` is called in this region and authorized against the source and the new copy,
/// as for copies to other regions ([`copy_statements`]); the source exists and is matched by its
/// tags, the copy by the tags of the request: the marker naming one of the stack's keywords and
/// `snapcycle:source-snapshot` (which every copy in place carries and rotation counts it by; a
/// copy in place has no `snapcycle:source-region`). Unlike there, both sides are snapshots of
/// this region, so the two statements name the same ARN and IAM cannot tell them apart by it.
///
/// KMS: with no key, the region's default EBS key; the AWS managed `aws/ebs` needs no grant
/// (its key policy lets the account use it through EC2 in its region). With `--kms-key`, what the
/// EBS User Guide lists for EBS encryption, on exactly that key ARN, as for `--copy-kms-key`. The
/// sources are unencrypted, so no key is needed to read them.
fn encrypt_statements(keywords: &[&str], encrypt: &EncryptInPlace) -> Vec<Statement> {
    let keyword_values: Vec<Expr> = keywords.iter().map(|k| Expr::lit(*k)).collect();
    let request_tag = |key: &str| format!("aws:RequestTag/{key}");
    let snapshots = || vec![Expr::arn("ec2:${AWS::Region}::snapshot/*")];
    let mut statements = vec![
        Statement::allow(["ec2:CopySnapshot"]).sid("EncryptOnlyMarkedSnapshots").on(snapshots()).when(
            Condition::new().with(
                Operator::StringEquals,
                format!("ec2:ResourceTag/{TAG_KEYWORD}"),
                keyword_values.clone(),
            ),
        ),
        Statement::allow(["ec2:CopySnapshot"]).sid("CreateOnlyMarkedEncryptedCopies").on(snapshots()).when(
            Condition::new()
                .with(Operator::Null, request_tag(TAG_KEYWORD), vec![Expr::lit("false")])
                .with(Operator::StringEquals, request_tag(TAG_KEYWORD), keyword_values)
                .with(Operator::Null, request_tag(TAG_SOURCE_SNAPSHOT), vec![Expr::lit("false")]),
        ),
        // Tags go on a copy only as part of CopySnapshot, beside `TagSnapshotsOnCreation`'s
        // CreateSnapshots: the function still cannot retag (re-mark) an existing snapshot.
        Statement::allow(["ec2:CreateTags"])
            .sid("TagEncryptedCopiesOnCreation")
            .on(snapshots())
            .when(Condition::new().with(Operator::StringEquals, "ec2:CreateAction", vec![Expr::lit("CopySnapshot")])),
    ];
    if let Some(key) = &encrypt.kms_key {
        statements.extend(ebs_key_statements(
            vec![Expr::lit(key.clone())],
            "GrantEncryptionKeyToEbs",
            "EncryptInPlaceWithTheKey",
        ));
    }
    statements
}

/// What EBS encryption needs on customer managed `keys` (EBS User Guide, "Requirements for Amazon
/// EBS encryption"), for copies to other regions and in place alike: grants that only EBS may
/// create, and the data-key actions.
fn ebs_key_statements(keys: Vec<Expr>, grant_sid: &str, use_sid: &str) -> [Statement; 2] {
    [
        Statement::allow(["kms:CreateGrant"]).sid(grant_sid).on(keys.clone()).when(Condition::new().with(
            Operator::Bool,
            "kms:GrantIsForAWSResource",
            vec![Expr::lit("true")],
        )),
        Statement::allow([
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
        ])
        .sid(use_sid)
        .on(keys),
    ]
}

/// Refuses a role whose inline policies IAM would refuse ([`MAX_ROLE_POLICY_CHARS`]). The size is
/// that of the policies as CloudFormation will submit them, resolved, and bounded from above:
/// JSON without white space, each `Fn::Sub` and pseudo parameter at the longest value it can take
/// (`aws-us-gov`, a 14-character region, a 12-digit account, the longest stack name `deploy`
/// accepts) and each resource `Ref` or `GetAtt` at [`REFERENCE_CHARS`].
fn check_role_policy_size(role: &Role) -> Result<(), StackError> {
    let chars = role
        .policies
        .iter()
        .map(|p| resolved_chars(&serde_json::to_value(&p.policy_document).expect("a policy always serializes")))
        .sum();
    if chars > MAX_ROLE_POLICY_CHARS {
        return Err(StackError::RolePolicyTooLarge { chars, max: MAX_ROLE_POLICY_CHARS });
    }
    Ok(())
}

/// The most characters a resource's ARN takes in the role's policy once deployed: the topic,
/// queue and log group ARNs hold the stack name (up to [`crate::MAX_STACK_NAME_LEN`]) and a
/// suffix CloudFormation adds; 160 is above the longest of them.
const REFERENCE_CHARS: usize = 160;

/// The longest value each pseudo parameter takes: the partition `aws-us-gov`, a region such as
/// `ap-southeast-5`, a 12-digit account, a stack name `deploy` accepts.
fn pseudo_chars(name: &str) -> usize {
    match name {
        "AWS::Partition" => "aws-us-gov".len(),
        "AWS::Region" => "ap-southeast-5".len(),
        "AWS::AccountId" => 12,
        "AWS::StackName" => crate::MAX_STACK_NAME_LEN,
        _ => REFERENCE_CHARS,
    }
}

/// `value`'s length as compact JSON once CloudFormation has resolved its intrinsic functions.
fn resolved_chars(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::Sub") => {
            let text = map["Fn::Sub"].as_str().unwrap_or_default();
            let mut chars = 2;
            let mut rest = text;
            while let Some(at) = rest.find("${") {
                chars += at;
                let after = &rest[at + 2..];
                let end = after.find('}').unwrap_or(after.len());
                chars += pseudo_chars(&after[..end]);
                rest = after.get(end + 1..).unwrap_or_default();
            }
            chars + rest.len()
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
            2 + pseudo_chars(map["Ref"].as_str().unwrap_or_default())
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::GetAtt") => 2 + REFERENCE_CHARS,
        Value::Object(map) => {
            2 + map.len().saturating_sub(1) + map.iter().map(|(k, v)| k.len() + 3 + resolved_chars(v)).sum::<usize>()
        }
        Value::Array(items) => 2 + items.len().saturating_sub(1) + items.iter().map(resolved_chars).sum::<usize>(),
        Value::String(text) => text.len() + 2,
        other => other.to_string().len(),
    }
}

/// An alarm that tells the failure topic as soon as `metric` is above zero in one period.
fn alarm(
    description: &str,
    namespace: &str,
    metric: &str,
    dimension: Dimension,
    statistic: Statistic,
    topic: &Handle,
) -> Resource {
    Resource::Alarm(Alarm {
        alarm_description: description.to_owned(),
        namespace: namespace.to_owned(),
        metric_name: metric.to_owned(),
        dimensions: vec![dimension],
        statistic,
        period: ALARM_PERIOD_SECONDS,
        evaluation_periods: 1,
        threshold: 0,
        comparison_operator: ComparisonOperator::GreaterThanThreshold,
        treat_missing_data: TreatMissingData::NotBreaching,
        alarm_actions: vec![topic.reference()],
    })
}

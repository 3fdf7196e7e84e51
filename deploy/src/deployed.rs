//! The stack as deployed, read back from CloudFormation and EventBridge: its status and schedules.

use anyhow::{bail, Context as _};
use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
use snapcycle_stack::{MAX_STACK_NAME_LEN, OUTPUT_RECYCLE_BIN_DAYS};

use crate::aws::Clients;

/// Checks a stack name before any AWS call: CloudFormation's rules, and room for the function name.
pub(crate) fn check_stack_name(name: &str) -> anyhow::Result<()> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) || !ok_chars {
        bail!("--stack-name {name:?}: use letters, digits and hyphens, starting with a letter");
    }
    if name.len() > MAX_STACK_NAME_LEN {
        bail!("--stack-name {name:?} is longer than {MAX_STACK_NAME_LEN} characters (the function is named <stack>-snapshots, at most 64)");
    }
    Ok(())
}

/// The stack's status, or None when it does not exist.
pub(crate) async fn stack_status(
    aws: &Clients,
    name: &str,
) -> anyhow::Result<Option<aws_sdk_cloudformation::types::StackStatus>> {
    match aws.cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out.stacks().first().and_then(|s| s.stack_status()).cloned()),
        Err(e) if e.message().is_some_and(|m| m.contains("does not exist")) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("describing stack {name}"))),
    }
}

/// The deployed stack's `--recycle-bin-days`, from its output [`OUTPUT_RECYCLE_BIN_DAYS`]; `None`
/// when the stack has no Recycle Bin rule or does not exist.
pub(crate) async fn recycle_bin_days(aws: &Clients, name: &str) -> anyhow::Result<Option<u32>> {
    let out = match aws.cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => out,
        Err(e) if e.message().is_some_and(|m| m.contains("does not exist")) => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("describing stack {name}"))),
    };
    let outputs = out.stacks().first().map(|s| s.outputs()).unwrap_or_default();
    Ok(outputs
        .iter()
        .find(|o| o.output_key() == Some(OUTPUT_RECYCLE_BIN_DAYS))
        .and_then(|o| o.output_value())
        .and_then(|v| v.trim().parse().ok()))
}

/// Where Scheduler puts the scheduled time in a schedule's input (its context attribute).
pub(crate) const SCHEDULED_TIME_ATTRIBUTE: &str = "<aws.scheduler.scheduled-time>";

/// A schedule as deployed: read back from EventBridge (a rule, on UTC) or EventBridge Scheduler
/// (a schedule in a time zone), never from the template.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct DeployedSchedule {
    /// The rule's or the schedule's name.
    pub(crate) name: String,
    /// `rule` or `schedule`.
    pub(crate) kind: &'static str,
    /// The schedule expression as EventBridge holds it (canonical case).
    pub(crate) expression: String,
    /// The zone a cron is read in: `UTC` for a rule, the schedule's `ScheduleExpressionTimezone`.
    pub(crate) time_zone: String,
    /// The keyword its input names, which is what a fire runs.
    pub(crate) keyword: String,
    /// `ENABLED` or `DISABLED`: a disabled one does not fire, and `status` says so.
    pub(crate) state: String,
    /// The input, with `<time>` (a rule's transformer) or Scheduler's context attribute where
    /// the scheduled time goes.
    pub(crate) input_template: String,
}

impl DeployedSchedule {
    /// The event this schedule sends for a fire at `t`, as EventBridge or Scheduler builds it.
    pub(crate) fn payload(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        let id = snapcycle_core::run_id(t);
        match self.kind {
            "schedule" => self.input_template.replace(SCHEDULED_TIME_ATTRIBUTE, &id),
            _ => self.input_template.replace("<time>", &format!("\"{id}\"")),
        }
    }

    /// The zone its crons are read in.
    pub(crate) fn zone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.time_zone
            .parse()
            .map_err(|_| anyhow::anyhow!("{} {} has an unknown time zone {:?}", self.kind, self.name, self.time_zone))
    }

    fn with_keyword(mut self) -> Self {
        // Read as the function reads it: an input it would refuse shows no keyword.
        let probe = self.payload(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
        self.keyword = serde_json::from_str::<serde_json::Value>(&probe)
            .ok()
            .and_then(|v| snapcycle_core::Event::from_value(&v).ok())
            .map(|e| e.keyword.to_string())
            .unwrap_or_default();
        self
    }
}

/// Reads the stack's rules from EventBridge, with their targets' inputs, and its schedules from
/// EventBridge Scheduler; and the function's name.
pub(crate) async fn deployed_schedules(
    aws: &Clients,
    stack: &str,
) -> anyhow::Result<(Vec<DeployedSchedule>, Option<String>)> {
    let res = aws
        .cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .with_context(|| format!("listing the resources of {stack}"))?;
    let mut out = Vec::new();
    let mut function = None;
    for r in res.stack_resources() {
        match r.resource_type() {
            Some("AWS::Lambda::Function") => function = r.physical_resource_id().map(str::to_owned),
            Some("AWS::Events::Rule") => {
                let Some(rule) = r.physical_resource_id() else { continue };
                let rule_name = rule.rsplit('/').next().unwrap_or(rule);
                let d = aws
                    .events
                    .describe_rule()
                    .name(rule_name)
                    .send()
                    .await
                    .with_context(|| format!("describing rule {rule_name}"))?;
                // The completion rule (`--copy-to`, `--encrypt`) matches EC2's events; it is no schedule.
                if d.schedule_expression().is_none_or(str::is_empty) {
                    continue;
                }
                let targets = aws.events.list_targets_by_rule().rule(rule_name).send().await?;
                for t in targets.targets() {
                    let template = t
                        .input_transformer()
                        .map(|i| i.input_template().to_owned())
                        .or_else(|| t.input().map(str::to_owned))
                        .unwrap_or_default();
                    out.push(
                        DeployedSchedule {
                            name: rule_name.to_owned(),
                            kind: "rule",
                            expression: d.schedule_expression().unwrap_or_default().to_owned(),
                            time_zone: "UTC".to_owned(),
                            keyword: String::new(),
                            state: d.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                            input_template: template,
                        }
                        .with_keyword(),
                    );
                }
            }
            Some("AWS::Scheduler::Schedule") => {
                let Some(name) = r.physical_resource_id() else { continue };
                let s = aws
                    .scheduler
                    .get_schedule()
                    .name(name)
                    .send()
                    .await
                    .with_context(|| format!("reading schedule {name} (EventBridge Scheduler)"))?;
                out.push(
                    DeployedSchedule {
                        name: name.to_owned(),
                        kind: "schedule",
                        expression: s.schedule_expression().unwrap_or_default().to_owned(),
                        time_zone: s.schedule_expression_timezone().unwrap_or("UTC").to_owned(),
                        keyword: String::new(),
                        state: s.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                        input_template: s.target().and_then(|t| t.input()).unwrap_or_default().to_owned(),
                    }
                    .with_keyword(),
                );
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| a.keyword.cmp(&b.keyword));
    Ok((out, function))
}

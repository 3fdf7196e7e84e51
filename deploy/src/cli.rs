//! Flags and subcommands.

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use snapcycle_core::Keyword;
use snapcycle_stack::Schedule;

use crate::values;

/// Tag-driven EBS snapshots for EC2: run the job, and deploy it as a serverless stack.
#[derive(Debug, Parser)]
#[command(name = "snapcycle", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where and as whom to call AWS; the same for every subcommand.
#[derive(Debug, Args, Clone)]
pub(crate) struct Global {
    /// AWS region (default: the standard chain: AWS_REGION, the profile, IMDS).
    #[arg(long, global = true, env = "AWS_REGION")]
    pub(crate) region: Option<String>,
    /// Named profile from ~/.aws/config.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub(crate) profile: Option<String>,
    /// Send every AWS call here instead (an emulator on loopback, for example).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub(crate) endpoint_url: Option<String>,
    /// Longest one AWS call attempt may take, in seconds (default 60).
    #[arg(long, global = true, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) attempt_timeout: Option<u64>,
    /// More log lines on standard error (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

impl Global {
    pub(crate) fn aws_options(&self) -> snapcycle_aws::AwsOptions {
        snapcycle_aws::AwsOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_attempts: None,
            attempt_timeout: self.attempt_timeout.map(std::time::Duration::from_secs),
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the snapshot job for one keyword now, exactly as the scheduled Lambda does.
    Run(RunArgs),
    /// Print the stack's CloudFormation template (deterministic JSON).
    Render(RenderArgs),
    /// Build, upload and apply the stack through a change set.
    Deploy(DeployArgs),
    /// Delete the stack; snapshots are kept.
    Destroy(DestroyArgs),
    /// Show the stack's state, its schedules as deployed and the function's configuration.
    Status(StatusArgs),
    /// Show each schedule's next fire times (no AWS call).
    Schedules(SchedulesArgs),
    /// Play the deployed schedules forward on an emulator, invoking the real function locally.
    Simulate(SimulateArgs),
    /// List the snapshots no run rotates: their volume is no longer on an instance tagged with
    /// their keyword (read only).
    Orphans(OrphansArgs),
    /// List the stack's deleted snapshots in the EC2 Recycle Bin (`deploy --recycle-bin-days`),
    /// or restore the ones named with --restore.
    Undo(UndoArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UndoArgs {
    /// Restore these snapshots (ids from the listing; repeatable or comma separated). Without it,
    /// `undo` only lists; nothing is ever restored unless named here.
    #[arg(long, value_name = "SNAPSHOT_ID", num_args = 1.., value_delimiter = ',',
          value_parser = values::snapshot_id)]
    pub(crate) restore: Vec<String>,
    /// After restoring, remove each snapshot's keyword tag (its schedule's tag key), so no run
    /// deletes it again: kept until you delete it. Without it, a restored snapshot is back in its
    /// schedule's rotation as before. Needs ec2:DescribeSnapshots and ec2:DeleteTags.
    #[arg(long, requires = "restore")]
    pub(crate) keep_forever: bool,
    /// A keyword whose snapshots are this stack's; repeatable (default: the deployed stack's
    /// keywords).
    #[arg(long = "keyword", value_name = "K")]
    pub(crate) keywords: Vec<Keyword>,
    /// List only the snapshots deleted within this age (`2d`, `36h`, `1w`).
    #[arg(long, value_name = "AGE", value_parser = values::since, conflicts_with = "restore")]
    pub(crate) since: Option<snapcycle_core::policy::Within>,
    /// The stack whose keywords apply when --keyword is not given.
    #[arg(long, default_value = DEFAULT_STACK)]
    pub(crate) stack_name: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct OrphansArgs {
    /// A keyword to look for; repeatable (default: the deployed stack's keywords).
    #[arg(long = "keyword", value_name = "K")]
    pub(crate) keywords: Vec<Keyword>,
    /// The stack whose keywords apply when --keyword is not given.
    #[arg(long, default_value = DEFAULT_STACK)]
    pub(crate) stack_name: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// CloudFormation stack name.
    #[arg(long, default_value = DEFAULT_STACK)]
    pub(crate) stack_name: String,
    /// Window length in hours (added to --days).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=744))]
    pub(crate) hours: Option<u32>,
    /// Window length in days (default: 1 day when neither is given).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=31))]
    pub(crate) days: Option<u32>,
    /// Start of the window (RFC 3339; default now).
    #[arg(long, value_parser = values::time)]
    pub(crate) from: Option<DateTime<Utc>>,
    /// The function binary (default: `bootstrap` next to this executable).
    #[arg(long)]
    pub(crate) bootstrap: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SchedulesArgs {
    /// A schedule as KEYWORD=EXPRESSION; repeatable (default: the stack's two defaults).
    #[arg(long = "schedule", value_name = "KEYWORD=EXPRESSION", value_parser = values::schedule)]
    pub(crate) schedules: Vec<Schedule>,
    /// How many fire times to show per schedule.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub(crate) next: u16,
    /// Start after this time (RFC 3339; default now).
    #[arg(long, value_parser = values::time)]
    pub(crate) from: Option<DateTime<Utc>>,
    /// Read the crons on this IANA zone's clock, as `deploy --tz` fires them (e.g. Asia/Shanghai):
    /// a local time the spring change skips does not fire, one the autumn change repeats fires
    /// once. Each fire is shown in local time and UTC (JSON adds `time_zone` and `next_local`).
    #[arg(long, value_parser = values::time_zone)]
    pub(crate) tz: Option<chrono_tz::Tz>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
}

/// The stack's name.
const DEFAULT_STACK: &str = "snapcycle";

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// Write the template here instead of standard output.
    #[arg(short, long)]
    pub(crate) output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) stack: crate::stack_args::StackArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// CloudFormation stack name.
    #[arg(long, default_value = DEFAULT_STACK)]
    pub(crate) stack_name: String,
    #[command(flatten)]
    pub(crate) stack: crate::stack_args::StackArgs,
    /// Use this Lambda zip instead of building one with cargo-lambda.
    #[arg(long, value_name = "ZIP")]
    pub(crate) artifact: Option<std::path::PathBuf>,
    /// The snapcycle repository to build the zip from (default: found from the current directory).
    #[arg(long, value_name = "PATH")]
    pub(crate) workspace: Option<std::path::PathBuf>,
    /// Execute the change set without asking.
    #[arg(long)]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DestroyArgs {
    /// CloudFormation stack name.
    #[arg(long, default_value = DEFAULT_STACK)]
    pub(crate) stack_name: String,
    /// Delete without asking.
    #[arg(long)]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// CloudFormation stack name.
    #[arg(long, default_value = DEFAULT_STACK)]
    pub(crate) stack_name: String,
}

/// How to print a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// A readable table.
    Text,
    /// The run report as JSON (the Lambda's response).
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The schedule keyword, i.e. the instance tag key (`SnapshotDaily`).
    #[arg(long)]
    pub(crate) keyword: Keyword,
    /// Show the plan; create and delete nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// The run's scheduled time (RFC 3339); a second run with the same time takes no new snapshots.
    #[arg(long, value_parser = values::time)]
    pub(crate) scheduled_time: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
    /// Every keyword of the stack, comma separated (their tags are not copied onto snapshots).
    /// Default: read from the deployed stack's function (see --stack-name).
    #[arg(long, env = snapcycle_core::config::ENV_KEYWORDS)]
    pub(crate) keywords: Option<values::KeywordList>,
    /// The stack whose keywords apply when --keywords is not given.
    #[arg(long, default_value = DEFAULT_STACK)]
    pub(crate) stack_name: String,
    /// SNS topic for the failure e-mail.
    #[arg(long, env = snapcycle_core::config::ENV_TOPIC_ARN)]
    pub(crate) topic_arn: Option<String>,
    /// Most EC2 calls in flight at once.
    #[arg(long, env = snapcycle_core::config::ENV_MAX_CONCURRENCY, default_value_t = snapcycle_aws::DEFAULT_MAX_CONCURRENCY,
          value_parser = values::concurrency)]
    pub(crate) max_concurrency: usize,
    /// The IANA time zone in which a retention policy's days, weeks, months and years begin
    /// (the function's SNAPCYCLE_TIME_ZONE; default UTC).
    #[arg(long, env = snapcycle_core::config::ENV_TIME_ZONE, value_parser = values::time_zone)]
    pub(crate) time_zone: Option<chrono_tz::Tz>,
    /// Delete the keyword's orphaned snapshots older than this (`90d`, `12w`, `6m`; at least a
    /// day), keeping each volume's newest (the function's SNAPCYCLE_ORPHANS_EXPIRE_AFTER; default
    /// off).
    #[arg(long, value_name = "AGE", env = snapcycle_core::config::ENV_ORPHANS_EXPIRE_AFTER,
          value_parser = values::orphan_expiry)]
    pub(crate) orphans_expire_after: Option<snapcycle_core::OrphanExpiry>,
    /// Start no new call after this many seconds, as the Lambda does before its timeout; what is
    /// left is reported under `continued`, and a rerun with the same --scheduled-time finishes it.
    #[arg(long, value_name = "SECONDS", requires = "scheduled_time", value_parser = values::time_limit)]
    pub(crate) time_limit: Option<std::time::Duration>,
}

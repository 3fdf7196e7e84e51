//! Flags and subcommands.

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// More log lines on standard error (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

impl Global {
    pub(crate) fn aws_options(&self) -> snapcycle_ec2::AwsOptions {
        snapcycle_ec2::AwsOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_attempts: None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the snapshot job for one keyword now, exactly as the scheduled Lambda does.
    Run(RunArgs),
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
    pub(crate) keyword: String,
    /// Show the plan; create and delete nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// The run's scheduled time (RFC 3339); a second run with the same time takes no new snapshots.
    #[arg(long)]
    pub(crate) scheduled_time: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
    /// Every keyword of the stack, comma separated (their tags are not copied onto snapshots).
    #[arg(long, env = "SNAPCYCLE_KEYWORDS", default_value = "")]
    pub(crate) keywords: String,
    /// SNS topic for the failure e-mail.
    #[arg(long, env = "SNAPCYCLE_TOPIC_ARN")]
    pub(crate) topic_arn: Option<String>,
    /// Most EC2 calls in flight at once.
    #[arg(long, env = "SNAPCYCLE_MAX_CONCURRENCY", default_value_t = snapcycle_ec2::DEFAULT_MAX_CONCURRENCY,
          value_parser = clap::value_parser!(usize))]
    pub(crate) max_concurrency: usize,
}

//! `snapcycle run`: the Lambda's code path, by hand.

use std::process::ExitCode;

use anyhow::anyhow;
use chrono::Utc;
use serde_json::json;
use snapcycle_core::{parse_event, Keyword};
use snapcycle_ec2::{Runner, Settings};

use crate::cli::{Global, Output, RunArgs};
use crate::Failure;

pub(crate) async fn run(global: &Global, args: RunArgs) -> Result<ExitCode, Failure> {
    let keywords = Keyword::parse_list(&args.keywords).map_err(|e| Failure::Usage(anyhow!("--keywords: {e}")))?;
    if !(1..=256).contains(&args.max_concurrency) {
        return Err(Failure::Usage(anyhow!("--max-concurrency must be from 1 to 256, got {}", args.max_concurrency)));
    }
    // The flags become the Lambda's event and go through the same validation.
    let mut event = json!({ "SnapshotKeyWord": args.keyword, "DryRun": args.dry_run });
    if let Some(t) = &args.scheduled_time {
        event["ScheduledTime"] = json!(t);
    }
    let req = parse_event(&event, &keywords).map_err(|e| Failure::Usage(anyhow!(e)))?;
    let settings = Settings { topic_arn: args.topic_arn.clone(), keywords, max_concurrency: args.max_concurrency };
    let sdk = snapcycle_ec2::load_config(&global.aws_options()).await;
    let runner = Runner::new(&sdk, settings);
    let deadline = args.time_limit.map(|limit| tokio::time::Instant::now() + limit);
    let outcome = runner.run_and_notify(&req, Utc::now(), deadline).await;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&outcome.report).map_err(|e| Failure::Failed(e.into()))?),
        Output::Text => print!("{}", outcome.report.to_table()),
    }
    if let Some(e) = &outcome.notify_error {
        eprintln!("warning: the failure e-mail could not be published: {}", e.message());
    }
    Ok(if outcome.report.has_failures() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

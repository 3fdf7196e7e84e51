//! `snapcycle run`: the Lambda's code path, by hand.

use std::process::ExitCode;

use anyhow::anyhow;
use chrono::Utc;
use snapcycle_aws::{Runner, Settings};
use snapcycle_core::{Event, Keyword};

use crate::cli::{Global, Output, RunArgs};
use crate::Failure;

pub(crate) async fn run(global: &Global, args: RunArgs) -> Result<ExitCode, Failure> {
    // The flags are the Lambda's event, typed by clap with the event's own rules; the keyword
    // is checked against the stack's before any call that changes something.
    let req = Event::new(args.keyword, args.scheduled_time, args.dry_run);
    let given = args.keywords.map(|list| list.0);
    if let Some(k) = &given {
        req.check_keyword(k).map_err(|e| Failure::Usage(anyhow!(e)))?;
    }
    let sdk = snapcycle_aws::load_config(&global.aws_options()).await;
    crate::aws::preflight(&sdk).await?;
    let keywords = match given {
        Some(k) => k,
        None => {
            let k = stack_keywords(&sdk, &args.stack_name).await?;
            req.check_keyword(&k).map_err(|e| Failure::Usage(anyhow!(e)))?;
            k
        }
    };
    let settings = Settings {
        topic_arn: args.topic_arn.clone(),
        keywords,
        max_concurrency: args.max_concurrency,
        time_zone: args.time_zone.unwrap_or(chrono_tz::Tz::UTC),
        ..Settings::default()
    };
    let runner = Runner::new(&sdk, settings);
    // Nothing kills the CLI at the limit, so calls in flight get a minute more to finish.
    let deadline = args.time_limit.map(|limit| {
        snapcycle_aws::Deadline::new(tokio::time::Instant::now() + limit, std::time::Duration::from_secs(60))
    });
    let outcome = runner.run_and_notify(&req, Utc::now(), deadline).await;
    match args.output {
        Output::Json => {
            println!("{}", serde_json::to_string_pretty(&outcome.report).map_err(|e| Failure::Failed(e.into()))?)
        }
        Output::Text => print!("{}", crate::table::table(&outcome.report)),
    }
    if let Some(e) = &outcome.notify_error {
        eprintln!("warning: the failure e-mail could not be published: {}", e.message());
    }
    Ok(if outcome.report.has_failures() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The keywords of the deployed stack, from its function's environment: the same list the Lambda
/// uses, so a run by hand copies the same tags. Without a deployed stack, only the run's own
/// keyword is known, and the user is told what that means.
async fn stack_keywords(sdk: &aws_config::SdkConfig, stack_name: &str) -> Result<Vec<Keyword>, Failure> {
    let function = format!("{stack_name}{}", snapcycle_stack::FUNCTION_NAME_SUFFIX);
    let lambda = aws_sdk_lambda::Client::new(sdk);
    match lambda.get_function_configuration().function_name(&function).send().await {
        Ok(conf) => {
            let raw = conf
                .environment()
                .and_then(|e| e.variables())
                .and_then(|v| v.get(snapcycle_stack::ENV_KEYWORDS))
                .cloned()
                .unwrap_or_default();
            let keywords = Keyword::parse_list(&raw)
                .map_err(|e| Failure::Failed(anyhow!("the keywords of function {function} are invalid: {e}")))?;
            let names: Vec<&str> = keywords.iter().map(Keyword::as_str).collect();
            eprintln!("keywords of stack {stack_name} (function {function}): {}", names.join(", "));
            Ok(keywords)
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
            eprintln!(
                "warning: no stack {stack_name} here (no function {function}), so only this run's keyword is known \
                 and other schedules' keyword tags are copied onto its snapshots; pass --keywords or --stack-name"
            );
            Ok(Vec::new())
        }
        Err(e) => Err(Failure::Failed(anyhow!(
            "reading the keywords of stack {stack_name} (function {function}) failed: {}; pass --keywords to skip this",
            snapcycle_aws::error::message_of(&e)
        ))),
    }
}

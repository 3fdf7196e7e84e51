//! `snapcycle run`: the Lambda's code path, by hand.

use std::process::ExitCode;

use anyhow::anyhow;
use chrono::Utc;
use snapcycle_aws::{Runner, Settings};
use snapcycle_core::config::ENV_TIME_ZONE;
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
    let (keywords, stack_zone) = match given {
        Some(k) => (k, None),
        None => {
            let (k, zone) = stack_keywords(&sdk, &args.stack_name).await?;
            req.check_keyword(&k).map_err(|e| Failure::Usage(anyhow!(e)))?;
            (k, zone)
        }
    };
    // A run by hand must count days where the function does, or it would thin differently.
    let time_zone = match (args.time_zone, stack_zone) {
        (Some(given), Some(deployed)) if given != deployed => {
            return Err(Failure::Usage(anyhow!(
                "--time-zone {given} differs from the deployed function's {ENV_TIME_ZONE}={deployed}; \
                 a run by hand would thin by other days than the schedule does"
            )))
        }
        (Some(z), _) | (None, Some(z)) => z,
        (None, None) => chrono_tz::Tz::UTC,
    };
    let settings = Settings {
        topic_arn: args.topic_arn.clone(),
        keywords,
        max_concurrency: args.max_concurrency,
        time_zone,
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

/// The keywords (and the time zone, if set) of the deployed stack, from its function's
/// environment: the same the Lambda uses, so a run by hand copies the same tags and thins by the
/// same days. Without a deployed stack, only the run's own keyword is known, and the user is
/// told what that means.
pub(crate) async fn stack_keywords(
    sdk: &aws_config::SdkConfig,
    stack_name: &str,
) -> Result<(Vec<Keyword>, Option<chrono_tz::Tz>), Failure> {
    let function = format!("{stack_name}{}", snapcycle_stack::FUNCTION_NAME_SUFFIX);
    let lambda = aws_sdk_lambda::Client::new(sdk);
    match lambda.get_function_configuration().function_name(&function).send().await {
        Ok(conf) => {
            let var = |k: &str| conf.environment().and_then(|e| e.variables()).and_then(|v| v.get(k)).cloned();
            let raw = var(snapcycle_stack::ENV_KEYWORDS).unwrap_or_default();
            let zone = match var(ENV_TIME_ZONE).filter(|z| !z.trim().is_empty()) {
                None => None,
                Some(z) => Some(z.trim().parse::<chrono_tz::Tz>().map_err(|_| {
                    Failure::Failed(anyhow!("the {ENV_TIME_ZONE} of function {function} is not a time zone: {z:?}"))
                })?),
            };
            let keywords = Keyword::parse_list(&raw)
                .map_err(|e| Failure::Failed(anyhow!("the keywords of function {function} are invalid: {e}")))?;
            let names: Vec<&str> = keywords.iter().map(Keyword::as_str).collect();
            eprintln!("keywords of stack {stack_name} (function {function}): {}", names.join(", "));
            if let Some(z) = zone {
                eprintln!("time zone of stack {stack_name}: {z}");
            }
            Ok((keywords, zone))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
            eprintln!(
                "warning: no stack {stack_name} here (no function {function}), so only this run's keyword is known \
                 and other schedules' keyword tags are copied onto its snapshots; pass --keywords or --stack-name"
            );
            Ok((Vec::new(), None))
        }
        Err(e) => Err(Failure::Failed(anyhow!(
            "reading the keywords of stack {stack_name} (function {function}) failed: {}; pass --keywords to skip this",
            snapcycle_aws::error::message_of(&e)
        ))),
    }
}

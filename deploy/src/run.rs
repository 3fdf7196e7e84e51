//! `snapcycle run`: the Lambda's code path, by hand.

use std::process::ExitCode;

use anyhow::anyhow;
use chrono::Utc;
use snapcycle_aws::{Runner, Settings};
use snapcycle_core::config::{ENV_COPY_RETENTION, ENV_COPY_TO, ENV_ENCRYPT, ENV_ORPHANS_EXPIRE_AFTER, ENV_TIME_ZONE};
use snapcycle_core::copy::{parse_copy_targets, parse_encrypt, CopyTarget, EncryptInPlace};
use snapcycle_core::{Event, Keyword, OrphanExpiry, RetentionPolicy};

use crate::cli::{Global, Output, RunArgs};
use crate::Failure;

pub(crate) async fn run(global: &Global, args: RunArgs) -> Result<ExitCode, Failure> {
    // The flags are the Lambda's event, typed by clap with the event's own rules; the keyword
    // is checked against the stack's before any call that changes something.
    let req = Event::new(args.keyword, args.scheduled_time, args.dry_run);
    let given = args.keywords.map(|list| list.0);
    let from_stack = given.is_none();
    if let Some(k) = &given {
        req.check_keyword(k).map_err(|e| Failure::Usage(anyhow!(e)))?;
    }
    let sdk = snapcycle_aws::load_config(&global.aws_options()).await;
    crate::aws::preflight(&sdk).await?;
    let deployed = match given {
        Some(k) => Deployed { keywords: k, ..Deployed::default() },
        None => {
            let d = stack_keywords(&sdk, &args.stack_name).await?;
            req.check_keyword(&d.keywords).map_err(|e| Failure::Usage(anyhow!(e)))?;
            d
        }
    };
    let (keywords, stack_zone) = (deployed.keywords, deployed.time_zone);
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
    // Likewise for orphans: a run by hand expires what the function would, and no more.
    let orphans_expire_after = match (args.orphans_expire_after, deployed.orphans_expire_after) {
        (Some(given), deployed) if from_stack && !keywords.is_empty() && deployed != Some(given) => {
            return Err(Failure::Usage(anyhow!(
                "--orphans-expire-after {given} differs from the deployed function's {ENV_ORPHANS_EXPIRE_AFTER}={}; \
                 a run by hand would delete other orphans than the schedule does (pass --keywords to run \
                 apart from the stack)",
                deployed.map_or("(unset)".to_owned(), |d| d.to_string())
            )))
        }
        (given, deployed) => given.or(deployed),
    };
    let settings = Settings {
        topic_arn: args.topic_arn.clone(),
        keywords,
        max_concurrency: args.max_concurrency,
        time_zone,
        orphans_expire_after,
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

/// What a run by hand takes from the deployed function so that it decides as the function does.
#[derive(Debug, Default)]
pub(crate) struct Deployed {
    /// Every keyword of the stack (empty without a stack).
    pub(crate) keywords: Vec<Keyword>,
    /// `SNAPCYCLE_TIME_ZONE`, if set.
    pub(crate) time_zone: Option<chrono_tz::Tz>,
    /// `SNAPCYCLE_ORPHANS_EXPIRE_AFTER`, if set.
    pub(crate) orphans_expire_after: Option<OrphanExpiry>,
    /// `SNAPCYCLE_COPY_TO`: where the function copies snapshots (empty: nowhere).
    pub(crate) copy_to: Vec<CopyTarget>,
    /// `SNAPCYCLE_COPY_RETENTION`, if set.
    pub(crate) copy_retention: Option<RetentionPolicy>,
    /// `SNAPCYCLE_ENCRYPT`: encryption in place and its key, if on.
    pub(crate) encrypt: Option<EncryptInPlace>,
}

/// The keywords, time zone and orphan expiry of the deployed stack, from its function's
/// environment: the same the Lambda uses, so a run by hand copies the same tags, thins by the
/// same days and expires the same orphans. Without a deployed stack, only the run's own keyword
/// is known, and the user is told what that means.
pub(crate) async fn stack_keywords(sdk: &aws_config::SdkConfig, stack_name: &str) -> Result<Deployed, Failure> {
    let function = format!("{stack_name}{}", snapcycle_stack::FUNCTION_NAME_SUFFIX);
    match read_deployed(sdk, stack_name).await? {
        Some(deployed) => {
            let names: Vec<&str> = deployed.keywords.iter().map(Keyword::as_str).collect();
            eprintln!("keywords of stack {stack_name} (function {function}): {}", names.join(", "));
            if let Some(z) = deployed.time_zone {
                eprintln!("time zone of stack {stack_name}: {z}");
            }
            if let Some(e) = deployed.orphans_expire_after {
                eprintln!("orphans of stack {stack_name} expire after {e}");
            }
            Ok(deployed)
        }
        None => {
            eprintln!(
                "warning: no stack {stack_name} here (no function {function}), so only this run's keyword is known \
                 and other schedules' keyword tags are copied onto its snapshots; pass --keywords or --stack-name"
            );
            Ok(Deployed::default())
        }
    }
}

/// What the deployed function of `stack_name` was configured with; `None` when there is no such
/// function. `deploy` compares it with what it is about to apply, `run` decides by it.
pub(crate) async fn read_deployed(sdk: &aws_config::SdkConfig, stack_name: &str) -> Result<Option<Deployed>, Failure> {
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
            let orphans_expire_after = match var(ENV_ORPHANS_EXPIRE_AFTER).filter(|z| !z.trim().is_empty()) {
                None => None,
                Some(raw) => Some(raw.parse::<OrphanExpiry>().map_err(|e| {
                    Failure::Failed(anyhow!("the {ENV_ORPHANS_EXPIRE_AFTER} of function {function} is invalid: {e}"))
                })?),
            };
            let keywords = Keyword::parse_list(&raw)
                .map_err(|e| Failure::Failed(anyhow!("the keywords of function {function} are invalid: {e}")))?;
            let copy_to = parse_copy_targets(&var(ENV_COPY_TO).unwrap_or_default())
                .map_err(|e| Failure::Failed(anyhow!("the {ENV_COPY_TO} of function {function} is invalid: {e}")))?;
            let copy_retention = match var(ENV_COPY_RETENTION).filter(|r| !r.trim().is_empty()) {
                None => None,
                Some(raw) => Some(RetentionPolicy::parse(&raw).map_err(|e| {
                    Failure::Failed(anyhow!("the {ENV_COPY_RETENTION} of function {function} is invalid: {e}"))
                })?),
            };
            let encrypt = parse_encrypt(&var(ENV_ENCRYPT).unwrap_or_default())
                .map_err(|e| Failure::Failed(anyhow!("the {ENV_ENCRYPT} of function {function} is invalid: {e}")))?;
            Ok(Some(Deployed { keywords, time_zone: zone, orphans_expire_after, copy_to, copy_retention, encrypt }))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(Failure::Failed(anyhow!(
            "reading the keywords of stack {stack_name} (function {function}) failed: {}; pass --keywords to skip this",
            snapcycle_aws::error::message_of(&e)
        ))),
    }
}

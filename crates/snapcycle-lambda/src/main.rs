//! The snapcycle Lambda function (`bootstrap`): parses the schedule's event and runs one keyword
//! through the same shell as `snapcycle run`. Clients are built once per cold start.

use chrono::Utc;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use snapcycle_core::{parse_event, EventError, Report};
use snapcycle_ec2::{AwsOptions, Runner, Settings};
use tracing::{error, info};

/// Why an invocation failed. Each kind has a stable `error_type`, so alarms, retries and the
/// dead-letter queue can tell bad input from a run that hit AWS failures.
#[derive(Debug, thiserror::Error)]
enum HandlerError {
    /// The event does not follow the contract; no AWS call was made.
    #[error("invalid event: {0}")]
    InvalidEvent(#[from] EventError),
    /// The run finished with failures; they were e-mailed (or the e-mail failed, see the logs).
    #[error("{}", summary(.0))]
    RunFailed(Box<Report>),
}

/// One line for the invocation's error: the counts (the report itself is not returned on error)
/// and the first failure.
fn summary(r: &Report) -> String {
    let n = r.failures.len();
    let first = r.failures.first().map(|f| {
        let at = f.volume_id.as_deref().or(f.instance_id.as_deref()).unwrap_or("the run");
        format!("{} at {at}: {}", f.code, f.message)
    });
    format!(
        "{n} {} in the {} run {} ({} created, {} deleted, {} skipped); first: {}",
        if n == 1 { "failure" } else { "failures" },
        r.keyword,
        r.scheduled_time,
        r.created.len(),
        r.deleted.len(),
        r.skipped.len(),
        first.unwrap_or_default()
    )
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        let error_type = match e {
            HandlerError::InvalidEvent(_) => "snapcycle.InvalidEvent",
            HandlerError::RunFailed(_) => "snapcycle.RunFailed",
        };
        Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

async fn handle(runner: &Runner, event: LambdaEvent<Value>) -> Result<Report, HandlerError> {
    let req = parse_event(&event.payload, &runner.settings().keywords).inspect_err(|e| {
        error!(error = %e, request_id = %event.context.request_id, "invalid event; nothing done");
    })?;
    let outcome = runner.run_and_notify(&req, Utc::now()).await;
    if outcome.report.has_failures() {
        return Err(HandlerError::RunFailed(Box::new(outcome.report)));
    }
    info!(request_id = %event.context.request_id, "run succeeded");
    Ok(outcome.report)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env(|k| std::env::var(k).ok()).inspect_err(|e| error!(error = %e, "bad configuration"))?;
    let sdk = snapcycle_ec2::load_config(&AwsOptions::default()).await;
    let runner = Runner::new(&sdk, settings);
    lambda_runtime::run(service_fn(|event| handle(&runner, event))).await
}

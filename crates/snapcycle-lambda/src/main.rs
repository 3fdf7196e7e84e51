//! The snapcycle Lambda function (`bootstrap`): parses the schedule's event and runs one keyword
//! through the same shell as `snapcycle run`. Clients are built once per cold start.

use std::time::{Duration, SystemTime};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use chrono::{DateTime, Utc};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use snapcycle_aws::{AwsOptions, Deadline, Runner, Settings};
use snapcycle_core::report::MAX_LISTED_ENTRIES;
use snapcycle_core::{Event, EventError, Invocation, Report};
use tokio::time::Instant;
use tracing::{error, info};

/// Why an invocation failed. Each kind has a stable `error_type`, so alarms, retries and the
/// dead-letter queue can tell bad input from a run that hit AWS failures.
#[derive(Debug, thiserror::Error)]
enum HandlerError {
    /// The event does not follow the contract; no AWS call was made.
    #[error("invalid event: {0}")]
    InvalidEvent(#[from] EventError),
    /// The run finished with failures that a retry may fix (throttling, AWS-side errors, time);
    /// nothing was e-mailed: Lambda retries, and its record of the last retry reaches the topic.
    #[error("{}", summary(.0))]
    RunFailed(Box<Report>),
    /// The run ran short of time and the hand-over to a new invocation failed; Lambda's retry
    /// of this invocation picks up where it stopped.
    #[error("handing the rest of the run to a new invocation failed: invoking {function} to continue the run failed: {}", snapcycle_aws::error::message_of(.source))]
    HandOver {
        /// The function's own name.
        function: String,
        /// The SDK's error.
        #[source]
        source: Box<aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::invoke::InvokeError>>,
    },
    /// An invocation ran out of time before finishing any call; handing over would loop.
    #[error("the {} run {} ran out of time before finishing a single call; raise the function's timeout or lower {}", .0.keyword, snapcycle_core::run_id(.0.scheduled_time), snapcycle_core::config::ENV_DEADLINE_MARGIN_SECONDS)]
    NoProgress(Box<Report>),
    /// Looking up the run of an event without `ScheduledTime` failed; nothing was done.
    #[error("looking up the run of this request failed, so nothing was done: {}", .0.message())]
    Lookup(Box<snapcycle_aws::Error>),
    /// No `AWS_LAMBDA_FUNCTION_NAME`, so the function cannot invoke itself.
    #[error("the run ran short of time and AWS_LAMBDA_FUNCTION_NAME is not set, so the rest cannot be handed over")]
    NoFunctionName,
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
        "{n} {} in the {} run {} ({} created, {} deleted, {} orphans deleted, {} skipped{}); first: {}",
        if n == 1 { "failure" } else { "failures" },
        r.keyword,
        snapcycle_core::run_id(r.scheduled_time),
        r.created.len(),
        r.deleted.len(),
        r.orphans_deleted.len(),
        r.skipped.len(),
        match (r.copied.len(), r.copies_deleted.len()) {
            (0, 0) => String::new(),
            (c, d) => format!(", {c} copies started, {d} copies deleted"),
        },
        first.unwrap_or_default()
    )
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        let error_type = match e {
            HandlerError::InvalidEvent(_) => "snapcycle.InvalidEvent",
            HandlerError::RunFailed(_) | HandlerError::Lookup(_) => "snapcycle.RunFailed",
            HandlerError::HandOver { .. } | HandlerError::NoFunctionName | HandlerError::NoProgress(_) => {
                "snapcycle.HandOverFailed"
            }
        };
        Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// Time kept back before the invocation's deadline: the run stops starting new calls this long
/// before Lambda would end it, leaving room for calls in flight, the e-mail and the hand-over.
/// Never more than a tenth of the time an invocation has, so short timeouts still do work.
const DEFAULT_MARGIN: Duration = Duration::from_secs(60);

/// The function and its own name, for handing the rest of a long run to a new invocation.
struct App {
    runner: Runner,
    lambda: aws_sdk_lambda::Client,
    function_name: Option<String>,
    margin: Duration,
    /// `SNAPCYCLE_TIME_LIMIT_SECONDS`: work time per invocation when shorter than the timeout
    /// allows (the same knob as `snapcycle run --time-limit`; under a runtime that sets no
    /// deadline, it is the only limit).
    time_limit: Option<Duration>,
}

/// When this invocation must stop: no call starts after `start_by` (the margin before Lambda's
/// deadline, or the time limit), and calls still in flight are abandoned half a margin later, so
/// the hand-over and the e-mail always have the last half.
fn deadline(start: Instant, left: Duration, margin: Duration, limit: Option<Duration>) -> Option<Deadline> {
    // Lambda never starts an invocation past its deadline; a runtime that sets none (a deadline
    // already past) gets no time limit rather than a run that does nothing.
    let margin = if left.is_zero() { margin } else { margin.min(left / 10) };
    let by_timeout = (!left.is_zero()).then(|| start + left.saturating_sub(margin));
    let start_by = match (by_timeout, limit.map(|l| start + l)) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    let mut finish_by = start_by + margin / 2;
    if !left.is_zero() {
        finish_by = finish_by.min(start + left.saturating_sub(margin / 2));
    }
    Some(Deadline { start_by, finish_by })
}

/// One invocation. The rules for e-mails and retries (README, "Failures, e-mails and retries"):
/// an invocation that hands over returns success and e-mails nothing, so a chain never fans out;
/// the invocation that ends the run e-mails what still failed, once, and returns success, unless
/// every failure is one a retry may fix: then it returns an error and Lambda retries it (the
/// retries are idempotent), and the last failed retry reaches the topic as Lambda's own record.
async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Report, HandlerError> {
    let runner = &app.runner;
    let request_id = event.context.request_id.clone();
    let invocation = Invocation::parse(&event.payload, &runner.settings().keywords).inspect_err(|e| {
        error!(error = %e, request_id = %request_id, "invalid event; nothing done");
    })?;
    let mut req = match invocation {
        Invocation::Run(req) => req,
        // EC2 says snapshots completed (the stack's rule forwards its event when copies to other
        // regions or encryption in place are on): copy them, or with encryption in place replace
        // the original of a completed copy; the verdict is a run's (retry, or e-mail once).
        Invocation::Copy(completed) => {
            match &completed.copy_of {
                Some(original) => info!(original = %original, "EC2 says a copy completed: replacing its original"),
                None => info!(snapshots = completed.snapshot_ids.len(), "EC2 says snapshots completed: copying them"),
            }
            let left = event.context.deadline().duration_since(SystemTime::now()).unwrap_or_default();
            let report =
                runner.copy_completed(&completed, deadline(Instant::now(), left, app.margin, app.time_limit)).await;
            return finish(app, report, &request_id).await;
        }
    };
    let left = event.context.deadline().duration_since(SystemTime::now()).unwrap_or_default();
    info!(remaining_ms = left.as_millis() as u64, invocation = req.invocation, "invocation started");
    let start = Instant::now();
    let deadline = deadline(start, left, app.margin, app.time_limit);
    let now = Utc::now();
    // The run's identity is fixed once, here, and travels as a value from now on. An event
    // without ScheduledTime (the classic lab's rules) is known by its request id, which Lambda
    // keeps across its retries of the event: a retry continues the run its first attempt began.
    let scheduled = match req.scheduled_time {
        Some(t) => t,
        None if req.dry_run => snapcycle_core::event::default_scheduled_time(now),
        None => {
            req.request_id = Some(request_id.clone());
            match runner.run_of_request(&req.keyword, &request_id).await {
                Ok(Some(t)) => {
                    info!(request_id = %request_id, run = %snapcycle_core::run_id(t), "a retry of this request: continuing its run");
                    t
                }
                Ok(None) => snapcycle_core::event::default_scheduled_time(now),
                Err(e) => {
                    // Without the answer a retry could take a second set: better not to run.
                    error!(error = %e, code = %e.code(), "could not look up this request's run; nothing done");
                    return Err(HandlerError::Lookup(Box::new(e)));
                }
            }
        }
    };
    req.scheduled_time = Some(scheduled);
    let report = runner.run_until(&req, now, deadline).await;
    if let Some(c) = &report.continued {
        if report.created.is_empty() && report.deleted.is_empty() && report.orphans_deleted.is_empty() {
            // Nothing done in a whole invocation: another one would do no better, so stop the
            // chain here and let a person look (timeout or margin too small).
            return Err(HandlerError::NoProgress(Box::new(report)));
        }
        hand_over(app, &req, scheduled, c.rotating).await?;
        info!(request_id = %request_id, failures = report.failures.len(), "handed over; the last invocation reports");
        return Ok(report);
    }
    finish(app, report, &request_id).await
}

/// Ends an invocation that did not hand over: success, a retry, or one e-mail (see [`handle`]).
async fn finish(app: &App, report: Report, request_id: &str) -> Result<Report, HandlerError> {
    let runner = &app.runner;
    match verdict(&report) {
        Verdict::Done => {}
        Verdict::Retry => {
            error!(request_id = %request_id, "every failure may pass on a retry; returning an error so Lambda retries");
            return Err(HandlerError::RunFailed(Box::new(report)));
        }
        Verdict::Email => {
            let log_group =
                std::env::var("AWS_LAMBDA_LOG_GROUP_NAME").unwrap_or_else(|_| "the function's log group".into());
            let origin =
                format!("The whole report is in CloudWatch Logs, log group {log_group}, request id {request_id}.");
            if let Err(e) = runner.notify(&report, Some(&origin)).await {
                error!(error = %e, code = %e.code(), "the failure e-mail could not be published");
            }
            // A retry would fail the same way and e-mail again; the e-mail has told a person.
            return Ok(report);
        }
    }
    info!(request_id = %request_id, "invocation succeeded");
    Ok(report)
}

/// The invocation's response: the report, or at fleet scale (a dry run of 100,000 volumes, a
/// hand-over that skips every volume already done) its first [`MAX_LISTED_ENTRIES`] entries per
/// list with every list's full length in `counts`, since Lambda fails an invocation whose response
/// is over 6 MB. Each entry of a cut list is logged first, one line each (a CloudWatch Logs event
/// holds 256 KB, one entry never comes near it), so the whole lists stay in the logs.
fn respond(report: Report) -> Report {
    let Some(bounded) = report.bounded(MAX_LISTED_ENTRIES) else {
        return report;
    };
    let cut = |n: usize| n > MAX_LISTED_ENTRIES;
    if cut(report.created.len()) {
        for c in &report.created {
            info!(list = "created", instance_id = %c.instance_id, volume_id = %c.volume_id, snapshot_id = ?c.snapshot_id, "report entry");
        }
    }
    for (name, list) in [("deleted", &report.deleted), ("orphans_deleted", &report.orphans_deleted)] {
        if cut(list.len()) {
            for d in list {
                info!(list = name, volume_id = %d.volume_id, snapshot_id = %d.snapshot_id, reason = ?d.reason, "report entry");
            }
        }
    }
    for (name, list) in [("kept", &report.kept), ("orphans_kept", &report.orphans_kept)] {
        if cut(list.len()) {
            for k in list {
                info!(list = name, volume_id = %k.volume_id, snapshot_id = %k.snapshot_id, reason = %k.reason, "report entry");
            }
        }
    }
    if cut(report.copied.len()) {
        for c in &report.copied {
            info!(list = "copied", volume_id = %c.volume_id, snapshot_id = %c.snapshot_id, region = %c.region, copy_id = %c.copy_id, "report entry");
        }
    }
    if cut(report.copies_deleted.len()) {
        for d in &report.copies_deleted {
            info!(list = "copies_deleted", region = %d.region, volume_id = %d.volume_id, snapshot_id = %d.snapshot_id, "report entry");
        }
    }
    if cut(report.skipped.len()) {
        for s in &report.skipped {
            info!(list = "skipped", instance_id = ?s.instance_id, volume_id = ?s.volume_id, snapshot_id = ?s.snapshot_id, reason = %s.reason, "report entry");
        }
    }
    if cut(report.failures.len()) {
        for f in &report.failures {
            info!(list = "failures", instance_id = ?f.instance_id, volume_id = ?f.volume_id, snapshot_id = ?f.snapshot_id, code = %f.code, message = %f.message, "report entry");
        }
    }
    info!(counts = ?bounded.counts, listed = MAX_LISTED_ENTRIES, "the response lists the first entries of each list; every entry of a cut list is logged above");
    bounded
}

/// What a finished run (one that did not hand over) asks of the invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// No failure: success.
    Done,
    /// Every failure may pass on a retry: return an error, and Lambda retries (no e-mail yet).
    Retry,
    /// Some failure would fail again on a retry: e-mail once and return success.
    Email,
}

fn verdict(report: &Report) -> Verdict {
    if !report.has_failures() {
        Verdict::Done
    } else if report.failures.iter().all(|f| snapcycle_aws::error::is_transient(&f.code)) {
        Verdict::Retry
    } else {
        Verdict::Email
    }
}

/// Invokes this function again, asynchronously, with the same scheduled time: it skips what this
/// invocation finished and does the rest (runs are idempotent per scheduled time).
async fn hand_over(app: &App, req: &Event, scheduled: DateTime<Utc>, rotating: bool) -> Result<(), HandlerError> {
    let function = app.function_name.clone().ok_or(HandlerError::NoFunctionName)?;
    // An `Event` holds only strings, numbers and booleans: writing it to a Vec cannot fail.
    let payload = serde_json::to_vec(&req.continuation(scheduled, rotating)).expect("an event always serializes");
    app.lambda
        .invoke()
        .function_name(&function)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|source| HandlerError::HandOver { function: function.clone(), source: Box::new(source) })?;
    info!(function = %function, next_invocation = req.invocation + 1, "handed the rest of the run to a new invocation");
    Ok(())
}

/// `SNAPCYCLE_TIME_LIMIT_SECONDS`: unset or blank for none, else seconds above 0 and at most 900
/// (Lambda's longest timeout); anything else stops the function at start with a clear message.
fn time_limit(raw: Option<&str>) -> Result<Option<Duration>, String> {
    let Some(v) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    snapcycle_core::event::parse_time_limit(v, f64::from(snapcycle_core::config::MAX_TIMEOUT_SECONDS))
        .map(Some)
        .ok_or_else(|| {
            format!(
                "{} must be seconds from 0 (exclusive) to {}, got {v:?}",
                snapcycle_core::config::ENV_TIME_LIMIT_SECONDS,
                snapcycle_core::config::MAX_TIMEOUT_SECONDS
            )
        })
}

/// Keeps glibc's mmap threshold at its initial 128 KiB. glibc raises it each time a block above it
/// is freed (up to 32 MiB), and from then on the megabytes of one DescribeInstances page land in
/// the heap, whose pages stay resident after the page is freed and count in the function's peak
/// memory. Fixed, every such buffer has its own mapping and goes back to the kernel when freed.
fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other thread
    // exists and takes no pointer.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

// One thread: the work is waiting on EC2, and a Lambda below 1,769 MB has less than one vCPU;
// a single thread also keeps one malloc arena, which keeps peak memory down at fleet scale.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    fix_mmap_threshold();
    lambda_runtime::tracing::init_default_subscriber();
    let settings =
        Settings::from_env(|k| std::env::var(k).ok()).inspect_err(|e| error!(error = %e, "bad configuration"))?;
    let margin = match std::env::var(snapcycle_core::config::ENV_DEADLINE_MARGIN_SECONDS) {
        Ok(v) => Duration::from_secs(v.trim().parse().map_err(|_| {
            format!("{} must be whole seconds, got {v:?}", snapcycle_core::config::ENV_DEADLINE_MARGIN_SECONDS)
        })?),
        Err(_) => DEFAULT_MARGIN,
    };
    let time_limit = time_limit(std::env::var(snapcycle_core::config::ENV_TIME_LIMIT_SECONDS).ok().as_deref())?;
    let sdk = snapcycle_aws::load_config(&AwsOptions::default()).await;
    let app = App {
        runner: Runner::new(&sdk, settings),
        lambda: aws_sdk_lambda::Client::new(&sdk),
        function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
        margin,
        time_limit,
    };
    lambda_runtime::run(service_fn(|event| async { handle(&app, event).await.map(respond) })).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_a_retry_may_fix_make_lambda_retry() {
        let with = |codes: &[&str]| {
            let mut r = Report::default();
            for c in codes {
                r.failures.push(snapcycle_core::report::Failure {
                    instance_id: None,
                    volume_id: None,
                    snapshot_id: None,
                    code: (*c).into(),
                    message: String::new(),
                });
            }
            verdict(&r)
        };
        assert_eq!(with(&[]), Verdict::Done);
        assert_eq!(with(&["RequestLimitExceeded", "InternalError", "OutOfTime", "DispatchFailure"]), Verdict::Retry);
        for permanent in [
            "InvalidRetention",
            "InvalidExclusion",
            "UnauthorizedOperation",
            "InvalidParameterValue",
            "TagLimitExceeded",
        ] {
            assert_eq!(with(&[permanent]), Verdict::Email, "{permanent}");
            assert_eq!(with(&["RequestLimitExceeded", permanent]), Verdict::Email, "{permanent} with a transient one");
        }
    }

    #[test]
    fn the_response_is_the_report_until_a_list_outgrows_it() {
        let created = |n: usize| {
            (0..n)
                .map(|i| snapcycle_core::report::Created {
                    instance_id: format!("i-{i}").into(),
                    volume_id: format!("vol-{i}").into(),
                    snapshot_id: None,
                })
                .collect::<Vec<_>>()
        };
        let small = Report { created: created(MAX_LISTED_ENTRIES), ..Report::default() };
        assert_eq!(respond(small.clone()), small);
        let big = respond(Report { created: created(MAX_LISTED_ENTRIES + 1), ..Report::default() });
        assert_eq!(big.created.len(), MAX_LISTED_ENTRIES);
        assert_eq!(big.counts.map(|c| c.created), Some(MAX_LISTED_ENTRIES + 1));
    }

    #[test]
    fn time_limit_takes_seconds_up_to_900_and_refuses_the_rest() {
        assert_eq!(time_limit(None), Ok(None));
        assert_eq!(time_limit(Some("  ")), Ok(None));
        assert_eq!(time_limit(Some("2")), Ok(Some(Duration::from_secs(2))));
        assert_eq!(time_limit(Some(" 0.5 ")), Ok(Some(Duration::from_millis(500))));
        assert_eq!(time_limit(Some("900")), Ok(Some(Duration::from_secs(900))));
        for bad in ["0", "-1", "901", "soon", "NaN", "inf", "1e9"] {
            let e = time_limit(Some(bad)).unwrap_err();
            assert!(e.contains("SNAPCYCLE_TIME_LIMIT_SECONDS") && e.contains(bad), "{bad}: {e}");
        }
    }
}

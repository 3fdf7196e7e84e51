//! `snapcycle schedules`: each schedule's next fire times. With `--tz` a cron is read on that
//! zone's clock, as a stack deployed with `--tz` fires it (EventBridge Scheduler's daylight-saving
//! rules: a local time the spring gap skips does not fire, a repeated one fires once).

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use serde::Serialize;
use snapcycle_core::Keyword;
use snapcycle_schedule::ScheduleExpression;
use snapcycle_stack::Schedule;

use crate::cli::{Output, SchedulesArgs};
use crate::Failure;

#[derive(Debug, Serialize)]
struct Row {
    keyword: String,
    expression: String,
    /// Each fire as the run id the function gets (UTC).
    next: Vec<String>,
    /// The zone the crons are read in (only with `--tz`).
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone: Option<String>,
    /// Each fire on that zone's clock, RFC 3339 with its offset (only with `--tz`).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_local: Option<Vec<String>>,
}

/// The `--schedule` flags, or the stack's defaults when none are given.
fn or_defaults(given: Vec<Schedule>) -> Vec<(Keyword, ScheduleExpression)> {
    let list = if given.is_empty() { snapcycle_stack::StackSpec::default().schedules } else { given };
    list.into_iter().map(|s| (s.keyword, s.expression)).collect()
}

pub(crate) fn schedules(args: SchedulesArgs, now: DateTime<Utc>) -> Result<ExitCode, Failure> {
    let list = or_defaults(args.schedules);
    let from = args.from.unwrap_or(now);
    let tz = args.tz;
    let rows: Vec<(Row, Vec<DateTime<Utc>>)> = list
        .iter()
        .map(|(k, e)| {
            let fires: Vec<DateTime<Utc>> = match tz {
                Some(z) => e.fires_after_in(from, z).take(usize::from(args.next)).collect(),
                None => e.fires_after(from).take(usize::from(args.next)).collect(),
            };
            let row = Row {
                keyword: k.to_string(),
                expression: e.to_string(),
                next: fires.iter().map(|t| snapcycle_core::run_id(*t)).collect(),
                time_zone: tz.map(|z| z.name().to_owned()),
                next_local: tz.map(|z| {
                    fires
                        .iter()
                        .map(|t| t.with_timezone(&z).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .collect()
                }),
            };
            (row, fires)
        })
        .collect();
    if args.output == Output::Json {
        let json: Vec<&Row> = rows.iter().map(|(r, _)| r).collect();
        println!("{}", serde_json::to_string_pretty(&json).map_err(|e| Failure::Failed(e.into()))?);
        return Ok(ExitCode::SUCCESS);
    }
    for (row, fires) in &rows {
        println!("{}  {}", row.keyword, row.expression);
        if fires.is_empty() {
            println!("  (never fires after {})", snapcycle_core::run_id(from));
        }
        for t in fires {
            match tz {
                Some(z) => println!(
                    "  {} ({z})   {}",
                    t.with_timezone(&z).format("%Y-%m-%d %a %H:%M %Z"),
                    snapcycle_core::run_id(*t)
                ),
                None => println!("  {}", snapcycle_core::run_id(*t)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

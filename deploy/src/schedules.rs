//! `snapcycle schedules`: each schedule's next fire times, in UTC and in a time zone of choice.

use std::process::ExitCode;

use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use serde::Serialize;
use snapcycle_core::Keyword;
use snapcycle_schedule::ScheduleExpression;

use crate::cli::{Output, SchedulesArgs};
use crate::Failure;

#[derive(Debug, Serialize)]
struct Row {
    keyword: String,
    expression: String,
    next: Vec<String>,
}

/// Parses `KEYWORD=EXPRESSION` flags (or the stack's defaults when none are given).
pub(crate) fn parse_schedules(raw: &[String]) -> anyhow::Result<Vec<(Keyword, ScheduleExpression)>> {
    if raw.is_empty() {
        return Ok(snapcycle_stack::StackSpec::default()
            .schedules
            .into_iter()
            .map(|s| (s.keyword, s.expression))
            .collect());
    }
    raw.iter()
        .map(|r| {
            let s = r.parse::<snapcycle_stack::Schedule>().with_context(|| format!("--schedule {r:?}"))?;
            Ok((s.keyword, s.expression))
        })
        .collect()
}

pub(crate) fn schedules(args: SchedulesArgs, now: DateTime<Utc>) -> Result<ExitCode, Failure> {
    let list = parse_schedules(&args.schedules).map_err(Failure::Usage)?;
    let from = match &args.from {
        Some(t) => snapcycle_core::event::parse_time(t).ok_or_else(|| {
            Failure::Usage(anyhow!("--from {t:?}: expected an RFC 3339 time such as 2026-11-26T00:00:00Z"))
        })?,
        None => now,
    };
    let tz: Option<chrono_tz::Tz> = match &args.tz {
        Some(z) => Some(
            z.parse()
                .map_err(|_| Failure::Usage(anyhow!("--tz {z:?}: not an IANA time zone such as Asia/Shanghai")))?,
        ),
        None => None,
    };
    let rows: Vec<(Row, Vec<DateTime<Utc>>)> = list
        .iter()
        .map(|(k, e)| {
            let fires: Vec<DateTime<Utc>> = e.fires_after(from).take(args.next).collect();
            let row = Row {
                keyword: k.to_string(),
                expression: e.to_string(),
                next: fires.iter().map(|t| snapcycle_core::run_id(*t)).collect(),
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
                    "  {}   {} {}",
                    snapcycle_core::run_id(*t),
                    t.with_timezone(&z).format("%Y-%m-%d %H:%M %Z"),
                    z
                ),
                None => println!("  {}", snapcycle_core::run_id(*t)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

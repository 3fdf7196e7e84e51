//! `snapcycle simulate`: the deployed schedules played forward on an emulator. Schedules are read
//! back from EventBridge as deployed, every fire in the window is computed, and the real
//! `bootstrap` is invoked with exactly the input each rule would send, its scheduled time being
//! the simulated fire time. The function runs as Lambda runs it: polling a loopback Runtime API
//! (`snapcycle-local`) that gives each invocation the deployed function's timeout as its deadline
//! and queues the function's hand-overs to itself as the next events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr as _;

use anyhow::{anyhow, bail, Context as _};
use chrono::{DateTime, Duration, Utc};
use snapcycle_core::run_id;
use snapcycle_core::tags::{device_of, TAG_INSTANCE, TAG_KEYWORD};
use snapcycle_local::{Finished, RuntimeApi};
use snapcycle_schedule::ScheduleExpression;

use crate::aws::Clients;
use crate::cli::{Global, SimulateArgs};
use crate::deployed::deployed_schedules;
use crate::Failure;

/// Most fires one simulation will play (a window of a month of hourly runs is 744).
const MAX_FIRES: usize = 2000;

fn usage(e: anyhow::Error) -> Failure {
    Failure::Usage(e)
}

fn failed(e: anyhow::Error) -> Failure {
    Failure::Failed(e)
}

/// Finds a sibling executable of this one (`bootstrap` next to `snapcycle` in target/debug).
fn sibling(name: &str) -> Option<PathBuf> {
    let p = std::env::current_exe().ok()?.parent()?.join(name);
    p.is_file().then_some(p)
}

pub(crate) async fn simulate(global: &Global, args: SimulateArgs, now: DateTime<Utc>) -> Result<ExitCode, Failure> {
    let endpoint = global.endpoint_url.clone().ok_or_else(|| {
        usage(anyhow!("simulate creates and deletes snapshots at the endpoint it plays against; give the emulator with --endpoint-url"))
    })?;
    if !(endpoint.starts_with("http://127.")
        || endpoint.starts_with("http://localhost")
        || endpoint.starts_with("http://[::1]"))
    {
        return Err(usage(anyhow!(
            "--endpoint-url {endpoint} is not on loopback; simulate only plays against a local emulator"
        )));
    }
    let hours = args.hours.unwrap_or(0) + args.days.unwrap_or(0) * 24;
    let hours = if args.hours.is_none() && args.days.is_none() { 24 } else { hours };
    if hours == 0 || hours > 24 * 31 {
        return Err(usage(anyhow!("the window must be from 1 hour to 31 days, got {hours} hours")));
    }
    let from = args.from.unwrap_or(now);
    let until = from + Duration::hours(hours as i64);
    let bootstrap = args.bootstrap.clone().or_else(|| sibling("bootstrap")).ok_or_else(|| {
        usage(anyhow!("no bootstrap binary next to snapcycle; build the workspace or pass --bootstrap"))
    })?;

    let aws = Clients::new(global).await?;
    let (schedules, function) = deployed_schedules(&aws, &args.stack_name).await.map_err(failed)?;
    let function = function.ok_or_else(|| failed(anyhow!("stack {} has no function", args.stack_name)))?;
    if schedules.is_empty() {
        return Err(failed(anyhow!("stack {} has no schedules", args.stack_name)));
    }
    let config = aws
        .lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .context("reading the deployed function's configuration")
        .map_err(failed)?;
    let timeout = std::time::Duration::from_secs(config.timeout().and_then(|t| u64::try_from(t).ok()).unwrap_or(900));
    let mut env: Vec<(String, String)> = config
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().filter(|(k, _)| k.starts_with("SNAPCYCLE_")).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    env.push(("AWS_ENDPOINT_URL".into(), endpoint.clone()));
    env.push(("AWS_REGION".into(), aws.region().unwrap_or_else(|| "us-east-1".into())));
    env.push(("AWS_EC2_METADATA_DISABLED".into(), "true".into()));
    for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Ok(v) = std::env::var(k) {
            env.push((k.into(), v));
        }
    }
    let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();

    // Every fire in the window, in time order.
    let mut fires: Vec<(DateTime<Utc>, usize)> = Vec::new();
    for (i, s) in schedules.iter().enumerate() {
        let expr = ScheduleExpression::from_str(&s.expression)
            .with_context(|| format!("{} {} has a schedule this tool cannot read", s.kind, s.name))
            .map_err(failed)?;
        // A rule's cron is read on UTC, a Scheduler schedule's on its zone's clock.
        let zone = s.zone().map_err(failed)?;
        fires.extend(expr.fires_after_in(from - Duration::seconds(1), zone).take_while(|t| *t < until).map(|t| (t, i)));
        if fires.len() > MAX_FIRES {
            return Err(usage(anyhow!("more than {MAX_FIRES} fires in the window; shorten it")));
        }
    }
    fires.sort();
    println!(
        "Simulating stack {} from {} to {} ({} fires):",
        args.stack_name,
        run_id(from),
        run_id(until),
        fires.len()
    );
    for s in &schedules {
        println!("  {:<16} {:<22} {:<16} {} {}", s.keyword, s.expression, s.time_zone, s.kind, s.name);
    }

    let log = std::env::temp_dir().join(format!("snapcycle-simulate-{}.log", std::process::id()));
    let mut api =
        RuntimeApi::start(&function, timeout).await.context("starting the local Runtime API").map_err(failed)?;
    let process = api.spawn(&bootstrap, &env, &log).context("starting the function").map_err(failed)?;
    println!(
        "local runtime: snapcycle's loopback Lambda Runtime API at {} (a {} s deadline per invocation, \
         the deployed timeout; hand-overs queued as Lambda queues them)",
        api.runtime_api(),
        timeout.as_secs()
    );
    println!("function: {} as {function} (logs: {})", bootstrap.display(), log.display());
    println!();
    println!("{:<22}{:<17}{:>8}{:>8}{:>8}{:>7}  DETAIL", "FIRE", "KEYWORD", "CREATED", "DELETED", "SKIPPED", "FAILED");
    let mut failed_fires = 0;
    for (t, i) in &fires {
        let s = &schedules[*i];
        let payload = s.payload(*t);
        let event: serde_json::Value = serde_json::from_str(&payload)
            .with_context(|| format!("{} {} sends an input that is not JSON: {payload}", s.kind, s.name))
            .map_err(failed)?;
        api.enqueue(event);
        let chain = run_chain(&mut api).await;
        if chain.is_empty() {
            return Err(failed(anyhow!(
                "the function ended no invocation for the fire at {} (see {})",
                run_id(*t),
                log.display()
            )));
        }
        let n =
            |k: &str| chain.iter().filter(|f| f.ok).map(|f| f.body[k].as_array().map_or(0, Vec::len)).sum::<usize>();
        let handed = if chain.len() > 1 { format!("  ({} invocations)", chain.len()) } else { String::new() };
        match chain.iter().find(|f| !f.ok) {
            None => {
                // A run whose failures a retry would not fix succeeds and e-mails them once.
                let failures = n("failures");
                let last = &chain[chain.len() - 1].body;
                let first = chain.iter().find_map(|f| {
                    f.body["failures"][0]["code"].as_str().map(|code| {
                        format!("  e-mailed: {code}: {}", f.body["failures"][0]["message"].as_str().unwrap_or(""))
                    })
                });
                if failures > 0 {
                    failed_fires += 1;
                }
                let open = if last["continued"].is_null() { "" } else { "  (unfinished: the chain stopped)" };
                println!(
                    "{:<22}{:<17}{:>8}{:>8}{:>8}{:>7}{}{handed}{open}",
                    run_id(*t),
                    s.keyword,
                    n("created"),
                    n("deleted"),
                    n("skipped"),
                    failures,
                    first.unwrap_or_default()
                );
            }
            Some(f) => {
                failed_fires += 1;
                let b = &f.body;
                println!(
                    "{:<22}{:<17}{:>8}{:>8}{:>8}{:>7}  {}: {}{handed}",
                    run_id(*t),
                    s.keyword,
                    "",
                    "",
                    "",
                    "!",
                    b["errorType"].as_str().unwrap_or("?"),
                    b["errorMessage"].as_str().unwrap_or(&b.to_string())
                );
            }
        }
    }
    drop(process);
    drop(api);
    print_kept(&aws, &schedules.iter().map(|s| s.keyword.clone()).collect::<Vec<_>>()).await.map_err(failed)?;
    println!();
    println!(
        "{} fires, {failed_fires} with failures (e-mailed by the function when a retry cannot fix them; \
         the others end in Lambda's retries and its OnFailure record).",
        fires.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Every invocation of one fire: the scheduled one and the hand-overs it queued, until the
/// service is idle (a hand-over is queued before the invocation that made it reports).
async fn run_chain(api: &mut RuntimeApi) -> Vec<Finished> {
    let mut chain = Vec::new();
    while let Some(f) = api.next_finished(std::time::Duration::from_millis(500)).await {
        chain.push(f);
    }
    chain
}

/// One volume's line at the end of a simulation.
#[derive(Debug, Default)]
struct VolumeRow {
    instance: String,
    device: String,
    /// Snapshots per keyword that still carry the keyword's tag.
    counts: BTreeMap<String, usize>,
    /// Snapshots whose keyword tag was removed: kept forever.
    forever: Vec<String>,
}

/// A snapshot's tags as the core reads them.
fn own_tags(s: &aws_sdk_ec2::types::Snapshot) -> Vec<snapcycle_core::Tag> {
    s.tags()
        .iter()
        .map(|t| snapcycle_core::Tag::new(t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect()
}

/// Per volume, the snapshots of each keyword kept at the end, and those kept forever.
async fn print_kept(aws: &Clients, keywords: &[String]) -> anyhow::Result<()> {
    let ec2 = aws_sdk_ec2::Client::new(&aws.sdk);
    let snaps: Vec<aws_sdk_ec2::types::Snapshot> = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values(TAG_KEYWORD).build())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .context("reading the snapshots at the end")?;
    let tag = |s: &aws_sdk_ec2::types::Snapshot, k: &str| {
        s.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_owned)
    };
    let mut rows: BTreeMap<String, VolumeRow> = BTreeMap::new();
    for s in &snaps {
        let vol = s.volume_id().unwrap_or_default().to_owned();
        let row = rows.entry(vol).or_insert_with(|| VolumeRow {
            instance: tag(s, TAG_INSTANCE).unwrap_or_default(),
            device: device_of(&own_tags(s), s.volume_id().unwrap_or_default()).unwrap_or_default().to_owned(),
            ..VolumeRow::default()
        });
        let Some(k) = tag(s, TAG_KEYWORD) else { continue };
        if tag(s, &k).is_some() {
            *row.counts.entry(k).or_default() += 1;
        } else {
            row.forever.push(format!("{} ({k})", s.snapshot_id().unwrap_or_default()));
        }
    }
    println!();
    println!("Kept at the end, per volume:");
    let mut header = format!("{:<24}{:<22}{:<11}", "VOLUME", "INSTANCE", "DEVICE");
    for k in keywords {
        header.push_str(&format!("{k:>16}"));
    }
    println!("{header}  KEPT FOREVER");
    for (vol, VolumeRow { instance, device, counts, forever }) in &rows {
        let mut line = format!("{vol:<24}{instance:<22}{device:<11}");
        for k in keywords {
            line.push_str(&format!("{:>16}", counts.get(k).copied().unwrap_or(0)));
        }
        println!("{line}  {}", if forever.is_empty() { "-".to_owned() } else { forever.join(", ") });
    }
    if rows.is_empty() {
        bail!("no snapcycle snapshots found at the end");
    }
    Ok(())
}

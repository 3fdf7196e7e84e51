//! `snapcycle simulate`: the deployed schedules played forward on an emulator. Schedules are read
//! back from EventBridge as deployed, every fire in the window is computed, and the real
//! `bootstrap` (under cargo-lambda's runtime emulator) is invoked with exactly the input each rule
//! would send, its scheduled time being the simulated fire time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr as _;

use anyhow::{anyhow, bail, Context as _};
use chrono::{DateTime, Duration, Utc};
use snapcycle_core::run_id;
use snapcycle_core::tags::{TAG_DEVICE, TAG_INSTANCE, TAG_KEYWORD};
use snapcycle_local::{invoke_at, LambdaEmulator, FUNCTION};
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

/// Finds cargo-lambda: the flag, then PATH, then the project's virtualenv.
fn find_cargo_lambda(flag: &Option<PathBuf>, workspace: &std::path::Path) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.clone());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let venv = workspace.join(".venv/bin");
    std::env::split_paths(&path).chain(std::iter::once(venv)).map(|d| d.join("cargo-lambda")).find(|p| p.is_file())
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
    let root = crate::workspace::find(args.workspace.as_deref(), "simulate").map_err(|e| usage(anyhow!(e)))?;
    let cargo_lambda = find_cargo_lambda(&args.cargo_lambda, &root).ok_or_else(|| {
        usage(anyhow!("cargo-lambda not found on PATH or in .venv; run scripts/ensure-venv or pass --cargo-lambda"))
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
    let mut env: Vec<(&str, String)> = config
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().filter(|(k, _)| k.starts_with("SNAPCYCLE_")).map(|(k, v)| (leak(k), v.clone())).collect())
        .unwrap_or_default();
    env.push(("AWS_ENDPOINT_URL", endpoint.clone()));
    env.push(("AWS_REGION", aws.region().unwrap_or_else(|| "us-east-1".into())));
    env.push(("AWS_EC2_METADATA_DISABLED", "true".into()));
    for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Ok(v) = std::env::var(k) {
            env.push((k, v));
        }
    }

    // Every fire in the window, in time order.
    let mut fires: Vec<(DateTime<Utc>, usize)> = Vec::new();
    for (i, s) in schedules.iter().enumerate() {
        let expr = ScheduleExpression::from_str(&s.expression)
            .with_context(|| format!("rule {} has a schedule this tool cannot read", s.rule))
            .map_err(failed)?;
        fires.extend(expr.fires_after(from - Duration::seconds(1)).take_while(|t| *t < until).map(|t| (t, i)));
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
        println!("  {:<16} {:<22} rule {}", s.keyword, s.expression, s.rule);
    }

    let log = std::env::temp_dir().join(format!("snapcycle-simulate-{}.log", std::process::id()));
    let workspace = root.join("crates/snapcycle-lambda");
    let emulator = LambdaEmulator::start(&cargo_lambda, &workspace, &bootstrap, &env, &log)
        .context("starting cargo-lambda's runtime emulator")
        .map_err(failed)?;
    println!(
        "function: {} under cargo-lambda's emulator at {} (logs: {})",
        bootstrap.display(),
        emulator.url(),
        log.display()
    );
    println!("local runtime: {} lambda watch --only-lambda-apis, in {}", cargo_lambda.display(), workspace.display());
    println!();
    println!("{:<22}{:<17}{:>8}{:>8}{:>8}{:>7}  DETAIL", "FIRE", "KEYWORD", "CREATED", "DELETED", "SKIPPED", "FAILED");
    let mut failed_fires = 0;
    for (t, i) in &fires {
        let s = &schedules[*i];
        let payload = s.input_template.replace("<time>", &format!("\"{}\"", run_id(*t)));
        let out =
            invoke_at(&emulator.url(), FUNCTION, &payload).await.context("invoking the function").map_err(failed)?;
        let b = &out.body;
        let n = |k: &str| b[k].as_array().map_or(0, Vec::len);
        if out.status == 200 {
            // A run whose failures a retry would not fix succeeds and e-mails them once.
            let failures = n("failures");
            let first = b["failures"][0]["code"]
                .as_str()
                .map(|code| format!("  e-mailed: {code}: {}", b["failures"][0]["message"].as_str().unwrap_or("")));
            if failures > 0 {
                failed_fires += 1;
            }
            println!(
                "{:<22}{:<17}{:>8}{:>8}{:>8}{:>7}{}",
                run_id(*t),
                s.keyword,
                n("created"),
                n("deleted"),
                n("skipped"),
                failures,
                first.unwrap_or_default()
            );
        } else {
            failed_fires += 1;
            println!(
                "{:<22}{:<17}{:>8}{:>8}{:>8}{:>7}  {}: {}",
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
    drop(emulator);
    print_kept(&aws, &schedules.iter().map(|s| s.keyword.clone()).collect::<Vec<_>>()).await.map_err(failed)?;
    println!();
    println!(
        "{} fires, {failed_fires} with failures (e-mailed by the function when a retry cannot fix them; \
         the others end in Lambda's retries and its OnFailure record).",
        fires.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Environment keys from the deployed function live for the whole process; leaking the few
/// `SNAPCYCLE_*` names once keeps the emulator's `&str` interface simple.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
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
            device: tag(s, TAG_DEVICE).unwrap_or_default(),
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

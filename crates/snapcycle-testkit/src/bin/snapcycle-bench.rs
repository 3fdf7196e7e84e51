//! Benchmark of one scheduled run at fleet scale, against moto's server on loopback.
//!
//! Seeds N tagged instances with V volumes and S existing snapshots per volume, then runs the real
//! `snapcycle run` binary for the keyword and prints wall time, peak memory (the child's
//! max RSS from wait4) and API calls per operation against the minimum. Optionally puts the
//! throttling proxy in between. Figures, not assertions: run it, read it, quote medians.
//!
//! Usage: snapcycle-bench [--instances N] [--volumes V] [--snapshots S] [--retention R]
//!                        [--concurrency C] [--throttle-scale F] [--repeat K] [--invocation-seconds T]
//!                        [--bootstrap PATH] [--lambda] [--cold-start-only] [--excluded E]
//!
//! `--excluded E` tags the first volume of E instances `snapcycle:exclude = *`: they are neither
//! snapshotted nor rotated, and every read of the instances also reads those volumes' tags
//! (DescribeVolumes, 500 a page), which the minimum counts. Every invocation also reads the
//! account's snapshot locks (DescribeLockedSnapshots; the benchmark locks none: one page), which
//! the minimum counts too.
//!
//! Each round runs like the Lambda: `snapcycle run --time-limit` stops starting work where a
//! T-second invocation (900 by default, divided by F) would, and the benchmark starts the next
//! invocation with the same scheduled time until nothing is handed over. With `--lambda` the round
//! runs the `bootstrap` binary itself (`--bootstrap`, e.g. target/release/bootstrap) behind a
//! loopback Runtime API that gives each invocation a T/F-second deadline; the function hands over
//! by invoking itself, and the peak memory is that of the one warm function process.

use std::process::Command;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use snapcycle_testkit::faults::{FaultConfig, FaultProxy, ThrottleConfig};
use snapcycle_testkit::lambda::{function_command, RuntimeApi};
use snapcycle_testkit::seed::{self, Seeded};
use snapcycle_testkit::Moto;

const KEYWORD: &str = "SnapshotDaily";

struct Args {
    instances: usize,
    volumes: usize,
    snapshots: usize,
    retention: usize,
    concurrency: usize,
    throttle_scale: Option<f64>,
    repeat: usize,
    invocation_seconds: f64,
    bootstrap: Option<std::path::PathBuf>,
    cold_start_only: bool,
    lambda: bool,
    excluded: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        instances: 1000,
        volumes: 2,
        snapshots: 3,
        retention: 3,
        concurrency: 16,
        throttle_scale: None,
        repeat: 1,
        invocation_seconds: 900.0,
        bootstrap: None,
        cold_start_only: false,
        lambda: false,
        excluded: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|_| format!("{flag}: {v:?} is not a whole number"));
        match flag.as_str() {
            "--instances" => a.instances = num(value()?)?,
            "--volumes" => a.volumes = num(value()?)?,
            "--snapshots" => a.snapshots = num(value()?)?,
            "--retention" => a.retention = num(value()?)?,
            "--concurrency" => a.concurrency = num(value()?)?,
            "--repeat" => a.repeat = num(value()?)?.max(1),
            "--excluded" => a.excluded = num(value()?)?,
            "--bootstrap" => a.bootstrap = Some(value()?.into()),
            "--cold-start-only" => a.cold_start_only = true,
            "--lambda" => a.lambda = true,
            "--invocation-seconds" => {
                let v = value()?;
                a.invocation_seconds = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s >= 10.0)
                    .ok_or_else(|| format!("--invocation-seconds: {v:?} is not a number of seconds >= 10"))?;
            }
            "--throttle-scale" => {
                let v = value()?;
                a.throttle_scale = Some(v.parse().map_err(|_| format!("--throttle-scale: {v:?} is not a number"))?);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !(1..=6).contains(&a.volumes) {
        return Err("--volumes must be from 1 to 6".into());
    }
    Ok(a)
}

/// The region and fixed credentials every process of the benchmark uses, without instance metadata.
fn with_credentials(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// Waits for `child` with wait4, which also yields its own peak memory (max RSS, KiB).
fn reap(child: &std::process::Child) -> (std::process::ExitStatus, u64) {
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter for wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child by pid, with valid pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    (std::os::unix::process::ExitStatusExt::from_raw(status), usage.ru_maxrss as u64)
}

/// Runs `cmd` to the end: its status, wall time, peak memory (KiB) and stdout.
fn run_measured(cmd: &mut Command) -> (std::process::ExitStatus, Duration, u64, String) {
    let out_path = std::env::temp_dir().join(format!("snapcycle-bench-{}.json", std::process::id()));
    let out = std::fs::File::create(&out_path).unwrap();
    let start = Instant::now();
    #[allow(clippy::zombie_processes)] // reaped by `reap`
    let child = cmd.stdout(out).spawn().expect("spawn snapcycle");
    let (exit, maxrss_kb) = reap(&child);
    let wall = start.elapsed();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    (exit, wall, maxrss_kb, stdout)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("snapcycle-bench: {e}");
            std::process::exit(2);
        }
    };
    let root = snapcycle_testkit::moto::workspace_root();
    let bootstrap = args.bootstrap.clone().unwrap_or_else(|| root.join("target/debug/bootstrap"));
    if args.cold_start_only {
        cold_start(&bootstrap);
        return;
    }
    let snapcycle = root.join("target/debug/snapcycle");
    if !snapcycle.exists() {
        eprintln!("snapcycle-bench: build first: cargo build --workspace --all-targets");
        std::process::exit(2);
    }
    let moto = Moto::start().expect("start moto");
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let seed_start = Instant::now();
    let retention = args.retention.to_string();
    // Instances in batches of 100 per RunInstances call, then every snapshot on its own call.
    let batches: Vec<i32> = (0..args.instances).step_by(100).map(|i| (args.instances - i).min(100) as i32).collect();
    let fleet: Vec<Seeded> = stream::iter(batches)
        .map(|n| {
            let (ec2, retention) = (ec2.clone(), retention.clone());
            async move { seed::instances(&ec2, &[("Name", "bench"), (KEYWORD, &retention)], args.volumes, n).await }
        })
        .buffer_unordered(4)
        .flat_map(stream::iter)
        .collect()
        .await;
    let jobs: Vec<(&Seeded, usize, usize)> = fleet
        .iter()
        .flat_map(|s| (0..args.volumes).flat_map(move |v| (0..args.snapshots).map(move |d| (s, v, d))))
        .collect();
    stream::iter(jobs)
        .for_each_concurrent(16, |(s, v, d)| {
            let (ec2, retention) = (ec2.clone(), retention.clone());
            async move {
                seed::keyword_snapshot(&ec2, s, v, KEYWORD, &retention, &format!("2026-11-{:02}T00:00:00Z", 10 + d))
                    .await;
            }
        })
        .await;
    let excluded: Vec<String> = fleet.iter().take(args.excluded).map(|s| s.volumes[0].1.clone()).collect();
    for chunk in excluded.chunks(500) {
        ec2.create_tags()
            .set_resources(Some(chunk.to_vec()))
            .tags(aws_sdk_ec2::types::Tag::builder().key("snapcycle:exclude").value("*").build())
            .send()
            .await
            .expect("tag the excluded volumes");
    }
    let volumes = fleet.iter().map(|s| s.volumes.len()).sum::<usize>();
    if !excluded.is_empty() {
        println!("excluded {} volumes (snapcycle:exclude = *)", excluded.len());
    }
    println!(
        "seeded {} instances, {volumes} volumes, {} snapshots in {:.1}s",
        fleet.len(),
        volumes * args.snapshots,
        seed_start.elapsed().as_secs_f64()
    );

    let proxy = match args.throttle_scale {
        Some(scale) => {
            let cfg = FaultConfig { throttle: Some(ThrottleConfig::ec2().scaled(scale)), ..FaultConfig::default() };
            Some(FaultProxy::start(&moto.url(), cfg).await.expect("start proxy"))
        }
        None => None,
    };
    let endpoint = proxy.as_ref().map(|p| p.url()).unwrap_or_else(|| moto.url());
    // A Lambda with a 900 s timeout stops starting work min(60 s, a tenth) before its deadline;
    // with the buckets scaled up, the invocation is scaled down by the same factor.
    let scale = args.throttle_scale.unwrap_or(1.0);
    let invocation = args.invocation_seconds - (args.invocation_seconds / 10.0).min(60.0);
    let time_limit = invocation / scale;
    // What a full read costs (instances and the whole history side by side, as an invocation
    // that starts after a hand-over made while deleting reads them): a dry run reads and plans only.
    let mut dry = Command::new(&snapcycle);
    dry.args([
        "run",
        "--keyword",
        KEYWORD,
        "--dry-run",
        "--output",
        "json",
        "--scheduled-time",
        "2026-11-19T00:00:00Z",
    ])
    .env("AWS_ENDPOINT_URL", &endpoint);
    with_credentials(&mut dry);
    let (_, read_time, _, _) = run_measured(&mut dry);
    println!("full inventory read and plan (a dry run): {:.1}s", read_time.as_secs_f64());
    let mut walls = Vec::new();
    for round in 0..args.repeat {
        // Each round is a new scheduled time, so each one creates and rotates in full.
        let scheduled = format!("2026-11-{:02}T00:00:00Z", 20 + round);
        let t = if args.lambda {
            let timeout = args.invocation_seconds / scale;
            lambda_round(&bootstrap, &endpoint, &scheduled, timeout, args.concurrency, excluded.len()).await
        } else {
            cli_round(&snapcycle, &endpoint, &scheduled, time_limit, args.concurrency, excluded.len())
        };
        let Tally { wall, peak_kb, invocations, created, deleted, failures, calls, pages, exit, .. } = t;
        let total: u64 = calls.values().sum();
        // One CreateSnapshots call per instance that has a volume to take (an instance whose
        // only volume is excluded has none).
        let sets = if args.volumes == 1 { args.instances - excluded.len() } else { args.instances };
        let minimum = (sets + deleted + pages) as u64;
        println!(
            "round {round}: {exit}, wall {:.2}s, {invocations} invocation(s), peak RSS {:.1} MiB, created {created}, deleted {deleted}, failures {failures}",
            wall.as_secs_f64(),
            peak_kb as f64 / 1024.0
        );
        println!(
            "  API calls {total} vs minimum {minimum} ({sets} sets + deletions + {pages} pages of instances, excluded volumes, locks and snapshots) = {:+.2}%",
            (total as f64 / minimum as f64 - 1.0) * 100.0
        );
        for (op, n) in &calls {
            println!("    {op:<18} {n}");
        }
        if let Some(p) = &proxy {
            // The token buckets' own bound: after the burst, each operation at its refill rate.
            // CreateSnapshots (one call per set) and DeleteSnapshot have a bucket each, so the
            // physical limit is the slower of the two (max); one after the other (sum) is what a
            // run took before deletions ran beside creations, printed for comparison.
            let bound = |n: usize, rate: f64| ((n as f64 - 100.0 * scale).max(0.0)) / (rate * scale);
            let (max, sum) = (bound(sets, 5.0).max(bound(deleted, 5.0)), bound(sets, 5.0) + bound(deleted, 5.0));
            println!(
                "  token-bucket bound {max:.1}s, the max over the buckets (CreateSnapshots and DeleteSnapshot 5/s each after a burst of 100, x{scale}); wall/bound = {:.3}",
                wall.as_secs_f64() / max.max(f64::EPSILON)
            );
            println!(
                "  one bucket after the other would be {sum:.1}s; wall/sum = {:.3}",
                wall.as_secs_f64() / sum.max(f64::EPSILON)
            );
            println!("  proxy:\n{}", p.stats());
        }
        walls.push(wall.as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    println!("median wall over {} rounds: {:.2}s", walls.len(), walls[walls.len() / 2]);
    cold_start(&bootstrap);
}

/// What the invocations of one round added up to.
#[derive(Default)]
struct Tally {
    wall: Duration,
    peak_kb: u64,
    invocations: usize,
    created: usize,
    deleted: usize,
    failures: usize,
    calls: std::collections::BTreeMap<String, u64>,
    /// Pages the invocations had to read (instances, the volumes tagged `snapcycle:exclude`,
    /// the account's snapshot locks, the whole history, and after creating this run's snapshots),
    /// 1,000 a page (500 for volumes).
    pages: usize,
    /// Volumes tagged `snapcycle:exclude`: every read of the instances reads them too.
    excluded: usize,
    exit: String,
}

impl Tally {
    /// Adds one invocation's report; returns whether it handed work over.
    fn add(&mut self, report: &serde_json::Value, took: Duration) -> bool {
        // A Lambda response cuts long lists and counts them (`counts`); the CLI's report is whole.
        let n = |field: &str| match report["counts"][field].as_u64() {
            Some(k) => k as usize,
            None => report[field].as_array().map_or(0, Vec::len),
        };
        self.invocations += 1;
        self.wall += took;
        self.created += n("created");
        self.deleted += n("deleted");
        self.failures += n("failures");
        let count = |field: &str| report[field].as_u64().unwrap_or(0) as usize;
        // Each invocation reads the instances, the account's snapshot locks (the benchmark locks
        // none: one page) and the keyword's whole history, and one that created snapshots reads
        // this run's again (for a duplicate a lost answer left).
        let pages = |field: &str| report[field].as_u64().map_or(0, |n| (n as usize).max(1).div_ceil(1000));
        self.pages += count("instances").max(1).div_ceil(1000)
            + self.excluded.max(1).div_ceil(500)
            + 1
            + pages("run_snapshots")
            + pages("snapshots");
        for (op, k) in report["api_calls"].as_object().into_iter().flatten() {
            *self.calls.entry(op.clone()).or_default() += k.as_u64().unwrap_or(0);
        }
        let continued = !report["continued"].is_null();
        println!(
            "  invocation {}: {took:.1?}, created {}, deleted {}{}",
            self.invocations,
            n("created"),
            n("deleted"),
            if continued { format!(", handed over {} left", report["continued"]["left"]) } else { String::new() }
        );
        continued
    }
}

/// One round through `snapcycle run --time-limit`, rerun by hand until nothing is handed over.
fn cli_round(
    snapcycle: &std::path::Path,
    endpoint: &str,
    scheduled: &str,
    time_limit: f64,
    concurrency: usize,
    excluded: usize,
) -> Tally {
    let mut t = Tally { excluded, ..Tally::default() };
    loop {
        let mut cmd = Command::new(snapcycle);
        cmd.args(["run", "--keyword", KEYWORD, "--output", "json", "--scheduled-time", scheduled])
            .args(["--max-concurrency", &concurrency.to_string(), "--time-limit", &format!("{time_limit:.3}")])
            .env("AWS_ENDPOINT_URL", endpoint);
        with_credentials(&mut cmd);
        let (status, took, maxrss_kb, stdout) = run_measured(&mut cmd);
        t.peak_kb = t.peak_kb.max(maxrss_kb);
        t.exit = format!("exit {:?}", status.code());
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
        if !t.add(&report, took) || t.invocations >= 100 || status.code() != Some(0) {
            return t;
        }
    }
}

/// One round through the `bootstrap` binary as Lambda runs it: one warm process polls a
/// loopback Runtime API that sets each invocation's deadline `timeout` ahead, and its hand-overs
/// (asynchronous Invokes of itself) come back to it as the next events.
async fn lambda_round(
    bootstrap: &std::path::Path,
    endpoint: &str,
    scheduled: &str,
    timeout: f64,
    concurrency: usize,
    excluded: usize,
) -> Tally {
    let mut api =
        RuntimeApi::start("snapcycle-bench", Duration::from_secs_f64(timeout)).await.expect("start the runtime API");
    let log = std::env::temp_dir().join(format!("snapcycle-bench-bootstrap-{}.log", std::process::id()));
    #[allow(clippy::zombie_processes)] // reaped by `reap`, which also yields its peak memory
    let mut child = with_credentials(&mut api.function(bootstrap))
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env(snapcycle_core::config::ENV_KEYWORDS, KEYWORD)
        .env(snapcycle_core::config::ENV_MAX_CONCURRENCY, concurrency.to_string())
        .stdout(std::fs::File::create(&log).expect("bootstrap log"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn bootstrap");
    api.enqueue(serde_json::json!({ "SnapshotKeyWord": KEYWORD, "ScheduledTime": scheduled }));
    let mut t = Tally { excluded, ..Tally::default() };
    loop {
        let done = match tokio::time::timeout(Duration::from_secs(30), api.next_finished(Duration::from_secs(5))).await
        {
            Ok(Some(done)) => done,
            Ok(None) => break,
            Err(_) if matches!(child.try_wait(), Ok(Some(_))) => {
                println!("  bootstrap exited in the middle of an invocation; see {}", log.display());
                break;
            }
            Err(_) => continue,
        };
        if !done.ok {
            println!("  invocation {} failed: {}", t.invocations + 1, done.body);
            t.invocations += 1;
            t.wall += done.took;
            break;
        }
        t.add(&done.body, done.took);
    }
    let _ = child.kill();
    t.peak_kb = reap(&child).1;
    t.exit = format!("bootstrap log {}", log.display());
    t
}

/// Cold start of `bootstrap`: from process start to its first request to the Lambda Runtime API
/// for an event (a listener on loopback stands in for the runtime API and records the moment).
fn cold_start(bootstrap: &std::path::Path) {
    use std::io::Read as _;
    let mut samples = Vec::new();
    for _ in 0..21 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let start = Instant::now();
        let mut child = with_credentials(&mut function_command(bootstrap, &addr.to_string(), "bench"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn bootstrap");
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let n = conn.read(&mut buf).unwrap_or(0);
        let elapsed = start.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        if String::from_utf8_lossy(&buf[..n]).contains("/runtime/invocation/next") {
            samples.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    samples.sort_by(f64::total_cmp);
    if samples.is_empty() {
        println!("cold start: no sample (bootstrap never asked for an event)");
    } else {
        println!(
            "cold start of {} (process start to first GET /runtime/invocation/next), {} samples: median {:.1} ms, min {:.1} ms, max {:.1} ms",
            bootstrap.display(),
            samples.len(),
            samples[samples.len() / 2],
            samples[0],
            samples[samples.len() - 1]
        );
    }
}

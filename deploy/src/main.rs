//! `snapcycle`: run the snapshot job by hand, and render, deploy and inspect its stack.
//!
//! Exit codes are fixed: 0 success, 1 the run or the deployment failed, 2 bad usage or
//! configuration (always detected before any AWS call).

use std::process::ExitCode;

use clap::Parser;

mod artifact;
mod aws;
mod cli;
mod deploy;
mod deployed;
mod destroy;
mod orphans;
mod render;
mod run;
mod schedules;
mod simulate;
mod sizing;
mod stack_args;
mod stack_state;
mod status;
mod table;
mod undo;
mod values;
mod workspace;

use cli::{Cli, Command};

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad flags or configuration: exit 2, before any AWS call.
    Usage(anyhow::Error),
    /// The work itself failed: exit 1.
    Failed(anyhow::Error),
}

/// Bad input: exit 2.
pub(crate) fn usage(e: anyhow::Error) -> Failure {
    Failure::Usage(e)
}

/// The work failed: exit 1.
pub(crate) fn failed(e: anyhow::Error) -> Failure {
    Failure::Failed(e)
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Usage(_) => ExitCode::from(2),
            Failure::Failed(_) => ExitCode::from(1),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Run(args) => run::run(&cli.global, args).await,
            Command::Render(args) => render::render(&cli.global, args),
            Command::Deploy(args) => deploy::deploy(&cli.global, args).await,
            Command::Destroy(args) => destroy::destroy(&cli.global, args).await,
            Command::Status(args) => status::status(&cli.global, args).await,
            Command::Schedules(args) => schedules::schedules(args, chrono::Utc::now()),
            Command::Simulate(args) => simulate::simulate(&cli.global, args, chrono::Utc::now()).await,
            Command::Orphans(args) => orphans::orphans(&cli.global, args).await,
            Command::Undo(args) => undo::undo(&cli.global, args, chrono::Utc::now()).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(f) => {
            let (Failure::Usage(e) | Failure::Failed(e)) = &f;
            eprintln!("error: {e:#}");
            f.exit_code()
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        // Per-volume problems are in the table or the JSON already; -v shows the log lines too.
        0 => "off",
        1 => "info,aws_config=warn,aws_smithy_runtime=warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SNAPCYCLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

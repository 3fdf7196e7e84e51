//! The stack's flags, shared by `render` and `deploy`, and their validation into a `StackSpec`.

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use snapcycle_stack::{Architecture, Schedule, StackSpec};

/// The function's processor architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Arch {
    /// Graviton: cheaper per millisecond, the default.
    Arm64,
    /// Intel/AMD.
    #[value(name = "x86_64")]
    X86_64,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct StackArgs {
    /// A schedule as KEYWORD=EXPRESSION, e.g. SnapshotDaily='cron(0 0 * * ? *)'; repeatable.
    /// Replaces the defaults (SnapshotHourly=rate(1 hour), SnapshotDaily=cron(0 0 * * ? *)).
    #[arg(long = "schedule", value_name = "KEYWORD=EXPRESSION", value_parser = crate::values::schedule)]
    pub(crate) schedules: Vec<Schedule>,
    /// Where failure e-mails go; repeatable. Each address confirms its subscription once.
    #[arg(long = "email", value_name = "ADDRESS")]
    pub(crate) emails: Vec<String>,
    /// The function's architecture.
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    pub(crate) arch: Arch,
    /// The function's memory in MB.
    #[arg(long, default_value_t = 128)]
    pub(crate) memory: u32,
}

impl StackArgs {
    /// Validates every flag and builds the spec; with custom schedules the function's timeout is
    /// the longest that never overlaps the next fire of the most frequent one (at most 900 s).
    pub(crate) fn spec(&self) -> anyhow::Result<StackSpec> {
        let schedules = self.schedules.clone();
        let base = if schedules.is_empty() { StackSpec::default() } else { StackSpec::for_schedules(schedules) };
        let arch = match self.arch {
            Arch::Arm64 => Architecture::Arm64,
            Arch::X86_64 => Architecture::X86_64,
        };
        let spec = StackSpec { emails: self.emails.clone(), arch, memory_mb: self.memory, ..base };
        spec.validate().context("invalid stack settings")?;
        Ok(spec)
    }
}

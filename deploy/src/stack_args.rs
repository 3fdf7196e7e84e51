//! The stack's flags, shared by `render` and `deploy`, and their validation into a `StackSpec`.

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use snapcycle_stack::{Architecture, CopyTarget, EncryptInPlace, RetentionPolicy, Schedule, StackSpec};

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
    /// Let each run delete its keyword's orphaned snapshots older than AGE (`90d`, `12w`, `6m`;
    /// at least a day), always keeping each volume's newest: off by default.
    #[arg(long, value_name = "AGE", value_parser = crate::values::orphan_expiry)]
    pub(crate) orphans_expire_after: Option<snapcycle_core::OrphanExpiry>,
    /// Fire the schedules on this IANA zone's clock (`Asia/Shanghai`: `cron(0 8 * * ? *)` is
    /// 08:00 there), with EventBridge Scheduler, whose daylight-saving rules apply; a policy's
    /// days begin there too. Without it, EventBridge rules on UTC.
    #[arg(long, value_name = "ZONE", value_parser = crate::values::time_zone)]
    pub(crate) tz: Option<chrono_tz::Tz>,
    /// Keep every snapshot of the stack's keywords that is deleted in the EC2 Recycle Bin for
    /// DAYS (1 to 365), restorable with `snapcycle undo`: off by default. Snapshots in the bin
    /// are billed as snapshots for those days.
    #[arg(long, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(snapcycle_stack::MAX_RECYCLE_BIN_DAYS)))]
    pub(crate) recycle_bin_days: Option<u32>,
    /// Copy every snapshot the function takes, once it has completed, to REGION, encrypted
    /// (repeatable, at most 10; all in the partition of the stack's region, none the stack's
    /// region itself): off by default. An EventBridge rule on EC2's completion events starts each
    /// copy; the copies are rotated there by the same rules.
    #[arg(long = "copy-to", value_name = "REGION", value_parser = crate::values::copy_region)]
    pub(crate) copy_to: Vec<String>,
    /// Encrypt the copies in REGION with this KMS key, given by its key ARN (repeatable; REGION
    /// must be one of --copy-to). Default: that region's default EBS key.
    #[arg(long = "copy-kms-key", value_name = "REGION=KEY_ARN", value_parser = crate::values::copy_kms_key)]
    pub(crate) copy_kms_keys: Vec<CopyTarget>,
    /// Tag and rotate every copy with this retention (a keyword tag's value: `30`, `daily=7
    /// weekly=4 monthly=12`) instead of its source's. Needs --copy-to.
    #[arg(long, value_name = "VALUE", value_parser = crate::values::retention)]
    pub(crate) copy_retention: Option<RetentionPolicy>,
    /// Encrypt every unencrypted snapshot the function takes in place: once it has completed, it
    /// is copied, encrypted, in the stack's region, and the unencrypted original is deleted once
    /// the copy has completed (an EventBridge rule on EC2's events starts both). Off by default;
    /// not with --copy-to.
    #[arg(long)]
    pub(crate) encrypt: bool,
    /// Encrypt with this KMS key of the stack's region, given by its key ARN, instead of the
    /// region's default EBS key. Needs --encrypt.
    #[arg(long, value_name = "KEY_ARN", requires = "encrypt", value_parser = crate::values::kms_key)]
    pub(crate) kms_key: Option<String>,
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
        let spec = StackSpec {
            emails: self.emails.clone(),
            arch,
            memory_mb: self.memory,
            orphans_expire_after: self.orphans_expire_after,
            time_zone: self.tz,
            recycle_bin_days: self.recycle_bin_days,
            copy_to: self.copy_targets()?,
            copy_retention: self.copy_retention.clone(),
            encrypt: self.encrypt.then(|| EncryptInPlace { kms_key: self.kms_key.clone() }),
            ..base
        };
        spec.validate().context("invalid stack settings")?;
        Ok(spec)
    }

    /// [`StackArgs::spec`], also checked against the stack's `region` where it is known (the
    /// `--encrypt` key must be a key of that region).
    pub(crate) fn spec_in(&self, region: Option<&str>) -> anyhow::Result<StackSpec> {
        let spec = self.spec()?;
        if let Some(region) = region {
            spec.validate_in_region(region).context("invalid stack settings")?;
        }
        Ok(spec)
    }

    /// `--copy-to` in the order given, each with its `--copy-kms-key` if one names it.
    fn copy_targets(&self) -> anyhow::Result<Vec<CopyTarget>> {
        let mut targets: Vec<CopyTarget> =
            self.copy_to.iter().map(|region| CopyTarget { region: region.clone(), kms_key: None }).collect();
        for key in &self.copy_kms_keys {
            let shown = format!("--copy-kms-key {}={}", key.region, key.kms_key.as_deref().unwrap_or_default());
            let Some(target) = targets.iter_mut().find(|t| t.region == key.region) else {
                bail!(
                    "{shown}: {} is not one of --copy-to ({}); a key is for a region the snapshots are copied to",
                    key.region,
                    if self.copy_to.is_empty() { "none given".to_owned() } else { self.copy_to.join(", ") }
                );
            };
            if target.kms_key.is_some() {
                bail!("{shown}: {} has a key already; give one --copy-kms-key per region", key.region);
            }
            target.kms_key = key.kms_key.clone();
        }
        Ok(targets)
    }
}

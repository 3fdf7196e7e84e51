//! `snapcycle deploy`: one idempotent apply through a change set, streamed until the stack settles.

use std::collections::HashSet;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter, StackStatus};
use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
use snapcycle_stack::{partition_of, CodeLocation, CopyTarget, EncryptInPlace, StackSpec};

use crate::artifact::{ensure_bucket, upload};
use crate::aws::Clients;
use crate::cli::{DeployArgs, Global};
use crate::deployed::{check_stack_name, stack_status};
use crate::stack_state::{classify, updatable, Settled};
use crate::{failed, usage, Failure};

/// CloudFormation's limit for a template passed inline.
const MAX_TEMPLATE_BODY: usize = 51_200;

/// How often to ask CloudFormation how things stand.
const POLL: Duration = Duration::from_secs(2);

pub(crate) async fn deploy(global: &Global, args: DeployArgs) -> Result<ExitCode, Failure> {
    check_stack_name(&args.stack_name).map_err(usage)?;
    let spec = args.stack.spec().map_err(usage)?;
    if !args.yes && !std::io::stdin().is_terminal() {
        return Err(usage(anyhow!(
            "standard input is not a terminal, so nobody can confirm the change set; pass --yes"
        )));
    }
    if let Some(a) = &args.artifact {
        if !a.is_file() {
            return Err(usage(anyhow!("--artifact {}: no such file", a.display())));
        }
    }
    let template = snapcycle_stack::render_string(&spec).map_err(|e| usage(e.into()))?;
    if template.len() > MAX_TEMPLATE_BODY {
        return Err(usage(anyhow!(
            "the template is {} bytes, over CloudFormation's inline limit of {MAX_TEMPLATE_BODY}",
            template.len()
        )));
    }
    // The region is known once the configuration is loaded (no call yet): the copy destinations
    // and the encryption key are checked against it before anything is built or called.
    let aws = Clients::new(global).await?;
    if let Some(region) = aws.region() {
        check_copy_destinations(&spec.copy_to, &region).map_err(usage)?;
        spec.validate_in_region(&region).context("invalid stack settings").map_err(usage)?;
    }
    let zip = match &args.artifact {
        Some(path) => path.clone(),
        None => {
            let root = crate::workspace::find(args.workspace.as_deref(), "deploy without --artifact")
                .map_err(|e| usage(anyhow!(e)))?;
            build_zip(&spec, &root).map_err(failed)?
        }
    };
    let bytes = std::fs::read(&zip).with_context(|| format!("reading {}", zip.display())).map_err(failed)?;

    // A deploy applies the flags given, nothing remembered: say what it takes back.
    if let Some(before) = crate::run::read_deployed(&aws.sdk, &args.stack_name).await? {
        let bin_days = crate::deployed::recycle_bin_days(&aws, &args.stack_name).await.map_err(failed)?;
        for change in settings_taken_back(&before, bin_days, &spec) {
            println!("note: {change}");
        }
    }
    // The function must hold its largest run's inventory: size it from the fleet tagged now.
    let mut spec = spec;
    let fleet = crate::sizing::survey(&aws_sdk_ec2::Client::new(&aws.sdk), &spec).await.map_err(failed)?;
    crate::sizing::fit(&mut spec, &fleet);
    let template = snapcycle_stack::render_string(&spec).map_err(|e| usage(e.into()))?;
    let bucket = ensure_bucket(&aws).await.map_err(failed)?;
    let key = upload(&aws, &bucket, &bytes).await.map_err(failed)?;
    println!("artifact: s3://{bucket}/{key} ({} bytes)", bytes.len());
    let code = CodeLocation { bucket, key };
    apply(&aws, &args.stack_name, &template, &code, args.yes).await
}

/// What only `deploy` can check of `--copy-to`, knowing the stack's region (the template says
/// `${AWS::Region}`): no destination is that region, and each is in its partition, since a
/// snapshot can only be copied within its partition (`cn-*` with `cn-*`, `us-gov-*` with
/// `us-gov-*`, as `us-east-1` with `us-west-2`).
fn check_copy_destinations(copy_to: &[CopyTarget], region: &str) -> anyhow::Result<()> {
    let home = partition_of(region);
    for target in copy_to {
        if target.region == region {
            bail!(
                "--copy-to {region} is the stack's own region: copies go to other regions, where they survive \
                 the loss of this one (encrypting snapshots in place, in {region}, would be a different option)"
            );
        }
        let there = partition_of(&target.region);
        if there != home {
            bail!(
                "--copy-to {}: it is in partition {there}, the stack in {region} is in {home}, and a snapshot can \
                 only be copied within its partition (copy cn-* to cn-*, us-gov-* to us-gov-*)",
                target.region
            );
        }
    }
    Ok(())
}

/// The flags that give `copy_to` again, for a note that says how to keep it.
fn copy_flags(copy_to: &[CopyTarget]) -> String {
    let mut flags: Vec<String> = copy_to.iter().map(|t| format!("--copy-to {}", t.region)).collect();
    flags.extend(copy_to.iter().filter_map(|t| Some(format!("--copy-kms-key {}={}", t.region, t.kms_key.as_ref()?))));
    flags.join(" ")
}

/// What applying `spec` undoes of the deployed stack's options without the user asking in so
/// many words: each flag is the whole truth, so a redeploy that forgets `--tz` moves the schedules
/// back to UTC rules. The change set shows only "modify Function"; these lines say why.
/// `bin_days` is the deployed stack's `--recycle-bin-days`, read from its outputs.
fn settings_taken_back(before: &crate::run::Deployed, bin_days: Option<u32>, spec: &StackSpec) -> Vec<String> {
    let mut changes = Vec::new();
    match (before.time_zone, spec.time_zone) {
        (Some(was), None) => changes.push(format!(
            "the stack's schedules fire in {was} now; without --tz they go back to EventBridge rules on UTC \
             (pass --tz {was} to keep them)"
        )),
        (Some(was), Some(now)) if was != now => {
            changes.push(format!("the stack's schedules move from {was} to {now}, and a policy's days with them"))
        }
        _ => {}
    }
    match (before.orphans_expire_after, spec.orphans_expire_after) {
        (Some(was), None) => changes.push(format!(
            "orphans expire after {was} now; without --orphans-expire-after they are kept again \
             (pass --orphans-expire-after {was} to keep expiring them)"
        )),
        (Some(was), Some(now)) if was != now => {
            changes.push(format!("orphans will expire after {now} instead of {was}"))
        }
        _ => {}
    }
    // A retention rule applies when a snapshot is deleted: what the bin holds keeps its exit time.
    match (bin_days, spec.recycle_bin_days) {
        (Some(was), None) => changes.push(format!(
            "the Recycle Bin keeps deleted snapshots {was} days now; without --recycle-bin-days its rule is \
             removed and deletions are final again (snapshots already in the bin stay restorable until their \
             time is up; pass --recycle-bin-days {was} to keep the rule)"
        )),
        (Some(was), Some(now)) if was != now => changes.push(format!(
            "snapshots deleted from now on stay in the Recycle Bin {now} days instead of {was} (those already \
             there keep their {was} days)"
        )),
        _ => {}
    }
    copies_taken_back(before, spec, &mut changes);
    encryption_taken_back(before, spec, &mut changes);
    changes
}

/// The flags that give `encrypt` again, for a note that says how to keep it.
fn encrypt_flags(encrypt: &EncryptInPlace) -> String {
    match &encrypt.kms_key {
        Some(key) => format!("--encrypt --kms-key {key}"),
        None => "--encrypt".to_owned(),
    }
}

/// What a redeploy changes of `--encrypt` and `--kms-key`, read back from the function's
/// `SNAPCYCLE_ENCRYPT`. The encrypted copies already made stay and are rotated as before (each
/// counts in its original's place whatever the flags); without `--encrypt` new snapshots stay
/// unencrypted, and with another key the next copies are encrypted with it.
fn encryption_taken_back(before: &crate::run::Deployed, spec: &StackSpec, changes: &mut Vec<String>) {
    let Some(was) = &before.encrypt else {
        return; // Turning it on shows in the change set.
    };
    let key = |e: &EncryptInPlace| e.kms_key.clone().unwrap_or_else(|| "the region's default EBS key".to_owned());
    match &spec.encrypt {
        None => changes.push(format!(
            "snapshots are encrypted in place now (with {}); without --encrypt {}new snapshots stay unencrypted (the \
             encrypted copies already made stay and are rotated as before; pass {} to keep encrypting)",
            key(was),
            if spec.copy_to.is_empty() { "its rule is removed and " } else { "" },
            encrypt_flags(was)
        )),
        Some(now) if now.kms_key != was.kms_key => changes.push(format!(
            "snapshots are encrypted in place with {} instead of {} from now on (the encrypted copies already made \
             keep their key)",
            key(now),
            key(was)
        )),
        Some(_) => {}
    }
}

/// What a redeploy changes of `--copy-to`, `--copy-kms-key` and `--copy-retention`, read back
/// from the function's environment. Copies already made stay where they are; a destination that
/// is dropped keeps them unrotated (the role can no longer delete them there), a new key makes the
/// next copy of each volume a full one (EBS copies incrementally only under the same key, "Copy an
/// Amazon EBS snapshot"), and a copy retention applies to the copies already made at the next run.
fn copies_taken_back(before: &crate::run::Deployed, spec: &StackSpec, changes: &mut Vec<String>) {
    if before.copy_to.is_empty() {
        return; // Adding copies shows in the change set.
    }
    let dropped: Vec<&CopyTarget> =
        before.copy_to.iter().filter(|was| !spec.copy_to.iter().any(|now| now.region == was.region)).collect();
    if spec.copy_to.is_empty() {
        let regions: Vec<&str> = before.copy_to.iter().map(|t| t.region.as_str()).collect();
        changes.push(format!(
            "snapshots are copied to {} now; without --copy-to {}new snapshots are no longer copied (the copies \
             already made stay, unrotated: the function no longer deletes them; pass {} to keep copying)",
            regions.join(", "),
            // With --encrypt the rule stays, for the copies in place.
            if spec.encrypt.is_none() { "its rule is removed and " } else { "" },
            match &before.copy_retention {
                Some(r) => format!("{} --copy-retention '{r}'", copy_flags(&before.copy_to)),
                None => copy_flags(&before.copy_to),
            }
        ));
        return;
    }
    for was in dropped {
        changes.push(format!(
            "{} is not in --copy-to any more: snapshots are no longer copied there, and its copies stay, unrotated \
             (pass {} to keep it)",
            was.region,
            copy_flags(std::slice::from_ref(was))
        ));
    }
    let key = |k: &Option<String>| k.clone().unwrap_or_else(|| "the region's default EBS key".to_owned());
    for now in &spec.copy_to {
        if let Some(was) = before.copy_to.iter().find(|w| w.region == now.region && w.kms_key != now.kms_key) {
            changes.push(format!(
                "copies to {} are encrypted with {} instead of {} from now on: the next copy of each volume there is \
                 a full copy, not an incremental one (copies already made keep their key)",
                now.region,
                key(&now.kms_key),
                key(&was.kms_key)
            ));
        }
    }
    match (&before.copy_retention, &spec.copy_retention) {
        (Some(was), None) => changes.push(format!(
            "copies keep {was} now; without --copy-retention they are rotated by their source's retention again, \
             the copies already made included (pass --copy-retention '{was}' to keep it)"
        )),
        (Some(was), Some(now)) if was != now => changes.push(format!(
            "copies will keep {now} instead of {was}, the copies already made included: a shorter retention deletes \
             older copies at the next run"
        )),
        _ => {}
    }
}

/// Builds the release zip with cargo-lambda for the stack's architecture.
fn build_zip(spec: &StackSpec, root: &Path) -> anyhow::Result<PathBuf> {
    let arch_flag = match spec.arch {
        snapcycle_stack::Architecture::Arm64 => "--arm64",
        snapcycle_stack::Architecture::X86_64 => "--x86-64",
    };
    let venv_bin = root.join(".venv/bin");
    let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default());
    println!(
        "building the Lambda zip: cargo lambda build --release {arch_flag} --output-format zip -p snapcycle-lambda"
    );
    let status = std::process::Command::new("cargo")
        .args(["lambda", "build", "--release", arch_flag, "--output-format", "zip", "-p", "snapcycle-lambda"])
        .current_dir(root)
        .env("PATH", path)
        .status()
        .context("running cargo lambda (install it with scripts/ensure-venv)")?;
    if !status.success() {
        bail!("cargo lambda build failed: {status}");
    }
    Ok(root.join("target/lambda/bootstrap/bootstrap.zip"))
}

async fn apply(
    aws: &Clients,
    stack: &str,
    template: &str,
    code: &CodeLocation,
    yes: bool,
) -> Result<ExitCode, Failure> {
    let status = stack_status(aws, stack).await.map_err(failed)?;
    let kind = match status.as_ref() {
        None | Some(StackStatus::ReviewInProgress) => ChangeSetType::Create,
        Some(s) if updatable(s) => ChangeSetType::Update,
        Some(s) => {
            return Err(failed(anyhow!(
            "stack {stack} is {s} and cannot be updated; remove it with `snapcycle destroy --stack-name {stack}` first"
        )))
        }
    };
    let name = format!("snapcycle-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S"));
    let params = code
        .parameter_values()
        .into_iter()
        .map(|(k, v)| Parameter::builder().parameter_key(k).parameter_value(v).build())
        .collect::<Vec<_>>();
    let created = match aws
        .cfn
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(kind.clone())
        .template_body(template)
        .set_parameters(Some(params))
        .capabilities(Capability::CapabilityIam)
        .description("snapcycle deploy")
        .send()
        .await
    {
        Ok(c) => c,
        // AWS reports "no changes" as a FAILED change set (below); some implementations refuse
        // the change set outright with the same meaning.
        Err(e) if e.message().is_some_and(is_no_changes) => {
            println!("No changes: stack {stack} is up to date.");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => {
            return Err(failed(anyhow::Error::new(e).context(format!("creating change set {name} for {stack}"))));
        }
    };
    let cs_id = created.id().unwrap_or(&name).to_owned();
    // Wait for the change set to be computed.
    let described = loop {
        let d = aws
            .cfn
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(&cs_id)
            .send()
            .await
            .context("describing the change set")
            .map_err(failed)?;
        match d.status() {
            Some(ChangeSetStatus::CreateComplete) => break d,
            Some(ChangeSetStatus::Failed) => {
                let reason = d.status_reason().unwrap_or_default().to_owned();
                if is_no_changes(&reason) {
                    let _ = aws.cfn.delete_change_set().stack_name(stack).change_set_name(&cs_id).send().await;
                    println!("No changes: stack {stack} is up to date.");
                    return Ok(ExitCode::SUCCESS);
                }
                return Err(failed(anyhow!("the change set failed: {reason}")));
            }
            _ => tokio::time::sleep(POLL).await,
        }
    };
    let changes = described.changes();
    if changes.is_empty() {
        let _ = aws.cfn.delete_change_set().stack_name(stack).change_set_name(&cs_id).send().await;
        println!("No changes: stack {stack} is up to date.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("Change set {name} for stack {stack} ({}):", kind.as_str());
    for c in changes {
        let Some(rc) = c.resource_change() else { continue };
        let action = rc.action().map(|a| a.as_str()).unwrap_or("?");
        let sign = match action {
            "Add" => "+",
            "Remove" => "-",
            "Modify" => "~",
            _ => "?",
        };
        let replacement = match rc.replacement().map(|r| r.as_str()) {
            Some("True") => "  (REPLACEMENT)",
            Some("Conditional") => "  (may be replaced)",
            _ => "",
        };
        println!(
            "  {sign} {:<7} {:<44} {}{replacement}",
            action.to_lowercase(),
            rc.logical_resource_id().unwrap_or_default(),
            rc.resource_type().unwrap_or_default()
        );
    }
    if !yes && !confirm("Execute this change set?") {
        let _ = aws.cfn.delete_change_set().stack_name(stack).change_set_name(&cs_id).send().await;
        println!("Not executed; the change set was deleted.");
        return Ok(ExitCode::SUCCESS);
    }
    let started = chrono::Utc::now();
    aws.cfn
        .execute_change_set()
        .stack_name(stack)
        .change_set_name(&cs_id)
        .send()
        .await
        .context("executing the change set")
        .map_err(failed)?;
    match follow(aws, stack, started).await.map_err(failed)? {
        (Settled::Succeeded, _) => {
            print_outputs(aws, stack).await.map_err(failed)?;
            Ok(ExitCode::SUCCESS)
        }
        (_, final_status) => {
            let why = failure_reasons(aws, stack, started).await.unwrap_or_default();
            Err(failed(anyhow!("stack {stack} ended {final_status}{why}")))
        }
    }
}

/// CloudFormation's ways of saying a change set would change nothing.
fn is_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

pub(crate) fn confirm(question: &str) -> bool {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && matches!(line.trim(), "y" | "Y" | "yes")
}

/// Streams stack events as they arrive until the stack settles; returns how it settled.
pub(crate) async fn follow(
    aws: &Clients,
    stack: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(Settled, String)> {
    let mut seen: HashSet<String> = HashSet::new();
    // A second early: CloudFormation's event times and this machine's clock may disagree a little.
    let since = {
        use aws_smithy_types_convert::date_time::DateTimeExt as _;
        aws_smithy_types::DateTime::from_chrono_utc(since - chrono::TimeDelta::seconds(1))
    };
    loop {
        let events = match aws.cfn.describe_stack_events().stack_name(stack).send().await {
            Ok(ev) => ev,
            // A deleted stack is no longer found by name: that is how a deletion settles.
            Err(e) if e.message().is_some_and(|m| m.contains("does not exist")) => {
                return Ok((Settled::Succeeded, StackStatus::DeleteComplete.as_str().to_owned()));
            }
            Err(e) => return Err(anyhow::Error::new(e).context("reading stack events")),
        };
        let mut fresh: Vec<_> = events
            .stack_events()
            .iter()
            .filter(|e| e.timestamp().is_some_and(|t| t.secs() >= since.secs()))
            .filter(|e| seen.insert(e.event_id().unwrap_or_default().to_owned()))
            .collect();
        fresh.reverse(); // CloudFormation lists newest first
        for e in fresh {
            println!(
                "  {}  {:<44} {:<28} {}",
                e.timestamp().map(|t| t.to_string()).unwrap_or_default(),
                e.logical_resource_id().unwrap_or_default(),
                e.resource_status().map(|s| s.as_str()).unwrap_or_default(),
                e.resource_status_reason().unwrap_or_default()
            );
        }
        let status = stack_status(aws, stack).await?.unwrap_or(StackStatus::DeleteComplete);
        match classify(&status) {
            Settled::InProgress => tokio::time::sleep(POLL).await,
            settled => return Ok((settled, status.as_str().to_owned())),
        }
    }
}

/// The failed resources and their reasons, for a rollback's error message.
async fn failure_reasons(aws: &Clients, stack: &str, since: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
    let events = aws.cfn.describe_stack_events().stack_name(stack).send().await?;
    let mut out = String::new();
    for e in events.stack_events() {
        let failed = e.resource_status().is_some_and(|s| s.as_str().ends_with("_FAILED"));
        let recent = e.timestamp().is_some_and(|t| t.secs() >= since.timestamp() - 1);
        if failed && recent && e.logical_resource_id() != Some(stack) {
            out.push_str(&format!(
                "\n  {} ({}): {}",
                e.logical_resource_id().unwrap_or_default(),
                e.resource_type().unwrap_or_default(),
                e.resource_status_reason().unwrap_or("no reason given")
            ));
        }
    }
    Ok(out)
}

async fn print_outputs(aws: &Clients, stack: &str) -> anyhow::Result<()> {
    let out = aws.cfn.describe_stacks().stack_name(stack).send().await.context("reading outputs")?;
    let outputs = out.stacks().first().map(|s| s.outputs()).unwrap_or_default();
    println!("Stack {stack} deployed.");
    if outputs.is_empty() {
        println!("  (CloudFormation reported no outputs)");
    }
    for o in outputs {
        println!("  {:<28} {}", o.output_key().unwrap_or_default(), o.output_value().unwrap_or_default());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed() -> crate::run::Deployed {
        crate::run::Deployed::default()
    }

    #[test]
    fn a_redeploy_says_when_it_removes_or_changes_the_recycle_bin_rule() {
        let off = StackSpec::default();
        let seven = StackSpec { recycle_bin_days: Some(7), ..StackSpec::default() };
        let removed = settings_taken_back(&deployed(), Some(7), &off);
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert!(removed[0].contains("without --recycle-bin-days its rule is removed"), "{}", removed[0]);
        assert!(removed[0].contains("pass --recycle-bin-days 7"), "{}", removed[0]);
        let changed = settings_taken_back(&deployed(), Some(30), &seven);
        assert!(changed[0].contains("7 days instead of 30"), "{changed:?}");
        assert!(settings_taken_back(&deployed(), Some(7), &seven).is_empty());
        assert!(settings_taken_back(&deployed(), None, &seven).is_empty(), "adding it shows in the change set");
        assert!(settings_taken_back(&deployed(), None, &off).is_empty());
    }

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn copying(targets: &[(&str, Option<&str>)], retention: Option<&str>) -> StackSpec {
        StackSpec {
            copy_to: targets
                .iter()
                .map(|(r, k)| CopyTarget { region: (*r).to_owned(), kms_key: k.map(str::to_owned) })
                .collect(),
            copy_retention: retention.map(|r| r.parse().unwrap()),
            ..StackSpec::default()
        }
    }

    fn deployed_copying(targets: &[(&str, Option<&str>)], retention: Option<&str>) -> crate::run::Deployed {
        let spec = copying(targets, retention);
        crate::run::Deployed { copy_to: spec.copy_to, copy_retention: spec.copy_retention, ..deployed() }
    }

    #[test]
    fn a_copy_destination_must_be_another_region_of_the_same_partition() {
        let to = |r: &str| vec![CopyTarget { region: r.to_owned(), kms_key: None }];
        assert!(check_copy_destinations(&to("us-west-2"), "us-east-1").is_ok());
        assert!(check_copy_destinations(&to("cn-northwest-1"), "cn-north-1").is_ok());
        assert!(check_copy_destinations(&to("us-gov-east-1"), "us-gov-west-1").is_ok());
        assert!(check_copy_destinations(&[], "us-east-1").is_ok());
        let own = check_copy_destinations(&to("cn-north-1"), "cn-north-1").unwrap_err().to_string();
        assert!(own.contains("the stack's own region") && own.contains("different option"), "{own}");
        for (to_region, home) in
            [("us-west-2", "cn-north-1"), ("cn-northwest-1", "us-east-1"), ("us-gov-east-1", "us-east-1")]
        {
            let e = check_copy_destinations(&to(to_region), home).unwrap_err().to_string();
            assert!(e.contains("only be copied within its partition"), "{e}");
        }
    }

    #[test]
    fn a_redeploy_says_when_it_drops_or_changes_the_copies() {
        let both = deployed_copying(&[("us-west-2", None), ("eu-west-1", Some(KEY))], Some("30"));
        let gone = settings_taken_back(&both, None, &StackSpec::default());
        assert_eq!(gone.len(), 1, "{gone:?}");
        assert!(gone[0].contains("copied to us-west-2, eu-west-1 now; without --copy-to"), "{}", gone[0]);
        assert!(
            gone[0].contains(&format!(
                "pass --copy-to us-west-2 --copy-to eu-west-1 --copy-kms-key eu-west-1={KEY} --copy-retention '30' \
                 to keep copying"
            )),
            "{}",
            gone[0]
        );

        let one = settings_taken_back(&both, None, &copying(&[("eu-west-1", Some(KEY))], Some("30")));
        assert_eq!(one.len(), 1, "{one:?}");
        assert!(one[0].contains("us-west-2 is not in --copy-to any more") && one[0].contains("unrotated"), "{one:?}");

        let rekeyed =
            settings_taken_back(&both, None, &copying(&[("us-west-2", None), ("eu-west-1", None)], Some("30")));
        assert_eq!(rekeyed.len(), 1, "{rekeyed:?}");
        assert!(
            rekeyed[0].contains("eu-west-1 are encrypted with the region's default EBS key instead of"),
            "{rekeyed:?}"
        );
        assert!(rekeyed[0].contains("full copy"), "{rekeyed:?}");

        let same = [("us-west-2", None), ("eu-west-1", Some(KEY))];
        let unretained = settings_taken_back(&both, None, &copying(&same, None));
        assert!(unretained[0].contains("without --copy-retention") && unretained[0].contains("'30'"), "{unretained:?}");
        let shorter = settings_taken_back(&both, None, &copying(&same, Some("7")));
        assert!(shorter[0].contains("keep 7 instead of 30"), "{shorter:?}");

        assert!(settings_taken_back(&both, None, &copying(&same, Some("30"))).is_empty());
        assert!(
            settings_taken_back(&deployed(), None, &copying(&same, Some("30"))).is_empty(),
            "the change set shows it"
        );
    }

    const HOME_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn encrypting(key: Option<&str>) -> StackSpec {
        StackSpec { encrypt: Some(EncryptInPlace { kms_key: key.map(str::to_owned) }), ..StackSpec::default() }
    }

    fn deployed_encrypting(key: Option<&str>) -> crate::run::Deployed {
        crate::run::Deployed { encrypt: encrypting(key).encrypt, ..deployed() }
    }

    #[test]
    fn a_redeploy_says_when_it_stops_encrypting_or_changes_the_key() {
        let keyed = deployed_encrypting(Some(HOME_KEY));
        let off = settings_taken_back(&keyed, None, &StackSpec::default());
        assert_eq!(off.len(), 1, "{off:?}");
        assert!(
            off[0].contains(&format!(
                "snapshots are encrypted in place now (with {HOME_KEY}); without --encrypt its rule is removed and \
                 new snapshots stay unencrypted"
            )),
            "{}",
            off[0]
        );
        assert!(off[0].contains("rotated as before"), "{}", off[0]);
        assert!(off[0].contains(&format!("pass --encrypt --kms-key {HOME_KEY} to keep encrypting")), "{}", off[0]);
        let plain = settings_taken_back(&deployed_encrypting(None), None, &StackSpec::default());
        assert!(plain[0].contains("(with the region's default EBS key)"), "{plain:?}");
        assert!(plain[0].contains("pass --encrypt to keep encrypting"), "{plain:?}");

        let rekeyed = settings_taken_back(&keyed, None, &encrypting(None));
        assert_eq!(rekeyed.len(), 1, "{rekeyed:?}");
        assert!(
            rekeyed[0].contains(&format!(
                "encrypted in place with the region's default EBS key instead of {HOME_KEY} from now on"
            )),
            "{rekeyed:?}"
        );
        assert!(settings_taken_back(&keyed, None, &encrypting(Some(HOME_KEY))).is_empty());
        assert!(settings_taken_back(&deployed(), None, &encrypting(None)).is_empty(), "the change set shows it");

        // From one to the other: the rule stays (it serves both), so neither note says it goes.
        let to_copies = settings_taken_back(&keyed, None, &copying(&[("us-west-2", None)], None));
        assert_eq!(to_copies.len(), 1, "{to_copies:?}");
        assert!(to_copies[0].contains("without --encrypt new snapshots stay unencrypted"), "{to_copies:?}");
        let from_copies = settings_taken_back(&deployed_copying(&[("us-west-2", None)], None), None, &encrypting(None));
        assert_eq!(from_copies.len(), 1, "{from_copies:?}");
        assert!(from_copies[0].contains("without --copy-to new snapshots are no longer copied"), "{from_copies:?}");
    }
}

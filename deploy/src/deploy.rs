//! `snapcycle deploy`, `destroy` and `status`: one idempotent apply through change sets.

use std::collections::HashSet;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
use sha2::{Digest as _, Sha256};
use snapcycle_stack::{CodeLocation, StackSpec, MAX_STACK_NAME_LEN};

use crate::aws::Clients;
use crate::cli::{DeployArgs, DestroyArgs, Global, StatusArgs};
use crate::status::{classify, updatable, Settled};
use crate::Failure;

/// CloudFormation's limit for a template passed inline.
const MAX_TEMPLATE_BODY: usize = 51_200;
/// How often to ask CloudFormation how things stand.
const POLL: Duration = Duration::from_secs(2);

/// Checks a stack name before any AWS call: CloudFormation's rules, and room for the function name.
pub(crate) fn check_stack_name(name: &str) -> anyhow::Result<()> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) || !ok_chars {
        bail!("--stack-name {name:?}: use letters, digits and hyphens, starting with a letter");
    }
    if name.len() > MAX_STACK_NAME_LEN {
        bail!("--stack-name {name:?} is longer than {MAX_STACK_NAME_LEN} characters (the function is named <stack>-snapshots, at most 64)");
    }
    Ok(())
}

fn usage(e: anyhow::Error) -> Failure {
    Failure::Usage(e)
}

fn failed(e: anyhow::Error) -> Failure {
    Failure::Failed(e)
}

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
    let zip = match &args.artifact {
        Some(path) => path.clone(),
        None => build_zip(&spec).map_err(failed)?,
    };
    let bytes = std::fs::read(&zip).with_context(|| format!("reading {}", zip.display())).map_err(failed)?;

    let aws = Clients::new(global).await?;
    let bucket = ensure_bucket(&aws).await.map_err(failed)?;
    let key = upload(&aws, &bucket, &bytes).await.map_err(failed)?;
    println!("artifact: s3://{bucket}/{key} ({} bytes)", bytes.len());
    let code = CodeLocation { bucket, key };
    apply(&aws, &args.stack_name, &template, &code, args.yes).await
}

/// Builds the release zip with cargo-lambda for the stack's architecture.
fn build_zip(spec: &StackSpec) -> anyhow::Result<PathBuf> {
    let arch_flag = match spec.arch {
        snapcycle_stack::Architecture::Arm64 => "--arm64",
        snapcycle_stack::Architecture::X86_64 => "--x86-64",
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv_bin = root.join(".venv/bin");
    let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default());
    println!(
        "building the Lambda zip: cargo lambda build --release {arch_flag} --output-format zip -p snapcycle-lambda"
    );
    let status = std::process::Command::new("cargo")
        .args(["lambda", "build", "--release", arch_flag, "--output-format", "zip", "-p", "snapcycle-lambda"])
        .current_dir(&root)
        .env("PATH", path)
        .status()
        .context("running cargo lambda (install it with scripts/ensure-venv)")?;
    if !status.success() {
        bail!("cargo lambda build failed: {status}");
    }
    Ok(root.join("target/lambda/bootstrap/bootstrap.zip"))
}

/// Makes sure the artifact bucket exists: one per account and region, versioned, encrypted,
/// public access blocked.
async fn ensure_bucket(aws: &Clients) -> anyhow::Result<String> {
    let who = aws.sts.get_caller_identity().send().await.context("finding the account (sts:GetCallerIdentity)")?;
    let account = who.account().unwrap_or("unknown");
    let region = aws.region().ok_or_else(|| anyhow!("no region: pass --region or set AWS_REGION"))?;
    let bucket = format!("snapcycle-artifacts-{account}-{region}");
    match aws.s3.head_bucket().bucket(&bucket).send().await {
        Ok(_) => return Ok(bucket),
        Err(e)
            if e.as_service_error().is_some_and(|s| s.is_not_found())
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
        Err(e) => return Err(anyhow::Error::new(e).context(format!("checking the artifact bucket {bucket}"))),
    }
    println!("creating the artifact bucket {bucket}");
    let mut create = aws.s3.create_bucket().bucket(&bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    create.send().await.with_context(|| format!("creating {bucket}"))?;
    aws.s3
        .put_public_access_block()
        .bucket(&bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("blocking public access to {bucket}"))?;
    aws.s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .with_context(|| format!("enabling versioning on {bucket}"))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256).build()?,
        )
        .build();
    aws.s3
        .put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(ServerSideEncryptionConfiguration::builder().rules(rule).build()?)
        .send()
        .await
        .with_context(|| format!("enabling encryption on {bucket}"))?;
    Ok(bucket)
}

/// Uploads the zip under a key named by its content hash; an unchanged build uploads nothing.
async fn upload(aws: &Clients, bucket: &str, bytes: &[u8]) -> anyhow::Result<String> {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let key = format!("snapcycle/bootstrap-{hex}.zip");
    if aws.s3.head_object().bucket(bucket).key(&key).send().await.is_ok() {
        return Ok(key);
    }
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(bytes.to_vec().into())
        .send()
        .await
        .with_context(|| format!("uploading s3://{bucket}/{key}"))?;
    Ok(key)
}

/// The stack's status, or None when it does not exist.
async fn stack_status(aws: &Clients, name: &str) -> anyhow::Result<Option<String>> {
    match aws.cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_owned())),
        Err(e) if e.message().is_some_and(|m| m.contains("does not exist")) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("describing stack {name}"))),
    }
}

async fn apply(
    aws: &Clients,
    stack: &str,
    template: &str,
    code: &CodeLocation,
    yes: bool,
) -> Result<ExitCode, Failure> {
    let status = stack_status(aws, stack).await.map_err(failed)?;
    let kind = match status.as_deref() {
        None | Some("REVIEW_IN_PROGRESS") => ChangeSetType::Create,
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
        let st = d.status().map(|s| s.as_str().to_owned()).unwrap_or_default();
        match st.as_str() {
            "CREATE_COMPLETE" => break d,
            "FAILED" => {
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

fn confirm(question: &str) -> bool {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && matches!(line.trim(), "y" | "Y" | "yes")
}

/// Streams stack events as they arrive until the stack settles; returns how it settled.
async fn follow(aws: &Clients, stack: &str, since: chrono::DateTime<chrono::Utc>) -> anyhow::Result<(Settled, String)> {
    let mut seen: HashSet<String> = HashSet::new();
    let since = aws_smithy_types::DateTime::from_secs(since.timestamp() - 1);
    loop {
        let events = match aws.cfn.describe_stack_events().stack_name(stack).send().await {
            Ok(ev) => ev,
            // A deleted stack is no longer found by name: that is how a deletion settles.
            Err(e) if e.message().is_some_and(|m| m.contains("does not exist")) => {
                return Ok((Settled::Succeeded, "DELETE_COMPLETE".into()));
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
        let status = stack_status(aws, stack).await?.unwrap_or_else(|| "DELETE_COMPLETE".into());
        match classify(&status) {
            Settled::InProgress => tokio::time::sleep(POLL).await,
            settled => return Ok((settled, status)),
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

pub(crate) async fn destroy(global: &Global, args: DestroyArgs) -> Result<ExitCode, Failure> {
    check_stack_name(&args.stack_name).map_err(usage)?;
    if !args.yes && !std::io::stdin().is_terminal() {
        return Err(usage(anyhow!("standard input is not a terminal, so nobody can confirm; pass --yes")));
    }
    let aws = Clients::new(global).await?;
    let Some(status) = stack_status(&aws, &args.stack_name).await.map_err(failed)? else {
        println!("Stack {} does not exist; nothing to remove.", args.stack_name);
        return Ok(ExitCode::SUCCESS);
    };
    if !args.yes && !confirm(&format!("Delete stack {} ({status})? Snapshots are kept.", args.stack_name)) {
        println!("Nothing deleted.");
        return Ok(ExitCode::SUCCESS);
    }
    let started = chrono::Utc::now();
    aws.cfn.delete_stack().stack_name(&args.stack_name).send().await.context("deleting the stack").map_err(failed)?;
    let (settled, status) = follow(&aws, &args.stack_name, started).await.map_err(failed)?;
    if settled != Settled::Succeeded {
        return Err(failed(anyhow!("stack {} ended {status}", args.stack_name)));
    }
    println!("Stack {} deleted.", args.stack_name);
    println!("Your snapshots are kept: snapcycle never deletes them on removal. Find them with");
    println!("  aws ec2 describe-snapshots --owner-ids self --filters Name=tag-key,Values=snapcycle:keyword");
    println!("The artifact bucket snapcycle-artifacts-<account>-<region> is kept too; empty and delete it by hand if unwanted.");
    Ok(ExitCode::SUCCESS)
}

/// A schedule as deployed: read back from EventBridge, not from the template.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct DeployedSchedule {
    pub(crate) rule: String,
    pub(crate) expression: String,
    pub(crate) keyword: String,
    pub(crate) state: String,
    /// The target's input template, with `<time>` where EventBridge puts the event's time.
    pub(crate) input_template: String,
}

/// Reads the stack's rules from EventBridge, with their targets' inputs.
pub(crate) async fn deployed_schedules(
    aws: &Clients,
    stack: &str,
) -> anyhow::Result<(Vec<DeployedSchedule>, Option<String>)> {
    let res = aws
        .cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .with_context(|| format!("listing the resources of {stack}"))?;
    let mut out = Vec::new();
    let mut function = None;
    for r in res.stack_resources() {
        match r.resource_type() {
            Some("AWS::Lambda::Function") => function = r.physical_resource_id().map(str::to_owned),
            Some("AWS::Events::Rule") => {
                let Some(rule) = r.physical_resource_id() else { continue };
                let rule_name = rule.rsplit('/').next().unwrap_or(rule);
                let d = aws
                    .events
                    .describe_rule()
                    .name(rule_name)
                    .send()
                    .await
                    .with_context(|| format!("describing rule {rule_name}"))?;
                let targets = aws.events.list_targets_by_rule().rule(rule_name).send().await?;
                for t in targets.targets() {
                    let template = t
                        .input_transformer()
                        .map(|i| i.input_template().to_owned())
                        .or_else(|| t.input().map(str::to_owned))
                        .unwrap_or_default();
                    let probe = template.replace("<time>", "\"1970-01-01T00:00:00Z\"");
                    let keyword = serde_json::from_str::<serde_json::Value>(&probe)
                        .ok()
                        .and_then(|v| v["SnapshotKeyWord"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    out.push(DeployedSchedule {
                        rule: rule_name.to_owned(),
                        expression: d.schedule_expression().unwrap_or_default().to_owned(),
                        keyword,
                        state: d.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                        input_template: template,
                    });
                }
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| a.keyword.cmp(&b.keyword));
    Ok((out, function))
}

pub(crate) async fn status(global: &Global, args: StatusArgs) -> Result<ExitCode, Failure> {
    check_stack_name(&args.stack_name).map_err(usage)?;
    let aws = Clients::new(global).await?;
    let Some(status) = stack_status(&aws, &args.stack_name).await.map_err(failed)? else {
        println!("Stack {} does not exist.", args.stack_name);
        return Ok(ExitCode::from(1));
    };
    println!("Stack {}: {status}", args.stack_name);
    let (schedules, function) = deployed_schedules(&aws, &args.stack_name).await.map_err(failed)?;
    println!("Schedules:");
    for s in &schedules {
        println!("  {:<20} {:<24} {:<9} rule {}", s.keyword, s.expression, s.state, s.rule);
    }
    if let Some(f) = function {
        let c = aws
            .lambda
            .get_function_configuration()
            .function_name(&f)
            .send()
            .await
            .context("reading the function")
            .map_err(failed)?;
        let arch: Vec<&str> = c.architectures().iter().map(|a| a.as_str()).collect();
        println!("Function {f}:");
        println!(
            "  runtime {}, {}, {} MB, timeout {} s",
            c.runtime().map(|r| r.as_str()).unwrap_or("?"),
            arch.join(","),
            c.memory_size().unwrap_or_default(),
            c.timeout().unwrap_or_default()
        );
        if let Some(env) = c.environment().and_then(|e| e.variables()) {
            let mut vars: Vec<_> = env.iter().collect();
            vars.sort();
            for (k, v) in vars {
                println!("  {k}={v}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

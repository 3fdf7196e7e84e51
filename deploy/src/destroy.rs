//! `snapcycle destroy`: the stack goes, the snapshots stay.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::{anyhow, Context as _};

use crate::aws::Clients;
use crate::cli::{DestroyArgs, Global};
use crate::deploy::{confirm, follow};
use crate::deployed::{check_stack_name, stack_status};
use crate::stack_state::Settled;
use crate::{failed, usage, Failure};

/// Deletes the stack after a confirmation (or `--yes`) and says what is kept.
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

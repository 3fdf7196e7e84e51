//! `snapcycle status`: the stack, its schedules as EventBridge has them, and the function.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::aws::Clients;
use crate::cli::{Global, StatusArgs};
use crate::deployed::{check_stack_name, deployed_schedules, stack_status};
use crate::{failed, usage, Failure};

/// Prints the stack's state, its schedules as deployed and the function's configuration.
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
        println!("  {:<20} {:<24} {:<16} {:<9} {} {}", s.keyword, s.expression, s.time_zone, s.state, s.kind, s.name);
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

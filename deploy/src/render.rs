//! `snapcycle render`: the template, no AWS call.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::RenderArgs;
use crate::Failure;

pub(crate) fn render(args: RenderArgs) -> Result<ExitCode, Failure> {
    let spec = args.stack.spec().map_err(Failure::Usage)?;
    let text = snapcycle_stack::render_string(&spec).map_err(|e| Failure::Usage(e.into()))?;
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("writing {}", path.display()))
            .map_err(Failure::Failed)?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

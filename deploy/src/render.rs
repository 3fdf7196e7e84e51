//! `snapcycle render`: the template, no AWS call.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Global, RenderArgs};
use crate::Failure;

/// Prints (or writes) the template. `--region` (or `AWS_REGION`), when given, is the stack's
/// region: what only the region tells is checked too (an `--encrypt` key must be of it), still
/// without an AWS call.
pub(crate) fn render(global: &Global, args: RenderArgs) -> Result<ExitCode, Failure> {
    let spec = args.stack.spec_in(global.region.as_deref()).map_err(Failure::Usage)?;
    let text = snapcycle_stack::render_string(&spec).map_err(|e| Failure::Usage(e.into()))?;
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("writing {}", path.display()))
            .map_err(Failure::Failed)?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

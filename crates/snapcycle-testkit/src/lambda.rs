//! The function as Lambda runs it, for tests: the real `bootstrap` polling the loopback Runtime
//! API of `snapcycle-local` (real deadlines, asynchronous Invoke for hand-overs), configured for
//! moto. One way to run the Lambda in every test, the benchmark and `snapcycle simulate`.

use std::path::Path;
use std::time::Duration;

pub use snapcycle_local::{function_command, Finished, Function, Invoked, RuntimeApi};

use crate::Moto;

/// The function name the tests give the local service (hand-overs must name it).
pub const FUNCTION: &str = "snapcycle-test";

/// A local Lambda service with `bootstrap` running on it.
pub struct Lambda {
    /// The service: queue events, read results and the function's own Invokes.
    pub api: RuntimeApi,
    /// The function process (killed when dropped).
    pub function: Function,
}

/// Starts the service with a `timeout` per invocation and `bootstrap` on it, talking to moto at
/// `endpoint` (moto's URL, or a fault proxy in front of it) with moto's credentials and region,
/// plus `env` (SNAPCYCLE_*). Logs go to a file named after `label` in the temp folder.
pub async fn start(
    moto: &Moto,
    endpoint: &str,
    timeout: Duration,
    bootstrap: &Path,
    env: &[(&str, String)],
    label: &str,
) -> std::io::Result<Lambda> {
    let api = RuntimeApi::start(FUNCTION, timeout).await?;
    let mut all: Vec<(&str, String)> = moto.env().into_iter().filter(|(k, _)| *k != "AWS_ENDPOINT_URL").collect();
    all.push(("AWS_ENDPOINT_URL", endpoint.to_owned()));
    all.extend(env.iter().cloned());
    let log = std::env::temp_dir().join(format!("snapcycle-{label}-{}.log", std::process::id()));
    let function = api.spawn(bootstrap, &all, &log)?;
    Ok(Lambda { api, function })
}

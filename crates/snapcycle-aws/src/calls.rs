//! Counting AWS API calls per operation for the run report. The counter is scoped to one run with
//! a task-local, so clients built once in `main` can serve many runs and each report counts its own.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

tokio::task_local! {
    static CURRENT: CallCounts;
}

/// Calls per operation name (`CreateSnapshots`, `DescribeInstances`, …).
#[derive(Debug, Clone, Default)]
pub struct CallCounts {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, op: &str) {
    if let Ok(mut m) = map.lock() {
        *m.entry(op.to_owned()).or_default() += 1;
    }
}

impl CallCounts {
    /// A copy of the call counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.calls.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Runs `fut` with these counts collecting every call made by clients that carry
    /// [`CountCalls`]. Concurrency inside `fut` must stay in the task (streams, `join`), not `spawn`.
    pub async fn scope<F: Future>(&self, fut: F) -> F::Output {
        CURRENT.scope(self.clone(), fut).await
    }
}

/// The interceptor that feeds the current run's [`CallCounts`]; add it to each client's config.
/// It counts operations (what the code asked for), not retried attempts.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountCalls;

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "snapcycle::CountCalls"
    }

    // Not `read_before_execution`: a client's interceptors run that hook before the operation's
    // configuration (and so its name) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let _ = CURRENT.try_with(|c| bump(&c.calls, meta.name()));
        }
        Ok(())
    }
}

//! What the proxy counted, per operation.

use super::*;

/// What happened to the requests of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationStats {
    /// Every request the client sent, whatever became of it.
    pub requests: u64,
    /// Requests the upstream answered (including those whose answer was then replaced by an
    /// after-forward failure: the upstream did that work).
    pub forwarded: u64,
    /// Requests refused with 503 `RequestLimitExceeded` without reaching the upstream.
    pub throttled: u64,
    /// Requests that got an injected failure (500 or dropped connection).
    pub failed: u64,
    /// Requests the proxy could not pass on because the upstream was unreachable (502).
    pub upstream_errors: u64,
}

impl OperationStats {
    pub(crate) fn add(&mut self, other: &OperationStats) {
        self.requests += other.requests;
        self.forwarded += other.forwarded;
        self.throttled += other.throttled;
        self.failed += other.failed;
        self.upstream_errors += other.upstream_errors;
    }
}

/// A snapshot of the proxy's counters per operation, for assertions and benchmark reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Counters keyed by operation name ([`UNKNOWN_OPERATION`] when none was found).
    pub by_operation: BTreeMap<String, OperationStats>,
}

impl ProxyStats {
    /// The counters of one operation; zeros when it was never called.
    pub fn get(&self, operation: &str) -> OperationStats {
        self.by_operation.get(operation).copied().unwrap_or_default()
    }

    /// The counters summed over all operations.
    pub fn total(&self) -> OperationStats {
        let mut total = OperationStats::default();
        for stats in self.by_operation.values() {
            total.add(stats);
        }
        total
    }
}

impl fmt::Display for ProxyStats {
    /// A small table, one operation per line, for benchmark output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width =
            self.by_operation.keys().map(String::len).chain(["operation".len(), "total".len()]).max().unwrap_or(0);
        writeln!(
            f,
            "{:<width$} {:>8} {:>9} {:>9} {:>6} {:>8}",
            "operation", "requests", "forwarded", "throttled", "failed", "upstream"
        )?;
        let total = self.total();
        let rows = self.by_operation.iter().map(|(op, s)| (op.as_str(), s)).chain([("total", &total)]);
        for (op, s) in rows {
            writeln!(
                f,
                "{:<width$} {:>8} {:>9} {:>9} {:>6} {:>8}",
                op, s.requests, s.forwarded, s.throttled, s.failed, s.upstream_errors
            )?;
        }
        Ok(())
    }
}

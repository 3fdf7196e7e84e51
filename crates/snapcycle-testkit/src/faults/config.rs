//! What the proxy does to requests: throttling buckets, failures, latency.

use super::*;

/// Everything the proxy does besides forwarding; the default forwards every request untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// EC2-style request throttling; `None` never throttles.
    pub throttle: Option<ThrottleConfig>,
    /// Share of eligible requests (0.0 to 1.0) that get `failure_kind` instead of a clean answer.
    pub failure_rate: f64,
    /// What an injected failure looks like to the client.
    pub failure_kind: FailureKind,
    /// When the failure is injected; `None` takes [`FailureKind::default_timing`].
    pub failure_timing: Option<FaultTiming>,
    /// Only fail mutating calls (see [`is_mutating`]), so reads stay reliable and a test can
    /// focus on what retried writes do.
    pub only_mutating: bool,
    /// Delay added to every request before it is handled, to model a real network round trip.
    pub latency: Duration,
    /// Seed of the failure dice: the same seed and request order give the same failures.
    pub seed: u64,
    /// Upper bound on how long the proxy serves, so a leaked handle cannot keep a test alive.
    pub max_lifetime: Option<Duration>,
    /// Send the client's `Host` upstream instead of the upstream's own authority. moto routes by
    /// the SigV4 credential scope, not `Host`, so this only matters for URLs moto builds from it.
    pub preserve_host: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            throttle: None,
            failure_rate: 0.0,
            failure_kind: FailureKind::InternalError,
            failure_timing: None,
            only_mutating: false,
            latency: Duration::ZERO,
            seed: 0x5eed_c0de_5eed_c0de,
            max_lifetime: None,
            preserve_host: false,
        }
    }
}

impl FaultConfig {
    /// The timing actually used: the explicit one, or the failure kind's default.
    pub fn effective_timing(&self) -> FaultTiming {
        self.failure_timing.unwrap_or_else(|| self.failure_kind.default_timing())
    }

    pub(crate) fn validate(&self) -> io::Result<()> {
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(invalid(format!("failure_rate must be within 0.0..=1.0, got {}", self.failure_rate)));
        }
        if let Some(throttle) = &self.throttle {
            throttle.validate()?;
        }
        Ok(())
    }
}

/// The shape of an injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// HTTP 500 with EC2's `InternalError` body, which the SDK retries as a transient error.
    InternalError,
    /// Close the socket without any response, as when a load balancer or the network gives up.
    DropConnection,
}

impl FailureKind {
    /// Before for a 500 (EC2 refused the work); after for a dropped connection, the nastiest
    /// case: the snapshot was created but the caller never heard.
    pub fn default_timing(self) -> FaultTiming {
        match self {
            FailureKind::InternalError => FaultTiming::BeforeForward,
            FailureKind::DropConnection => FaultTiming::AfterForward,
        }
    }
}

/// Whether an injected failure happens before the upstream sees the request or after it did the
/// work; both happen in real life and only the second tests idempotency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTiming {
    /// The upstream never sees the request.
    BeforeForward,
    /// The upstream handles the request fully; its answer is replaced by the failure.
    AfterForward,
}

/// Per-operation token buckets, as EC2 applies them: every API has its own bucket, so one
/// exhausted operation does not slow the others.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleConfig {
    /// Rules tried in order; the first that matches an operation gives its bucket. Operations no
    /// rule matches (and requests with no operation) are never throttled.
    pub buckets: Vec<(OperationMatcher, Bucket)>,
    /// Multiplies every rate and burst, to run a benchmark at a fraction or multiple of EC2.
    pub scale: f64,
}

impl ThrottleConfig {
    /// EC2's documented defaults for the calls snapcycle makes (EC2 API Reference, "Request
    /// throttling"): CreateSnapshot, CreateSnapshots and DeleteSnapshot 5/s each after a burst of
    /// 100, CreateTags 10/s, CopySnapshot with the other mutating actions 5/s after 50, every
    /// Describe* call 20/s (burst 100 each).
    pub fn ec2() -> Self {
        use OperationMatcher as Op;
        Self::new()
            .with(Op::exact("CreateSnapshot"), Bucket::new(5.0, 100.0))
            .with(Op::exact("CreateSnapshots"), Bucket::new(5.0, 100.0))
            .with(Op::exact("DeleteSnapshot"), Bucket::new(5.0, 100.0))
            // CopySnapshot has no bucket of its own: it is in "Mutating actions" (50, then 5/s).
            .with(Op::exact("CopySnapshot"), Bucket::new(5.0, 50.0))
            .with(Op::exact("CreateTags"), Bucket::new(10.0, 100.0))
            .with(Op::prefix("Describe"), Bucket::new(20.0, 100.0))
    }

    /// No rules yet; add them with [`ThrottleConfig::with`] for a test-sized bucket.
    pub fn new() -> Self {
        Self { buckets: Vec::new(), scale: 1.0 }
    }

    /// Appends a rule; earlier rules win, so put specific ones before prefixes.
    pub fn with(mut self, matcher: OperationMatcher, bucket: Bucket) -> Self {
        self.buckets.push((matcher, bucket));
        self
    }

    /// Sets the scale factor applied to all rates and bursts.
    pub fn scaled(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    /// The bucket an operation gets, scale applied; `None` when it is not throttled.
    pub fn bucket_for(&self, operation: &str) -> Option<Bucket> {
        self.buckets.iter().find(|(matcher, _)| matcher.matches(operation)).map(|(_, bucket)| Bucket {
            rate_per_sec: bucket.rate_per_sec * self.scale,
            burst: bucket.burst * self.scale,
        })
    }

    pub(crate) fn validate(&self) -> io::Result<()> {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(invalid(format!("throttle scale must be positive, got {}", self.scale)));
        }
        for (matcher, bucket) in &self.buckets {
            let ok = |v: f64| v.is_finite() && v >= 0.0;
            if !ok(bucket.rate_per_sec) || !ok(bucket.burst) {
                return Err(invalid(format!(
                    "bucket for {matcher:?} needs finite, non-negative rate and burst, got {bucket:?}"
                )));
            }
        }
        Ok(())
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Which operations a throttle rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationMatcher {
    /// Exactly this operation name, e.g. `CreateSnapshot`.
    Exact(String),
    /// Every operation starting with this, e.g. `Describe`; each still gets its own bucket.
    Prefix(String),
    /// Every identified operation.
    Any,
}

impl OperationMatcher {
    /// Shorthand for [`OperationMatcher::Exact`].
    pub fn exact(name: impl Into<String>) -> Self {
        Self::Exact(name.into())
    }

    /// Shorthand for [`OperationMatcher::Prefix`].
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self::Prefix(prefix.into())
    }

    /// Whether the rule covers this operation name.
    pub fn matches(&self, operation: &str) -> bool {
        match self {
            Self::Exact(name) => operation == name,
            Self::Prefix(prefix) => operation.starts_with(prefix.as_str()),
            Self::Any => true,
        }
    }
}

/// One token bucket's shape: it starts full with `burst` tokens and regains `rate_per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Tokens regained per second.
    pub rate_per_sec: f64,
    /// Capacity, and the number of calls allowed back to back from full. Values below 1 act as
    /// 1, so a heavily scaled-down bucket still lets calls through at its rate.
    pub burst: f64,
}

impl Bucket {
    /// A bucket regaining `rate_per_sec` tokens up to `burst`.
    pub fn new(rate_per_sec: f64, burst: f64) -> Self {
        Self { rate_per_sec, burst }
    }
}

/// Token-bucket arithmetic as a pure value: time comes in as `now`, so it is tested without
/// sleeping.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    capacity: f64,
    rate_per_sec: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// Rounding slack, so that e.g. 200 ms at 5/s counts as a whole token.
    const EPSILON: f64 = 1e-9;

    pub(crate) fn full(bucket: Bucket, now: Instant) -> Self {
        let capacity = bucket.burst.max(1.0);
        Self { capacity, rate_per_sec: bucket.rate_per_sec.max(0.0), tokens: capacity, updated: now }
    }

    pub(crate) fn refill(&mut self, now: Instant) {
        if now > self.updated {
            let elapsed = now.duration_since(self.updated).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate_per_sec).min(self.capacity);
            self.updated = now;
        }
    }

    /// Takes one token if there is one; `false` means the call is throttled.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens + Self::EPSILON >= 1.0 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }

    #[cfg(test)]
    pub(crate) fn available(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.tokens
    }
}

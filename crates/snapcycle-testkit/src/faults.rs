//! A faulty AWS endpoint for tests: an HTTP/1.1 proxy on loopback that sits between an AWS SDK
//! client (`endpoint_url = proxy.url()`) and moto's server, and misbehaves the way EC2 does.
//!
//! It throttles per operation with EC2's token buckets (503 `RequestLimitExceeded`), fails a
//! seeded, repeatable share of requests (500 `InternalError`, or a connection dropped before or
//! after the upstream did the work), adds latency, and counts what happened per operation so a
//! test or benchmark can print its API calls.
//!
//! ```no_run
//! # async fn demo(moto_url: &str) -> std::io::Result<()> {
//! use snapcycle_testkit::faults::{FaultConfig, FaultProxy, ThrottleConfig};
//!
//! let proxy = FaultProxy::start(
//!     moto_url,
//!     FaultConfig { throttle: Some(ThrottleConfig::ec2()), ..FaultConfig::default() },
//! )
//! .await?;
//! // ... point the SDK at proxy.url() and run the code under test ...
//! println!("{}", proxy.stats());
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The key under which [`ProxyStats`] counts requests whose operation could not be identified.
pub const UNKNOWN_OPERATION: &str = "(unknown)";

/// How long open connections may finish in-flight requests once the proxy stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Headers that describe one hop, not the message; a proxy must not pass them on.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

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

    fn validate(&self) -> io::Result<()> {
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
    /// EC2's documented defaults for the calls snapcycle makes: CreateSnapshot and DeleteSnapshot
    /// 5/s after a burst of 100, CreateTags 10/s, every Describe* call 20/s (burst 100 each).
    pub fn ec2() -> Self {
        use OperationMatcher as Op;
        Self::new()
            .with(Op::exact("CreateSnapshot"), Bucket::new(5.0, 100.0))
            .with(Op::exact("DeleteSnapshot"), Bucket::new(5.0, 100.0))
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

    fn validate(&self) -> io::Result<()> {
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
struct TokenBucket {
    capacity: f64,
    rate_per_sec: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// Rounding slack, so that e.g. 200 ms at 5/s counts as a whole token.
    const EPSILON: f64 = 1e-9;

    fn full(bucket: Bucket, now: Instant) -> Self {
        let capacity = bucket.burst.max(1.0);
        Self { capacity, rate_per_sec: bucket.rate_per_sec.max(0.0), tokens: capacity, updated: now }
    }

    fn refill(&mut self, now: Instant) {
        if now > self.updated {
            let elapsed = now.duration_since(self.updated).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate_per_sec).min(self.capacity);
            self.updated = now;
        }
    }

    /// Takes one token if there is one; `false` means the call is throttled.
    fn try_acquire(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens + Self::EPSILON >= 1.0 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }

    #[cfg(test)]
    fn available(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.tokens
    }
}

// ---------------------------------------------------------------------------------------------
// Identifying the operation
// ---------------------------------------------------------------------------------------------

/// The AWS operation a request calls: the part after the last dot of `X-Amz-Target` (JSON
/// protocols), else the URL-decoded `Action` form field of a query-protocol body (EC2, SNS),
/// else an `Action` in the URL's query string; `None` for anything else (REST protocols).
pub fn operation_name(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Option<String> {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let operation = target.rsplit_once('.').map_or(target, |(_, op)| op).trim();
        if !operation.is_empty() {
            return Some(operation.to_owned());
        }
    }
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if is_form {
        if let Some(action) = form_value(body, "Action") {
            return Some(action);
        }
    }
    query.and_then(|q| form_value(q.as_bytes(), "Action"))
}

/// Whether an operation changes state (`Create*`, `Delete*`, `Modify*`, `Copy*`): the calls
/// whose retries can duplicate or lose work.
pub fn is_mutating(operation: &str) -> bool {
    ["Create", "Delete", "Modify", "Copy"].iter().any(|prefix| operation.starts_with(prefix))
}

/// The first non-empty value of `name` in an `application/x-www-form-urlencoded` string.
fn form_value(form: &[u8], name: &str) -> Option<String> {
    form.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        if form_decode(key) == name {
            Some(form_decode(value)).filter(|v| !v.is_empty())
        } else {
            None
        }
    })
}

/// Decodes one form component: `+` is a space, `%XX` a byte; malformed escapes stay literal.
fn form_decode(input: &[u8]) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

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
    fn add(&mut self, other: &OperationStats) {
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

// ---------------------------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------------------------

/// A running proxy on 127.0.0.1; it stops when dropped or when its max lifetime ends.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
}

impl FaultProxy {
    /// Binds a free loopback port and starts serving in the background; `upstream` is the
    /// `http://host:port` of moto's server (or any HTTP/1.1 server). Needs a Tokio runtime.
    pub async fn start(upstream: &str, config: FaultConfig) -> io::Result<FaultProxy> {
        config.validate()?;
        let upstream = Upstream::parse(upstream)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;

        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                buckets: HashMap::new(),
                stats: BTreeMap::new(),
                rng: SplitMix64::new(config.seed),
                requests: 0,
            }),
            client: Client::builder(TokioExecutor::new()).build_http(),
            upstream,
            config,
        });
        let (shutdown, _) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone(), shutdown.clone()));
        Ok(FaultProxy { addr, shared, shutdown, accept_task })
    }

    /// The base URL to give the SDK as `endpoint_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound loopback address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counters so far, per operation.
    pub fn stats(&self) -> ProxyStats {
        ProxyStats { by_operation: self.shared.lock().stats.clone() }
    }

    /// Whether it still accepts connections (false once the max lifetime has passed).
    pub fn is_running(&self) -> bool {
        !self.accept_task.is_finished()
    }

    /// The settings it runs with.
    pub fn config(&self) -> &FaultConfig {
        &self.shared.config
    }
}

impl Drop for FaultProxy {
    /// Stops accepting at once (freeing the port) and lets open connections finish their
    /// in-flight requests for a short grace period.
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        self.accept_task.abort();
    }
}

/// Where requests go: an `http://` authority and an optional path prefix.
#[derive(Debug)]
struct Upstream {
    authority: String,
    host_header: HeaderValue,
    base_path: String,
}

impl Upstream {
    fn parse(url: &str) -> io::Result<Self> {
        let uri: Uri = url.parse().map_err(|e| invalid(format!("upstream URL {url:?}: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(invalid(format!("upstream URL {url:?} must start with http:// (no TLS)")));
        }
        let authority =
            uri.authority().ok_or_else(|| invalid(format!("upstream URL {url:?} has no host")))?.as_str().to_owned();
        let host_header =
            HeaderValue::from_str(&authority).map_err(|e| invalid(format!("upstream URL {url:?}: {e}")))?;
        Ok(Self { authority, host_header, base_path: uri.path().trim_end_matches('/').to_owned() })
    }

    fn uri_for(&self, original: &Uri) -> Result<Uri, hyper::http::uri::InvalidUri> {
        let path_and_query = original.path_and_query().map_or("/", |pq| pq.as_str());
        format!("http://{}{}{}", self.authority, self.base_path, path_and_query).parse()
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Upstream,
    config: FaultConfig,
}

#[derive(Debug)]
struct State {
    buckets: HashMap<String, TokenBucket>,
    stats: BTreeMap<String, OperationStats>,
    rng: SplitMix64,
    requests: u64,
}

/// What to do with one request, decided under the lock from the config, buckets and dice.
#[derive(Debug)]
enum Decision {
    Throttle,
    Fail(FailureKind, FaultTiming),
    Forward,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only counters behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Picks the request's fate and a request id; counts throttling on the spot.
    fn decide(&self, operation: Option<&str>, key: &str, now: Instant) -> (Decision, String) {
        let mut state = self.lock();
        state.requests += 1;
        let request_id = request_id(self.config.seed, state.requests);
        state.stats.entry(key.to_owned()).or_default().requests += 1;

        if let (Some(throttle), Some(op)) = (&self.config.throttle, operation) {
            if let Some(bucket) = throttle.bucket_for(op) {
                let allowed = state
                    .buckets
                    .entry(op.to_owned())
                    .or_insert_with(|| TokenBucket::full(bucket, now))
                    .try_acquire(now);
                if !allowed {
                    state.stats.entry(key.to_owned()).or_default().throttled += 1;
                    return (Decision::Throttle, request_id);
                }
            }
        }

        let eligible = !self.config.only_mutating || operation.is_some_and(is_mutating);
        if eligible && self.config.failure_rate > 0.0 {
            let roll = state.rng.next_f64();
            if roll < self.config.failure_rate {
                let timing = self.config.effective_timing();
                return (Decision::Fail(self.config.failure_kind, timing), request_id);
            }
        }
        (Decision::Forward, request_id)
    }

    fn count(&self, key: &str, update: impl FnOnce(&mut OperationStats)) {
        update(self.lock().stats.entry(key.to_owned()).or_default());
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Sender<bool>) {
    let lifetime = shared.config.max_lifetime;
    let expired = async move {
        match lifetime {
            Some(lifetime) => tokio::time::sleep(lifetime).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    let mut stop = shutdown.subscribe();
    loop {
        tokio::select! {
            _ = &mut expired => break,
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, shared.clone(), shutdown.subscribe()));
                }
                // Out of file descriptors and the like: pause instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
    drop(listener);
    shutdown.send_replace(true);
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let service = service_fn(move |req| handle(shared.clone(), req));
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = stopped(&mut stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
}

/// Resolves once the proxy is told to stop (or every sender is gone, which means the same).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Returned from the service to make hyper close the connection without writing a response.
#[derive(Debug)]
struct InjectedDrop;

impl fmt::Display for InjectedDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for InjectedDrop {}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<ProxyBody>, BoxError> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let operation = operation_name(&parts.headers, parts.uri.query(), &body);
    let key = operation.as_deref().unwrap_or(UNKNOWN_OPERATION).to_owned();

    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }

    let (decision, request_id) = shared.decide(operation.as_deref(), &key, Instant::now());
    let (kind, timing) = match decision {
        Decision::Throttle => {
            return Ok(ec2_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "RequestLimitExceeded",
                "Request limit exceeded.",
                &request_id,
            ));
        }
        Decision::Forward => (None, None),
        Decision::Fail(kind, timing) => (Some(kind), Some(timing)),
    };

    if let (Some(kind), Some(FaultTiming::BeforeForward)) = (kind, timing) {
        shared.count(&key, |s| s.failed += 1);
        return inject(kind, &request_id);
    }

    let upstream_req = match build_upstream_request(&shared, parts, body) {
        Ok(req) => req,
        Err(e) => {
            shared.count(&key, |s| s.upstream_errors += 1);
            return Ok(plain(StatusCode::BAD_GATEWAY, format!("fault proxy: {e}")));
        }
    };
    let response = match shared.client.request(upstream_req).await {
        Ok(response) => response,
        Err(e) => {
            shared.count(&key, |s| s.upstream_errors += 1);
            return Ok(plain(
                StatusCode::BAD_GATEWAY,
                format!("fault proxy: upstream {} failed: {e}", shared.upstream.authority),
            ));
        }
    };

    let Some(kind) = kind else {
        shared.count(&key, |s| s.forwarded += 1);
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        return Ok(Response::from_parts(parts, body.boxed()));
    };

    // After-forward failure: let the upstream finish the whole exchange, then lie about it.
    let completed = response.into_body().collect().await.is_ok();
    shared.count(&key, |s| {
        if completed {
            s.forwarded += 1;
        } else {
            s.upstream_errors += 1;
        }
        s.failed += 1;
    });
    inject(kind, &request_id)
}

fn build_upstream_request(
    shared: &Shared,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, BoxError> {
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = parts.method;
    *req.uri_mut() = shared.upstream.uri_for(&parts.uri)?;
    *req.headers_mut() = parts.headers;
    strip_hop_by_hop(req.headers_mut());
    if !shared.config.preserve_host {
        req.headers_mut().insert(HOST, shared.upstream.host_header.clone());
    }
    Ok(req)
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

fn inject(kind: FailureKind, request_id: &str) -> Result<Response<ProxyBody>, BoxError> {
    match kind {
        FailureKind::InternalError => Ok(ec2_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "An internal error has occurred.",
            request_id,
        )),
        FailureKind::DropConnection => Err(Box::new(InjectedDrop)),
    }
}

/// An error in EC2's query-protocol shape, which the SDK's `ec2_query_errors` parser reads.
fn ec2_error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response<ProxyBody> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
         <Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
    );
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml;charset=UTF-8"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn plain(status: StatusCode, text: String) -> Response<ProxyBody> {
    let mut response = Response::new(full(text));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn full(body: impl Into<Bytes>) -> ProxyBody {
    Full::new(body.into()).map_err(|never: Infallible| match never {}).boxed()
}

/// A UUID-shaped id, derived from the seed and a counter so that runs are reproducible.
fn request_id(seed: u64, n: u64) -> String {
    let mut rng = SplitMix64::new(seed ^ n.wrapping_mul(0xa076_1d64_78bd_642f));
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// SplitMix64: a tiny, well-mixed PRNG; plenty for fault dice and needs no dependency.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bucket_allows_a_full_burst_then_refuses() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(Bucket::new(5.0, 3.0), t0);
        assert!(bucket.try_acquire(t0));
        assert!(bucket.try_acquire(t0));
        assert!(bucket.try_acquire(t0));
        assert!(!bucket.try_acquire(t0));
        assert!(!bucket.try_acquire(t0 + ms(199)));
    }

    #[test]
    fn bucket_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(Bucket::new(5.0, 3.0), t0);
        for _ in 0..3 {
            assert!(bucket.try_acquire(t0));
        }
        // 5 per second is one token per 200 ms.
        assert!(bucket.try_acquire(t0 + ms(200)));
        assert!(!bucket.try_acquire(t0 + ms(200)));
        assert!(bucket.try_acquire(t0 + ms(600)));
        assert!(bucket.try_acquire(t0 + ms(600)));
        assert!(!bucket.try_acquire(t0 + ms(600)));
    }

    #[test]
    fn bucket_never_holds_more_than_its_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(Bucket::new(5.0, 3.0), t0);
        assert!(bucket.try_acquire(t0));
        let later = t0 + Duration::from_secs(3600);
        assert!((bucket.available(later) - 3.0).abs() < 1e-9);
        for _ in 0..3 {
            assert!(bucket.try_acquire(later));
        }
        assert!(!bucket.try_acquire(later));
    }

    #[test]
    fn bucket_ignores_time_going_backwards() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut bucket = TokenBucket::full(Bucket::new(5.0, 1.0), t0);
        assert!(bucket.try_acquire(t0));
        assert!(!bucket.try_acquire(t0 - Duration::from_secs(5)));
        assert!(bucket.try_acquire(t0 + ms(200)));
    }

    #[test]
    fn bucket_with_fractional_burst_still_lets_one_call_through() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(Bucket::new(0.5, 0.05), t0);
        assert!(bucket.try_acquire(t0));
        assert!(!bucket.try_acquire(t0 + ms(1000)));
        assert!(bucket.try_acquire(t0 + ms(2000)));
    }

    #[test]
    fn ec2_defaults_match_the_documented_buckets() {
        let ec2 = ThrottleConfig::ec2();
        assert_eq!(ec2.bucket_for("CreateSnapshot"), Some(Bucket::new(5.0, 100.0)));
        assert_eq!(ec2.bucket_for("DeleteSnapshot"), Some(Bucket::new(5.0, 100.0)));
        assert_eq!(ec2.bucket_for("CreateTags"), Some(Bucket::new(10.0, 100.0)));
        assert_eq!(ec2.bucket_for("DescribeSnapshots"), Some(Bucket::new(20.0, 100.0)));
        assert_eq!(ec2.bucket_for("DescribeInstances"), Some(Bucket::new(20.0, 100.0)));
        assert_eq!(ec2.bucket_for("Publish"), None);
        assert_eq!(ec2.bucket_for("CreateSnapshots"), None);
    }

    #[test]
    fn scale_multiplies_rates_and_bursts() {
        let fast = ThrottleConfig::ec2().scaled(10.0);
        assert_eq!(fast.bucket_for("CreateSnapshot"), Some(Bucket::new(50.0, 1000.0)));
        let slow = ThrottleConfig::ec2().scaled(0.1);
        let describe = slow.bucket_for("DescribeVolumes").unwrap();
        assert!((describe.rate_per_sec - 2.0).abs() < 1e-9);
        assert!((describe.burst - 10.0).abs() < 1e-9);
    }

    #[test]
    fn first_matching_rule_wins() {
        let throttle = ThrottleConfig::new()
            .with(OperationMatcher::exact("DescribeTags"), Bucket::new(1.0, 1.0))
            .with(OperationMatcher::prefix("Describe"), Bucket::new(2.0, 2.0))
            .with(OperationMatcher::Any, Bucket::new(3.0, 3.0));
        assert_eq!(throttle.bucket_for("DescribeTags"), Some(Bucket::new(1.0, 1.0)));
        assert_eq!(throttle.bucket_for("DescribeVolumes"), Some(Bucket::new(2.0, 2.0)));
        assert_eq!(throttle.bucket_for("CreateTags"), Some(Bucket::new(3.0, 3.0)));
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let bad_rate = FaultConfig { failure_rate: 1.5, ..FaultConfig::default() };
        assert_eq!(bad_rate.validate().unwrap_err().kind(), io::ErrorKind::InvalidInput);
        let bad_scale = FaultConfig { throttle: Some(ThrottleConfig::ec2().scaled(0.0)), ..FaultConfig::default() };
        assert!(bad_scale.validate().is_err());
        let bad_bucket = FaultConfig {
            throttle: Some(ThrottleConfig::new().with(OperationMatcher::Any, Bucket::new(-1.0, 1.0))),
            ..FaultConfig::default()
        };
        assert!(bad_bucket.validate().is_err());
        assert!(FaultConfig::default().validate().is_ok());
    }

    fn form_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"));
        headers
    }

    #[test]
    fn action_is_read_from_an_ec2_query_body() {
        let body = b"Action=CreateSnapshot&Version=2016-11-15&VolumeId=vol-1";
        assert_eq!(operation_name(&form_headers(), None, body).as_deref(), Some("CreateSnapshot"));
        let later = b"Version=2016-11-15&Filter.1.Name=tag-key&Action=DescribeInstances";
        assert_eq!(operation_name(&form_headers(), None, later).as_deref(), Some("DescribeInstances"));
    }

    #[test]
    fn action_is_url_decoded() {
        let body = b"Version=2010-03-31&Action=Pub%6cish&Message=a+b";
        assert_eq!(operation_name(&form_headers(), None, body).as_deref(), Some("Publish"));
        assert_eq!(form_value(b"k=a+b%20c%2Bd", "k").as_deref(), Some("a b c+d"));
        assert_eq!(form_value(b"k=100%", "k").as_deref(), Some("100%"));
        assert_eq!(form_value(b"k=%zz", "k").as_deref(), Some("%zz"));
        assert_eq!(form_value(b"A%63tion=X", "Action").as_deref(), Some("X"));
    }

    #[test]
    fn similar_field_names_are_not_the_action() {
        let body = b"ActionName=Nope&Foo.Action=Nope&Version=1";
        assert_eq!(operation_name(&form_headers(), None, body), None);
        assert_eq!(operation_name(&form_headers(), None, b"Action=&Version=1"), None);
        assert_eq!(operation_name(&form_headers(), None, b"Action"), None);
        assert_eq!(operation_name(&form_headers(), None, b""), None);
    }

    #[test]
    fn body_is_only_parsed_when_it_is_a_form() {
        let body = b"Action=CreateSnapshot";
        let mut json = HeaderMap::new();
        json.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(operation_name(&json, None, body), None);
        assert_eq!(operation_name(&HeaderMap::new(), None, body), None);
        let mut upper = HeaderMap::new();
        upper.insert(CONTENT_TYPE, HeaderValue::from_static("Application/X-WWW-Form-Urlencoded"));
        assert_eq!(operation_name(&upper, None, body).as_deref(), Some("CreateSnapshot"));
    }

    #[test]
    fn json_protocols_are_named_by_their_target() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", HeaderValue::from_static("AWSEvents.PutRule"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
        assert_eq!(operation_name(&headers, None, b"{}").as_deref(), Some("PutRule"));
        headers.insert("x-amz-target", HeaderValue::from_static("GetItem"));
        assert_eq!(operation_name(&headers, None, b"{}").as_deref(), Some("GetItem"));
    }

    #[test]
    fn action_in_the_query_string_counts_for_get_requests() {
        let query = Some("Action=DescribeRegions&Version=2016-11-15");
        assert_eq!(operation_name(&HeaderMap::new(), query, b"").as_deref(), Some("DescribeRegions"));
        assert_eq!(operation_name(&HeaderMap::new(), Some("list-type=2"), b""), None);
    }

    #[test]
    fn mutating_calls_are_create_delete_modify_copy() {
        for op in ["CreateSnapshot", "DeleteSnapshot", "CreateTags", "ModifyVolume", "CopySnapshot"] {
            assert!(is_mutating(op), "{op}");
        }
        for op in ["DescribeSnapshots", "Publish", "GetCallerIdentity", "create"] {
            assert!(!is_mutating(op), "{op}");
        }
    }

    #[test]
    fn dice_are_repeatable_per_seed() {
        let draw = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..32).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn dice_hit_the_requested_share() {
        let mut rng = SplitMix64::new(42);
        let n = 100_000;
        let hits = (0..n).filter(|_| rng.next_f64() < 0.3).count();
        let share = hits as f64 / n as f64;
        assert!((share - 0.3).abs() < 0.01, "share {share}");
        let mut rng = SplitMix64::new(0);
        assert!((0..1000).map(|_| rng.next_f64()).all(|x| (0.0..1.0).contains(&x)));
    }

    #[test]
    fn request_ids_look_like_uuids_and_differ() {
        let a = request_id(1, 1);
        let b = request_id(1, 2);
        assert_ne!(a, b);
        assert_eq!(a, request_id(1, 1));
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn error_bodies_have_ec2_query_shape() {
        let response =
            ec2_error(StatusCode::SERVICE_UNAVAILABLE, "RequestLimitExceeded", "Request limit exceeded.", "id-1");
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/xml;charset=UTF-8");
        assert_eq!(response.headers()["x-amzn-requestid"], "id-1");
    }

    #[test]
    fn default_timing_depends_on_the_failure_kind() {
        let mut config = FaultConfig::default();
        assert_eq!(config.effective_timing(), FaultTiming::BeforeForward);
        config.failure_kind = FailureKind::DropConnection;
        assert_eq!(config.effective_timing(), FaultTiming::AfterForward);
        config.failure_timing = Some(FaultTiming::BeforeForward);
        assert_eq!(config.effective_timing(), FaultTiming::BeforeForward);
    }

    #[test]
    fn stats_sum_and_print() {
        let mut stats = ProxyStats::default();
        stats.by_operation.insert(
            "CreateSnapshot".into(),
            OperationStats { requests: 5, forwarded: 3, throttled: 2, failed: 1, upstream_errors: 0 },
        );
        stats.by_operation.insert(
            "DescribeVolumes".into(),
            OperationStats { requests: 4, forwarded: 4, ..OperationStats::default() },
        );
        assert_eq!(stats.total().requests, 9);
        assert_eq!(stats.total().forwarded, 7);
        assert_eq!(stats.get("Nope"), OperationStats::default());
        let table = stats.to_string();
        assert!(table.lines().count() == 4, "{table}");
        assert!(table.contains("CreateSnapshot"));
        assert!(table.lines().last().unwrap().starts_with("total"));
    }
}

//! The proxy itself: accepting, forwarding, throttling, failing and counting.

use super::*;

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
                rng: fastrand::Rng::with_seed(config.seed),
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
pub(crate) struct Upstream {
    authority: String,
    host_header: HeaderValue,
    base_path: String,
}

impl Upstream {
    pub(crate) fn parse(url: &str) -> io::Result<Self> {
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

    pub(crate) fn uri_for(&self, original: &Uri) -> Result<Uri, hyper::http::uri::InvalidUri> {
        let path_and_query = original.path_and_query().map_or("/", |pq| pq.as_str());
        format!("http://{}{}{}", self.authority, self.base_path, path_and_query).parse()
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Upstream,
    config: FaultConfig,
}

#[derive(Debug)]
pub(crate) struct State {
    buckets: HashMap<String, TokenBucket>,
    stats: BTreeMap<String, OperationStats>,
    rng: fastrand::Rng,
    requests: u64,
}

/// What to do with one request, decided under the lock from the config, buckets and dice.
#[derive(Debug)]
pub(crate) enum Decision {
    Throttle,
    Fail(FailureKind, FaultTiming),
    Forward,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only counters behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Picks the request's fate and a request id; counts throttling on the spot.
    pub(crate) fn decide(&self, operation: Option<&str>, key: &str, now: Instant) -> (Decision, String) {
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
            let roll = state.rng.f64();
            if roll < self.config.failure_rate {
                let timing = self.config.effective_timing();
                return (Decision::Fail(self.config.failure_kind, timing), request_id);
            }
        }
        (Decision::Forward, request_id)
    }

    pub(crate) fn count(&self, key: &str, update: impl FnOnce(&mut OperationStats)) {
        update(self.lock().stats.entry(key.to_owned()).or_default());
    }
}

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Sender<bool>) {
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

pub(crate) async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
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
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

pub(crate) type ProxyBody = BoxBody<Bytes, hyper::Error>;
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Returned from the service to make hyper close the connection without writing a response.
#[derive(Debug)]
pub(crate) struct InjectedDrop;

impl fmt::Display for InjectedDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for InjectedDrop {}

pub(crate) async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<ProxyBody>, BoxError> {
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

pub(crate) fn build_upstream_request(
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

pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
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

pub(crate) fn inject(kind: FailureKind, request_id: &str) -> Result<Response<ProxyBody>, BoxError> {
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
pub(crate) fn ec2_error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response<ProxyBody> {
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

pub(crate) fn plain(status: StatusCode, text: String) -> Response<ProxyBody> {
    let mut response = Response::new(full(text));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

pub(crate) fn full(body: impl Into<Bytes>) -> ProxyBody {
    Full::new(body.into()).map_err(|never: Infallible| match never {}).boxed()
}

/// A UUID-shaped id, derived from the seed and a counter so that runs are reproducible.
pub(crate) fn request_id(seed: u64, n: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(seed ^ n.wrapping_mul(0xa076_1d64_78bd_642f));
    let (a, b) = (rng.u64(..), rng.u64(..));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

pub(crate) fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

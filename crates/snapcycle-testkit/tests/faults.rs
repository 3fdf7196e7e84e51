//! The fault proxy against a tiny echoing upstream on loopback (no moto, no SDK): what reaches
//! the upstream, what the client sees, and what the counters say.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use snapcycle_testkit::faults::{
    Bucket, FailureKind, FaultConfig, FaultProxy, FaultTiming, OperationMatcher, OperationStats, ThrottleConfig,
    UNKNOWN_OPERATION,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/ec2/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date, Signature=abc";

/// One request as the upstream received it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: Bytes,
}

/// An HTTP/1.1 server that records every request and echoes its body back with status 200
/// (or the status asked for in `x-reply-status`).
struct EchoUpstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl EchoUpstream {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let record = record.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| echo(record.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, seen, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn hits(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for EchoUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn echo(record: Arc<Mutex<Vec<Seen>>>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let status = parts.headers.get("x-reply-status").and_then(|v| v.to_str().ok()?.parse::<u16>().ok()).unwrap_or(200);
    record.lock().unwrap().push(Seen {
        method: parts.method,
        path_and_query: parts.uri.path_and_query().unwrap().to_string(),
        headers: parts.headers,
        body: body.clone(),
    });
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert("x-upstream", "echo".parse().unwrap());
    Ok(response)
}

type TestClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(client: &TestClient, req: Request<Full<Bytes>>) -> Result<Reply, String> {
    let response = client.request(req).await.map_err(|e| format!("{e:?}"))?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| format!("{e:?}"))?.to_bytes();
    Ok(Reply { status: parts.status, headers: parts.headers, body: String::from_utf8(body.to_vec()).unwrap() })
}

/// An EC2 query-protocol call as the SDK sends it.
async fn call(client: &TestClient, proxy: &FaultProxy, action: &str) -> Result<Reply, String> {
    let req = Request::post(format!("{}/", proxy.url()))
        .header(CONTENT_TYPE, FORM)
        .header(AUTHORIZATION, SIGV4)
        .body(Full::new(Bytes::from(format!("Action={action}&Version=2016-11-15"))))
        .unwrap();
    send(client, req).await
}

async fn start(upstream: &EchoUpstream, config: FaultConfig) -> FaultProxy {
    FaultProxy::start(&upstream.url(), config).await.unwrap()
}

fn always(kind: FailureKind, timing: FaultTiming) -> FaultConfig {
    FaultConfig { failure_rate: 1.0, failure_kind: kind, failure_timing: Some(timing), ..FaultConfig::default() }
}

fn ec2_error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")?;
    Some(&body[start..start + end])
}

#[tokio::test]
async fn requests_and_responses_pass_through_intact() {
    let upstream = EchoUpstream::start().await;
    let proxy = start(&upstream, FaultConfig::default()).await;
    let client = client();

    let body = "Action=CreateSnapshot&Version=2016-11-15&VolumeId=vol-1&TagSpecification.1.Tag.1.Value=a%20b";
    let req = Request::post(format!("{}/some/path?x=1%202&flag", proxy.url()))
        .header(CONTENT_TYPE, FORM)
        .header(AUTHORIZATION, SIGV4)
        .header("x-amz-date", "20250101T000000Z")
        .header("x-custom", "kept")
        .header("x-reply-status", "418")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let reply = send(&client, req).await.unwrap();

    assert_eq!(reply.status, 418, "the upstream's status comes back");
    assert_eq!(reply.body, body, "the upstream's body comes back");
    assert_eq!(reply.headers["x-upstream"], "echo");

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    let seen = &seen[0];
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.path_and_query, "/some/path?x=1%202&flag");
    assert_eq!(seen.body, body);
    assert_eq!(seen.headers[CONTENT_TYPE], FORM);
    assert_eq!(seen.headers[AUTHORIZATION], SIGV4);
    assert_eq!(seen.headers["x-amz-date"], "20250101T000000Z");
    assert_eq!(seen.headers["x-custom"], "kept");
    assert_eq!(seen.headers["content-length"], body.len().to_string());
    assert_eq!(seen.headers[HOST], upstream.addr.to_string(), "Host names the upstream by default");

    let get = Request::get(format!("{}/latest/thing", proxy.url())).body(Full::new(Bytes::new())).unwrap();
    let reply = send(&client, get).await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "");
    assert_eq!(upstream.seen()[1].method, Method::GET);
    assert_eq!(upstream.seen()[1].path_and_query, "/latest/thing");

    let stats = proxy.stats();
    assert_eq!(stats.get("CreateSnapshot").forwarded, 1);
    assert_eq!(stats.get(UNKNOWN_OPERATION).forwarded, 1);
}

#[tokio::test]
async fn preserve_host_keeps_the_clients_host() {
    let upstream = EchoUpstream::start().await;
    let config = FaultConfig { preserve_host: true, ..FaultConfig::default() };
    let proxy = start(&upstream, config).await;
    call(&client(), &proxy, "DescribeRegions").await.unwrap();
    assert_eq!(upstream.seen()[0].headers[HOST], proxy.addr().to_string());
}

#[tokio::test]
async fn an_empty_bucket_answers_503_request_limit_exceeded_without_calling_upstream() {
    let upstream = EchoUpstream::start().await;
    let bucket = Bucket::new(10.0, 3.0);
    let throttle = ThrottleConfig::new()
        .with(OperationMatcher::exact("CreateSnapshot"), bucket)
        .with(OperationMatcher::exact("DeleteSnapshot"), bucket);
    let proxy = start(&upstream, FaultConfig { throttle: Some(throttle), ..FaultConfig::default() }).await;
    let client = client();

    let started = Instant::now();
    let mut replies = Vec::new();
    for _ in 0..10 {
        replies.push(call(&client, &proxy, "CreateSnapshot").await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();

    assert!(replies[..3].iter().all(|r| r.status == 200), "the burst goes through");
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let throttled: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
    assert_eq!(ok + throttled.len(), 10);
    assert!(!throttled.is_empty(), "10 calls in {elapsed:.3}s must exceed burst 3 at 10/s");
    assert!(ok as f64 <= 3.0 + (10.0 * elapsed).ceil(), "{ok} calls passed in {elapsed:.3}s");
    for reply in &throttled {
        assert_eq!(ec2_error_code(&reply.body), Some("RequestLimitExceeded"));
        assert!(reply.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(reply.body.contains(
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
             <Message>Request limit exceeded.</Message></Error></Errors><RequestID>"
        ));
        assert!(reply.body.ends_with("</RequestID></Response>"));
        assert_eq!(reply.headers[CONTENT_TYPE], "text/xml;charset=UTF-8");
        assert!(reply.headers.contains_key("x-amzn-requestid"));
    }
    assert_eq!(upstream.hits(), ok, "throttled calls never reach the upstream");

    // Every operation has its own bucket, and unthrottled operations pass freely.
    assert_eq!(call(&client, &proxy, "DeleteSnapshot").await.unwrap().status, 200);
    for _ in 0..5 {
        assert_eq!(call(&client, &proxy, "DescribeVolumes").await.unwrap().status, 200);
    }

    // At 10/s a token is back after 100 ms.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(call(&client, &proxy, "CreateSnapshot").await.unwrap().status, 200);

    let stats = proxy.stats();
    let create = stats.get("CreateSnapshot");
    assert_eq!(
        create,
        OperationStats {
            requests: 11,
            forwarded: ok as u64 + 1,
            throttled: throttled.len() as u64,
            failed: 0,
            upstream_errors: 0,
        }
    );
    assert_eq!(stats.get("DeleteSnapshot").forwarded, 1);
    assert_eq!(stats.get("DescribeVolumes").forwarded, 5);
    assert_eq!(stats.total().requests, 17);
    assert_eq!(stats.total().forwarded as usize, upstream.hits());
}

#[tokio::test]
async fn ec2_scaled_defaults_throttle_a_snapshot_burst() {
    let upstream = EchoUpstream::start().await;
    // A hundredth of EC2: burst 1 for CreateSnapshot, refilling every 20 s.
    let proxy =
        start(&upstream, FaultConfig { throttle: Some(ThrottleConfig::ec2().scaled(0.01)), ..FaultConfig::default() })
            .await;
    let client = client();
    assert_eq!(call(&client, &proxy, "CreateSnapshot").await.unwrap().status, 200);
    assert_eq!(call(&client, &proxy, "CreateSnapshot").await.unwrap().status, 503);
    assert_eq!(call(&client, &proxy, "Publish").await.unwrap().status, 200);
    assert_eq!(proxy.stats().get("CreateSnapshot").throttled, 1);
}

#[tokio::test]
async fn internal_error_before_forward_never_reaches_upstream() {
    let upstream = EchoUpstream::start().await;
    let proxy = start(&upstream, always(FailureKind::InternalError, FaultTiming::BeforeForward)).await;
    let client = client();
    for _ in 0..3 {
        let reply = call(&client, &proxy, "CreateSnapshot").await.unwrap();
        assert_eq!(reply.status, 500);
        assert_eq!(ec2_error_code(&reply.body), Some("InternalError"));
        assert!(reply.body.contains("<Response><Errors><Error>"));
    }
    assert_eq!(upstream.hits(), 0);
    let stats = proxy.stats().get("CreateSnapshot");
    assert_eq!((stats.requests, stats.forwarded, stats.failed), (3, 0, 3));
}

#[tokio::test]
async fn internal_error_after_forward_hides_work_the_upstream_did() {
    let upstream = EchoUpstream::start().await;
    let proxy = start(&upstream, always(FailureKind::InternalError, FaultTiming::AfterForward)).await;
    let reply = call(&client(), &proxy, "CreateSnapshot").await.unwrap();
    assert_eq!(reply.status, 500);
    assert_eq!(ec2_error_code(&reply.body), Some("InternalError"));
    assert_eq!(upstream.hits(), 1);
    let stats = proxy.stats().get("CreateSnapshot");
    assert_eq!((stats.forwarded, stats.failed), (1, 1));
}

#[tokio::test]
async fn dropped_connection_by_default_comes_after_the_upstream_did_the_work() {
    let upstream = EchoUpstream::start().await;
    let config = FaultConfig { failure_rate: 1.0, failure_kind: FailureKind::DropConnection, ..FaultConfig::default() };
    let proxy = start(&upstream, config).await;

    let err = call(&client(), &proxy, "CreateSnapshot").await.err();
    // What the SDK's hyper-based client maps to a retryable transient error.
    assert!(err.as_deref().is_some_and(|e| e.contains("IncompleteMessage")), "the client hears nothing back: {err:?}");
    assert_eq!(upstream.hits(), 1, "but the snapshot was created");
    assert_eq!(upstream.seen()[0].body, "Action=CreateSnapshot&Version=2016-11-15");
    let stats = proxy.stats().get("CreateSnapshot");
    assert_eq!((stats.requests, stats.forwarded, stats.failed), (1, 1, 1));
}

#[tokio::test]
async fn dropped_connection_before_forward_loses_the_request() {
    let upstream = EchoUpstream::start().await;
    let proxy = start(&upstream, always(FailureKind::DropConnection, FaultTiming::BeforeForward)).await;
    let err = call(&client(), &proxy, "DeleteSnapshot").await.err();
    assert!(err.as_deref().is_some_and(|e| e.contains("IncompleteMessage")), "{err:?}");
    assert_eq!(upstream.hits(), 0);
    let stats = proxy.stats().get("DeleteSnapshot");
    assert_eq!((stats.forwarded, stats.failed), (0, 1));
}

#[tokio::test]
async fn only_mutating_spares_reads() {
    let upstream = EchoUpstream::start().await;
    let config = FaultConfig { only_mutating: true, ..always(FailureKind::InternalError, FaultTiming::BeforeForward) };
    let proxy = start(&upstream, config).await;
    let client = client();
    assert_eq!(call(&client, &proxy, "DescribeSnapshots").await.unwrap().status, 200);
    assert_eq!(call(&client, &proxy, "Publish").await.unwrap().status, 200);
    for op in ["CreateSnapshot", "DeleteSnapshot", "CreateTags", "ModifyVolume", "CopySnapshot"] {
        assert_eq!(call(&client, &proxy, op).await.unwrap().status, 500, "{op}");
    }
    let stats = proxy.stats();
    assert_eq!(stats.get("DescribeSnapshots").failed, 0);
    assert_eq!(stats.total().failed, 5);
    assert_eq!(stats.total().forwarded, 2);
}

/// The status of each of `n` sequential CreateSnapshot calls through a proxy with this seed.
async fn failure_pattern(upstream: &EchoUpstream, seed: u64, n: usize) -> Vec<u16> {
    let config = FaultConfig { failure_rate: 0.5, seed, ..FaultConfig::default() };
    let proxy = start(upstream, config).await;
    let client = client();
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(call(&client, &proxy, "CreateSnapshot").await.unwrap().status.as_u16());
    }
    statuses
}

#[tokio::test]
async fn failures_are_repeatable_for_a_seed() {
    let upstream = EchoUpstream::start().await;
    let first = failure_pattern(&upstream, 1234, 40).await;
    let again = failure_pattern(&upstream, 1234, 40).await;
    let other = failure_pattern(&upstream, 4321, 40).await;
    assert_eq!(first, again);
    assert_ne!(first, other);
    let failed = first.iter().filter(|&&s| s == 500).count();
    assert!((8..=32).contains(&failed), "{failed} of 40 failed at rate 0.5");
    assert!(first.iter().all(|&s| s == 200 || s == 500));
}

#[tokio::test]
async fn latency_delays_every_request() {
    let upstream = EchoUpstream::start().await;
    let config = FaultConfig { latency: Duration::from_millis(120), ..FaultConfig::default() };
    let proxy = start(&upstream, config).await;
    let started = Instant::now();
    call(&client(), &proxy, "DescribeVolumes").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn unreachable_upstream_is_a_502_and_counted() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let proxy = FaultProxy::start(&format!("http://{addr}"), FaultConfig::default()).await.unwrap();
    let reply = call(&client(), &proxy, "DescribeVolumes").await.unwrap();
    assert_eq!(reply.status, 502);
    let stats = proxy.stats().get("DescribeVolumes");
    assert_eq!((stats.requests, stats.forwarded, stats.upstream_errors), (1, 0, 1));
}

#[tokio::test]
async fn bad_settings_are_refused_at_start() {
    let err = FaultProxy::start("https://127.0.0.1:1", FaultConfig::default()).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let config = FaultConfig { failure_rate: -0.1, ..FaultConfig::default() };
    let err = FaultProxy::start("http://127.0.0.1:1", config).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

/// Waits until nothing accepts connections on `addr` any more.
async fn wait_until_refused(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return,
            _ if Instant::now() > deadline => panic!("{addr} still accepts connections"),
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

#[tokio::test]
async fn dropping_the_proxy_stops_it_and_frees_the_port() {
    let upstream = EchoUpstream::start().await;
    let proxy = start(&upstream, FaultConfig::default()).await;
    let client = client();
    assert_eq!(call(&client, &proxy, "DescribeVolumes").await.unwrap().status, 200);
    let addr = proxy.addr();
    assert!(proxy.is_running());

    drop(proxy);
    wait_until_refused(addr).await;
    TcpListener::bind(addr).await.expect("the port is free again");
}

#[tokio::test]
async fn the_proxy_stops_by_itself_after_its_max_lifetime() {
    let upstream = EchoUpstream::start().await;
    let config = FaultConfig { max_lifetime: Some(Duration::from_millis(150)), ..FaultConfig::default() };
    let proxy = start(&upstream, config).await;
    assert_eq!(call(&client(), &proxy, "DescribeVolumes").await.unwrap().status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!proxy.is_running());
    wait_until_refused(proxy.addr()).await;
}

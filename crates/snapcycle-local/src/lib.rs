//! The function run locally as Lambda runs it: a small Lambda service on loopback that serves the
//! Runtime API `bootstrap` polls for events (each with a real `Lambda-Runtime-Deadline-Ms`) and
//! the asynchronous Invoke API the function calls to hand a long run over to itself. One function
//! process serves every invocation in turn, as one warm Lambda execution environment does.
//!
//! `snapcycle simulate`, the tests and the benchmark all run the function this one way, with the
//! `bootstrap` binary they already built (no second compilation of the AWS SDK, no source tree).
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

/// How long past its timeout an invocation may still report before it counts as timed out
/// (Lambda stops it at the timeout; the grace, at most the timeout itself, covers a loaded
/// test machine).
pub const TIMEOUT_GRACE: Duration = Duration::from_secs(10);

/// `bootstrap` with a clean environment that points it at the Runtime API at `runtime_api`
/// (`host:port`) under the function name `name`, as Lambda starts it. Add the function's own
/// configuration (endpoint, credentials, SNAPCYCLE_*) on top.
pub fn function_command(bootstrap: &Path, runtime_api: &str, name: &str) -> Command {
    let mut cmd = Command::new(bootstrap);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local");
    cmd
}

/// How one invocation ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The event it was given.
    pub event: serde_json::Value,
    /// The request id it ran under (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// `true` for `/response`, `false` for `/error`.
    pub ok: bool,
    /// The report, or the error document (`{"errorType", "errorMessage"}`).
    pub body: serde_json::Value,
    /// From handing out the event to receiving the result.
    pub took: Duration,
}

/// One call the function made to the Invoke API (a hand-over to itself).
#[derive(Debug, Clone)]
pub struct Invoked {
    /// The function named in the request's path.
    pub function: String,
    /// The `X-Amz-Invocation-Type` header (`Event` for a hand-over).
    pub invocation_type: String,
    /// The event it carried.
    pub payload: serde_json::Value,
}

type Queued = (serde_json::Value, Option<String>);

struct Shared {
    queue: Mutex<VecDeque<Queued>>,
    queued: Notify,
    in_flight: Mutex<Option<(String, serde_json::Value, Instant)>>,
    timeout: Duration,
    function_arn: String,
    finished: mpsc::UnboundedSender<Finished>,
    function_name: String,
    invoked: Mutex<Vec<Invoked>>,
    counter: Mutex<u64>,
}

/// The service; stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    function_name: String,
    shared: Arc<Shared>,
    finished: mpsc::UnboundedReceiver<Finished>,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts on a free loopback port. Each invocation gets `timeout` from the moment its event is
    /// handed out (its `Lambda-Runtime-Deadline-Ms`), as the function's configured timeout.
    pub async fn start(function_name: &str, timeout: Duration) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, finished) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            queued: Notify::new(),
            in_flight: Mutex::new(None),
            timeout,
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            finished: tx,
            function_name: function_name.to_owned(),
            invoked: Mutex::new(Vec::new()),
            counter: Mutex::new(0),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| serve(req, s.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(RuntimeApi { addr, function_name: function_name.to_owned(), shared, finished, task })
    }

    /// [`function_command`] for this service: the function polls it for events and its
    /// asynchronous Invokes (`AWS_ENDPOINT_URL_LAMBDA`) come back to it as later events.
    pub fn function(&self, bootstrap: &Path) -> Command {
        let mut cmd = function_command(bootstrap, &self.runtime_api(), &self.function_name);
        cmd.env("AWS_ENDPOINT_URL_LAMBDA", self.invoke_url());
        cmd
    }

    /// Starts `bootstrap` on this service with `env` on top of Lambda's own variables, JSON logs
    /// (stdout and stderr) going to `log`. The process is stopped when the handle is dropped.
    pub fn spawn(&self, bootstrap: &Path, env: &[(&str, String)], log: &Path) -> std::io::Result<Function> {
        let out = std::fs::File::create(log)?;
        let child = self
            .function(bootstrap)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Function { child, log: log.to_path_buf() })
    }

    /// The function name the service runs (what a hand-over must name to reach it).
    pub fn function_name(&self) -> &str {
        &self.function_name
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.addr.to_string()
    }

    /// `http://host:port`, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn invoke_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues an event, as an asynchronous invocation would.
    pub fn enqueue(&self, event: serde_json::Value) {
        self.shared.queue.lock().unwrap().push_back((event, None));
        self.shared.queued.notify_one();
    }

    /// Queues an event under a given request id, as Lambda does when it retries an asynchronous
    /// invocation (its retries carry the first attempt's request id).
    pub fn enqueue_as(&self, event: serde_json::Value, request_id: &str) {
        self.shared.queue.lock().unwrap().push_back((event, Some(request_id.to_owned())));
        self.shared.queued.notify_one();
    }

    /// Invokes the function with `event` and waits (up to `limit`) for that invocation's result,
    /// as a synchronous Invoke does. Hand-overs it makes stay queued for [`Self::next_finished`].
    pub async fn invoke(&mut self, event: serde_json::Value, limit: Duration) -> Option<Finished> {
        self.enqueue(event);
        tokio::time::timeout(limit, self.finished.recv()).await.ok().flatten()
    }

    /// The next invocation to finish, or `None` once nothing is queued or running for `idle`.
    /// An invocation still running [`TIMEOUT_GRACE`] past its timeout (the function hung or
    /// died) ends as Lambda ends it, with `Sandbox.Timedout`, so no caller waits forever.
    pub async fn next_finished(&mut self, idle: Duration) -> Option<Finished> {
        loop {
            match tokio::time::timeout(idle, self.finished.recv()).await {
                Ok(f) => return f,
                Err(_) => {
                    let mut in_flight = self.shared.in_flight.lock().unwrap();
                    let limit = self.shared.timeout + TIMEOUT_GRACE.min(self.shared.timeout);
                    if in_flight.as_ref().is_some_and(|(_, _, started)| started.elapsed() > limit) {
                        let (request_id, event, started) = in_flight.take().expect("checked above");
                        let body = serde_json::json!({
                            "errorType": "Sandbox.Timedout",
                            "errorMessage": format!("Task timed out after {:.2} seconds", self.shared.timeout.as_secs_f64()),
                        });
                        return Some(Finished { event, request_id, ok: false, body, took: started.elapsed() });
                    }
                    let busy = in_flight.is_some() || !self.shared.queue.lock().unwrap().is_empty();
                    if !busy {
                        return None;
                    }
                }
            }
        }
    }

    /// Every call the function made to the Invoke API so far, in order.
    pub fn invoked(&self) -> Vec<Invoked> {
        self.shared.invoked.lock().unwrap().clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running `bootstrap` process; killed when dropped.
#[derive(Debug)]
pub struct Function {
    child: Child,
    log: PathBuf,
}

impl Function {
    /// Whether the process still runs (it must survive bad events: Lambda would not restart it).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Where its logs go.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything it logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The largest response Lambda takes from a function: the Runtime API answers a larger one with
/// 413 `RequestEntityTooLarge` ("Exceeded maximum allowed payload size (6291556 bytes).") and the
/// invocation fails with `Function.ResponseSizeTooLarge`, whatever the function meant to say.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    r
}

/// A request id in Lambda's form (a UUID), distinct per invocation of this service.
fn next_request_id(s: &Shared) -> String {
    let mut c = s.counter.lock().unwrap();
    *c += 1;
    format!("00000000-0000-4000-8000-{:012x}", *c)
}

async fn serve(req: Request<hyper::body::Incoming>, s: Arc<Shared>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let invocation_type = req
        .headers()
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let (event, given) = loop {
            if let Some(e) = s.queue.lock().unwrap().pop_front() {
                break e;
            }
            s.queued.notified().await;
        };
        let id = given.unwrap_or_else(|| next_request_id(&s));
        let deadline = SystemTime::now() + s.timeout;
        let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        *s.in_flight.lock().unwrap() = Some((id.clone(), event.clone(), Instant::now()));
        let mut r = reply(StatusCode::OK, Bytes::from(event.to_string()));
        let h = r.headers_mut();
        // Every value here is ASCII built above, so the header parses cannot fail.
        h.insert("lambda-runtime-aws-request-id", id.parse().expect("ASCII request id"));
        h.insert(
            "lambda-runtime-deadline-ms",
            hyper::header::HeaderValue::from(u64::try_from(deadline_ms).unwrap_or(u64::MAX)),
        );
        h.insert("lambda-runtime-invoked-function-arn", s.function_arn.parse().expect("ASCII ARN"));
        return Ok(r);
    }
    if method == Method::POST && path.starts_with("/2018-06-01/runtime/invocation/") {
        let ok = path.ends_with("/response");
        let too_large = ok && body.len() > MAX_RESPONSE_BYTES;
        if let Some((request_id, event, started)) = s.in_flight.lock().unwrap().take() {
            let body = if too_large {
                serde_json::json!({
                    "errorType": "Function.ResponseSizeTooLarge",
                    "errorMessage": format!(
                        "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                        body.len()
                    ),
                })
            } else {
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
            };
            let _ =
                s.finished.send(Finished { event, request_id, ok: ok && !too_large, body, took: started.elapsed() });
        }
        if too_large {
            return Ok(reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                Bytes::from(format!(
                    r#"{{"errorMessage":"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).","errorType":"RequestEntityTooLarge"}}"#
                )),
            ));
        }
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    }
    let function = path.strip_prefix("/2015-03-31/functions/").and_then(|rest| rest.strip_suffix("/invocations"));
    if let (true, Some(function)) = (method == Method::POST, function) {
        if function != s.function_name {
            // Lambda answers an unknown function with 404 ResourceNotFoundException.
            let mut r = reply(
                StatusCode::NOT_FOUND,
                Bytes::from(format!(
                    r#"{{"Type":"User","message":"Function not found: {function} (this service runs {})"}}"#,
                    s.function_name
                )),
            );
            r.headers_mut()
                .insert("x-amzn-errortype", hyper::header::HeaderValue::from_static("ResourceNotFoundException"));
            return Ok(r);
        }
        if invocation_type != "Event" {
            // A synchronous invocation from inside the one function process would wait on itself.
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                Bytes::from_static(br#"{"Type":"User","message":"only Event invocations are served here"}"#),
            ));
        }
        // The asynchronous Invoke API: record it, queue it and answer at once, as Lambda does.
        let payload: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        s.invoked.lock().unwrap().push(Invoked {
            function: function.to_owned(),
            invocation_type,
            payload: payload.clone(),
        });
        s.queue.lock().unwrap().push_back((payload, None));
        s.queued.notify_one();
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    }
    Ok(reply(StatusCode::NOT_FOUND, Bytes::from_static(b"{}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    async fn call(
        method: Method,
        url: String,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, hyper::HeaderMap, String) {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let mut req = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = client.request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap()).await.unwrap();
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn an_event_carries_lambdas_headers_and_its_result_comes_back() {
        let mut api = RuntimeApi::start("fn", Duration::from_secs(30)).await.unwrap();
        api.enqueue(serde_json::json!({"SnapshotKeyWord": "K"}));
        let base = api.invoke_url();
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
        let (status, h, body) = call(Method::GET, format!("{base}/2018-06-01/runtime/invocation/next"), &[], "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, r#"{"SnapshotKeyWord":"K"}"#);
        let deadline: u128 = h["lambda-runtime-deadline-ms"].to_str().unwrap().parse().unwrap();
        assert!((before + 29_000..=before + 31_000).contains(&deadline), "the deadline is the timeout ahead");
        assert!(h["lambda-runtime-invoked-function-arn"].to_str().unwrap().ends_with(":function:fn"));
        let id = h["lambda-runtime-aws-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "a UUID-shaped request id: {id}");
        let (status, _, _) =
            call(Method::POST, format!("{base}/2018-06-01/runtime/invocation/{id}/error"), &[], r#"{"errorType":"x"}"#)
                .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let f = api.next_finished(Duration::from_secs(5)).await.unwrap();
        assert!(!f.ok && f.body["errorType"] == "x" && f.request_id == id);
        assert!(api.next_finished(Duration::from_millis(100)).await.is_none(), "idle");
    }

    #[tokio::test]
    async fn a_response_over_six_megabytes_fails_the_invocation_as_lambda_does() {
        let mut api = RuntimeApi::start("fn", Duration::from_secs(30)).await.unwrap();
        let base = api.invoke_url();
        for (size, fits) in [(MAX_RESPONSE_BYTES, true), (MAX_RESPONSE_BYTES + 1, false)] {
            api.enqueue(serde_json::json!({"SnapshotKeyWord": "K"}));
            let (_, h, _) = call(Method::GET, format!("{base}/2018-06-01/runtime/invocation/next"), &[], "").await;
            let id = h["lambda-runtime-aws-request-id"].to_str().unwrap().to_owned();
            // A JSON string of exactly `size` bytes, quotes included.
            let body = format!("\"{}\"", "x".repeat(size - 2));
            let (status, _, answer) =
                call(Method::POST, format!("{base}/2018-06-01/runtime/invocation/{id}/response"), &[], &body).await;
            let f = api.next_finished(Duration::from_secs(5)).await.unwrap();
            if fits {
                assert_eq!(status, StatusCode::ACCEPTED);
                assert!(f.ok);
            } else {
                assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
                assert!(answer.contains("RequestEntityTooLarge"), "{answer}");
                assert!(!f.ok && f.body["errorType"] == "Function.ResponseSizeTooLarge", "{}", f.body);
            }
        }
    }

    #[tokio::test]
    async fn an_asynchronous_invoke_is_queued_and_a_synchronous_one_refused() {
        let api = RuntimeApi::start("fn", Duration::from_secs(30)).await.unwrap();
        let url = format!("{}/2015-03-31/functions/fn/invocations", api.invoke_url());
        let (status, _, _) = call(Method::POST, url.clone(), &[("x-amz-invocation-type", "Event")], r#"{"a":1}"#).await;
        assert_eq!(status, StatusCode::ACCEPTED, "202 at once, as Lambda answers an Event invocation");
        let (status, _, body) = call(Method::POST, url, &[], r#"{"a":2}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let other = format!("{}/2015-03-31/functions/other/invocations", api.invoke_url());
        let (status, _, body) = call(Method::POST, other, &[("x-amz-invocation-type", "Event")], "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let invoked = api.invoked();
        assert_eq!(invoked.len(), 1);
        assert_eq!((invoked[0].function.as_str(), invoked[0].invocation_type.as_str()), ("fn", "Event"));
        assert_eq!(api.shared.queue.lock().unwrap().front().map(|q| q.0.clone()), Some(serde_json::json!({"a":1})));
    }

    #[tokio::test]
    async fn an_invocation_that_never_reports_times_out_as_lambda_ends_it() {
        let mut api = RuntimeApi::start("fn", Duration::from_millis(200)).await.unwrap();
        api.enqueue(serde_json::json!({"SnapshotKeyWord": "K"}));
        let base = api.invoke_url();
        // A function that takes the event and dies.
        let (status, _, _) = call(Method::GET, format!("{base}/2018-06-01/runtime/invocation/next"), &[], "").await;
        assert_eq!(status, StatusCode::OK);
        let f = tokio::time::timeout(Duration::from_secs(10), api.next_finished(Duration::from_millis(50)))
            .await
            .expect("the caller is not left waiting")
            .expect("the invocation ends");
        assert!(!f.ok && f.body["errorType"] == "Sandbox.Timedout", "{}", f.body);
    }
}

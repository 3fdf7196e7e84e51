//! A minimal Lambda service on loopback for the benchmark: the Runtime API that `bootstrap` polls
//! for events (with a real deadline, which cargo-lambda's emulator does not set) and the
//! asynchronous Invoke API it calls to hand a long run over to itself. One function process serves
//! every invocation in turn, as one warm Lambda execution environment would.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

/// `bootstrap` with a clean environment that points it at the Runtime API at `runtime_api`
/// (`host:port`) under the function name `name`, as Lambda starts it. Add the function's own
/// configuration (endpoint, credentials, SNAPCYCLE_*) on top.
pub fn function_command(bootstrap: &std::path::Path, runtime_api: &str, name: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(bootstrap);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128");
    cmd
}

/// How one invocation ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The event it was given.
    pub event: serde_json::Value,
    /// `true` for `/response`, `false` for `/error`.
    pub ok: bool,
    /// The report, or the error document.
    pub body: serde_json::Value,
    /// From handing out the event to receiving the result.
    pub took: Duration,
}

struct Shared {
    queue: Mutex<VecDeque<(serde_json::Value, Option<String>)>>,
    queued: Notify,
    in_flight: Mutex<Option<(String, serde_json::Value, Instant)>>,
    timeout: Duration,
    function_arn: String,
    finished: mpsc::UnboundedSender<Finished>,
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
    /// handed out (its `Lambda-Runtime-Deadline-Ms`).
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
    /// asynchronous Invokes (`AWS_ENDPOINT_URL_LAMBDA`) come back to it.
    pub fn function(&self, bootstrap: &std::path::Path) -> std::process::Command {
        let mut cmd = function_command(bootstrap, &self.runtime_api(), &self.function_name);
        cmd.env("AWS_ENDPOINT_URL_LAMBDA", self.invoke_url());
        cmd
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

    /// The next invocation to finish, or `None` once nothing is queued or running for `idle`.
    pub async fn next_finished(&mut self, idle: Duration) -> Option<Finished> {
        loop {
            match tokio::time::timeout(idle, self.finished.recv()).await {
                Ok(f) => return f,
                Err(_) => {
                    let busy = self.shared.in_flight.lock().unwrap().is_some()
                        || !self.shared.queue.lock().unwrap().is_empty();
                    if !busy {
                        return None;
                    }
                }
            }
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r
}

async fn serve(req: Request<hyper::body::Incoming>, s: Arc<Shared>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let (event, given) = loop {
            if let Some(e) = s.queue.lock().unwrap().pop_front() {
                break e;
            }
            s.queued.notified().await;
        };
        let id = given.unwrap_or_else(|| {
            let mut c = s.counter.lock().unwrap();
            *c += 1;
            format!("bench-{c:04}")
        });
        let deadline = SystemTime::now() + s.timeout;
        let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        *s.in_flight.lock().unwrap() = Some((id.clone(), event.clone(), Instant::now()));
        let mut r = reply(StatusCode::OK, Bytes::from(event.to_string()));
        let h = r.headers_mut();
        h.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
        h.insert("lambda-runtime-deadline-ms", deadline_ms.to_string().parse().unwrap());
        h.insert("lambda-runtime-invoked-function-arn", s.function_arn.parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        return Ok(r);
    }
    if method == Method::POST && path.starts_with("/2018-06-01/runtime/invocation/") {
        let ok = path.ends_with("/response");
        if let Some((_, event, started)) = s.in_flight.lock().unwrap().take() {
            let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            let _ = s.finished.send(Finished { event, ok, body, took: started.elapsed() });
        }
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    }
    if method == Method::POST && path.starts_with("/2015-03-31/functions/") && path.ends_with("/invocations") {
        // The asynchronous Invoke API: queue it and answer at once, as Lambda does.
        let event = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        s.queue.lock().unwrap().push_back((event, None));
        s.queued.notify_one();
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    }
    Ok(reply(StatusCode::NOT_FOUND, Bytes::from_static(b"{}")))
}

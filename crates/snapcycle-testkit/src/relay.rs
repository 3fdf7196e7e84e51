//! Lambda's asynchronous Invoke API on loopback, for the function's hand-over to itself.
//!
//! cargo-lambda's emulator serves only synchronous invocations, and one invocation waiting on the
//! next would deadlock a single function process. The relay answers an `Event` invocation the way
//! Lambda does (202 Accepted, at once), records it, and then delivers the payload to the emulator
//! with a synchronous invocation of its own, as Lambda's internal queue would. Point the function's
//! `AWS_ENDPOINT_URL_LAMBDA` at it.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::lambda::{invoke_at, Invocation};

/// One asynchronous invocation the function asked for, and what delivering it returned.
#[derive(Debug, Clone)]
pub struct Relayed {
    /// The function named in the request's path.
    pub function: String,
    /// The `X-Amz-Invocation-Type` header (`Event` for a hand-over).
    pub invocation_type: String,
    /// The event it carried.
    pub payload: serde_json::Value,
    /// The delivered invocation's result, once it finished.
    pub result: Option<Invocation>,
}

#[derive(Default)]
struct State {
    relayed: Vec<Relayed>,
    /// The Invoke API to deliver to (the emulator starts after the relay, since its function
    /// needs the relay's URL).
    target: Option<String>,
}

/// The relay; stops accepting when dropped.
pub struct Relay {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Starts on a free loopback port; accepted invocations go to the Invoke API given to
    /// [`Relay::deliver_to`], under the function name `target_function`.
    pub async fn start(target_function: &'static str) -> std::io::Result<Relay> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| accept(req, state.clone(), target_function));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Relay { addr, state, task })
    }

    /// Where to deliver: the emulator's URL.
    pub fn deliver_to(&self, target: String) {
        self.state.lock().unwrap().target = Some(target);
    }

    /// The base URL for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every invocation received so far, in order.
    pub fn relayed(&self) -> Vec<Relayed> {
        self.state.lock().unwrap().relayed.clone()
    }

    /// Waits until every received invocation has been delivered and `settle` passed with none
    /// arriving; returns them all. Gives up after `limit`.
    pub async fn wait_quiet(&self, settle: Duration, limit: Duration) -> Vec<Relayed> {
        let start = Instant::now();
        let (mut count, mut stable_since) = (usize::MAX, Instant::now());
        loop {
            let seen = self.relayed();
            if seen.len() != count || seen.iter().any(|r| r.result.is_none()) {
                (count, stable_since) = (seen.len(), Instant::now());
            } else if stable_since.elapsed() >= settle {
                return seen;
            }
            if start.elapsed() >= limit {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(
    req: Request<hyper::body::Incoming>,
    state: Arc<Mutex<State>>,
    target_function: &'static str,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let function = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(str::to_owned);
    let invocation_type = req
        .headers()
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let Some(function) = function else {
        return Ok(reply(StatusCode::NOT_FOUND, r#"{"Type":"User","message":"unknown path"}"#));
    };
    if invocation_type != "Event" {
        // Only hand-overs go through here; anything else is a bug in the function.
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            r#"{"Type":"User","message":"the relay takes Event invocations only"}"#,
        ));
    }
    let payload: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let (index, target) = {
        let mut s = state.lock().unwrap();
        s.relayed.push(Relayed { function, invocation_type, payload, result: None });
        (s.relayed.len() - 1, s.target.clone().unwrap_or_default())
    };
    tokio::spawn(async move {
        let result = invoke_at(&target, target_function, &String::from_utf8_lossy(&body)).await.unwrap_or_else(|e| {
            Invocation { status: 0, body: serde_json::Value::String(format!("delivery to {target:?} failed: {e}")) }
        });
        state.lock().unwrap().relayed[index].result = Some(result);
    });
    Ok(reply(StatusCode::ACCEPTED, ""))
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    resp
}

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

mod config;
mod operation;
mod proxy;
mod stats;
#[cfg(test)]
mod tests;

pub use config::*;
pub use operation::*;
pub use proxy::*;
pub use stats::*;

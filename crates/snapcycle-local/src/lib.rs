//! The function under cargo-lambda's runtime emulator: `cargo lambda watch --only-lambda-apis`
//! serves the Lambda Runtime and Invoke APIs on loopback, and the already-built `bootstrap` binary
//! is started against it, exactly as Lambda starts it. The emulator is started this way (rather
//! than letting it build the function) so the binary is the one the tests and the CLI already
//! built, with no second compilation of the AWS SDK.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The function name the emulator gives a function it does not start itself.
pub const FUNCTION: &str = "_";

/// A running emulator with the function attached.
#[derive(Debug)]
pub struct LambdaEmulator {
    emulator: Child,
    function: Option<Child>,
    addr: SocketAddr,
}

/// What an invocation returned.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The emulator's HTTP status: 200 for success, 500 for a function error.
    pub status: u16,
    /// The response body (the report, or `{"errorType", "errorMessage"}`).
    pub body: serde_json::Value,
}

fn wait_port(addr: SocketAddr, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl LambdaEmulator {
    /// Starts the emulator on a free loopback port and `bootstrap` against it, with `env` (the
    /// function's configuration: endpoint, credentials, SNAPCYCLE_*). `cargo_lambda` is the
    /// cargo-lambda executable and `workspace` a folder with the function's Cargo.toml (the
    /// emulator reads its metadata). Logs go to `log`.
    pub fn start(
        cargo_lambda: &Path,
        workspace: &Path,
        bootstrap: &Path,
        env: &[(&str, String)],
        log: &Path,
    ) -> io::Result<LambdaEmulator> {
        let bin = cargo_lambda.parent().unwrap_or(Path::new("."));
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let elog = std::fs::File::create(log.with_extension("emulator.log"))?;
        let emulator = Command::new(cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(workspace)
            .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
            .stdin(Stdio::null())
            .stdout(elog.try_clone()?)
            .stderr(elog)
            .spawn()?;
        let mut me = LambdaEmulator { emulator, function: None, addr };
        if !wait_port(addr, Duration::from_secs(60)) {
            return Err(io::Error::other("cargo lambda watch did not open its port"));
        }
        let flog = std::fs::File::create(log)?;
        let function = Command::new(bootstrap)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://{addr}/.rt"))
            .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(flog.try_clone()?)
            .stderr(flog)
            .spawn()?;
        me.function = Some(function);
        Ok(me)
    }

    /// The emulator's address (`http://127.0.0.1:PORT`), where the Lambda Invoke API is served.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Invokes the function synchronously with `payload`, as Lambda's Invoke API does.
    pub async fn invoke(&self, payload: &str) -> io::Result<Invocation> {
        invoke_at(&self.url(), FUNCTION, payload).await
    }

    /// Whether the function process is still running (it must survive bad events).
    pub fn function_alive(&mut self) -> bool {
        matches!(self.function.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

/// POSTs an invocation to a Lambda Invoke API at `base`.
pub async fn invoke_at(base: &str, function: &str, payload: &str) -> io::Result<Invocation> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::post(format!("{base}/2015-03-31/functions/{function}/invocations"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(payload.to_owned())))
        .map_err(io::Error::other)?;
    let resp = client.request(req).await.map_err(io::Error::other)?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.map_err(io::Error::other)?.to_bytes();
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    Ok(Invocation { status, body })
}

impl Drop for LambdaEmulator {
    fn drop(&mut self) {
        if let Some(f) = self.function.as_mut() {
            let _ = f.kill();
            let _ = f.wait();
        }
        let _ = self.emulator.kill();
        let _ = self.emulator.wait();
    }
}

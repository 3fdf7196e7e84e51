//! moto's server on a free loopback port, one per test, stopped when dropped.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;

/// The account moto answers as.
pub const ACCOUNT: &str = "123456789012";
/// The app name (in the user agent) of requests the emulator treats as seeding history.
pub const SEED_APP: &str = "snapcycle-seed";
/// How long the emulator keeps a new snapshot pending, in seconds.
pub const EMU_PENDING_SECONDS: &str = "SNAPCYCLE_EMU_PENDING_SECONDS";
/// The emulator's per-volume interval between snapshots, in seconds (EC2: 15).
pub const EMU_VOLUME_INTERVAL_SECONDS: &str = "SNAPCYCLE_EMU_VOLUME_INTERVAL_SECONDS";
/// The region tests use.
pub const REGION: &str = "us-east-1";

/// The repository's root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| PathBuf::from("."))
}

/// Makes sure the project's virtualenv exists, creating it once (under a file lock, since several
/// test processes may ask at the same time). Returns its `bin` folder.
pub fn ensure_venv() -> io::Result<PathBuf> {
    let root = workspace_root();
    let bin = root.join(".venv/bin");
    if bin.join("moto_server").exists() && bin.join("cfn-lint").exists() && bin.join("cargo-lambda").exists() {
        return Ok(bin);
    }
    std::fs::create_dir_all(root.join("target"))?;
    let lock = std::fs::File::create(root.join("target/.venv.lock"))?;
    lock.lock()?;
    let status = Command::new("bash").arg(root.join("scripts/ensure-venv")).status()?;
    if !status.success() {
        return Err(io::Error::other(format!("scripts/ensure-venv failed: {status}")));
    }
    Ok(bin)
}

/// Fixed credentials moto accepts (it checks none).
pub fn test_credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "snapcycle-tests")
}

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    addr: SocketAddr,
}

impl Moto {
    /// Starts moto's server on a free port of 127.0.0.1 and waits until it answers, as strict
    /// as EC2 (scripts/moto_server.py): new snapshots stay pending for 2 s, a volume takes one
    /// snapshot per 15 s and has at most 5 pending.
    pub fn start() -> io::Result<Moto> {
        Moto::start_with(&[])
    }

    /// [`Moto::start`] with snapshots that complete at once, for tests that run several
    /// scheduled runs back to back and are about what those runs decide, not about waiting.
    /// The per-volume rule stays: the run waits it out as it would on EC2.
    pub fn start_instant() -> io::Result<Moto> {
        Moto::start_with(&[(EMU_PENDING_SECONDS, "0")])
    }

    /// [`Moto::start`] with the emulator's knobs set (`SNAPCYCLE_EMU_*`, see scripts/moto_server.py).
    pub fn start_with(knobs: &[(&str, &str)]) -> io::Result<Moto> {
        let bin = ensure_venv()?;
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let log = std::fs::File::create(std::env::temp_dir().join(format!("snapcycle-moto-{port}.log")))?;
            // moto with its tag lookups made O(1) and DescribeSnapshots paged as EC2 pages it.
            let child = Command::new(bin.join("python"))
                .arg(workspace_root().join("scripts/moto_server.py"))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
                .envs(knobs.iter().copied())
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?;
            let mut moto = Moto { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
            if moto.wait_ready(Duration::from_secs(30)) {
                return Ok(moto);
            }
        }
        Err(io::Error::other("moto_server did not start on loopback after 5 attempts"))
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false; // exited: most likely the port was taken meanwhile
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SDK configuration for seeding and checking this server directly (the code under test
    /// builds its own with the production retry settings). Its user agent names the app
    /// [`SEED_APP`], which the emulator exempts from EC2's timed rules: what a test seeds stands
    /// for history that on EC2 would be days old.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .app_name(aws_config::AppName::new(SEED_APP).expect("a valid app name"))
            .region(Region::new(REGION))
            .endpoint_url(self.url())
            .credentials_provider(test_credentials())
            .load()
            .await
    }

    /// Environment variables that point the CLI or the Lambda at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }
}

/// A command for one of the project's binaries with a clean environment: test credentials and
/// region, no instance metadata, and `endpoint` (moto, or a proxy in front of it) when given.
pub fn command(bin: &Path, endpoint: Option<&str>) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    if let Some(e) = endpoint {
        cmd.env("AWS_ENDPOINT_URL", e);
    }
    cmd
}

/// Zips the `bootstrap` next to `sibling` (a binary of this build) as Lambda wants it, with
/// Python's standard zipfile from the project's virtualenv; moto stores it, never runs it.
pub fn bootstrap_zip(sibling: &Path) -> io::Result<PathBuf> {
    let dir = sibling.parent().unwrap_or(Path::new("."));
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!("snapcycle-bootstrap-{}-{n}.zip", std::process::id()));
    let status = Command::new(ensure_venv()?.join("python"))
        .args(["-m", "zipfile", "-c"])
        .arg(&out)
        .arg("bootstrap")
        .current_dir(dir)
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!("zipping {}/bootstrap failed: {status}", dir.display())));
    }
    Ok(out)
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

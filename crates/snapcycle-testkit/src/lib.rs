//! Test support for snapcycle: moto's server (a real AWS API emulator) started on loopback by the
//! tests themselves, seeding helpers, and a faulty-AWS proxy to put between the SDK and moto.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod faults;
pub mod inbox;
pub mod moto;
pub mod relay;
pub mod runtime_api;
pub mod seed;

pub use moto::Moto;

/// The function under cargo-lambda's emulator, started from the project's virtualenv.
pub mod lambda {
    pub use snapcycle_local::{invoke_at, Invocation, LambdaEmulator, FUNCTION};

    use std::path::Path;

    /// Starts `bootstrap` under the emulator with `env`, using the project's cargo-lambda.
    pub fn start(bootstrap: &Path, env: &[(&str, String)], log: &Path) -> std::io::Result<LambdaEmulator> {
        let bin = crate::moto::ensure_venv()?;
        let ws = crate::moto::workspace_root().join("crates/snapcycle-lambda");
        LambdaEmulator::start(&bin.join("cargo-lambda"), &ws, bootstrap, env, log)
    }
}

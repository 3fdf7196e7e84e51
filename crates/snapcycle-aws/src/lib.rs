//! The AWS shell of snapcycle (EC2 and SNS): reads the inventory of one keyword, carries out the core's plan with
//! bounded concurrency, and publishes the failure e-mail. Thin on purpose: every decision is made by
//! `snapcycle-core`; this crate only talks to AWS and records what happened.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod calls;
pub mod config;
mod copy;
pub mod error;
pub mod inventory;
pub mod run;

pub use config::{load as load_config, AwsOptions};
pub use error::Error;
pub use run::{Deadline, Outcome, Runner, Settings, SettingsError, DEFAULT_MAX_CONCURRENCY};

//! Test support for snapcycle: moto's server (a real AWS API emulator) started on loopback by the
//! tests themselves, seeding helpers, a faulty-AWS proxy to put between the SDK and moto, and the
//! function on the loopback Lambda service of `snapcycle-local`.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod faults;
pub mod inbox;
pub mod lambda;
pub mod moto;
pub mod seed;

pub use moto::Moto;

//! The pure core of snapcycle: retention parsing (counts and restic-style policies), tag rules, the
//! plan (what to create, delete and skip, and why), the event contract, the run report and schedule
//! expressions.
//!
//! Nothing here reads the clock, the environment or the network: the shell passes those in, so every
//! decision can be tested on plain data and a dry run decides exactly like a real one.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod config;
pub mod copy;
pub mod event;
pub mod exclude;
pub mod inventory;
pub mod keyword;
pub mod orphan;
pub mod plan;
pub mod policy;
pub mod report;
pub mod retention;
pub mod tags;

/// The inline string of ids and tags, for the shell and tests that build them.
pub use compact_str::CompactString;
pub use event::{Completed, Event, EventError, Invocation};
pub use exclude::{Exclusion, ExclusionError};
pub use inventory::{Attachment, Instance, Inventory, Lock, LockMode, Snapshot, SnapshotState, TagList};
pub use keyword::{Keyword, KeywordError};
pub use orphan::{OrphanExpiry, OrphanExpiryError, OrphanPlan};
pub use plan::{
    may_have_duplicates, plan, run_id, Create, InstancePlan, InstanceProblem, Plan, Policy, SnapshotSet, VolumePlan,
};
pub use policy::{Candidate, Decision, KeptBy, PolicyError, RetentionPolicy, Verdict, Why};
pub use report::Report;
pub use retention::{Retention, RetentionError};
pub use tags::Tag;

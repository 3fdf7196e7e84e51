//! The function's configuration names and limits, defined once: the stack writes them, the
//! function and `snapcycle run` read them, and the tests set them.

/// Environment variable with the ARN of the failure topic.
pub const ENV_TOPIC_ARN: &str = "SNAPCYCLE_TOPIC_ARN";
/// Environment variable with every schedule keyword, comma-separated (tag keys cannot hold commas).
pub const ENV_KEYWORDS: &str = "SNAPCYCLE_KEYWORDS";
/// Environment variable with the function's bound on concurrent EC2 calls.
pub const ENV_MAX_CONCURRENCY: &str = "SNAPCYCLE_MAX_CONCURRENCY";
/// Environment variable: seconds kept back before the invocation's deadline.
pub const ENV_DEADLINE_MARGIN_SECONDS: &str = "SNAPCYCLE_DEADLINE_MARGIN_SECONDS";
/// Environment variable: working time per invocation when shorter than the timeout allows.
pub const ENV_TIME_LIMIT_SECONDS: &str = "SNAPCYCLE_TIME_LIMIT_SECONDS";
/// Environment variable: the IANA time zone in which retention policies count days, weeks,
/// months and years (UTC when unset).
pub const ENV_TIME_ZONE: &str = "SNAPCYCLE_TIME_ZONE";
/// Environment variable: how old an orphan's snapshot must be before a run deletes it (`90d`);
/// unset, orphans are never deleted.
pub const ENV_ORPHANS_EXPIRE_AFTER: &str = "SNAPCYCLE_ORPHANS_EXPIRE_AFTER";
/// Environment variable: the regions every snapshot is copied to once it has completed,
/// comma-separated, each `REGION` or `REGION=KMS_KEY_ARN` (`snapcycle_core::copy`); unset, none.
pub const ENV_COPY_TO: &str = "SNAPCYCLE_COPY_TO";
/// Environment variable: encryption in place (`snapcycle_core::copy::parse_encrypt`): `default`
/// for the region's default EBS key, or a KMS key ARN; unset, off.
pub const ENV_ENCRYPT: &str = "SNAPCYCLE_ENCRYPT";
/// Environment variable: the copies' retention (a count or a policy, as a keyword tag's value);
/// unset, each copy keeps its source's.
pub const ENV_COPY_RETENTION: &str = "SNAPCYCLE_COPY_RETENTION";

/// Concurrent EC2 calls by default: enough to use EC2's burst of 100 quickly, few enough that the
/// adaptive retry's rate limiter settles instead of the run hammering a throttled API.
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;
/// The most concurrent EC2 calls accepted: beyond it the run only waits on throttling.
pub const MAX_CONCURRENCY: usize = 256;
/// The longest a Lambda invocation may run, in seconds.
pub const MAX_TIMEOUT_SECONDS: u32 = 900;

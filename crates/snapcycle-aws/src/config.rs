//! One way to build AWS configuration, shared by the Lambda and the CLI: the standard credential
//! chain, explicit retries and timeouts, and optional region, profile and endpoint overrides.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};

/// Where and as whom to call AWS; empty fields fall back to the default chain (env, profile, IMDS).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url` (an emulator); `AWS_ENDPOINT_URL` is honoured by the default chain too.
    pub endpoint_url: Option<String>,
    /// Most attempts per call, the first included.
    pub max_attempts: Option<u32>,
    /// Longest one attempt may take (default 60 s); slow endpoints such as an emulator holding a
    /// large fleet need more.
    pub attempt_timeout: Option<Duration>,
}

/// Default attempts per call. EC2 throttles CreateSnapshots and DeleteSnapshot to 5 per second after
/// a burst of 100: with adaptive retries the client slows itself down, and ten attempts with
/// exponential back-off ride out a long throttled stretch instead of reporting a failure.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// Loads the shared SDK configuration once; build every client from it.
pub async fn load(opts: &AwsOptions) -> SdkConfig {
    loader(opts).load().await
}

/// The loader behind [`load`], for callers that must add to it (tests add fixed credentials).
pub fn loader(opts: &AwsOptions) -> ConfigLoader {
    let retry = RetryConfig::adaptive()
        .with_max_attempts(opts.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS))
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20));
    let attempt = opts.attempt_timeout.unwrap_or(Duration::from_secs(60));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(attempt)
        .operation_timeout((attempt * 5).max(Duration::from_secs(300)))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry).timeout_config(timeouts);
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader
}

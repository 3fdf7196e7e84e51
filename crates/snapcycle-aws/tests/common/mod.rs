//! Shared set-up for the moto-backed tests.
#![allow(dead_code)]

pub mod mocks;

use chrono::{DateTime, Utc};
use snapcycle_aws::{AwsOptions, Runner, Settings};
use snapcycle_core::{Completed, Event, Keyword, Report};
use snapcycle_testkit::moto::{test_credentials, REGION};
use snapcycle_testkit::Moto;

pub const DAILY: &str = "SnapshotDaily";
pub const HOURLY: &str = "SnapshotHourly";

/// Production retry settings, pointed at `endpoint`.
pub async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    let opts = AwsOptions { region: Some(REGION.into()), endpoint_url: Some(endpoint.into()), ..AwsOptions::default() };
    snapcycle_aws::config::loader(&opts).credentials_provider(test_credentials()).load().await
}

pub async fn runner(moto: &Moto, settings: Settings) -> Runner {
    Runner::new(&sdk(&moto.url()).await, settings)
}

pub fn stack_settings() -> Settings {
    Settings { keywords: vec![kw(HOURLY), kw(DAILY)], ..Settings::default() }
}

pub fn kw(s: &str) -> Keyword {
    Keyword::new(s).unwrap()
}

pub fn at(s: &str) -> DateTime<Utc> {
    snapcycle_core::event::parse_time(s).unwrap()
}

pub fn request(keyword: &str, scheduled: &str) -> Event {
    Event::new(kw(keyword), Some(at(scheduled)), false)
}

/// EC2's completion event for `ids`, in the emulator's region, as the function reads it.
pub fn completed(ids: &[String]) -> Completed {
    Completed { region: REGION.into(), succeeded: true, snapshot_ids: ids.to_vec(), copy_of: None }
}

pub async fn run(r: &Runner, keyword: &str, scheduled: &str) -> Report {
    r.run(&request(keyword, scheduled), at(scheduled)).await
}

pub async fn ec2(moto: &Moto) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&moto.sdk_config().await)
}

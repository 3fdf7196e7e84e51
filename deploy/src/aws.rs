//! The clients the stack commands use, built once from one configuration.

use aws_config::SdkConfig;

use crate::cli::Global;

/// Every client the stack commands need.
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    pub(crate) sdk: SdkConfig,
    pub(crate) cfn: aws_sdk_cloudformation::Client,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    pub(crate) events: aws_sdk_eventbridge::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
}

impl Clients {
    pub(crate) async fn new(global: &Global) -> Clients {
        let sdk = snapcycle_ec2::load_config(&global.aws_options()).await;
        // An endpoint override is an emulator (or a proxy); those serve buckets by path.
        let s3_conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(sdk.endpoint_url().is_some()).build();
        Clients {
            cfn: aws_sdk_cloudformation::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::new(&sdk),
            events: aws_sdk_eventbridge::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            sdk,
        }
    }

    /// The region in force, which names the artifact bucket.
    pub(crate) fn region(&self) -> Option<String> {
        self.sdk.region().map(|r| r.to_string())
    }
}

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
    pub(crate) scheduler: aws_sdk_scheduler::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
}

impl Clients {
    /// Builds the clients once the region and credentials are known to be there ([`preflight`]).
    pub(crate) async fn new(global: &Global) -> Result<Clients, crate::Failure> {
        let sdk = snapcycle_aws::load_config(&global.aws_options()).await;
        preflight(&sdk).await?;
        // An endpoint override is an emulator (or a proxy); those serve buckets by path.
        let s3_conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(sdk.endpoint_url().is_some()).build();
        Ok(Clients {
            cfn: aws_sdk_cloudformation::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::new(&sdk),
            events: aws_sdk_eventbridge::Client::new(&sdk),
            scheduler: aws_sdk_scheduler::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            sdk,
        })
    }

    /// The region in force, which names the artifact bucket.
    pub(crate) fn region(&self) -> Option<String> {
        self.sdk.region().map(|r| r.to_string())
    }
}

/// Checks, before any call, that the configuration has a region and credentials, so a command
/// without them says in one line what is missing and how to fix it (exit 2) instead of printing
/// the SDK's dispatch failure for every call it would have made.
pub(crate) async fn preflight(sdk: &SdkConfig) -> Result<(), crate::Failure> {
    use aws_sdk_sts::config::ProvideCredentials;
    if sdk.region().is_none() {
        return Err(crate::Failure::Usage(anyhow::anyhow!(
            "no AWS region: pass --region (for example --region cn-north-1) or set AWS_REGION, or name one in your profile"
        )));
    }
    let Some(provider) = sdk.credentials_provider() else {
        return Err(no_credentials("no credentials provider is configured"));
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(no_credentials(&first_line(&e.to_string()))),
    }
}

fn no_credentials(why: &str) -> crate::Failure {
    crate::Failure::Usage(anyhow::anyhow!(
        "no AWS credentials ({why}): pass --profile NAME (run `aws sso login --profile NAME` first for SSO), \
         or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().chars().take(200).collect()
}

//! Errors that stop a whole run (per-volume problems go into the report instead).

use aws_sdk_ec2::operation::describe_instances::DescribeInstancesError;
use aws_sdk_ec2::operation::describe_locked_snapshots::DescribeLockedSnapshotsError;
use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsError;
use aws_sdk_ec2::operation::describe_volumes::DescribeVolumesError;
use aws_sdk_sns::operation::publish::PublishError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failure of a call the whole run depends on. The SDK error is kept as the source, so the
/// cause chain and AWS's error code survive to the report and the logs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the instances tagged with the keyword failed.
    #[error("reading the instances tagged {keyword} (DescribeInstances) failed")]
    DescribeInstances {
        /// The run's keyword.
        keyword: String,
        /// The SDK's error.
        #[source]
        source: SdkError<DescribeInstancesError, HttpResponse>,
    },
    /// Reading the keyword's snapshots failed.
    #[error("reading the snapshots of {keyword} (DescribeSnapshots) failed")]
    DescribeSnapshots {
        /// The run's keyword.
        keyword: String,
        /// The SDK's error.
        #[source]
        source: SdkError<DescribeSnapshotsError, HttpResponse>,
    },
    /// Reading the volumes tagged `snapcycle:exclude` failed.
    #[error("reading the volumes tagged snapcycle:exclude for {keyword} (DescribeVolumes) failed")]
    DescribeVolumes {
        /// The run's keyword.
        keyword: String,
        /// The SDK's error.
        #[source]
        source: SdkError<DescribeVolumesError, HttpResponse>,
    },
    /// Reading the account's snapshot locks failed; a run goes on without them (a delete of a
    /// locked snapshot then fails as it would without the read).
    #[error("reading the account's snapshot locks (DescribeLockedSnapshots) failed")]
    DescribeLockedSnapshots {
        /// The SDK's error.
        #[source]
        source: SdkError<DescribeLockedSnapshotsError, HttpResponse>,
    },
    /// The failure e-mail could not be published.
    #[error("publishing the failure report to {topic_arn} failed")]
    Publish {
        /// The SNS topic.
        topic_arn: String,
        /// The SDK's error.
        #[source]
        source: SdkError<PublishError, HttpResponse>,
    },
}

impl Error {
    /// AWS's error code (or the kind of transport failure), for the report.
    pub fn code(&self) -> String {
        match self {
            Error::DescribeInstances { source, .. } => code_of(source),
            Error::DescribeSnapshots { source, .. } => code_of(source),
            Error::DescribeVolumes { source, .. } => code_of(source),
            Error::DescribeLockedSnapshots { source } => code_of(source),
            Error::Publish { source, .. } => code_of(source),
        }
    }

    /// AWS's message, or the transport error's whole chain.
    pub fn message(&self) -> String {
        let inner = match self {
            Error::DescribeInstances { source, .. } => message_of(source),
            Error::DescribeSnapshots { source, .. } => message_of(source),
            Error::DescribeVolumes { source, .. } => message_of(source),
            Error::DescribeLockedSnapshots { source } => message_of(source),
            Error::Publish { source, .. } => message_of(source),
        };
        format!("{self}: {inner}")
    }
}

/// AWS's error code for a call, or a name for what went wrong below the service.
pub fn code_of<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> String {
    if let Some(code) = e.code() {
        return code.to_owned();
    }
    match e {
        SdkError::TimeoutError(_) => "Timeout",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        _ => "Unknown",
    }
    .to_owned()
}

/// AWS's message for a call, or the transport error's cause chain.
pub fn message_of<E: ProvideErrorMetadata + std::error::Error + 'static>(e: &SdkError<E, HttpResponse>) -> String {
    match e.message() {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ => DisplayErrorContext(e).to_string(),
    }
}

/// Failure codes a retry of the same run may fix: throttling, AWS-side errors, EC2's "not now",
/// transport failures and running out of time. Everything else (bad input, access denied, EC2
/// refusing the request) fails again on a retry, so it is e-mailed instead of retried.
pub fn is_transient(code: &str) -> bool {
    matches!(
        code,
        "RequestLimitExceeded"
            | "Throttling"
            | "ThrottlingException"
            | "InternalError"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "Unavailable"
            | "SnapshotCreationPerVolumeRateExceeded"
            | "ConcurrentSnapshotLimitExceeded"
            | "Timeout"
            | "DispatchFailure"
            | "ResponseError"
            | "OutOfTime"
            // CopySnapshot's limit of 20 copies in flight per destination ("Copy an Amazon EBS
            // snapshot", EBS User Guide): the copies ahead finish. snapcycle's other calls meet
            // no ResourceLimitExceeded (a snapshot quota is SnapshotLimitExceeded).
            | "ResourceLimitExceeded"
    )
}

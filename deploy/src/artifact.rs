//! The artifact bucket (one per account and region) and the upload of the Lambda zip.

use anyhow::{anyhow, Context as _};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use sha2::{Digest as _, Sha256};

use crate::aws::Clients;

/// Makes sure the artifact bucket exists: one per account and region, versioned, encrypted,
/// public access blocked.
pub(crate) async fn ensure_bucket(aws: &Clients) -> anyhow::Result<String> {
    let who = aws.sts.get_caller_identity().send().await.context("finding the account (sts:GetCallerIdentity)")?;
    let account = who.account().unwrap_or("unknown");
    let region = aws.region().ok_or_else(|| anyhow!("no region: pass --region or set AWS_REGION"))?;
    let bucket = format!("snapcycle-artifacts-{account}-{region}");
    match aws.s3.head_bucket().bucket(&bucket).send().await {
        Ok(_) => return Ok(bucket),
        Err(e)
            if e.as_service_error().is_some_and(|s| s.is_not_found())
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
        Err(e) => return Err(anyhow::Error::new(e).context(format!("checking the artifact bucket {bucket}"))),
    }
    println!("creating the artifact bucket {bucket}");
    let mut create = aws.s3.create_bucket().bucket(&bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    create.send().await.with_context(|| format!("creating {bucket}"))?;
    aws.s3
        .put_public_access_block()
        .bucket(&bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("blocking public access to {bucket}"))?;
    aws.s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .with_context(|| format!("enabling versioning on {bucket}"))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256).build()?,
        )
        .build();
    aws.s3
        .put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(ServerSideEncryptionConfiguration::builder().rules(rule).build()?)
        .send()
        .await
        .with_context(|| format!("enabling encryption on {bucket}"))?;
    Ok(bucket)
}

/// Uploads the zip under a key named by its content hash; an unchanged build uploads nothing.
pub(crate) async fn upload(aws: &Clients, bucket: &str, bytes: &[u8]) -> anyhow::Result<String> {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let key = format!("snapcycle/bootstrap-{hex}.zip");
    if aws.s3.head_object().bucket(bucket).key(&key).send().await.is_ok() {
        return Ok(key);
    }
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(bytes.to_vec().into())
        .send()
        .await
        .with_context(|| format!("uploading s3://{bucket}/{key}"))?;
    Ok(key)
}

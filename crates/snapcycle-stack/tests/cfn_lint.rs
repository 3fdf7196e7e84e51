//! Runs AWS's own CloudFormation linter on rendered templates: no errors and no warnings, in
//! each partition's reference region (cfn-lint checks resource and property availability per
//! region, so aws-cn and aws-us-gov are checked too).

use std::path::PathBuf;
use std::process::Command;

use snapcycle_stack::{render_string, Architecture, CopyTarget, EncryptInPlace, RetentionPolicy, Schedule, StackSpec};

/// One region per partition: aws, aws-cn, aws-us-gov.
const REGIONS: [&str; 3] = ["us-east-1", "cn-north-1", "us-gov-west-1"];

fn cfn_lint() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/cfn-lint");
    assert!(
        path.exists(),
        "cfn-lint not found at {}: run scripts/ensure-venv at the repository root to create the \
         project's virtualenv, then run the tests again",
        path.display()
    );
    path
}

fn assert_lints_clean(name: &str, spec: &StackSpec) {
    assert_lints_clean_in(name, spec, &REGIONS);
}

fn assert_lints_clean_in(name: &str, spec: &StackSpec, regions: &[&str]) {
    let linter = cfn_lint();
    let text = render_string(spec).expect("spec renders");
    let file = std::env::temp_dir().join(format!("snapcycle-stack-{}-{name}.json", std::process::id()));
    std::fs::write(&file, &text).expect("write the template to a temp file");
    let output = Command::new(&linter)
        .arg(&file)
        .args(["--format", "parseable", "--regions"])
        .args(regions)
        .output()
        .expect("run cfn-lint");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim().is_empty(),
        "cfn-lint reported findings for the {name} template (exit status {:?}):\n{stdout}{stderr}",
        output.status.code()
    );
}

#[test]
fn default_template_passes_cfn_lint_without_warnings() {
    assert_lints_clean("default", &StackSpec::default());
}

#[test]
fn three_schedule_x86_template_with_two_recipients_passes_cfn_lint_without_warnings() {
    let spec = StackSpec {
        schedules: vec![
            Schedule::new("SnapshotHourly", "rate(1 hour)").unwrap(),
            Schedule::new("SnapshotDaily", "cron(0 0 * * ? *)").unwrap(),
            Schedule::new("Snapshot-Weekly", "cron(30 2 ? * SUN *)").unwrap(),
        ],
        emails: vec!["ops@example.com".to_owned(), "backup-team@example.org".to_owned()],
        arch: Architecture::X86_64,
        memory_mb: 256,
        timeout_seconds: 600,
        log_retention_days: 90,
        max_concurrency: 32,
        orphans_expire_after: Some("90d".parse().unwrap()),
        time_zone: None,
        recycle_bin_days: None,
        copy_to: Vec::new(),
        copy_retention: None,
        encrypt: None,
    };
    assert_lints_clean("three-schedules", &spec);
}

#[test]
fn schedules_in_a_time_zone_pass_cfn_lint_in_every_partition_without_warnings() {
    let spec = StackSpec {
        schedules: vec![
            Schedule::new("SnapshotHourly", "rate(1 hour)").unwrap(),
            Schedule::new("SnapshotDaily", "cron(0 8 * * ? *)").unwrap(),
        ],
        emails: vec!["ops@example.com".to_owned()],
        time_zone: Some(chrono_tz::Asia::Shanghai),
        ..StackSpec::default()
    };
    assert_lints_clean("time-zone", &spec);
}

/// `AWS::Rbin::Rule` is in cfn-lint's schemas for us-east-1, cn-north-1 and us-gov-west-1 (the
/// same schema in all three), so `--recycle-bin-days` needs no refusal in any partition; a type
/// missing from a region's schema would be an error here (E3006).
#[test]
fn a_recycle_bin_rule_for_three_keywords_passes_cfn_lint_in_every_partition_without_warnings() {
    let spec = StackSpec {
        schedules: vec![
            Schedule::new("SnapshotHourly", "rate(1 hour)").unwrap(),
            Schedule::new("SnapshotDaily", "cron(0 0 * * ? *)").unwrap(),
            Schedule::new("Snapshot Weekly", "cron(30 2 ? * SUN *)").unwrap(),
        ],
        recycle_bin_days: Some(365),
        ..StackSpec::default()
    };
    assert_lints_clean("recycle-bin", &spec);
}

/// `--copy-to` in each partition, linted in the stack's own region: the destinations are in that
/// partition (a copy cannot leave it), one with the default EBS key and one with a key of its
/// own, so the event rule, its permission, the copy statements and the KMS statements are all
/// checked against that partition's schemas.
#[test]
fn copies_to_other_regions_pass_cfn_lint_in_every_partition_without_warnings() {
    let cases = [
        (
            "us-east-1",
            "us-west-2",
            "eu-west-1",
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
        (
            "cn-north-1",
            "cn-northwest-1",
            "cn-northwest-1",
            "arn:aws-cn:kms:cn-northwest-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
        (
            "us-gov-west-1",
            "us-gov-east-1",
            "us-gov-east-1",
            "arn:aws-us-gov:kms:us-gov-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
    ];
    for (home, plain, keyed, key) in cases {
        let mut copy_to = vec![CopyTarget { region: plain.to_owned(), kms_key: None }];
        if keyed == plain {
            copy_to[0].kms_key = Some(key.to_owned());
        } else {
            copy_to.push(CopyTarget { region: keyed.to_owned(), kms_key: Some(key.to_owned()) });
        }
        let spec = StackSpec {
            copy_to,
            copy_retention: Some(RetentionPolicy::parse("daily=7 weekly=4").unwrap()),
            emails: vec!["ops@example.com".to_owned()],
            ..StackSpec::default()
        };
        assert_lints_clean_in(&format!("copies-{home}"), &spec, &[home]);
    }
}

/// `--encrypt`, and `--encrypt --kms-key` with a key of the stack's region, in each partition,
/// linted in that region: the completion rule with `copySnapshot`, its permission, the in-place
/// copy statements and the key's statements against each partition's schemas.
#[test]
fn encryption_in_place_passes_cfn_lint_in_every_partition_without_warnings() {
    for (home, partition) in [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")] {
        let key = format!("arn:{partition}:kms:{home}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
        for (name, kms_key) in [("default-key", None), ("own-key", Some(key))] {
            let spec = StackSpec {
                encrypt: Some(EncryptInPlace { kms_key }),
                emails: vec!["ops@example.com".to_owned()],
                ..StackSpec::default()
            };
            spec.validate_in_region(home).expect("a key of the stack's region");
            assert_lints_clean_in(&format!("encrypt-{name}-{home}"), &spec, &[home]);
        }
    }
}

//! A spec that would give a broken stack is refused with an error naming the bad value.

use std::error::Error;

use snapcycle_core::{Keyword, KeywordError};
use snapcycle_schedule::Field;
use snapcycle_stack::{
    default_timeout, logical_id_for_keyword, partition_of, render, Architecture, CopyTarget, CopyTargetError,
    EncryptInPlace, RetentionPolicy, Schedule, StackError, StackSpec, MAX_COPY_DESTINATIONS, MAX_RECYCLE_BIN_DAYS,
    MAX_RECYCLE_BIN_KEYWORDS, MAX_ROLE_POLICY_CHARS, MAX_TIMEOUT_SECONDS,
};

fn schedule(keyword: &str, expression: &str) -> Schedule {
    Schedule::new(keyword, expression).expect("schedule parses")
}

fn schedules(list: &[(&str, &str)]) -> Vec<Schedule> {
    list.iter().map(|(k, e)| schedule(k, e)).collect()
}

/// A spec for `list` with the timeout its schedules allow.
fn with_schedules(list: &[(&str, &str)]) -> StackSpec {
    StackSpec::for_schedules(schedules(list))
}

fn error(spec: StackSpec) -> StackError {
    render(&spec).expect_err("spec is refused")
}

/// The error and its causes joined with ": ", as the CLI prints them.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[test]
fn a_stack_without_schedules_is_refused() {
    assert_eq!(error(with_schedules(&[])), StackError::NoSchedules);
}

#[test]
fn a_keyword_listed_twice_is_refused() {
    let spec = with_schedules(&[("SnapshotDaily", "rate(1 day)"), ("SnapshotDaily", "rate(2 days)")]);
    assert_eq!(error(spec), StackError::DuplicateKeyword("SnapshotDaily".into()));
}

#[test]
fn keywords_that_cannot_be_tag_keys_are_refused_with_cores_reason() {
    for keyword in
        ["", " ", "aws:backup", "AWS:backup", "snapcycle:keyword", "a,b", "a<b>", "x\"y", " Daily", &"k".repeat(128)]
    {
        let err = Schedule::new(keyword, "rate(1 day)").expect_err(keyword);
        match &err {
            StackError::InvalidKeyword { keyword: k, source } => {
                assert_eq!(k, keyword);
                assert_eq!(Keyword::new(keyword).unwrap_err(), *source);
            }
            other => panic!("{keyword:?}: {other}"),
        }
        let cause = err.source().expect("core's error is the source");
        assert!(cause.downcast_ref::<KeywordError>().is_some(), "{err:?}");
    }
}

#[test]
fn tag_keys_with_allowed_punctuation_and_letters_are_accepted() {
    let spec = with_schedules(&[("Snap shot_1.a:b/c=d+e-f@g", "rate(1 day)"), ("Sauvegarde-été", "rate(1 day)")]);
    assert!(render(&spec).is_ok());
}

#[test]
fn expressions_eventbridge_would_refuse_are_refused_naming_the_field() {
    let cases = [
        ("rate(0 hours)", Some(Field::RateValue), "rate value"),
        ("rate(1 hours)", Some(Field::RateUnit), "singular 'hour'"),
        ("rate(2 hour)", Some(Field::RateUnit), "plural 'hours'"),
        ("rate(5 seconds)", Some(Field::RateUnit), "rate unit"),
        ("cron(0 0 * * ?)", None, "6 fields"),
        ("cron(0 0 * * * *)", None, "both day-of-month and day-of-week"),
        ("cron(60 0 * * ? *)", Some(Field::Minutes), "minutes"),
        ("cron(0 24 * * ? *)", Some(Field::Hours), "hours"),
        ("cron(0 0 32 * ? *)", Some(Field::DayOfMonth), "day-of-month"),
        ("cron(0 0 ? 13 * *)", Some(Field::Month), "month"),
        ("cron(0 0 ? * 8 *)", Some(Field::DayOfWeek), "day-of-week"),
        ("cron(0 0 * * ? 1969)", Some(Field::Year), "year"),
        ("daily", None, "expected rate(value unit) or cron("),
        (" rate(1 day)", None, "white space"),
    ];
    for (expression, field, words) in cases {
        let err = Schedule::new("SnapshotDaily", expression).expect_err(expression);
        let StackError::InvalidExpression { keyword, source } = &err else {
            panic!("{expression}: {err}");
        };
        assert_eq!(keyword, "SnapshotDaily");
        assert_eq!(source.expression(), expression);
        assert_eq!(source.field(), field, "{expression}: {source}");
        let text = chain(&err);
        assert!(
            text.starts_with(
                "schedule \"SnapshotDaily\" has an expression EventBridge would refuse: invalid schedule expression"
            ),
            "{text}"
        );
        assert!(text.contains(words), "{expression}: {text}");
    }
}

#[test]
fn expression_error_names_the_field_in_the_cli_message() {
    let err = Schedule::new("SnapshotHourly", "rate(0 hours)").unwrap_err();
    assert_eq!(
        chain(&err),
        "schedule \"SnapshotHourly\" has an expression EventBridge would refuse: invalid schedule \
         expression \"rate(0 hours)\": rate value: must be at least 1, found 0"
    );
}

#[test]
fn schedule_flags_parse_as_keyword_equals_expression() {
    let parsed: Schedule = "SnapshotDaily=cron(0 0 * * ? *)".parse().unwrap();
    assert_eq!(parsed, schedule("SnapshotDaily", "cron(0 0 * * ? *)"));
    assert_eq!(parsed.to_string(), "SnapshotDaily=cron(0 0 * * ? *)");

    // A keyword may hold '='; the split is at the last one.
    let parsed: Schedule = "team=db=rate(5 minutes)".parse().unwrap();
    assert_eq!(parsed.keyword.as_str(), "team=db");
    assert_eq!(parsed.expression.to_string(), "rate(5 minutes)");
    assert_eq!(parsed.to_string().parse::<Schedule>().unwrap(), parsed, "Display reads back");

    assert_eq!("rate(1 day)".parse::<Schedule>().unwrap_err(), StackError::MalformedSchedule("rate(1 day)".into()));
    assert!(matches!(
        "=rate(1 day)".parse::<Schedule>(),
        Err(StackError::InvalidKeyword { source: KeywordError::Empty, .. })
    ));
    assert!(matches!("SnapshotDaily=".parse::<Schedule>(), Err(StackError::InvalidExpression { .. })));
    assert!(matches!("SnapshotDaily = rate(1 day)".parse::<Schedule>(), Err(StackError::InvalidKeyword { .. })));
}

#[test]
fn architecture_reads_lambdas_names_only() {
    assert_eq!("arm64".parse::<Architecture>().unwrap(), Architecture::Arm64);
    assert_eq!("x86_64".parse::<Architecture>().unwrap(), Architecture::X86_64);
    assert_eq!(Architecture::X86_64.to_string(), "x86_64");
    assert_eq!("amd64".parse::<Architecture>().unwrap_err(), StackError::UnknownArchitecture("amd64".into()));
}

#[test]
fn two_keywords_meeting_at_one_logical_id_are_refused() {
    let punctuated = "a-b";
    let id = logical_id_for_keyword(punctuated);
    let plain = id.strip_prefix("Schedule").unwrap().to_owned();
    assert_eq!(logical_id_for_keyword(&plain), id, "constructed collision");
    let err = error(with_schedules(&[(punctuated, "rate(1 day)"), (&plain, "rate(1 day)")]));
    assert_eq!(err, StackError::LogicalIdCollision { first: punctuated.into(), second: plain, logical_id: id });
}

#[test]
fn malformed_and_repeated_emails_are_refused() {
    for email in ["", "ops", "@example.com", "ops@", "a@b@c", "ops @example.com", "a@b.com,c@d.com"] {
        let spec = StackSpec { emails: vec![email.into()], ..StackSpec::default() };
        assert_eq!(error(spec), StackError::InvalidEmail(email.into()));
    }
    let spec = StackSpec { emails: vec!["a@example.com".into(), "a@example.com".into()], ..StackSpec::default() };
    assert_eq!(error(spec), StackError::DuplicateEmail("a@example.com".into()));
}

#[test]
fn numbers_outside_what_lambda_accepts_are_refused() {
    let cases = [
        (StackSpec { memory_mb: 64, ..StackSpec::default() }, "memory_mb"),
        (StackSpec { memory_mb: 10_241, ..StackSpec::default() }, "memory_mb"),
        (StackSpec { timeout_seconds: 0, ..StackSpec::default() }, "timeout_seconds"),
        (StackSpec { timeout_seconds: 901, ..StackSpec::default() }, "timeout_seconds"),
        (StackSpec { max_concurrency: 0, ..StackSpec::default() }, "max_concurrency"),
        (
            // The function refuses SNAPCYCLE_MAX_CONCURRENCY above 256.
            StackSpec { max_concurrency: 257, ..StackSpec::default() },
            "max_concurrency",
        ),
    ];
    for (spec, field) in cases {
        let err = error(spec);
        assert!(matches!(err, StackError::OutOfRange { field: f, .. } if f == field), "{err}");
    }
    let spec = StackSpec { log_retention_days: 31, ..StackSpec::default() };
    assert_eq!(error(spec), StackError::InvalidLogRetention(31));
}

#[test]
fn errors_read_as_sentences_naming_the_value() {
    let err = Schedule::new("aws:x", "rate(1 day)").unwrap_err();
    assert_eq!(err.to_string(), "schedule keyword \"aws:x\" cannot be used");
    assert_eq!(
        chain(&err),
        "schedule keyword \"aws:x\" cannot be used: the schedule keyword \"aws:x\" starts with \
         the reserved prefix \"aws:\""
    );
}

// The timeout rule: 900 s at most and never longer than the shortest schedule's interval.

#[test]
fn default_timeout_is_the_shortest_interval_capped_at_900_seconds() {
    let cases: [(&[(&str, &str)], u32); 8] = [
        (&[("Fast", "rate(5 minutes)")], 300),
        (&[("Minutely", "rate(1 minute)")], 60),
        (&[("Hourly", "rate(1 hour)")], 900),
        (&[("Daily", "cron(0 0 * * ? *)")], 900),
        (&[("Hourly", "rate(1 hour)"), ("Fast", "rate(10 minutes)")], 600),
        // Every 15 minutes during office hours: the gap inside the day is what counts.
        (&[("Office", "cron(0/15 8-17 ? * MON-FRI *)")], 900),
        (&[("Twice", "cron(0,7 12 * * ? *)")], 420),
        // Fires once (noon on 1 Jan 2100): no interval, so no bound below 900.
        (&[("Once", "cron(0 12 1 1 ? 2100)")], 900),
    ];
    for (list, expected) in cases {
        let schedules = schedules(list);
        assert_eq!(default_timeout(&schedules), expected, "{list:?}");
        let spec = StackSpec::for_schedules(schedules);
        assert_eq!(spec.timeout_seconds, expected);
        assert!(render(&spec).is_ok(), "the chosen timeout is accepted");
    }
    assert_eq!(default_timeout(&[]), MAX_TIMEOUT_SECONDS);
    assert_eq!(StackSpec::default().timeout_seconds, 900);
}

#[test]
fn a_timeout_longer_than_the_shortest_interval_is_refused_naming_that_schedule() {
    let spec = StackSpec {
        timeout_seconds: 301,
        ..with_schedules(&[
            ("SnapshotDaily", "cron(0 0 * * ? *)"),
            ("SnapshotFast", "rate(5 minutes)"),
            ("SnapshotTen", "rate(10 minutes)"),
        ])
    };
    let err = error(spec);
    assert_eq!(
        err,
        StackError::TimeoutExceedsInterval {
            timeout_seconds: 301,
            keyword: "SnapshotFast".into(),
            expression: "rate(5 minutes)".into(),
            interval_seconds: 300,
        }
    );
    assert_eq!(
        err.to_string(),
        "timeout_seconds is 301, but schedule \"SnapshotFast\" (rate(5 minutes)) can fire again \
         after 5 minutes (300 s); a run must end before the next is due, so use at most 300"
    );
}

#[test]
fn a_timeout_equal_to_the_shortest_interval_is_accepted() {
    let spec = StackSpec { timeout_seconds: 300, ..with_schedules(&[("SnapshotFast", "rate(5 minutes)")]) };
    assert!(render(&spec).is_ok());
}

#[test]
fn a_cron_interval_bounds_the_timeout_too() {
    // Minutes 0 and 7 of every hour: the shortest gap is 7 minutes.
    let spec = StackSpec { timeout_seconds: 900, ..with_schedules(&[("SnapshotTwice", "cron(0,7 * * * ? *)")]) };
    assert_eq!(
        error(spec),
        StackError::TimeoutExceedsInterval {
            timeout_seconds: 900,
            keyword: "SnapshotTwice".into(),
            expression: "cron(0,7 * * * ? *)".into(),
            interval_seconds: 420,
        }
    );
}

#[test]
fn the_900_second_cap_is_reported_as_out_of_range_even_with_slow_schedules() {
    let spec = StackSpec { timeout_seconds: 3_600, ..with_schedules(&[("SnapshotDaily", "rate(1 day)")]) };
    assert_eq!(error(spec), StackError::OutOfRange { field: "timeout_seconds", value: 3_600, min: 1, max: 900 });
}

#[test]
fn a_schedule_that_fires_once_does_not_bound_the_timeout() {
    let spec = StackSpec { timeout_seconds: 900, ..with_schedules(&[("SnapshotOnce", "cron(0 12 1 1 ? 2100)")]) };
    assert!(render(&spec).is_ok());
}

/// The Recycle Bin keeps a snapshot 1 to 365 days (Recycle Bin API Reference, RetentionPeriod),
/// and one rule takes at most 50 tag pairs, one per keyword.
#[test]
fn recycle_bin_days_outside_1_to_365_and_more_keywords_than_a_rule_takes_are_refused() {
    for days in [0, MAX_RECYCLE_BIN_DAYS + 1, 3650] {
        let spec = StackSpec { recycle_bin_days: Some(days), ..StackSpec::default() };
        assert_eq!(
            error(spec),
            StackError::OutOfRange { field: "recycle_bin_days", value: days, min: 1, max: MAX_RECYCLE_BIN_DAYS }
        );
    }
    for days in [1, 7, MAX_RECYCLE_BIN_DAYS] {
        assert!(render(&StackSpec { recycle_bin_days: Some(days), ..StackSpec::default() }).is_ok(), "{days}");
    }
    let many: Vec<Schedule> =
        (0..=MAX_RECYCLE_BIN_KEYWORDS).map(|i| schedule(&format!("Snapshot{i}"), "rate(1 day)")).collect();
    let spec = StackSpec { recycle_bin_days: Some(7), ..StackSpec::for_schedules(many.clone()) };
    let err = error(spec);
    assert_eq!(err, StackError::TooManyKeywordsForRecycleBin { count: 51, max: 50 });
    assert!(err.to_string().contains("--recycle-bin-days"), "{err}");
    assert!(render(&StackSpec::for_schedules(many)).is_ok(), "without the bin, 51 schedules are fine");
}

fn to(region: &str) -> CopyTarget {
    CopyTarget { region: region.to_owned(), kms_key: None }
}

fn keyed(region: &str, key: &str) -> CopyTarget {
    CopyTarget { region: region.to_owned(), kms_key: Some(key.to_owned()) }
}

fn copying(copy_to: Vec<CopyTarget>) -> StackSpec {
    StackSpec { copy_to, ..StackSpec::default() }
}

const KEY_ID: &str = "key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[test]
fn regions_are_in_the_partitions_botocore_names() {
    for (region, partition) in [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        ("ap-southeast-3", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ] {
        assert_eq!(partition_of(region), partition, "{region}");
    }
}

#[test]
fn copy_destinations_core_would_refuse_are_refused_with_cores_reason() {
    let cases: Vec<(Vec<CopyTarget>, CopyTargetError)> = vec![
        (vec![to("us-west")], CopyTargetError::Region("us-west".into())),
        (vec![to("US-WEST-2")], CopyTargetError::Region("US-WEST-2".into())),
        (vec![to("us-west-2"), to("us-west-2")], CopyTargetError::Duplicate("us-west-2".into())),
        (
            vec![keyed("us-west-2", "not-an-arn")],
            CopyTargetError::Key { region: "us-west-2".into(), key: "not-an-arn".into() },
        ),
        (
            vec![keyed("us-west-2", &format!("arn:aws:kms:us-east-1:111122223333:{KEY_ID}"))],
            CopyTargetError::KeyRegion {
                region: "us-west-2".into(),
                key_region: "us-east-1".into(),
                key: format!("arn:aws:kms:us-east-1:111122223333:{KEY_ID}"),
            },
        ),
    ];
    for (copy_to, reason) in cases {
        let region = copy_to.last().unwrap().region.clone();
        let err = error(copying(copy_to));
        assert_eq!(err, StackError::InvalidCopyTarget { region, source: reason.clone() });
        assert!(chain(&err).contains(&reason.to_string()), "{}", chain(&err));
    }
    // A value with a comma would be two entries to the function: refused, not split.
    let err = error(copying(vec![to("us-west-2,eu-west-1")]));
    assert!(matches!(err, StackError::InvalidCopyTarget { .. }), "{err:?}");
}

#[test]
fn at_most_ten_destinations_in_one_partition() {
    let regions = [
        "us-west-2",
        "us-west-1",
        "us-east-2",
        "eu-west-1",
        "eu-west-2",
        "eu-central-1",
        "ap-northeast-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "sa-east-1",
        "ca-central-1",
    ];
    assert_eq!(MAX_COPY_DESTINATIONS, 10);
    let ten: Vec<CopyTarget> = regions[..10].iter().map(|r| to(r)).collect();
    assert!(render(&copying(ten)).is_ok());
    let eleven: Vec<CopyTarget> = regions.iter().map(|r| to(r)).collect();
    assert_eq!(error(copying(eleven)), StackError::TooManyCopyDestinations { count: 11, max: 10 });

    let err = error(copying(vec![to("us-west-2"), to("cn-northwest-1")]));
    assert_eq!(
        err,
        StackError::CopyPartitions {
            first: "us-west-2".into(),
            first_partition: "aws",
            second: "cn-northwest-1".into(),
            second_partition: "aws-cn",
        }
    );
    assert!(err.to_string().contains("within its partition"), "{err}");
}

#[test]
fn a_copy_key_must_be_a_key_arn_of_its_regions_partition() {
    let alias = "arn:aws:kms:us-west-2:111122223333:alias/backups";
    let err = error(copying(vec![keyed("us-west-2", alias)]));
    assert_eq!(err, StackError::CopyKeyAlias { region: "us-west-2".into(), key: alias.into() });
    assert!(err.to_string().contains("aws kms describe-key --key-id"), "{err}");

    let wrong = format!("arn:aws:kms:cn-northwest-1:111122223333:{KEY_ID}");
    let err = error(copying(vec![keyed("cn-northwest-1", &wrong)]));
    assert_eq!(err, StackError::CopyKeyPartition { region: "cn-northwest-1".into(), key: wrong, partition: "aws-cn" });

    for (region, partition) in [("us-west-2", "aws"), ("cn-northwest-1", "aws-cn"), ("us-gov-east-1", "aws-us-gov")] {
        let key = format!("arn:{partition}:kms:{region}:111122223333:{KEY_ID}");
        assert!(render(&copying(vec![keyed(region, &key)])).is_ok(), "{key}");
    }
}

#[test]
fn a_copy_retention_without_destinations_is_refused() {
    let retention = Some(RetentionPolicy::parse("30").unwrap());
    let spec = StackSpec { copy_retention: retention.clone(), ..StackSpec::default() };
    assert_eq!(error(spec), StackError::CopyRetentionWithoutCopies);
    assert!(render(&StackSpec { copy_retention: retention, ..copying(vec![to("us-west-2")]) }).is_ok());
}

/// IAM refuses a role whose inline policies exceed 10,240 characters; `render` says so first.
/// Ten destinations, each with a key, fit the classic two schedules; ten schedules copying to ten
/// regions do not. (Without copies the size is not checked: a stack renders as before, although
/// about 27 schedules are beyond IAM's limit already.)
#[test]
fn a_role_policy_larger_than_iam_takes_is_refused() {
    let regions = [
        "us-west-2",
        "us-west-1",
        "us-east-2",
        "eu-west-1",
        "eu-west-2",
        "eu-central-1",
        "ap-northeast-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "sa-east-1",
    ];
    let keyed_ten: Vec<CopyTarget> =
        regions.iter().map(|r| keyed(r, &format!("arn:aws:kms:{r}:111122223333:{KEY_ID}"))).collect();
    assert!(render(&copying(keyed_ten.clone())).is_ok());

    let named = |n: usize| -> Vec<Schedule> {
        (0..n).map(|i| schedule(&format!("SnapshotKeyword{i:02}"), "rate(1 day)")).collect()
    };
    let too_large = |spec: StackSpec| match error(spec) {
        StackError::RolePolicyTooLarge { chars, max } => {
            assert_eq!(max, MAX_ROLE_POLICY_CHARS);
            assert!(chars > max);
        }
        other => panic!("{other:?}"),
    };
    too_large(StackSpec { copy_to: keyed_ten.clone(), ..StackSpec::for_schedules(named(10)) });
    assert!(render(&StackSpec { copy_to: keyed_ten[..5].to_vec(), ..StackSpec::for_schedules(named(10)) }).is_ok());
    too_large(StackSpec { copy_to: vec![to("us-west-2")], ..StackSpec::for_schedules(named(30)) });
    assert!(render(&StackSpec::for_schedules(named(30))).is_ok(), "not checked without copies");
    let err = error(StackSpec { copy_to: keyed_ten, ..StackSpec::for_schedules(named(10)) });
    assert!(err.to_string().contains("fewer schedules or copy destinations"), "{err}");
}

fn encrypting(kms_key: Option<&str>) -> StackSpec {
    StackSpec { encrypt: Some(EncryptInPlace { kms_key: kms_key.map(str::to_owned) }), ..StackSpec::default() }
}

/// The function refuses `SNAPCYCLE_ENCRYPT` with `SNAPCYCLE_COPY_TO`; `render` refuses the flags
/// together first, whatever the key.
#[test]
fn encryption_in_place_with_copies_to_other_regions_is_refused() {
    for key in [None, Some(format!("arn:aws:kms:us-east-1:111122223333:{KEY_ID}"))] {
        let spec = StackSpec { copy_to: vec![to("us-west-2")], ..encrypting(key.as_deref()) };
        let err = error(spec);
        assert_eq!(err, StackError::EncryptWithCopies);
        assert!(err.to_string().contains("--encrypt and --copy-to cannot be used together"), "{err}");
    }
    assert!(render(&encrypting(None)).is_ok());
}

/// The key is read back by core's `parse_encrypt` as given, named by its key ARN (an alias could
/// later point at another key, and IAM grants a key only by its ARN), in its region's partition.
#[test]
fn an_encryption_key_must_be_a_key_arn_in_its_regions_partition() {
    for bad in ["not-an-arn", "default", " arn:aws:kms:us-east-1:111122223333:key/k", "alias/backups"] {
        let err = error(encrypting(Some(bad)));
        assert!(matches!(&err, StackError::InvalidEncryptKey { key, .. } if key == bad), "{bad:?}: {err:?}");
        assert!(chain(&err).contains("is not a KMS key ARN"), "{}", chain(&err));
    }
    let alias = "arn:aws:kms:us-east-1:111122223333:alias/backups";
    let err = error(encrypting(Some(alias)));
    assert_eq!(err, StackError::EncryptKeyAlias { key: alias.into() });
    assert!(err.to_string().contains("not an alias") && err.to_string().contains("aws kms describe-key"), "{err}");

    let wrong = format!("arn:aws:kms:cn-north-1:111122223333:{KEY_ID}");
    let err = error(encrypting(Some(&wrong)));
    assert_eq!(err, StackError::EncryptKeyPartition { key: wrong, region: "cn-north-1".into(), partition: "aws-cn" });

    for (region, partition) in [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")] {
        let key = format!("arn:{partition}:kms:{region}:111122223333:{KEY_ID}");
        assert!(render(&encrypting(Some(&key))).is_ok(), "{key}");
    }
}

/// Where the stack's region is known (`deploy`, `render --region`), the key must be of it: the
/// copy is made there, and KMS keys are regional. The default key fits every region.
#[test]
fn an_encryption_key_of_another_region_than_the_stacks_is_refused() {
    let key = format!("arn:aws:kms:eu-west-1:111122223333:{KEY_ID}");
    let spec = encrypting(Some(&key));
    assert!(spec.validate_in_region("eu-west-1").is_ok());
    let err = spec.validate_in_region("us-east-1").unwrap_err();
    assert_eq!(err, StackError::EncryptKeyRegion { key: key.clone(), region: "us-east-1".into(), partition: "aws" });
    assert!(
        err.to_string().contains("is not a key of the stack's region us-east-1")
            && err.to_string().contains("arn:aws:kms:us-east-1:ACCOUNT:key/ID"),
        "{err}"
    );
    let err = spec.validate_in_region("cn-north-1").unwrap_err();
    assert!(err.to_string().contains("arn:aws-cn:kms:cn-north-1:ACCOUNT:key/ID"), "{err}");

    for region in ["us-east-1", "cn-north-1", "us-gov-west-1"] {
        assert!(encrypting(None).validate_in_region(region).is_ok(), "{region}");
        assert!(StackSpec::default().validate_in_region(region).is_ok(), "{region}");
    }
    // Everything `validate` refuses is refused in a region too.
    let both = StackSpec { copy_to: vec![to("us-west-2")], ..encrypting(None) };
    assert_eq!(both.validate_in_region("us-east-1").unwrap_err(), StackError::EncryptWithCopies);
}

/// The role-policy size check of copy stacks applies to encryption in place, which lists the
/// keywords twice more: 30 schedules render without it (unchecked, as before) but not with it.
#[test]
fn an_encrypting_stack_whose_role_policy_iam_would_refuse_is_refused() {
    let named = |n: usize| -> Vec<Schedule> {
        (0..n).map(|i| schedule(&format!("SnapshotKeyword{i:02}"), "rate(1 day)")).collect()
    };
    let key = format!("arn:aws-us-gov:kms:us-gov-west-1:111122223333:{KEY_ID}");
    let encrypt = Some(EncryptInPlace { kms_key: Some(key) });
    assert!(render(&StackSpec { encrypt: encrypt.clone(), ..StackSpec::for_schedules(named(10)) }).is_ok());
    assert!(render(&StackSpec::for_schedules(named(30))).is_ok(), "not checked without copies or encryption");
    match error(StackSpec { encrypt, ..StackSpec::for_schedules(named(30)) }) {
        StackError::RolePolicyTooLarge { chars, max } => {
            assert_eq!(max, MAX_ROLE_POLICY_CHARS);
            assert!(chars > max);
        }
        other => panic!("{other:?}"),
    }
}

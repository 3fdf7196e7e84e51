//! A spec that would give a broken stack is refused with an error naming the bad value.

use snapcycle_stack::{logical_id_for_keyword, render, Schedule, StackError, StackSpec};

fn with_schedules(schedules: &[(&str, &str)]) -> StackSpec {
    StackSpec {
        schedules: schedules
            .iter()
            .map(|(k, e)| Schedule::new(*k, *e))
            .collect(),
        ..StackSpec::default()
    }
}

fn error(spec: StackSpec) -> StackError {
    render(&spec).expect_err("spec is refused")
}

#[test]
fn a_stack_without_schedules_is_refused() {
    assert_eq!(error(with_schedules(&[])), StackError::NoSchedules);
}

#[test]
fn a_keyword_listed_twice_is_refused() {
    let spec = with_schedules(&[
        ("SnapshotDaily", "rate(1 day)"),
        ("SnapshotDaily", "rate(2 days)"),
    ]);
    assert_eq!(
        error(spec),
        StackError::DuplicateKeyword("SnapshotDaily".into())
    );
}

#[test]
fn keywords_that_cannot_be_tag_keys_are_refused() {
    for keyword in [
        "",
        "aws:backup",
        "AWS:backup",
        "snapcycle:keyword",
        "a,b",
        "a<b>",
        "x\"y",
        &"k".repeat(129),
    ] {
        let err = error(with_schedules(&[(keyword, "rate(1 day)")]));
        assert!(
            matches!(err, StackError::InvalidKeyword { .. }),
            "{keyword:?}: {err}"
        );
    }
}

#[test]
fn tag_keys_with_allowed_punctuation_and_letters_are_accepted() {
    let spec = with_schedules(&[
        ("Snap shot_1.a:b/c=d+e-f@g", "rate(1 day)"),
        ("Sauvegarde-été", "rate(1 day)"),
    ]);
    assert!(render(&spec).is_ok());
}

#[test]
fn expressions_that_are_not_rate_or_cron_are_refused() {
    let err = error(with_schedules(&[("SnapshotDaily", "daily")]));
    assert_eq!(
        err,
        StackError::InvalidExpression {
            keyword: "SnapshotDaily".into(),
            expression: "daily".into()
        }
    );
}

#[test]
fn two_keywords_meeting_at_one_logical_id_are_refused() {
    let punctuated = "a-b";
    let id = logical_id_for_keyword(punctuated);
    let plain = id.strip_prefix("Schedule").unwrap().to_owned();
    assert_eq!(logical_id_for_keyword(&plain), id, "constructed collision");
    let err = error(with_schedules(&[
        (punctuated, "rate(1 day)"),
        (&plain, "rate(1 day)"),
    ]));
    assert_eq!(
        err,
        StackError::LogicalIdCollision {
            first: punctuated.into(),
            second: plain,
            logical_id: id
        }
    );
}

#[test]
fn malformed_and_repeated_emails_are_refused() {
    for email in [
        "",
        "ops",
        "@example.com",
        "ops@",
        "a@b@c",
        "ops @example.com",
        "a@b.com,c@d.com",
    ] {
        let spec = StackSpec {
            emails: vec![email.into()],
            ..StackSpec::default()
        };
        assert_eq!(error(spec), StackError::InvalidEmail(email.into()));
    }
    let spec = StackSpec {
        emails: vec!["a@example.com".into(), "a@example.com".into()],
        ..StackSpec::default()
    };
    assert_eq!(
        error(spec),
        StackError::DuplicateEmail("a@example.com".into())
    );
}

#[test]
fn numbers_outside_what_lambda_accepts_are_refused() {
    let cases = [
        (
            StackSpec {
                memory_mb: 64,
                ..StackSpec::default()
            },
            "memory_mb",
        ),
        (
            StackSpec {
                memory_mb: 10_241,
                ..StackSpec::default()
            },
            "memory_mb",
        ),
        (
            StackSpec {
                timeout_seconds: 0,
                ..StackSpec::default()
            },
            "timeout_seconds",
        ),
        (
            StackSpec {
                timeout_seconds: 901,
                ..StackSpec::default()
            },
            "timeout_seconds",
        ),
        (
            StackSpec {
                max_concurrency: 0,
                ..StackSpec::default()
            },
            "max_concurrency",
        ),
    ];
    for (spec, field) in cases {
        let err = error(spec);
        assert!(
            matches!(err, StackError::OutOfRange { field: f, .. } if f == field),
            "{err}"
        );
    }
    let spec = StackSpec {
        log_retention_days: 31,
        ..StackSpec::default()
    };
    assert_eq!(error(spec), StackError::InvalidLogRetention(31));
}

#[test]
fn errors_read_as_sentences_naming_the_value() {
    let err = error(with_schedules(&[("aws:x", "rate(1 day)")]));
    assert_eq!(
        err.to_string(),
        "schedule keyword \"aws:x\" cannot be used: tag keys starting with aws: are reserved by AWS"
    );
}

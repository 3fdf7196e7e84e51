//! The proxy against a small upstream of its own.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn bucket_allows_a_full_burst_then_refuses() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::full(Bucket::new(5.0, 3.0), t0);
    assert!(bucket.try_acquire(t0));
    assert!(bucket.try_acquire(t0));
    assert!(bucket.try_acquire(t0));
    assert!(!bucket.try_acquire(t0));
    assert!(!bucket.try_acquire(t0 + ms(199)));
}

#[test]
fn bucket_refills_at_its_rate() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::full(Bucket::new(5.0, 3.0), t0);
    for _ in 0..3 {
        assert!(bucket.try_acquire(t0));
    }
    // 5 per second is one token per 200 ms.
    assert!(bucket.try_acquire(t0 + ms(200)));
    assert!(!bucket.try_acquire(t0 + ms(200)));
    assert!(bucket.try_acquire(t0 + ms(600)));
    assert!(bucket.try_acquire(t0 + ms(600)));
    assert!(!bucket.try_acquire(t0 + ms(600)));
}

#[test]
fn bucket_never_holds_more_than_its_burst() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::full(Bucket::new(5.0, 3.0), t0);
    assert!(bucket.try_acquire(t0));
    let later = t0 + Duration::from_secs(3600);
    assert!((bucket.available(later) - 3.0).abs() < 1e-9);
    for _ in 0..3 {
        assert!(bucket.try_acquire(later));
    }
    assert!(!bucket.try_acquire(later));
}

#[test]
fn bucket_ignores_time_going_backwards() {
    let t0 = Instant::now() + Duration::from_secs(10);
    let mut bucket = TokenBucket::full(Bucket::new(5.0, 1.0), t0);
    assert!(bucket.try_acquire(t0));
    assert!(!bucket.try_acquire(t0 - Duration::from_secs(5)));
    assert!(bucket.try_acquire(t0 + ms(200)));
}

#[test]
fn bucket_with_fractional_burst_still_lets_one_call_through() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::full(Bucket::new(0.5, 0.05), t0);
    assert!(bucket.try_acquire(t0));
    assert!(!bucket.try_acquire(t0 + ms(1000)));
    assert!(bucket.try_acquire(t0 + ms(2000)));
}

#[test]
fn ec2_defaults_match_the_documented_buckets() {
    let ec2 = ThrottleConfig::ec2();
    assert_eq!(ec2.bucket_for("CreateSnapshot"), Some(Bucket::new(5.0, 100.0)));
    assert_eq!(ec2.bucket_for("DeleteSnapshot"), Some(Bucket::new(5.0, 100.0)));
    assert_eq!(ec2.bucket_for("CreateTags"), Some(Bucket::new(10.0, 100.0)));
    assert_eq!(ec2.bucket_for("DescribeSnapshots"), Some(Bucket::new(20.0, 100.0)));
    assert_eq!(ec2.bucket_for("DescribeInstances"), Some(Bucket::new(20.0, 100.0)));
    assert_eq!(ec2.bucket_for("Publish"), None);
    assert_eq!(ec2.bucket_for("CreateSnapshots"), Some(Bucket::new(5.0, 100.0)));
    assert_eq!(ec2.bucket_for("CreateSnapshotsX"), None);
    assert_eq!(ec2.bucket_for("CopySnapshot"), Some(Bucket::new(5.0, 50.0)));
}

#[test]
fn scale_multiplies_rates_and_bursts() {
    let fast = ThrottleConfig::ec2().scaled(10.0);
    assert_eq!(fast.bucket_for("CreateSnapshot"), Some(Bucket::new(50.0, 1000.0)));
    let slow = ThrottleConfig::ec2().scaled(0.1);
    let describe = slow.bucket_for("DescribeVolumes").unwrap();
    assert!((describe.rate_per_sec - 2.0).abs() < 1e-9);
    assert!((describe.burst - 10.0).abs() < 1e-9);
}

#[test]
fn first_matching_rule_wins() {
    let throttle = ThrottleConfig::new()
        .with(OperationMatcher::exact("DescribeTags"), Bucket::new(1.0, 1.0))
        .with(OperationMatcher::prefix("Describe"), Bucket::new(2.0, 2.0))
        .with(OperationMatcher::Any, Bucket::new(3.0, 3.0));
    assert_eq!(throttle.bucket_for("DescribeTags"), Some(Bucket::new(1.0, 1.0)));
    assert_eq!(throttle.bucket_for("DescribeVolumes"), Some(Bucket::new(2.0, 2.0)));
    assert_eq!(throttle.bucket_for("CreateTags"), Some(Bucket::new(3.0, 3.0)));
}

#[test]
fn invalid_settings_are_rejected() {
    let bad_rate = FaultConfig { failure_rate: 1.5, ..FaultConfig::default() };
    assert_eq!(bad_rate.validate().unwrap_err().kind(), io::ErrorKind::InvalidInput);
    let bad_scale = FaultConfig { throttle: Some(ThrottleConfig::ec2().scaled(0.0)), ..FaultConfig::default() };
    assert!(bad_scale.validate().is_err());
    let bad_bucket = FaultConfig {
        throttle: Some(ThrottleConfig::new().with(OperationMatcher::Any, Bucket::new(-1.0, 1.0))),
        ..FaultConfig::default()
    };
    assert!(bad_bucket.validate().is_err());
    assert!(FaultConfig::default().validate().is_ok());
}

fn form_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"));
    headers
}

#[test]
fn action_is_read_from_an_ec2_query_body() {
    let body = b"Action=CreateSnapshot&Version=2016-11-15&VolumeId=vol-1";
    assert_eq!(operation_name(&form_headers(), None, body).as_deref(), Some("CreateSnapshot"));
    let later = b"Version=2016-11-15&Filter.1.Name=tag-key&Action=DescribeInstances";
    assert_eq!(operation_name(&form_headers(), None, later).as_deref(), Some("DescribeInstances"));
}

#[test]
fn action_is_url_decoded() {
    let body = b"Version=2010-03-31&Action=Pub%6cish&Message=a+b";
    assert_eq!(operation_name(&form_headers(), None, body).as_deref(), Some("Publish"));
    assert_eq!(form_value(b"k=a+b%20c%2Bd", "k").as_deref(), Some("a b c+d"));
    assert_eq!(form_value(b"k=100%", "k").as_deref(), Some("100%"));
    assert_eq!(form_value(b"k=%zz", "k").as_deref(), Some("%zz"));
    assert_eq!(form_value(b"A%63tion=X", "Action").as_deref(), Some("X"));
}

#[test]
fn similar_field_names_are_not_the_action() {
    let body = b"ActionName=Nope&Foo.Action=Nope&Version=1";
    assert_eq!(operation_name(&form_headers(), None, body), None);
    assert_eq!(operation_name(&form_headers(), None, b"Action=&Version=1"), None);
    assert_eq!(operation_name(&form_headers(), None, b"Action"), None);
    assert_eq!(operation_name(&form_headers(), None, b""), None);
}

#[test]
fn body_is_only_parsed_when_it_is_a_form() {
    let body = b"Action=CreateSnapshot";
    let mut json = HeaderMap::new();
    json.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    assert_eq!(operation_name(&json, None, body), None);
    assert_eq!(operation_name(&HeaderMap::new(), None, body), None);
    let mut upper = HeaderMap::new();
    upper.insert(CONTENT_TYPE, HeaderValue::from_static("Application/X-WWW-Form-Urlencoded"));
    assert_eq!(operation_name(&upper, None, body).as_deref(), Some("CreateSnapshot"));
}

#[test]
fn json_protocols_are_named_by_their_target() {
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-target", HeaderValue::from_static("AWSEvents.PutRule"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
    assert_eq!(operation_name(&headers, None, b"{}").as_deref(), Some("PutRule"));
    headers.insert("x-amz-target", HeaderValue::from_static("GetItem"));
    assert_eq!(operation_name(&headers, None, b"{}").as_deref(), Some("GetItem"));
}

#[test]
fn action_in_the_query_string_counts_for_get_requests() {
    let query = Some("Action=DescribeRegions&Version=2016-11-15");
    assert_eq!(operation_name(&HeaderMap::new(), query, b"").as_deref(), Some("DescribeRegions"));
    assert_eq!(operation_name(&HeaderMap::new(), Some("list-type=2"), b""), None);
}

#[test]
fn mutating_calls_are_create_delete_modify_copy() {
    for op in ["CreateSnapshot", "DeleteSnapshot", "CreateTags", "ModifyVolume", "CopySnapshot"] {
        assert!(is_mutating(op), "{op}");
    }
    for op in ["DescribeSnapshots", "Publish", "GetCallerIdentity", "create"] {
        assert!(!is_mutating(op), "{op}");
    }
}

#[test]
fn dice_are_repeatable_per_seed() {
    // A failing fault test is replayed with its seed: the same seed must give the same faults.
    let draw = |seed| {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..32).map(|_| rng.f64()).collect::<Vec<_>>()
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
    assert_eq!(request_id(7, 3), request_id(7, 3));
    assert_ne!(request_id(7, 3), request_id(7, 4));
}

#[test]
fn dice_hit_the_requested_share() {
    let mut rng = fastrand::Rng::with_seed(42);
    let n = 100_000;
    let hits = (0..n).filter(|_| rng.f64() < 0.3).count();
    let share = hits as f64 / n as f64;
    assert!((share - 0.3).abs() < 0.01, "share {share}");
    let mut rng = fastrand::Rng::with_seed(0);
    assert!((0..1000).map(|_| rng.f64()).all(|x| (0.0..1.0).contains(&x)));
}

#[test]
fn request_ids_look_like_uuids_and_differ() {
    let a = request_id(1, 1);
    let b = request_id(1, 2);
    assert_ne!(a, b);
    assert_eq!(a, request_id(1, 1));
    let groups: Vec<usize> = a.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
    assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
}

#[test]
fn error_bodies_have_ec2_query_shape() {
    let response =
        ec2_error(StatusCode::SERVICE_UNAVAILABLE, "RequestLimitExceeded", "Request limit exceeded.", "id-1");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/xml;charset=UTF-8");
    assert_eq!(response.headers()["x-amzn-requestid"], "id-1");
}

#[test]
fn default_timing_depends_on_the_failure_kind() {
    let mut config = FaultConfig::default();
    assert_eq!(config.effective_timing(), FaultTiming::BeforeForward);
    config.failure_kind = FailureKind::DropConnection;
    assert_eq!(config.effective_timing(), FaultTiming::AfterForward);
    config.failure_timing = Some(FaultTiming::BeforeForward);
    assert_eq!(config.effective_timing(), FaultTiming::BeforeForward);
}

#[test]
fn stats_sum_and_print() {
    let mut stats = ProxyStats::default();
    stats.by_operation.insert(
        "CreateSnapshot".into(),
        OperationStats { requests: 5, forwarded: 3, throttled: 2, failed: 1, upstream_errors: 0 },
    );
    stats
        .by_operation
        .insert("DescribeVolumes".into(), OperationStats { requests: 4, forwarded: 4, ..OperationStats::default() });
    assert_eq!(stats.total().requests, 9);
    assert_eq!(stats.total().forwarded, 7);
    assert_eq!(stats.get("Nope"), OperationStats::default());
    let table = stats.to_string();
    assert!(table.lines().count() == 4, "{table}");
    assert!(table.contains("CreateSnapshot"));
    assert!(table.lines().last().unwrap().starts_with("total"));
}

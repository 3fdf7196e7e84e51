//! Structural tests on the rendered template: what the issue requires, checked on the JSON that
//! CloudFormation will actually read.

use serde_json::{json, Map, Value};
use snapcycle_core::copy::{parse_copy_targets, parse_encrypt};
use snapcycle_core::tags::TAG_KEYWORD;
use snapcycle_core::{Event, Keyword};
use snapcycle_stack::{
    render, render_string, rule_logical_id, rule_output_key, Architecture, CodeLocation, CopyTarget, EncryptInPlace,
    RetentionPolicy, Schedule, StackSpec, ARTIFACT_BUCKET_PARAMETER, ARTIFACT_KEY_PARAMETER, ENV_COPY_RETENTION,
    ENV_COPY_TO, ENV_ENCRYPT, ENV_KEYWORDS, ENV_MAX_CONCURRENCY, ENV_TOPIC_ARN, VERSION,
};

fn three_schedules() -> StackSpec {
    StackSpec {
        schedules: vec![
            Schedule::new("SnapshotHourly", "rate(1 hour)").unwrap(),
            Schedule::new("SnapshotDaily", "cron(0 0 * * ? *)").unwrap(),
            Schedule::new("Snapshot Weekly", "cron(30 2 ? * SUN *)").unwrap(),
        ],
        emails: vec!["ops@example.com".to_owned(), "backup-team@example.org".to_owned()],
        arch: Architecture::X86_64,
        ..StackSpec::default()
    }
}

fn rendered(spec: &StackSpec) -> Value {
    render(spec).expect("spec renders")
}

fn resources(template: &Value) -> &Map<String, Value> {
    template["Resources"].as_object().expect("Resources is an object")
}

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), &r["Properties"]))
        .collect()
}

fn only<'a>(template: &'a Value, kind: &str) -> (&'a str, &'a Value) {
    let all = of_type(template, kind);
    assert_eq!(all.len(), 1, "expected exactly one {kind}, found {}", all.len());
    all[0]
}

/// A policy field that may be a bare value or a list, as a list.
fn list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn role_statements(template: &Value) -> Vec<&Value> {
    let (_, role) = only(template, "AWS::IAM::Role");
    role["Policies"]
        .as_array()
        .expect("inline policies")
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().expect("statements"))
        .collect()
}

fn statements_with_action<'a>(template: &'a Value, action: &str) -> Vec<&'a Value> {
    role_statements(template).into_iter().filter(|s| list(&s["Action"]).iter().any(|a| *a == action)).collect()
}

fn get_att(id: &str, attribute: &str) -> Value {
    json!({"Fn::GetAtt": [id, attribute]})
}

fn snapshot_arn() -> Value {
    json!({"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*"})
}

fn each_string(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| each_string(v, f)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            f(k);
            each_string(v, f);
        }),
        _ => {}
    }
}

/// Every policy document in the template, with the type of the resource holding it.
fn policy_documents(template: &Value) -> Vec<(&str, &Value)> {
    let mut docs = Vec::new();
    for resource in resources(template).values() {
        let kind = resource["Type"].as_str().unwrap();
        let props = &resource["Properties"];
        for key in ["PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"] {
            if props.get(key).is_some() {
                docs.push((kind, &props[key]));
            }
        }
        if let Some(policies) = props.get("Policies").and_then(Value::as_array) {
            docs.extend(policies.iter().map(|p| (kind, &p["PolicyDocument"])));
        }
    }
    docs
}

#[test]
fn default_spec_has_the_classic_hourly_and_daily_schedules_on_arm64() {
    let template = rendered(&StackSpec::default());
    let rules = of_type(&template, "AWS::Events::Rule");
    let expressions: Vec<&Value> = rules.iter().map(|(_, r)| &r["ScheduleExpression"]).collect();
    assert_eq!(expressions, [&json!("rate(1 hour)"), &json!("cron(0 0 * * ? *)")]);
    let (_, function) = only(&template, "AWS::Lambda::Function");
    assert_eq!(function["Architectures"], json!(["arm64"]));
    assert_eq!(function["MemorySize"], 128);
    assert_eq!(function["Timeout"], 900);
}

#[test]
fn each_schedule_gets_one_rule_one_target_and_one_permission() {
    let spec = three_schedules();
    let template = rendered(&spec);
    assert_eq!(of_type(&template, "AWS::Events::Rule").len(), 3);
    assert_eq!(of_type(&template, "AWS::Lambda::Permission").len(), 3);

    for schedule in &spec.schedules {
        let rule_id = rule_logical_id(schedule.keyword.as_str());
        let rule = &resources(&template)[&rule_id]["Properties"];
        assert_eq!(rule["ScheduleExpression"], schedule.expression.to_string());
        assert_eq!(rule["State"], "ENABLED");
        let targets = rule["Targets"].as_array().unwrap();
        assert_eq!(targets.len(), 1, "{rule_id} has one target");
        let target = &targets[0];
        assert_eq!(target["Arn"], get_att("Function", "Arn"));
        assert_eq!(target["InputTransformer"]["InputPathsMap"], json!({"time": "$.time"}));

        // What EventBridge delivers: <time> replaced by the event's time, a JSON string.
        let input_template = target["InputTransformer"]["InputTemplate"].as_str().unwrap();
        let delivered = input_template.replace("<time>", "\"2025-01-01T00:00:00Z\"");
        let input: Value = serde_json::from_str(&delivered).expect("input template is JSON");
        assert_eq!(input, json!({"SnapshotKeyWord": schedule.keyword, "ScheduledTime": "2025-01-01T00:00:00Z"}));

        let permissions: Vec<_> = of_type(&template, "AWS::Lambda::Permission")
            .into_iter()
            .filter(|(_, p)| p["SourceArn"] == get_att(&rule_id, "Arn"))
            .collect();
        assert_eq!(permissions.len(), 1, "one permission for {rule_id}");
        let (_, permission) = permissions[0];
        assert_eq!(permission["Action"], "lambda:InvokeFunction");
        assert_eq!(permission["Principal"], "events.amazonaws.com");
        assert_eq!(permission["FunctionName"], json!({"Ref": "Function"}));
    }
}

#[test]
fn delete_is_allowed_per_keyword_only_with_both_the_marker_and_the_keyword_tag() {
    let spec = three_schedules();
    let template = rendered(&spec);
    let deletes = statements_with_action(&template, "ec2:DeleteSnapshot");
    assert_eq!(deletes.len(), spec.schedules.len(), "one delete statement per keyword");
    for (statement, schedule) in deletes.iter().zip(&spec.schedules) {
        let keyword = schedule.keyword.as_str();
        assert_eq!(list(&statement["Action"]), [&json!("ec2:DeleteSnapshot")]);
        assert_eq!(statement["Resource"], snapshot_arn());
        assert_eq!(
            statement["Condition"],
            json!({
                "StringEquals": {format!("ec2:ResourceTag/{TAG_KEYWORD}"): keyword},
                "Null": {format!("ec2:ResourceTag/{keyword}"): "false"},
            })
        );
    }
}

#[test]
fn snapshots_can_only_be_created_with_a_marker_naming_a_known_keyword() {
    let spec = three_schedules();
    let template = rendered(&spec);
    assert!(
        statements_with_action(&template, "ec2:CreateSnapshot").is_empty(),
        "every set is one CreateSnapshots call"
    );
    let creates = statements_with_action(&template, "ec2:CreateSnapshots");
    assert_eq!(creates.len(), 2, "one statement for the instance and its volumes, one for the snapshots");

    let sources = creates.iter().find(|s| s["Resource"].to_string().contains(":instance/")).unwrap();
    assert_eq!(
        sources["Resource"],
        json!([
            {"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"},
            {"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"},
        ])
    );
    assert!(sources.get("Condition").is_none());

    let snapshot = creates.iter().find(|s| s["Resource"] == snapshot_arn()).unwrap();
    let keywords: Vec<&str> = spec.schedules.iter().map(|s| s.keyword.as_str()).collect();
    let key = format!("aws:RequestTag/{TAG_KEYWORD}");
    assert_eq!(snapshot["Condition"]["Null"], json!({ key.clone(): "false" }));
    assert_eq!(snapshot["Condition"]["StringEquals"], json!({ key: keywords }));

    let tags = statements_with_action(&template, "ec2:CreateTags");
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0]["Resource"], snapshot_arn());
    assert_eq!(tags[0]["Condition"], json!({"StringEquals": {"ec2:CreateAction": "CreateSnapshots"}}));
}

#[test]
fn every_arn_is_built_in_the_deploy_time_partition() {
    for spec in [StackSpec::default(), three_schedules(), encrypting(None)] {
        let template = rendered(&spec);
        let mut arns = 0;
        each_string(&template, &mut |s| {
            assert!(!s.contains("arn:aws"), "literal partition in {s:?}");
            for (at, _) in s.match_indices("arn:") {
                arns += 1;
                assert!(s[at..].starts_with("arn:${AWS::Partition}:"), "{s:?} does not use ${{AWS::Partition}}");
            }
        });
        assert!(arns >= 5, "the template builds ARNs ({arns} found)");
    }
}

#[test]
fn no_write_action_applies_to_every_resource_without_a_condition() {
    for spec in [three_schedules(), with_copies(), encrypting(Some(ENCRYPT_KEY))] {
        no_write_action_on_everything_without_a_condition(&rendered(&spec));
    }
}

fn no_write_action_on_everything_without_a_condition(template: &Value) {
    for (kind, document) in policy_documents(template) {
        // In a key policy "*" means "this key"; it cannot name anything else.
        if kind == "AWS::KMS::Key" {
            continue;
        }
        for statement in list(&document["Statement"]) {
            let on_everything = list(&statement["Resource"]).iter().any(|r| *r == "*");
            let writes: Vec<&str> = list(&statement["Action"])
                .iter()
                .map(|a| a.as_str().unwrap())
                .filter(|a| {
                    let verb = a.split(':').nth(1).unwrap_or(a);
                    !["Describe", "Get", "List"].iter().any(|read| verb.starts_with(read))
                })
                .collect();
            if on_everything && !writes.is_empty() {
                assert!(statement.get("Condition").is_some(), "{kind}: {writes:?} on \"*\" without a condition");
            }
            assert!(
                !list(&statement["Action"]).iter().any(|a| a.as_str().unwrap().ends_with(":*")),
                "{kind}: service-wide wildcard action in {statement}"
            );
        }
    }
}

#[test]
fn every_read_a_run_makes_is_one_statement_on_everything_without_a_condition() {
    // Describe* actions have no resource-level permissions; the run reads the account's snapshot
    // locks beside the instances, volumes and snapshots, to keep a locked snapshot it would delete.
    let template = rendered(&StackSpec::default());
    let reads = statements_with_action(&template, "ec2:DescribeLockedSnapshots");
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0]["Sid"], "ReadInventory");
    assert_eq!(
        reads[0]["Action"],
        json!(["ec2:DescribeInstances", "ec2:DescribeLockedSnapshots", "ec2:DescribeSnapshots", "ec2:DescribeVolumes"])
    );
    assert_eq!(reads[0]["Resource"], "*");
    assert!(reads[0].get("Condition").is_none(), "{}", reads[0]);
}

#[test]
fn role_grants_each_remaining_permission_on_its_own_resources_only() {
    let template = rendered(&StackSpec::default());
    let on = |action: &str| -> Value {
        let statements = statements_with_action(&template, action);
        assert_eq!(statements.len(), 1, "{action}");
        statements[0]["Resource"].clone()
    };
    assert_eq!(on("sns:Publish"), json!({"Ref": "FailureTopic"}));
    assert_eq!(on("sqs:SendMessage"), get_att("DeadLetterQueue", "Arn"));
    assert_eq!(on("kms:GenerateDataKey*"), get_att("NotificationKey", "Arn"));
    assert_eq!(on("logs:PutLogEvents"), get_att("FunctionLogGroup", "Arn"));
    assert_eq!(on("logs:CreateLogStream"), get_att("FunctionLogGroup", "Arn"));
    assert_eq!(
        on("lambda:InvokeFunction"),
        json!({"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-snapshots"})
    );
    let (_, function) = only(&template, "AWS::Lambda::Function");
    assert_eq!(function["FunctionName"], json!({"Fn::Sub": "${AWS::StackName}-snapshots"}));
    let (_, role) = only(&template, "AWS::IAM::Role");
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"],
        json!([{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}])
    );
}

#[test]
fn function_is_configured_as_the_issue_asks() {
    let template = rendered(&three_schedules());
    let (_, function) = only(&template, "AWS::Lambda::Function");
    assert_eq!(function["Runtime"], "provided.al2023");
    assert_eq!(function["Handler"], "bootstrap");
    assert_eq!(function["Architectures"], json!(["x86_64"]));
    assert_eq!(function["ReservedConcurrentExecutions"], 1);
    // Lambda would stop a long run's chain of hand-overs after about 16 hops (issue #10.10).
    assert_eq!(function["RecursiveLoop"], "Allow");
    assert_eq!(function["DeadLetterConfig"], json!({"TargetArn": get_att("DeadLetterQueue", "Arn")}));
    assert_eq!(function["LoggingConfig"], json!({"LogFormat": "JSON", "LogGroup": {"Ref": "FunctionLogGroup"}}));
    assert_eq!(
        function["Code"],
        json!({"S3Bucket": {"Ref": ARTIFACT_BUCKET_PARAMETER}, "S3Key": {"Ref": ARTIFACT_KEY_PARAMETER}})
    );
    let (_, log_group) = only(&template, "AWS::Logs::LogGroup");
    assert_eq!(log_group["RetentionInDays"], 30);

    let (_, invoke) = only(&template, "AWS::Lambda::EventInvokeConfig");
    assert_eq!(invoke["FunctionName"], json!({"Ref": "Function"}));
    assert_eq!(invoke["MaximumRetryAttempts"], 2);
    assert!(invoke["MaximumEventAgeInSeconds"].as_u64().unwrap() >= 60);
    assert_eq!(invoke["DestinationConfig"], json!({"OnFailure": {"Destination": {"Ref": "FailureTopic"}}}));
}

#[test]
fn environment_names_the_topic_every_keyword_and_the_concurrency() {
    let spec = StackSpec { max_concurrency: 24, ..three_schedules() };
    let template = rendered(&spec);
    let (_, function) = only(&template, "AWS::Lambda::Function");
    assert_eq!(
        function["Environment"]["Variables"],
        json!({
            ENV_TOPIC_ARN: {"Ref": "FailureTopic"},
            ENV_KEYWORDS: "SnapshotHourly,SnapshotDaily,Snapshot Weekly",
            ENV_MAX_CONCURRENCY: "24",
        })
    );
}

#[test]
fn each_email_gets_one_subscription_and_no_email_gets_none() {
    let template = rendered(&three_schedules());
    let subscriptions = of_type(&template, "AWS::SNS::Subscription");
    let endpoints: Vec<&Value> = subscriptions.iter().map(|(_, s)| &s["Endpoint"]).collect();
    assert_eq!(endpoints, [&json!("ops@example.com"), &json!("backup-team@example.org")]);
    for (_, subscription) in &subscriptions {
        assert_eq!(subscription["Protocol"], "email");
        assert_eq!(subscription["TopicArn"], json!({"Ref": "FailureTopic"}));
    }
    assert!(of_type(&rendered(&StackSpec::default()), "AWS::SNS::Subscription").is_empty());
}

#[test]
fn reordering_emails_keeps_every_subscription_id() {
    let spec = three_schedules();
    let mut reversed = spec.clone();
    reversed.emails.reverse();
    let ids = |spec: &StackSpec| {
        let template = rendered(spec);
        let mut ids: Vec<String> =
            of_type(&template, "AWS::SNS::Subscription").iter().map(|(id, _)| id.to_string()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&spec), ids(&reversed));
}

#[test]
fn failure_path_is_encrypted_and_alarmed() {
    let template = rendered(&StackSpec::default());
    let (_, topic) = only(&template, "AWS::SNS::Topic");
    assert_eq!(topic["KmsMasterKeyId"], json!({"Ref": "NotificationKey"}));
    let (_, key) = only(&template, "AWS::KMS::Key");
    assert_eq!(key["EnableKeyRotation"], true);
    let cloudwatch_may_use_key = list(&key["KeyPolicy"]["Statement"]).iter().any(|s| {
        s["Principal"] == json!({"Service": "cloudwatch.amazonaws.com"})
            && list(&s["Action"]).contains(&&json!("kms:GenerateDataKey*"))
    });
    assert!(cloudwatch_may_use_key, "alarms cannot publish to the topic without the key");

    let (_, queue) = only(&template, "AWS::SQS::Queue");
    assert_eq!(queue["MessageRetentionPeriod"], 1_209_600);
    assert_eq!(queue["SqsManagedSseEnabled"], true);

    let alarms = of_type(&template, "AWS::CloudWatch::Alarm");
    // One alarm: an alarm on the function's Errors would e-mail a second time for a run whose
    // last retry already reaches the topic as Lambda's OnFailure record (issue #10.6).
    assert_eq!(alarms.len(), 1);
    assert!(!alarms.iter().any(|(_, a)| a["MetricName"] == "Errors"));
    let backlog = alarms.iter().find(|(_, a)| a["MetricName"] == "ApproximateNumberOfMessagesVisible").unwrap().1;
    assert_eq!(backlog["Namespace"], "AWS/SQS");
    assert_eq!(backlog["Dimensions"], json!([{"Name": "QueueName", "Value": get_att("DeadLetterQueue", "QueueName")}]));
    for (_, alarm) in &alarms {
        assert_eq!(alarm["AlarmActions"], json!([{"Ref": "FailureTopic"}]));
    }

    // Exactly the stack's alarms may publish; exactly the stack's rules may dead-letter.
    let (_, topic_policy) = only(&template, "AWS::SNS::TopicPolicy");
    let (alarm_id, _) = &alarms[0];
    assert_eq!(
        topic_policy["PolicyDocument"]["Statement"][0]["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": get_att(alarm_id, "Arn")}})
    );
    let (_, queue_policy) = only(&template, "AWS::SQS::QueuePolicy");
    let rule_arns: Vec<Value> =
        of_type(&template, "AWS::Events::Rule").iter().map(|(id, _)| get_att(id, "Arn")).collect();
    assert_eq!(
        queue_policy["PolicyDocument"]["Statement"][0]["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": rule_arns}})
    );
}

#[test]
fn outputs_name_the_function_topic_queue_and_every_rule() {
    let spec = three_schedules();
    let template = rendered(&spec);
    let outputs = template["Outputs"].as_object().unwrap();
    assert_eq!(outputs["FunctionName"]["Value"], json!({"Ref": "Function"}));
    assert_eq!(outputs["FunctionArn"]["Value"], get_att("Function", "Arn"));
    assert_eq!(outputs["TopicArn"]["Value"], json!({"Ref": "FailureTopic"}));
    assert_eq!(outputs["QueueUrl"]["Value"], json!({"Ref": "DeadLetterQueue"}));
    for schedule in &spec.schedules {
        assert_eq!(
            outputs[&rule_output_key(schedule.keyword.as_str())]["Value"],
            json!({"Ref": rule_logical_id(schedule.keyword.as_str())})
        );
    }
    assert_eq!(outputs.len(), 4 + spec.schedules.len());
}

#[test]
fn code_location_is_a_parameter_without_default() {
    let template = rendered(&StackSpec::default());
    for name in [ARTIFACT_BUCKET_PARAMETER, ARTIFACT_KEY_PARAMETER] {
        let parameter = &template["Parameters"][name];
        assert_eq!(parameter["Type"], "String");
        assert!(parameter.get("Default").is_none(), "{name} has no default");
    }
    let location = CodeLocation { bucket: "artifacts".into(), key: "snapcycle/abc.zip".into() };
    assert_eq!(
        location.parameter_values(),
        [(ARTIFACT_BUCKET_PARAMETER, "artifacts"), (ARTIFACT_KEY_PARAMETER, "snapcycle/abc.zip")]
    );
}

#[test]
fn description_names_snapcycle_and_its_version() {
    let template = rendered(&StackSpec::default());
    let description = template["Description"].as_str().unwrap();
    assert!(description.starts_with(&format!("snapcycle {VERSION}")), "{description}");
    assert!(description.len() <= 1024);
}

#[test]
fn every_reference_points_at_something_the_template_defines() {
    for spec in [three_schedules(), with_copies(), encrypting(Some(ENCRYPT_KEY))] {
        references_point_at_what_the_template_defines(&rendered(&spec));
    }
}

fn references_point_at_what_the_template_defines(template: &Value) {
    let template = template.clone();
    let defined = |name: &str| {
        name.starts_with("AWS::")
            || resources(&template).contains_key(name)
            || template["Parameters"].get(name).is_some()
    };
    fn visit(value: &Value, check: &mut dyn FnMut(&str)) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(name)) = map.get("Ref") {
                    check(name);
                }
                if let Some(att) = map.get("Fn::GetAtt") {
                    check(att[0].as_str().unwrap());
                }
                if let Some(Value::String(text)) = map.get("Fn::Sub") {
                    for part in text.split("${").skip(1) {
                        let name = part.split('}').next().unwrap();
                        check(name.split('.').next().unwrap());
                    }
                }
                map.values().for_each(|v| visit(v, check));
            }
            Value::Array(items) => items.iter().for_each(|v| visit(v, check)),
            _ => {}
        }
    }
    visit(&template, &mut |name| assert!(defined(name), "reference to undefined {name}"));
}

#[test]
fn logical_ids_are_alphanumeric() {
    for spec in [three_schedules(), with_copies(), encrypting(None)] {
        let template = rendered(&spec);
        for id in resources(&template).keys().chain(template["Outputs"].as_object().unwrap().keys()) {
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric()) && id.len() <= 255, "{id}");
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    for spec in [StackSpec::default(), three_schedules(), with_copies(), encrypting(Some(ENCRYPT_KEY))] {
        let first = render_string(&spec).unwrap();
        let second = render_string(&spec).unwrap();
        assert_eq!(first, second);
        assert!(first.ends_with("}\n") && !first.ends_with("\n\n"));
        let reparsed: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(reparsed, rendered(&spec));
        // Key order is part of the output, not only the values.
        assert_eq!(serde_json::to_string_pretty(&reparsed).unwrap() + "\n", first);
    }
}

#[test]
fn what_each_rule_delivers_is_an_event_the_function_accepts() {
    // The function reads its keywords with core's parser and each event with core's contract;
    // the stack must produce exactly what those accept.
    let spec = three_schedules();
    let template = rendered(&spec);
    let (_, function) = only(&template, "AWS::Lambda::Function");
    let keywords = Keyword::parse_list(function["Environment"]["Variables"][ENV_KEYWORDS].as_str().unwrap())
        .expect("the function accepts its keyword list");
    let expected: Vec<Keyword> = spec.schedules.iter().map(|s| s.keyword.clone()).collect();
    assert_eq!(keywords, expected);

    for schedule in &spec.schedules {
        let rule = &resources(&template)[&rule_logical_id(schedule.keyword.as_str())];
        let input_template = rule["Properties"]["Targets"][0]["InputTransformer"]["InputTemplate"].as_str().unwrap();
        let delivered = input_template.replace("<time>", "\"2025-01-01T00:00:00Z\"");
        let event: Value = serde_json::from_str(&delivered).unwrap();
        let request = Event::parse(&event, &keywords).expect("the function accepts the event");
        assert_eq!(request.keyword, schedule.keyword);
        assert_eq!(request.scheduled_time.map(|t| t.to_rfc3339()), Some("2025-01-01T00:00:00+00:00".to_owned()));
        assert!(!request.dry_run);
    }
}

#[test]
fn rules_carry_the_canonical_expression() {
    let spec = StackSpec::for_schedules(vec![Schedule::new("SnapshotWeekdays", "cron(0 18 ? * mon-fri *)").unwrap()]);
    let template = rendered(&spec);
    let (_, rule) = only(&template, "AWS::Events::Rule");
    assert_eq!(rule["ScheduleExpression"], "cron(0 18 ? * MON-FRI *)");
}

/// Moving a stack from rules to schedules in one deploy neither misses nor doubles a fire: the
/// change set adds the schedules before it removes the rules (CloudFormation deletes removed
/// resources last), and for the same instant a rule's event (EventBridge's `time`) and a
/// schedule's (`<aws.scheduler.scheduled-time>`) are the same run to the function, so a fire that
/// both deliver while the two coexist is one run and the second delivery takes nothing new.
#[test]
fn a_rule_and_a_schedule_firing_at_the_same_instant_are_one_run() {
    let utc = StackSpec {
        schedules: vec![Schedule::new("SnapshotDaily", "cron(0 0 * * ? *)").unwrap()],
        ..StackSpec::default()
    };
    let zoned = StackSpec {
        schedules: vec![Schedule::new("SnapshotDaily", "cron(0 8 * * ? *)").unwrap()],
        time_zone: Some(chrono_tz::Asia::Shanghai),
        ..StackSpec::default()
    };
    let rules = rendered(&utc);
    let schedules = rendered(&zoned);
    let rule = &resources(&rules)["ScheduleSnapshotDailyRule"]["Properties"]["Targets"][0]["InputTransformer"];
    assert_eq!(rule["InputPathsMap"]["time"], "$.time");
    let schedule = &resources(&schedules)["ScheduleSnapshotDailySchedule"]["Properties"];
    assert_eq!(schedule["ScheduleExpressionTimezone"], "Asia/Shanghai");
    // EventBridge's scheduled event carries `"time": "2026-11-26T00:00:00Z"`; Scheduler's context
    // attribute is the same RFC 3339 text ("Adding context attributes", its user guide).
    let from_rule = rule["InputTemplate"].as_str().unwrap().replace("<time>", "\"2026-11-26T00:00:00Z\"");
    let from_schedule =
        schedule["Target"]["Input"].as_str().unwrap().replace("<aws.scheduler.scheduled-time>", "2026-11-26T00:00:00Z");
    let a = Event::from_value(&serde_json::from_str(&from_rule).unwrap()).unwrap();
    let b = Event::from_value(&serde_json::from_str(&from_schedule).unwrap()).unwrap();
    assert_eq!(a, b, "one run, one identity");
    assert!(resources(&schedules).keys().all(|k| !k.ends_with("Rule") && !k.ends_with("Permission")));
    assert!(!resources(&schedules).contains_key("DeadLetterQueuePolicy"), "Scheduler dead-letters with its role");
    let env = &resources(&schedules)["Function"]["Properties"]["Environment"]["Variables"];
    assert_eq!(env["SNAPCYCLE_TIME_ZONE"], "Asia/Shanghai", "a policy's days begin where the schedule fires");
    assert!(resources(&rules)["Function"]["Properties"]["Environment"]["Variables"]
        .get("SNAPCYCLE_TIME_ZONE")
        .is_none());
}

#[test]
fn the_scheduler_role_invokes_only_the_function_and_trusts_only_this_accounts_schedules() {
    let spec = StackSpec { time_zone: Some(chrono_tz::Asia::Shanghai), ..StackSpec::default() };
    let t = rendered(&spec);
    let role = &resources(&t)["EventSchedulerRole"]["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"], json!({"Service": "scheduler.amazonaws.com"}));
    assert_eq!(trust["Condition"], json!({"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}));
    let statements = role["Policies"][0]["PolicyDocument"]["Statement"].as_array().unwrap();
    let grants: Vec<(&str, &Value)> =
        statements.iter().map(|s| (s["Action"].as_str().unwrap(), &s["Resource"])).collect();
    assert_eq!(
        grants,
        [
            ("lambda:InvokeFunction", &json!({"Fn::GetAtt": ["Function", "Arn"]})),
            ("sqs:SendMessage", &json!({"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})),
        ]
    );
    let keyword = "SnapshotDaily";
    let target = &resources(&t)[&format!("Schedule{keyword}Schedule")]["Properties"]["Target"];
    assert_eq!(target["RoleArn"], json!({"Fn::GetAtt": ["EventSchedulerRole", "Arn"]}));
    assert_eq!(target["RetryPolicy"], json!({"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 185}));
    assert_eq!(target["DeadLetterConfig"], json!({"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}));
    assert_eq!(
        t["Outputs"][&format!("Schedule{keyword}ScheduleName")]["Value"],
        json!({"Ref": format!("Schedule{keyword}Schedule")})
    );
}

/// A rate is the same interval in every zone, and EventBridge Scheduler fires a rate schedule
/// without a start date the moment it is created ("Schedule types", rate-based schedules), so
/// moving one to Scheduler would add a run on every deploy that creates or replaces it. With a
/// zone only crons move; a rate keeps its rule, its permission and the queue policy for its
/// dead letters, and a stack of rates alone has no Scheduler role.
#[test]
fn in_a_time_zone_a_rate_stays_a_rule_and_only_crons_move_to_scheduler() {
    let spec = StackSpec { time_zone: Some(chrono_tz::Asia::Shanghai), ..StackSpec::default() };
    assert_eq!(spec.schedules[0].expression.to_string(), "rate(1 hour)", "the default stack has a rate");
    let t = rendered(&spec);
    let r = resources(&t);
    assert_eq!(r["ScheduleSnapshotHourlyRule"]["Properties"]["ScheduleExpression"], "rate(1 hour)");
    assert!(r.contains_key("ScheduleSnapshotHourlyPermission"));
    assert!(!r.contains_key("ScheduleSnapshotHourlySchedule"));
    assert!(r.contains_key("ScheduleSnapshotDailySchedule") && !r.contains_key("ScheduleSnapshotDailyRule"));
    let policy = &r["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        policy["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!({"Fn::GetAtt": ["ScheduleSnapshotHourlyRule", "Arn"]}),
        "{policy}"
    );

    let rates_only = StackSpec {
        schedules: vec![Schedule::new("SnapshotHourly", "rate(1 hour)").unwrap()],
        time_zone: Some(chrono_tz::Asia::Shanghai),
        ..StackSpec::default()
    };
    let t = rendered(&rates_only);
    assert!(!resources(&t).contains_key("EventSchedulerRole"), "no role without a schedule to assume it");
    assert!(resources(&t).contains_key("ScheduleSnapshotHourlyRule"));
    let env = &resources(&t)["Function"]["Properties"]["Environment"]["Variables"];
    assert_eq!(env["SNAPCYCLE_TIME_ZONE"], "Asia/Shanghai", "a policy's days still begin in the zone");
}

/// `--recycle-bin-days 7`: one tag-level retention rule for snapshots, one `snapcycle:keyword = K`
/// pair per keyword in the schedules' order (the rule retains a snapshot that has any one pair),
/// the days in `DAYS`, no lock, and the days as an output `deploy` reads back. The function's
/// role gains nothing: deleting into the bin is DeleteSnapshot.
#[test]
fn a_recycle_bin_rule_retains_every_keywords_marked_snapshots_for_the_days_given() {
    let without = rendered(&three_schedules());
    let spec = StackSpec { recycle_bin_days: Some(7), ..three_schedules() };
    let template = rendered(&spec);
    let (id, rule) = only(&template, "AWS::Rbin::Rule");
    assert_eq!(id, "RecycleBinRule");
    assert_eq!(rule["ResourceType"], "EBS_SNAPSHOT");
    assert_eq!(rule["RetentionPeriod"], json!({"RetentionPeriodValue": 7, "RetentionPeriodUnit": "DAYS"}));
    let pairs: Vec<Value> = spec
        .schedules
        .iter()
        .map(|s| json!({"ResourceTagKey": TAG_KEYWORD, "ResourceTagValue": s.keyword.as_str()}))
        .collect();
    assert_eq!(rule["ResourceTags"], Value::Array(pairs));
    assert_eq!(rule["ResourceTags"][2]["ResourceTagValue"], "Snapshot Weekly", "a keyword with a space, as is");
    assert!(rule.get("LockConfiguration").is_none(), "a tag-level rule cannot be locked");
    assert!(rule.get("ExcludeResourceTags").is_none());
    let description = rule["Description"].as_str().unwrap();
    assert!(description.len() <= 255 && !description.contains(['\n', '\t']), "{description}");
    assert!(description.contains("7 days"), "{description}");
    assert_eq!(template["Outputs"]["RecycleBinRetentionDays"]["Value"], "7");

    assert_eq!(role_statements(&template), role_statements(&without), "the role is the same with and without");
    let mut others = template.clone();
    others["Resources"].as_object_mut().unwrap().remove("RecycleBinRule");
    others["Outputs"].as_object_mut().unwrap().remove("RecycleBinRetentionDays");
    assert_eq!(others, without, "the rule and its output are all the flag adds");
}

#[test]
fn without_the_flag_there_is_no_recycle_bin_rule_and_the_checked_in_template_has_none() {
    for spec in [StackSpec::default(), three_schedules()] {
        let template = rendered(&spec);
        assert!(of_type(&template, "AWS::Rbin::Rule").is_empty());
        assert!(template["Outputs"].get("RecycleBinRetentionDays").is_none());
    }
    let golden = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/snapcycle.json"),
    )
    .unwrap();
    assert!(!golden.contains("AWS::Rbin::Rule"));
}

/// A key of the second destination; the first is copied to with its default EBS key.
const COPY_KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// `--copy-to us-west-2 --copy-to eu-west-1 --copy-kms-key eu-west-1=<key> --copy-retention ...`.
fn with_copies() -> StackSpec {
    StackSpec {
        copy_to: vec![
            CopyTarget { region: "us-west-2".to_owned(), kms_key: None },
            CopyTarget { region: "eu-west-1".to_owned(), kms_key: Some(COPY_KEY.to_owned()) },
        ],
        copy_retention: Some(RetentionPolicy::parse("daily=7 weekly=4").unwrap()),
        ..three_schedules()
    }
}

fn copy_snapshot_arn(region: &str) -> Value {
    json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ec2:{region}::snapshot/*") })
}

fn statement_with_sid<'a>(template: &'a Value, sid: &str) -> &'a Value {
    let found: Vec<&Value> = role_statements(template).into_iter().filter(|s| s["Sid"] == sid).collect();
    assert_eq!(found.len(), 1, "one statement {sid}");
    found[0]
}

/// The function reads `SNAPCYCLE_COPY_TO` and `SNAPCYCLE_COPY_RETENTION` with core's own parsers;
/// the template writes what they read back as the spec.
#[test]
fn copies_set_the_functions_environment_as_core_reads_it() {
    let spec = with_copies();
    let template = rendered(&spec);
    let env = &resources(&template)["Function"]["Properties"]["Environment"]["Variables"];
    assert_eq!(env[ENV_COPY_TO], format!("us-west-2,eu-west-1={COPY_KEY}"));
    assert_eq!(parse_copy_targets(env[ENV_COPY_TO].as_str().unwrap()).unwrap(), spec.copy_to);
    let retention = RetentionPolicy::parse(env[ENV_COPY_RETENTION].as_str().unwrap()).unwrap();
    assert_eq!(Some(retention), spec.copy_retention);

    let without_retention = rendered(&StackSpec { copy_retention: None, ..with_copies() });
    let env = &resources(&without_retention)["Function"]["Properties"]["Environment"]["Variables"];
    assert!(env.get(ENV_COPY_RETENTION).is_none(), "each copy keeps its source's retention");
    assert!(env.get(ENV_COPY_TO).is_some());
}

/// Matches `event` against an EventBridge pattern of exact values (all the copy rule uses): every
/// key of the pattern is in the event, an array lists the values accepted, an object nests.
fn matches(pattern: &Value, event: &Value) -> bool {
    pattern.as_object().unwrap().iter().all(|(key, want)| match (want, event.get(key)) {
        (Value::Array(values), Some(got)) => values.contains(got),
        (Value::Object(_), Some(got)) => matches(want, got),
        _ => false,
    })
}

/// One rule on the default bus sends EC2's "snapshot completed" events, whole, to the function,
/// with the schedules' retry budget and the stack's dead-letter queue; one permission lets exactly
/// that rule invoke it, and the queue policy lets it dead-letter. The pattern matches the EBS User
/// Guide's sample events ("Amazon EventBridge events for Amazon EBS") for a completed
/// `createSnapshots` set and `createSnapshot`, not a failed set and not a completed copy (a copy
/// into this region must not be copied on).
#[test]
fn a_rule_sends_each_snapshot_completion_event_whole_to_the_function() {
    let template = rendered(&with_copies());
    let r = resources(&template);
    let rule = &r["SnapshotCompletedRule"];
    assert_eq!(rule["Type"], "AWS::Events::Rule");
    let rule = &rule["Properties"];
    assert_eq!(
        rule["EventPattern"],
        json!({
            "source": ["aws.ec2"],
            "detail-type": ["EBS Snapshot Notification", "EBS Multi-Volume Snapshots Completion Status"],
            "detail": {"event": ["createSnapshot", "createSnapshots"], "result": ["succeeded"]}
        })
    );
    assert!(rule.get("ScheduleExpression").is_none() && rule.get("EventBusName").is_none(), "{rule}");
    assert_eq!(rule["State"], "ENABLED");
    assert_eq!(
        rule["Targets"],
        json!([{
            "Id": "snapcycle-function",
            "Arn": get_att("Function", "Arn"),
            "RetryPolicy": {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 185},
            "DeadLetterConfig": {"Arn": get_att("DeadLetterQueue", "Arn")}
        }]),
        "no Input, InputPath or InputTransformer: the function gets the event itself"
    );

    let permission = &r["SnapshotCompletedPermission"]["Properties"];
    assert_eq!(
        *permission,
        json!({
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": "Function"},
            "Principal": "events.amazonaws.com",
            "SourceArn": get_att("SnapshotCompletedRule", "Arn")
        })
    );
    let dead_letters = &r["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert!(
        list(&dead_letters["Condition"]["ArnEquals"]["aws:SourceArn"])
            .contains(&&get_att("SnapshotCompletedRule", "Arn")),
        "{dead_letters}"
    );

    let pattern = &rule["EventPattern"];
    let event = |detail_type: &str, name: &str, result: &str| {
        json!({
            "version": "0", "detail-type": detail_type, "source": "aws.ec2", "account": "012345678901",
            "region": "us-east-1", "resources": ["arn:aws:ec2::us-east-1:snapshot/snap-01234567"],
            "detail": {"event": name, "result": result, "cause": "", "request-id": ""}
        })
    };
    let set = "EBS Multi-Volume Snapshots Completion Status";
    assert!(matches(pattern, &event(set, "createSnapshots", "succeeded")));
    assert!(matches(pattern, &event("EBS Snapshot Notification", "createSnapshot", "succeeded")));
    assert!(!matches(pattern, &event(set, "createSnapshots", "failed")));
    assert!(!matches(pattern, &event("EBS Snapshot Notification", "copySnapshot", "succeeded")));
    assert!(!matches(pattern, &event("EBS Snapshot Notification", "shareSnapshot", "succeeded")));
}

/// The source side of CopySnapshot: this region's snapshots, only marked with one of the stack's
/// keywords. The destination side: each destination's snapshots, only created with the marker for
/// one of the keywords and this region as their source; tags only while copying; deletes of copies
/// only with both the marker and the keyword tag, per keyword, as in the source region.
#[test]
fn copies_are_created_tagged_and_deleted_only_with_the_marker() {
    let spec = with_copies();
    let template = rendered(&spec);
    let keywords: Vec<&str> = spec.schedules.iter().map(|s| s.keyword.as_str()).collect();
    let destinations = json!([copy_snapshot_arn("us-west-2"), copy_snapshot_arn("eu-west-1")]);

    let source = statement_with_sid(&template, "CopyOnlyMarkedSnapshots");
    assert_eq!(source["Action"], "ec2:CopySnapshot");
    assert_eq!(source["Resource"], snapshot_arn());
    assert_eq!(source["Condition"], json!({"StringEquals": {format!("ec2:ResourceTag/{TAG_KEYWORD}"): keywords}}));

    let copies = statement_with_sid(&template, "CreateOnlyMarkedCopies");
    assert_eq!(copies["Action"], "ec2:CopySnapshot");
    assert_eq!(copies["Resource"], destinations);
    let marker = format!("aws:RequestTag/{TAG_KEYWORD}");
    assert_eq!(
        copies["Condition"],
        json!({
            "Null": {marker.clone(): "false"},
            "StringEquals": {marker: keywords, "aws:RequestTag/snapcycle:source-region": {"Ref": "AWS::Region"}}
        })
    );
    assert_eq!(statements_with_action(&template, "ec2:CopySnapshot").len(), 2);

    let tags = statement_with_sid(&template, "TagCopiesOnCreation");
    assert_eq!(tags["Resource"], destinations);
    assert_eq!(tags["Condition"], json!({"StringEquals": {"ec2:CreateAction": "CopySnapshot"}}));

    let deletes = statements_with_action(&template, "ec2:DeleteSnapshot");
    assert_eq!(deletes.len(), keywords.len(), "still one delete statement per keyword");
    for (statement, keyword) in deletes.iter().zip(&keywords) {
        assert_eq!(
            statement["Resource"],
            json!([snapshot_arn(), copy_snapshot_arn("us-west-2"), copy_snapshot_arn("eu-west-1")])
        );
        assert_eq!(
            statement["Condition"],
            json!({
                "StringEquals": {format!("ec2:ResourceTag/{TAG_KEYWORD}"): keyword},
                "Null": {format!("ec2:ResourceTag/{keyword}"): "false"},
            })
        );
    }

    // No write on a destination snapshot, or on snapshots of any region, without its guard.
    for statement in role_statements(&template) {
        let resources = list(&statement["Resource"]);
        let on_copies = resources.iter().any(|r| {
            let text = r.to_string();
            text.contains(":ec2:us-west-2:") || text.contains(":ec2:eu-west-1:") || text.contains(":ec2:*:")
        });
        if !on_copies {
            continue;
        }
        assert!(!resources.iter().any(|r| r.to_string().contains(":ec2:*:")), "{statement}");
        let condition = &statement["Condition"];
        let guarded = condition["StringEquals"].get(format!("aws:RequestTag/{TAG_KEYWORD}")).is_some()
            && condition["Null"].get(format!("aws:RequestTag/{TAG_KEYWORD}")).is_some()
            || condition["StringEquals"].get(format!("ec2:ResourceTag/{TAG_KEYWORD}")).is_some()
                && statement["Action"] == "ec2:DeleteSnapshot"
            || condition["StringEquals"]["ec2:CreateAction"] == "CopySnapshot";
        assert!(guarded, "a write on copies without the marker: {statement}");
        for action in list(&statement["Action"]) {
            assert!(
                ["ec2:CopySnapshot", "ec2:CreateTags", "ec2:DeleteSnapshot"].contains(&action.as_str().unwrap()),
                "{statement}"
            );
        }
    }
}

/// KMS on exactly the keys given, as the EBS User Guide lists for EBS encryption (CreateGrant only
/// for AWS resources); a destination on its default EBS key (`aws/ebs`, whose key policy lets the
/// account use it through EC2) adds nothing.
#[test]
fn kms_is_granted_on_exactly_the_given_keys() {
    let template = rendered(&with_copies());
    let grant = statement_with_sid(&template, "GrantCopyKeysToEbs");
    assert_eq!(grant["Action"], "kms:CreateGrant");
    assert_eq!(grant["Resource"], COPY_KEY);
    assert_eq!(grant["Condition"], json!({"Bool": {"kms:GrantIsForAWSResource": "true"}}));
    let data = statement_with_sid(&template, "EncryptCopiesWithTheirKeys");
    assert_eq!(
        data["Action"],
        json!([
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo"
        ])
    );
    assert_eq!(data["Resource"], COPY_KEY);
    let kms: Vec<&Value> = role_statements(&template)
        .into_iter()
        .filter(|s| list(&s["Action"]).iter().any(|a| a.as_str().unwrap().starts_with("kms:")))
        .collect();
    assert_eq!(kms.len(), 3, "the failure topic's key, and the two for the copy key");

    let default_keys =
        StackSpec { copy_to: vec![CopyTarget { region: "us-west-2".to_owned(), kms_key: None }], ..three_schedules() };
    let template = rendered(&default_keys);
    assert!(statements_with_action(&template, "kms:CreateGrant").is_empty());
    assert!(statements_with_action(&template, "kms:DescribeKey").is_empty());
}

/// The partition of a copy is the stack's: destination ARNs use `${AWS::Partition}`; the only
/// literal partition is in the key ARNs the user gave, which `render` checks against their region.
#[test]
fn copy_arns_are_in_the_deploy_time_partition_but_the_keys_given() {
    let template = rendered(&with_copies());
    each_string(&template, &mut |s| {
        let s = s.replace(COPY_KEY, "");
        assert!(!s.contains("arn:aws"), "literal partition in {s:?}");
    });
}

/// Without `--copy-to` nothing of it is rendered, and the checked-in template has none of it.
#[test]
fn without_copies_there_is_no_copy_rule_permission_or_environment() {
    for spec in [StackSpec::default(), three_schedules()] {
        let template = rendered(&spec);
        assert!(!resources(&template).contains_key("SnapshotCompletedRule"));
        assert!(!resources(&template).contains_key("SnapshotCompletedPermission"));
        for (_, rule) in of_type(&template, "AWS::Events::Rule") {
            assert!(rule.get("EventPattern").is_none());
        }
        let env = &resources(&template)["Function"]["Properties"]["Environment"]["Variables"];
        assert!(env.get(ENV_COPY_TO).is_none() && env.get(ENV_COPY_RETENTION).is_none());
        assert!(statements_with_action(&template, "ec2:CopySnapshot").is_empty());
        for delete in statements_with_action(&template, "ec2:DeleteSnapshot") {
            assert_eq!(delete["Resource"], snapshot_arn());
        }
    }
    let golden = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/snapcycle.json"),
    )
    .unwrap();
    assert!(!golden.contains("CopySnapshot") && !golden.contains(ENV_COPY_TO) && !golden.contains("EventPattern"));
}

/// A key of the stack's region for `--encrypt --kms-key`.
const ENCRYPT_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// `--encrypt`, with `--kms-key key` when given, on the three schedules.
fn encrypting(key: Option<&str>) -> StackSpec {
    StackSpec { encrypt: Some(EncryptInPlace { kms_key: key.map(str::to_owned) }), ..three_schedules() }
}

/// The function reads `SNAPCYCLE_ENCRYPT` with core's `parse_encrypt`: `default` for the region's
/// default EBS key, the key ARN for `--kms-key`; what it reads back is the spec's. Nothing of the
/// copies to other regions is set.
#[test]
fn encryption_in_place_sets_the_functions_environment_as_core_reads_it() {
    for key in [None, Some(ENCRYPT_KEY)] {
        let spec = encrypting(key);
        let template = rendered(&spec);
        let env = &resources(&template)["Function"]["Properties"]["Environment"]["Variables"];
        assert_eq!(env[ENV_ENCRYPT], key.unwrap_or("default"));
        assert_eq!(parse_encrypt(env[ENV_ENCRYPT].as_str().unwrap()).unwrap(), spec.encrypt);
        assert!(env.get(ENV_COPY_TO).is_none() && env.get(ENV_COPY_RETENTION).is_none(), "{env}");
    }
}

/// With `--encrypt` the completion rule is there as for copies (same id, target, retry budget,
/// dead-letter queue, permission and queue policy), and its pattern also takes EC2's
/// `copySnapshot` event that succeeded: a copy in place completed, and its original goes.
#[test]
fn with_encryption_the_completion_rule_also_brings_completed_copies() {
    let template = rendered(&encrypting(None));
    let r = resources(&template);
    let rule = &r["SnapshotCompletedRule"];
    assert_eq!(rule["Type"], "AWS::Events::Rule");
    let rule = &rule["Properties"];
    assert_eq!(
        rule["EventPattern"],
        json!({
            "source": ["aws.ec2"],
            "detail-type": ["EBS Snapshot Notification", "EBS Multi-Volume Snapshots Completion Status"],
            "detail": {"event": ["createSnapshot", "createSnapshots", "copySnapshot"], "result": ["succeeded"]}
        })
    );
    let description = rule["Description"].as_str().unwrap();
    assert!(description.len() <= 512 && description.contains("encrypts"), "{description}");
    let copies = rendered(&with_copies());
    let copy_rule = &resources(&copies)["SnapshotCompletedRule"]["Properties"];
    assert_eq!(rule["Targets"], copy_rule["Targets"], "the same target, retry policy and dead-letter queue");
    assert_eq!(rule["State"], "ENABLED");
    assert_eq!(
        r["SnapshotCompletedPermission"]["Properties"],
        resources(&copies)["SnapshotCompletedPermission"]["Properties"]
    );
    let dead_letters = &r["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert!(
        list(&dead_letters["Condition"]["ArnEquals"]["aws:SourceArn"])
            .contains(&&get_att("SnapshotCompletedRule", "Arn")),
        "{dead_letters}"
    );

    let pattern = &rule["EventPattern"];
    let event = |detail_type: &str, name: &str, result: &str| {
        json!({
            "version": "0", "detail-type": detail_type, "source": "aws.ec2", "account": "012345678901",
            "region": "us-east-1", "resources": ["arn:aws:ec2::us-east-1:snapshot/snap-01234567"],
            "detail": {"event": name, "result": result, "cause": "", "request-id": "",
                       "snapshot_id": "arn:aws:ec2::us-east-1:snapshot/snap-01234567",
                       "source": "arn:aws:ec2::us-east-1:snapshot/snap-76543210"}
        })
    };
    let set = "EBS Multi-Volume Snapshots Completion Status";
    assert!(matches(pattern, &event(set, "createSnapshots", "succeeded")));
    assert!(matches(pattern, &event("EBS Snapshot Notification", "createSnapshot", "succeeded")));
    assert!(matches(pattern, &event("EBS Snapshot Notification", "copySnapshot", "succeeded")));
    assert!(!matches(pattern, &event("EBS Snapshot Notification", "copySnapshot", "failed")));
    assert!(!matches(pattern, &event(set, "createSnapshots", "failed")));
    assert!(!matches(pattern, &event("EBS Snapshot Notification", "shareSnapshot", "succeeded")));
}

/// The source side of the copy in place: this region's snapshots, only marked with one of the
/// keywords. The copy: this region's snapshots, only created with the marker for one of the
/// keywords and a `snapcycle:source-snapshot`, and no source region (a copy in place has none);
/// tags only while copying. Deleting the original needs nothing new: the per-keyword delete
/// statements, on this region's snapshots only, already require its marker and keyword tag.
#[test]
fn encryption_in_place_copies_only_marked_snapshots_into_marked_copies_of_this_region() {
    let spec = encrypting(None);
    let template = rendered(&spec);
    let keywords: Vec<&str> = spec.schedules.iter().map(|s| s.keyword.as_str()).collect();

    let source = statement_with_sid(&template, "EncryptOnlyMarkedSnapshots");
    assert_eq!(source["Action"], "ec2:CopySnapshot");
    assert_eq!(source["Resource"], snapshot_arn());
    assert_eq!(source["Condition"], json!({"StringEquals": {format!("ec2:ResourceTag/{TAG_KEYWORD}"): keywords}}));

    let copies = statement_with_sid(&template, "CreateOnlyMarkedEncryptedCopies");
    assert_eq!(copies["Action"], "ec2:CopySnapshot");
    assert_eq!(copies["Resource"], snapshot_arn());
    let marker = format!("aws:RequestTag/{TAG_KEYWORD}");
    assert_eq!(
        copies["Condition"],
        json!({
            "Null": {marker.clone(): "false", "aws:RequestTag/snapcycle:source-snapshot": "false"},
            "StringEquals": {marker: keywords}
        })
    );
    assert_eq!(statements_with_action(&template, "ec2:CopySnapshot").len(), 2);
    assert!(!template.to_string().contains("snapcycle:source-region"), "only copies to other regions name it");

    let tags = statements_with_action(&template, "ec2:CreateTags");
    assert_eq!(tags.len(), 2, "on creation of a set, and of a copy");
    let on_copy = statement_with_sid(&template, "TagEncryptedCopiesOnCreation");
    assert_eq!(on_copy["Resource"], snapshot_arn());
    assert_eq!(on_copy["Condition"], json!({"StringEquals": {"ec2:CreateAction": "CopySnapshot"}}));

    let deletes = statements_with_action(&template, "ec2:DeleteSnapshot");
    assert_eq!(deletes, statements_with_action(&rendered(&three_schedules()), "ec2:DeleteSnapshot"));
    for (statement, keyword) in deletes.iter().zip(&keywords) {
        assert_eq!(statement["Resource"], snapshot_arn(), "this region's snapshots only");
        assert_eq!(
            statement["Condition"],
            json!({
                "StringEquals": {format!("ec2:ResourceTag/{TAG_KEYWORD}"): keyword},
                "Null": {format!("ec2:ResourceTag/{keyword}"): "false"},
            })
        );
    }

    // Every EC2 write stays in this region, and none names another.
    for statement in role_statements(&template) {
        let text = statement["Resource"].to_string();
        if text.contains(":ec2:") {
            assert!(text.contains(":ec2:${AWS::Region}:"), "{statement}");
        }
    }
    // What the flag adds to the role is these three statements, and nothing else changes.
    let plain = rendered(&three_schedules());
    let without: Vec<&Value> = role_statements(&plain);
    let with: Vec<&Value> = role_statements(&template);
    assert!(without.iter().all(|s| with.contains(s)), "every statement of the stack without it is kept as is");
    let added: Vec<&Value> = with.into_iter().filter(|s| !without.contains(s)).collect();
    let sids: Vec<&Value> = added.iter().map(|s| &s["Sid"]).collect();
    assert_eq!(
        sids,
        [
            &json!("EncryptOnlyMarkedSnapshots"),
            &json!("CreateOnlyMarkedEncryptedCopies"),
            &json!("TagEncryptedCopiesOnCreation")
        ]
    );
}

/// KMS on exactly the key given with `--kms-key`, with the actions of the copy key statements
/// (CreateGrant only for AWS resources); the region's default EBS key adds nothing.
#[test]
fn encryption_kms_is_granted_on_exactly_the_given_key_and_nothing_for_the_default() {
    let template = rendered(&encrypting(Some(ENCRYPT_KEY)));
    let grant = statement_with_sid(&template, "GrantEncryptionKeyToEbs");
    assert_eq!(grant["Action"], "kms:CreateGrant");
    assert_eq!(grant["Resource"], ENCRYPT_KEY);
    assert_eq!(grant["Condition"], json!({"Bool": {"kms:GrantIsForAWSResource": "true"}}));
    let data = statement_with_sid(&template, "EncryptInPlaceWithTheKey");
    let copies = rendered(&with_copies());
    assert_eq!(data["Action"], statement_with_sid(&copies, "EncryptCopiesWithTheirKeys")["Action"]);
    assert_eq!(data["Resource"], ENCRYPT_KEY);
    assert!(data.get("Condition").is_none());
    let kms: Vec<&Value> = role_statements(&template)
        .into_iter()
        .filter(|s| list(&s["Action"]).iter().any(|a| a.as_str().unwrap().starts_with("kms:")))
        .collect();
    assert_eq!(kms.len(), 3, "the failure topic's key, and the two for the encryption key");
    each_string(&template, &mut |s| {
        let s = s.replace(ENCRYPT_KEY, "");
        assert!(!s.contains("arn:aws"), "literal partition in {s:?}");
    });

    let default_key = rendered(&encrypting(None));
    assert!(statements_with_action(&default_key, "kms:CreateGrant").is_empty());
    assert!(statements_with_action(&default_key, "kms:DescribeKey").is_empty());
    let kms: Vec<&Value> = role_statements(&default_key)
        .into_iter()
        .filter(|s| list(&s["Action"]).iter().any(|a| a.as_str().unwrap().starts_with("kms:")))
        .collect();
    assert_eq!(kms.len(), 1, "only the failure topic's key");
}

/// Without `--encrypt` nothing of it is rendered: no variable, no copy statement, no completion
/// rule; the checked-in template has none of it.
#[test]
fn without_encryption_there_is_no_encrypt_environment_rule_or_statement() {
    for spec in [StackSpec::default(), three_schedules(), with_copies()] {
        let template = rendered(&spec);
        let env = &resources(&template)["Function"]["Properties"]["Environment"]["Variables"];
        assert!(env.get(ENV_ENCRYPT).is_none(), "{env}");
        for sid in ["EncryptOnlyMarkedSnapshots", "CreateOnlyMarkedEncryptedCopies", "TagEncryptedCopiesOnCreation"] {
            assert!(role_statements(&template).iter().all(|s| s["Sid"] != sid), "{sid}");
        }
        assert!(!template.to_string().contains("copySnapshot"));
    }
    let golden = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/snapcycle.json"),
    )
    .unwrap();
    assert!(!golden.contains(ENV_ENCRYPT) && !golden.contains("copySnapshot") && !golden.contains("kms:CreateGrant"));
}

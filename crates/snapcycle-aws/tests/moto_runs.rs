//! Whole runs against moto's server: the scenarios the README's "How it decides" promises.

mod common;

use common::*;
use snapcycle_core::tags::{device_of, TAG_DEVICES, TAG_INSTANCE, TAG_KEYWORD, TAG_RUN};
use snapcycle_testkit::seed::{self, keyword_snapshot, keyword_snapshots_of, snapshots_of, tag};
use snapcycle_testkit::Moto;

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_every_volume_copies_tags_and_keeps_the_newest_n() {
    // Snapshots stay pending as on EC2: rotation is decided from the history alone, so this run's
    // new snapshots play no part in what it deletes.
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let web = seed::instance(&ec2, &[(DAILY, "2"), ("Name", "web"), ("Env", "prod"), (HOURLY, "24")], 2).await;
    let mut old = Vec::new();
    for day in 20..23 {
        for v in 0..2 {
            old.push(keyword_snapshot(&ec2, &web, v, DAILY, "2", &format!("2026-11-{day}T00:00:00Z")).await);
        }
    }
    let r = runner(&moto, stack_settings()).await;
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;

    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!((report.instances, report.volumes, report.created.len()), (1, 2, 2));
    // The new snapshots count from the next run: of the 3 completed per volume the newest 2 stay,
    // the oldest (20 Nov) goes, and each volume holds 2 completed plus the one just taken.
    let mut deleted: Vec<&str> = report.deleted.iter().map(|d| d.snapshot_id.as_str()).collect();
    deleted.sort();
    let mut oldest = vec![old[0].as_str(), old[1].as_str()];
    oldest.sort();
    assert_eq!(deleted, oldest, "{report:#?}");
    // One set: both volumes at one instant, with the same tags and the instance's device map (in
    // the order the instance lists its volumes).
    let described = ec2.describe_instances().instance_ids(&web.instance_id).send().await.unwrap();
    let devices: Vec<String> = described.reservations()[0].instances()[0]
        .block_device_mappings()
        .iter()
        .filter_map(|m| Some(format!("{}={}", m.ebs()?.volume_id()?, m.device_name()?)))
        .collect();
    assert_eq!(devices.len(), 2, "{devices:?}");
    let mut starts = Vec::new();
    for (device, volume_id) in &web.volumes {
        let snaps = keyword_snapshots_of(&ec2, volume_id, DAILY).await;
        assert_eq!(snaps.len(), 3, "{volume_id}");
        let newest = snaps.last().unwrap();
        assert_eq!(tag(newest, TAG_RUN), Some("2026-11-26T00:00:00Z"));
        assert_eq!(tag(newest, TAG_KEYWORD), Some(DAILY));
        assert_eq!(tag(newest, TAG_INSTANCE), Some(web.instance_id.as_str()));
        assert_eq!(tag(newest, TAG_DEVICES), Some(devices.join(" ").as_str()));
        let own: Vec<snapcycle_core::Tag> = newest
            .tags()
            .iter()
            .map(|t| snapcycle_core::Tag::new(t.key().unwrap_or_default(), t.value().unwrap_or_default()))
            .collect();
        assert_eq!(device_of(&own, volume_id), Some(device.as_str()));
        starts.push(newest.start_time().cloned());
        assert_eq!(tag(newest, DAILY), Some("2"));
        assert_eq!(tag(newest, "Name"), Some("web"));
        assert_eq!(tag(newest, "Env"), Some("prod"));
        assert_eq!(tag(newest, HOURLY), None, "another schedule's keyword is never copied");
        assert_eq!(
            newest.description(),
            Some(format!("snapcycle {DAILY} web ({}, 2 volumes)", web.instance_id).as_str())
        );
        assert_eq!(tag(&snaps[0], TAG_RUN), Some("2026-11-21T00:00:00Z"));
        assert_eq!(tag(&snaps[1], TAG_RUN), Some("2026-11-22T00:00:00Z"));
    }
    assert_eq!(starts[0], starts[1], "the set's snapshots start at one instant");
    assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&1), "one call per instance");
    assert_eq!(report.api_calls.get("CreateSnapshot"), None);
    assert_eq!(report.api_calls.get("DeleteSnapshot"), Some(&2));
    assert_eq!(report.api_calls.get("DescribeInstances"), Some(&1));
    // One read of the history beside the instances, one of this run's snapshots after creating
    // (for a duplicate a retried creation may have left).
    assert_eq!(report.api_calls.get("DescribeSnapshots"), Some(&2));
    assert_eq!((report.snapshots, report.run_snapshots), (Some(6), Some(2)), "{report:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_keywords_on_one_instance_never_touch_each_other() {
    // Snapshots stay pending as on EC2: each run rotates its stream from the history it read.
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let db = seed::instance(&ec2, &[(DAILY, "1"), (HOURLY, "2")], 1).await;
    let vol = db.volumes[0].1.clone();
    // The classic lab copied every instance tag, so old snapshots of both streams carry both keys.
    let mut daily = Vec::new();
    let mut hourly = Vec::new();
    for h in 0..3 {
        let run = format!("2026-11-25T{h:02}:00:00Z");
        daily.push(keyword_snapshot(&ec2, &db, 0, DAILY, "1", &run).await);
        hourly.push(keyword_snapshot(&ec2, &db, 0, HOURLY, "2", &run).await);
    }
    for id in daily.iter().chain(&hourly) {
        ec2.create_tags()
            .resources(id)
            .tags(aws_sdk_ec2::types::Tag::builder().key(DAILY).value("1").build())
            .tags(aws_sdk_ec2::types::Tag::builder().key(HOURLY).value("2").build())
            .send()
            .await
            .unwrap();
    }
    let r = runner(&moto, stack_settings()).await;

    let deleted = |report: &snapcycle_core::Report| {
        let mut v: Vec<String> = report.deleted.iter().map(|d| d.snapshot_id.clone()).map(String::from).collect();
        v.sort();
        v
    };
    // Retention 2 of 3 completed hourly ones: the oldest goes; the new one counts from the next run.
    let report = run(&r, HOURLY, "2026-11-26T05:00:00Z").await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(deleted(&report), [hourly[0].clone()], "{report:#?}");
    assert_eq!(keyword_snapshots_of(&ec2, &vol, HOURLY).await.len(), 3, "2 completed and the new one");
    assert_eq!(keyword_snapshots_of(&ec2, &vol, DAILY).await.len(), 3, "the hourly run left the daily ones alone");

    // Retention 1 of 3 completed daily ones: the two oldest go, never an hourly one.
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(report.failures.is_empty(), "{report:#?}");
    let mut want = vec![daily[0].clone(), daily[1].clone()];
    want.sort();
    assert_eq!(deleted(&report), want, "{report:#?}");
    assert_eq!(keyword_snapshots_of(&ec2, &vol, DAILY).await.len(), 2, "1 completed and the new one");
    assert_eq!(keyword_snapshots_of(&ec2, &vol, HOURLY).await.len(), 3, "the daily run left the hourly ones alone");
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_the_keyword_tag_keeps_a_snapshot_forever() {
    // Instant completion: each run's snapshot has completed by the next run, which counts it.
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let host = seed::instance(&ec2, &[(DAILY, "1")], 1).await;
    let kept = keyword_snapshot(&ec2, &host, 0, DAILY, "1", "2026-01-01T00:00:00Z").await;
    ec2.delete_tags()
        .resources(&kept)
        .tags(aws_sdk_ec2::types::Tag::builder().key(DAILY).build())
        .send()
        .await
        .unwrap();
    let rotating = keyword_snapshot(&ec2, &host, 0, DAILY, "1", "2026-11-24T00:00:00Z").await;
    let r = runner(&moto, stack_settings()).await;
    let mut deleted = Vec::new();
    for day in 25..28 {
        let report = run(&r, DAILY, &format!("2026-11-{day}T00:00:00Z")).await;
        assert!(report.failures.is_empty(), "{report:#?}");
        assert!(report.deleted.iter().all(|d| d.snapshot_id != kept));
        deleted.extend(report.deleted.iter().map(|d| d.snapshot_id.clone()));
    }
    // Retention 1: the 26 Nov run deletes 24 Nov's, the 27 Nov run the 25 Nov run's snapshot.
    assert_eq!(deleted.len(), 2, "rotation went on around the kept one: {deleted:?}");
    assert_eq!(deleted[0], rotating);
    let all = snapshots_of(&ec2, &host.volumes[0].1).await;
    assert!(all.iter().any(|s| s.snapshot_id() == Some(kept.as_str())), "the kept-forever snapshot is still there");
    let runs: Vec<Option<&str>> =
        all.iter().filter(|s| s.snapshot_id() != Some(kept.as_str())).map(|s| tag(s, TAG_RUN)).collect();
    assert_eq!(
        runs,
        [Some("2026-11-26T00:00:00Z"), Some("2026-11-27T00:00:00Z")],
        "rotating: the newest completed and the one just taken"
    );
    assert_eq!(keyword_snapshots_of(&ec2, &host.volumes[0].1, DAILY).await.len(), 3, "one kept forever, two rotating");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_retention_deletes_nothing_and_is_reported() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let bad = seed::instance(&ec2, &[(DAILY, "abc")], 1).await;
    let good = seed::instance(&ec2, &[(DAILY, "1")], 1).await;
    for day in 20..23 {
        keyword_snapshot(&ec2, &bad, 0, DAILY, "3", &format!("2026-11-{day}T00:00:00Z")).await;
        keyword_snapshot(&ec2, &good, 0, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
    }
    let r = runner(&moto, stack_settings()).await;
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert_eq!(report.failures.len(), 1, "{report:#?}");
    let f = &report.failures[0];
    assert_eq!(f.instance_id.as_deref(), Some(bad.instance_id.as_str()));
    assert_eq!(f.code, "InvalidRetention");
    assert!(f.message.contains("\"abc\""), "{}", f.message);
    assert_eq!(
        keyword_snapshots_of(&ec2, &bad.volumes[0].1, DAILY).await.len(),
        3,
        "nothing of the bad instance was touched"
    );
    // Retention 1 of 3 completed: the good instance's two oldest go; the new one counts next run.
    assert_eq!((report.created.len(), report.deleted.len()), (1, 2), "{report:#?}");
    assert!(report.deleted.iter().all(|d| d.volume_id == good.volumes[0].1), "{report:#?}");
    assert_eq!(keyword_snapshots_of(&ec2, &good.volumes[0].1, DAILY).await.len(), 2, "the good instance went on");
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_tags_and_other_keywords_are_not_copied_and_fifty_is_the_limit() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let mut tags: Vec<(String, String)> = (0..48).map(|i| (format!("team-tag-{i:02}"), "x".to_owned())).collect();
    tags.push((DAILY.into(), "3".into()));
    tags.push((HOURLY.into(), "3".into()));
    let borrowed: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let host = seed::instance(&ec2, &borrowed, 1).await;
    // Users cannot set aws: tags on AWS, but moto lets us, which is how AWS-managed tags look.
    ec2.create_tags()
        .resources(&host.instance_id)
        .tags(aws_sdk_ec2::types::Tag::builder().key("aws:cloudformation:stack-name").value("s").build())
        .send()
        .await
        .unwrap();
    let r = runner(&moto, stack_settings()).await;
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(report.failures.is_empty(), "{report:#?}");
    let snaps = keyword_snapshots_of(&ec2, &host.volumes[0].1, DAILY).await;
    let s = &snaps[0];
    assert_eq!(s.tags().len(), 50);
    assert!(s.tags().iter().all(|t| !t.key().unwrap().starts_with("aws:")));
    assert_eq!(tag(s, HOURLY), None);
    assert_eq!(tag(s, "team-tag-44"), Some("x"));
    assert_eq!(tag(s, "team-tag-45"), None, "dropped: own tags win");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_with_the_same_scheduled_time_creates_nothing() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let host = seed::instance(&ec2, &[(DAILY, "3")], 2).await;
    let r = runner(&moto, stack_settings()).await;
    let first = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert_eq!(first.created.len(), 2);
    let second = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(second.created.is_empty(), "{second:#?}");
    assert_eq!(second.skipped.len(), 2);
    assert!(second.skipped[0].reason.contains("already snapshotted by this run"));
    assert_eq!(second.api_calls.get("CreateSnapshots"), None);
    for (_, v) in &host.volumes {
        assert_eq!(keyword_snapshots_of(&ec2, v, DAILY).await.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_changes_nothing_and_shows_the_plan() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let host = seed::instance(&ec2, &[(DAILY, "1")], 1).await;
    for day in 20..23 {
        keyword_snapshot(&ec2, &host, 0, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
    }
    let r = runner(&moto, stack_settings()).await;
    let mut req = request(DAILY, "2026-11-26T00:00:00Z");
    req.dry_run = true;
    let report = r.run(&req, at("2026-11-26T00:00:00Z")).await;
    assert!(report.dry_run);
    assert_eq!(report.created.len(), 1);
    assert_eq!(report.created[0].snapshot_id, None);
    // New snapshots count as pending in a plan, so the dry run keeps one completed old snapshot.
    assert_eq!(report.deleted.len(), 2);
    assert_eq!(
        report.api_calls.keys().map(String::as_str).collect::<Vec<_>>(),
        ["DescribeInstances", "DescribeLockedSnapshots", "DescribeSnapshots", "DescribeVolumes"],
        "reads only: the instances, the volumes tagged snapcycle:exclude, the snapshots and their locks"
    );
    assert_eq!(keyword_snapshots_of(&ec2, &host.volumes[0].1, DAILY).await.len(), 3);
}

/// Issue #10.1 as operators hit it: the hourly and the daily schedule fire in the same minute on
/// one instance and run back to back (the function's concurrency is 1). EC2 refuses a second
/// snapshot of a volume within 15 s, so it refuses the daily run's whole set; the daily run waits
/// and takes it, with no failure and no skip. Before the fix it reported success with the daily
/// snapshot missing.
#[tokio::test(flavor = "multi_thread")]
async fn two_schedules_in_the_same_minute_both_take_their_snapshot() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let host = seed::instance(&ec2, &[(DAILY, "7"), (HOURLY, "24")], 2).await;
    let r = runner(&moto, stack_settings()).await;
    let hourly = run(&r, HOURLY, "2026-11-26T00:00:00Z").await;
    assert_eq!((hourly.created.len(), hourly.failures.len()), (2, 0), "{hourly:#?}");
    assert_eq!(hourly.api_calls.get("CreateSnapshots"), Some(&1), "{hourly:#?}");
    let started = std::time::Instant::now();
    let daily = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(daily.failures.is_empty() && daily.skipped.is_empty(), "{daily:#?}");
    assert_eq!(daily.created.len(), 2, "{daily:#?}");
    assert!(daily.api_calls["CreateSnapshots"] >= 2, "refused at least once, then taken: {daily:#?}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(10), "it waited out EC2's 15 s rule");
    let mut starts = Vec::new();
    for (_, vol) in &host.volumes {
        let daily = keyword_snapshots_of(&ec2, vol, DAILY).await;
        assert_eq!(daily.len(), 1, "{vol}");
        assert_eq!(keyword_snapshots_of(&ec2, vol, HOURLY).await.len(), 1, "{vol}");
        starts.push(daily[0].start_time().cloned());
    }
    assert_eq!(starts[0], starts[1], "the daily set was taken whole, at one instant");
}

/// A later invocation of a run (a retry, a hand-over) that finds this run's snapshot of one of an
/// instance's volumes, taken by an earlier invocation, takes a set of the other volumes only: the
/// found one is left out of the set (ExcludeDataVolumeIds), never snapshotted twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_of_a_partial_set_takes_only_the_missing_volumes() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let scheduled = "2026-11-26T00:00:00Z";
    let host = seed::instance(&ec2, &[(DAILY, "3"), ("Name", "db")], 3).await;
    // This run's snapshot of the middle volume, as an earlier invocation of the same run left it
    // (seeded: exempt from the 15 s rule, as a snapshot taken minutes ago would be).
    let earlier = keyword_snapshot(&ec2, &host, 1, DAILY, "3", scheduled).await;
    let done = host.volumes[1].1.clone();
    let r = runner(&moto, stack_settings()).await;
    let report = run(&r, DAILY, scheduled).await;

    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&1), "one set for the missing volumes: {report:#?}");
    let mut created: Vec<&str> = report.created.iter().map(|c| c.volume_id.as_str()).collect();
    created.sort();
    let mut missing = vec![host.volumes[0].1.as_str(), host.volumes[2].1.as_str()];
    missing.sort();
    assert_eq!(created, missing, "exactly the two other volumes: {report:#?}");
    let skip = report.skipped.iter().find(|s| s.volume_id.as_deref() == Some(done.as_str()));
    assert!(
        skip.is_some_and(|s| s.reason.starts_with("already snapshotted by this run") && s.reason.contains(&earlier)),
        "{report:#?}"
    );
    let mut starts = Vec::new();
    for (_, vol) in &host.volumes {
        let ours: Vec<_> = keyword_snapshots_of(&ec2, vol, DAILY)
            .await
            .into_iter()
            .filter(|s| tag(s, TAG_RUN) == Some(scheduled))
            .collect();
        assert_eq!(ours.len(), 1, "{vol}: exactly one snapshot of this run");
        if *vol == done {
            assert_eq!(ours[0].snapshot_id(), Some(earlier.as_str()), "the earlier invocation's stays the one");
        } else {
            let s = &ours[0];
            assert_eq!(
                s.description(),
                Some(format!("snapcycle {DAILY} db ({}, 2 volumes)", host.instance_id).as_str())
            );
            let mut pairs: Vec<&str> = tag(s, TAG_DEVICES).unwrap_or_default().split(' ').collect();
            pairs.sort();
            let mut want: Vec<String> =
                [&host.volumes[0], &host.volumes[2]].iter().map(|(d, v)| format!("{v}={d}")).collect();
            want.sort();
            assert_eq!(pairs, want, "the set's map names its two volumes only");
            starts.push(s.start_time().cloned());
        }
    }
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0], starts[1], "the two new snapshots are one set, taken at one instant");
}

/// The set leaves out what the exclusion tags name: the root volume by the instance's
/// `snapcycle:exclude-root` (ExcludeBootVolume) and a data volume by its own `snapcycle:exclude`
/// (ExcludeDataVolumeIds). The emulator, as EC2, would otherwise snapshot every attached volume.
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_consistent_set_leaves_out_the_excluded_root_and_excluded_data_volume() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let host = seed::instance_on(
        &ec2,
        &[(DAILY, "3"), ("Name", "app"), ("snapcycle:exclude-root", "*")],
        &["/dev/sda1", "/dev/sdf", "/dev/sdg"],
    )
    .await;
    let vol = |dev: &str| host.volumes.iter().find(|(d, _)| d == dev).unwrap().1.clone();
    let (root, data, excluded) = (vol("/dev/sda1"), vol("/dev/sdf"), vol("/dev/sdg"));
    ec2.create_tags()
        .resources(&excluded)
        .tags(aws_sdk_ec2::types::Tag::builder().key("snapcycle:exclude").value("*").build())
        .send()
        .await
        .unwrap();
    let r = runner(&moto, stack_settings()).await;
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;

    assert!(report.failures.is_empty(), "{report:#?}");
    let created: Vec<&str> = report.created.iter().map(|c| c.volume_id.as_str()).collect();
    assert_eq!(created, [data.as_str()], "only /dev/sdf's volume: {report:#?}");
    assert_eq!(report.api_calls.get("CreateSnapshots"), Some(&1), "{report:#?}");
    for left_out in [&root, &excluded] {
        assert!(snapshots_of(&ec2, left_out).await.is_empty(), "{left_out} left out of the set");
    }
    let snaps = keyword_snapshots_of(&ec2, &data, DAILY).await;
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert_eq!(tag(&snaps[0], TAG_DEVICES), Some(format!("{data}=/dev/sdf").as_str()));
    assert_eq!(
        snaps[0].description(),
        Some(format!("snapcycle {DAILY} app ({}, 1 volume)", host.instance_id).as_str())
    );
}

/// Issue #10.8: a 256-character `Name` and a 127-character keyword would make a description EC2
/// refuses (the emulator refuses it as EC2 does); the description is shortened to fit.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_name_and_keyword_still_make_a_snapshot() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let keyword = "K".repeat(127);
    let name = "n".repeat(256);
    let host = seed::instance(&ec2, &[(keyword.as_str(), "3"), ("Name", name.as_str())], 1).await;
    let settings = snapcycle_aws::Settings { keywords: vec![kw(&keyword)], ..snapcycle_aws::Settings::default() };
    let r = runner(&moto, settings).await;
    let report = run(&r, &keyword, "2026-11-26T00:00:00Z").await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.created.len(), 1);
    let snaps = keyword_snapshots_of(&ec2, &host.volumes[0].1, &keyword).await;
    let description = snaps[0].description().unwrap();
    assert_eq!(description.chars().count(), 255, "{description}");
    assert!(
        description.contains("…") && description.ends_with(&format!("({}, 1 volume)", host.instance_id)),
        "{description}"
    );
    assert_eq!(tag(&snaps[0], "Name"), Some(name.as_str()), "the tag keeps the whole name");
}

#[tokio::test(flavor = "multi_thread")]
async fn excluded_volumes_are_neither_snapshotted_nor_rotated() {
    // Without the exclusions, retention 1 would delete two of each volume's three old snapshots.
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let exclude = |resource: String, key: &'static str, value: &'static str| {
        let ec2 = ec2.clone();
        async move {
            ec2.create_tags()
                .resources(resource)
                .tags(aws_sdk_ec2::types::Tag::builder().key(key).value(value).build())
                .send()
                .await
                .unwrap();
        }
    };
    // A data volume excluded for every keyword, one excluded for the hourly stream only, and a
    // root volume excluded by its instance's tag; a volume whose tag cannot be read.
    let web = seed::instance_on(&ec2, &[(DAILY, "1"), ("Name", "web")], &["/dev/sda1", "/dev/sdf", "/dev/sdg"]).await;
    let scratch =
        seed::instance_on(&ec2, &[(DAILY, "1"), ("snapcycle:exclude-root", DAILY)], &["/dev/sda1", "/dev/sdf"]).await;
    let typo = seed::instance_on(&ec2, &[(DAILY, "1")], &["/dev/sda1"]).await;
    let vol = |s: &seed::Seeded, dev: &str| s.volumes.iter().find(|(d, _)| d == dev).unwrap().1.clone();
    exclude(vol(&web, "/dev/sdf"), "snapcycle:exclude", "*").await;
    exclude(vol(&web, "/dev/sdg"), "snapcycle:exclude", HOURLY).await;
    exclude(vol(&typo, "/dev/sda1"), "snapcycle:exclude", "Snapshot Daily,,").await;
    for (s, dev) in [(&web, "/dev/sdf"), (&web, "/dev/sdg"), (&scratch, "/dev/sda1"), (&typo, "/dev/sda1")] {
        let i = s.volumes.iter().position(|(d, _)| d == dev).unwrap();
        for day in 23..26 {
            keyword_snapshot(&ec2, s, i, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await;
        }
    }
    let r = runner(&moto, stack_settings()).await;
    let report = run(&r, DAILY, "2026-11-26T00:00:00Z").await;

    let created: Vec<&str> = report.created.iter().map(|c| c.volume_id.as_str()).collect();
    let mut want = vec![vol(&web, "/dev/sda1"), vol(&web, "/dev/sdg"), vol(&scratch, "/dev/sdf")];
    want.sort();
    let mut got: Vec<String> = created.iter().map(|s| s.to_string()).collect();
    got.sort();
    assert_eq!(got, want, "only the volumes no exclusion names for {DAILY}: {report:#?}");
    // Rotated as usual: the newest of its three completed stays beside the new one.
    assert_eq!(report.deleted.len(), 2, "{report:#?}");
    assert!(report.deleted.iter().all(|d| d.volume_id == vol(&web, "/dev/sdg")), "{report:#?}");
    assert_eq!(keyword_snapshots_of(&ec2, &vol(&web, "/dev/sdg"), DAILY).await.len(), 2, "rotated as usual");
    for (s, dev) in [(&web, "/dev/sdf"), (&scratch, "/dev/sda1"), (&typo, "/dev/sda1")] {
        assert_eq!(
            keyword_snapshots_of(&ec2, &vol(s, dev), DAILY).await.len(),
            3,
            "{dev} of {} left alone",
            s.instance_id
        );
    }
    let reason = |v: String| {
        report.skipped.iter().find(|k| k.volume_id.as_deref() == Some(v.as_str())).map(|k| k.reason.clone())
    };
    assert_eq!(
        reason(vol(&web, "/dev/sdf")).as_deref(),
        Some("excluded by snapcycle:exclude = *: no snapshot taken, its snapshots of SnapshotDaily left alone")
    );
    assert_eq!(
        reason(vol(&scratch, "/dev/sda1")).as_deref(),
        Some("excluded by snapcycle:exclude-root = SnapshotDaily: no snapshot taken, its snapshots of SnapshotDaily left alone")
    );
    assert_eq!(report.failures.len(), 1, "{report:#?}");
    let f = &report.failures[0];
    assert_eq!(
        (f.code.as_str(), f.volume_id.as_deref().map(str::to_owned)),
        ("InvalidExclusion", Some(vol(&typo, "/dev/sda1")))
    );
    assert!(
        f.message.contains("\"Snapshot Daily,,\"") && f.message.contains("nothing of this volume"),
        "{}",
        f.message
    );
    // The volumes' tags cost one DescribeVolumes page beside the instances.
    assert_eq!(report.api_calls.get("DescribeVolumes"), Some(&1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_thins_by_day_in_the_stacks_time_zone_and_a_dry_run_says_why() {
    // Instant completion: the first run's snapshot has completed by the second run, which thins
    // with it.
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let host = seed::instance(&ec2, &[(DAILY, "last=1 daily=2")], 1).await;
    let bad = seed::instance(&ec2, &[(DAILY, "daily=7 daily=3")], 1).await;
    // Hourly runs on two UTC days, 25 Nov 18:00 to 26 Nov 02:00 (UTC): in Asia/Shanghai (UTC+8)
    // 18:00 and 20:00 UTC are on 26 Nov and 02:00 UTC on 26 Nov too, 14:00 UTC on the 25th.
    let runs = ["2026-11-25T14:00:00Z", "2026-11-25T18:00:00Z", "2026-11-25T20:00:00Z", "2026-11-26T02:00:00Z"];
    let mut ids = Vec::new();
    for run in runs {
        ids.push(keyword_snapshot(&ec2, &host, 0, DAILY, "last=1 daily=2", run).await);
    }
    let old_bad = keyword_snapshot(&ec2, &bad, 0, DAILY, "1", "2026-11-20T00:00:00Z").await;
    let shanghai = snapcycle_aws::Settings { time_zone: chrono_tz::Asia::Shanghai, ..stack_settings() };
    let r = runner(&moto, shanghai).await;

    let mut req = request(DAILY, "2026-11-26T04:00:00Z");
    req.dry_run = true;
    let dry = r.run(&req, at("2026-11-26T04:00:00Z")).await;
    // New snapshots are pending in a plan: the newest completed (02:00) is kept by last=1 and as
    // the newest of 26 Nov local; 14:00 UTC is the newest of 25 Nov local; 18:00 and 20:00 go.
    let why = |id: &str| {
        dry.kept
            .iter()
            .find(|k| k.snapshot_id == id)
            .map(|k| k.reason.clone())
            .or_else(|| dry.deleted.iter().find(|d| d.snapshot_id == id).and_then(|d| d.reason.clone()))
    };
    assert_eq!(why(&ids[3]).as_deref(), Some("keep: last 1, daily 2026-11-26"), "{dry:#?}");
    assert_eq!(why(&ids[0]).as_deref(), Some("keep: daily 2026-11-25"), "{dry:#?}");
    assert_eq!(why(&ids[1]).as_deref(), Some("delete: beyond last=1 daily=2"), "{dry:#?}");
    assert_eq!(why(&ids[2]).as_deref(), Some("delete: beyond last=1 daily=2"), "{dry:#?}");
    assert_eq!(dry.failures.len(), 1, "{dry:#?}");
    let f = &dry.failures[0];
    assert_eq!(f.code, "InvalidRetention");
    assert!(f.message.contains("\"daily=3\"") && f.message.contains("repeats daily"), "{}", f.message);

    let sorted = |list: &[snapcycle_core::report::Deleted]| {
        let mut v: Vec<String> = list.iter().map(|d| d.snapshot_id.clone()).map(String::from).collect();
        v.sort();
        v
    };
    let runs_left = || async {
        keyword_snapshots_of(&ec2, &host.volumes[0].1, DAILY)
            .await
            .iter()
            .map(|s| tag(s, TAG_RUN).unwrap_or_default().to_owned())
            .collect::<Vec<String>>()
    };

    // The real run at the same moment deletes exactly what the dry run said: its own snapshot
    // (04:00 UTC, 12:00 on 26 Nov in Shanghai) counts from the next run.
    let report = r.run(&request(DAILY, "2026-11-26T04:00:00Z"), at("2026-11-26T04:00:00Z")).await;
    let mut want = vec![ids[1].clone(), ids[2].clone()];
    want.sort();
    assert_eq!(sorted(&report.deleted), want, "{report:#?}");
    assert_eq!(sorted(&report.deleted), sorted(&dry.deleted), "{report:#?}");
    assert!(report.deleted.iter().all(|d| d.reason.is_none()), "a real run carries no reasons");
    assert_eq!(
        runs_left().await,
        ["2026-11-25T14:00:00Z", "2026-11-26T02:00:00Z", "2026-11-26T04:00:00Z"],
        "{report:#?}"
    );

    // The next run counts it: last=1 and daily 26 Nov keep 04:00 UTC, daily 25 Nov keeps 14:00 UTC
    // (22:00 on the 25th); 02:00 UTC is now an older snapshot of the 26th and goes.
    let next = r.run(&request(DAILY, "2026-11-26T05:00:00Z"), at("2026-11-26T05:00:00Z")).await;
    assert_eq!(sorted(&next.deleted), [ids[3].clone()], "{next:#?}");
    assert_eq!(
        runs_left().await,
        ["2026-11-25T14:00:00Z", "2026-11-26T04:00:00Z", "2026-11-26T05:00:00Z"],
        "{next:#?}"
    );
    for rep in [&report, &next] {
        assert_eq!(rep.failures.len(), 1, "only the bad instance fails: {rep:#?}");
    }
    assert_eq!(
        keyword_snapshots_of(&ec2, &bad.volumes[0].1, DAILY).await.len(),
        1,
        "nothing of {old_bad}'s instance touched"
    );
    let created_tag = keyword_snapshots_of(&ec2, &host.volumes[0].1, DAILY).await;
    assert_eq!(
        tag(created_tag.last().unwrap(), DAILY),
        Some("last=1 daily=2"),
        "the policy is written back as the tag's value"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orphan_expiry_deletes_old_orphans_keeping_each_volumes_newest_and_lists_them_apart() {
    let moto = Moto::start().unwrap();
    let ec2 = ec2(&moto).await;
    let kept = seed::instance(&ec2, &[(DAILY, "3")], 1).await;
    let gone = seed::instance(&ec2, &[(DAILY, "3")], 1).await;
    let runs = ["2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", "2026-11-20T00:00:00Z"];
    let mut orphan = Vec::new();
    for run in runs {
        orphan.push(keyword_snapshot(&ec2, &gone, 0, DAILY, "3", run).await);
        keyword_snapshot(&ec2, &kept, 0, DAILY, "3", run).await;
    }
    let volume = gone.volumes[0].1.clone();
    // Kept forever (its keyword tag removed), and another keyword's: never an orphan to expire.
    let forever = seed::snapshot(&ec2, &volume, &[(TAG_KEYWORD, DAILY), (TAG_RUN, "2026-05-01T00:00:00Z")]).await;
    let hourly = keyword_snapshot(&ec2, &gone, 0, HOURLY, "3", "2026-05-01T00:00:00Z").await;
    // The instance is untagged: its volume's daily snapshots become orphans.
    ec2.delete_tags()
        .resources(&gone.instance_id)
        .tags(aws_sdk_ec2::types::Tag::builder().key(DAILY).build())
        .send()
        .await
        .unwrap();
    let settings = snapcycle_aws::Settings { orphans_expire_after: Some("90d".parse().unwrap()), ..stack_settings() };
    let r = runner(&moto, settings).await;
    let now = "2026-11-26T00:00:00Z";

    let mut req = request(DAILY, now);
    req.dry_run = true;
    let dry = r.run(&req, at(now)).await;
    let ids = |list: &[snapcycle_core::report::Deleted]| {
        let mut v: Vec<String> = list.iter().map(|d| d.snapshot_id.clone()).map(String::from).collect();
        v.sort();
        v
    };
    let mut old = vec![orphan[0].clone(), orphan[1].clone()];
    old.sort();
    assert_eq!(ids(&dry.orphans_deleted), old, "{dry:#?}");
    assert!(dry.orphans_deleted.iter().all(|d| d.reason.as_deref() == Some("delete: orphan older than 90d")));
    let why = |id: &str| dry.orphans_kept.iter().find(|k| k.snapshot_id == id).map(|k| k.reason.as_str());
    assert_eq!(why(&orphan[2]), Some("keep: orphan newer than 90d"));
    assert_eq!(why(&orphan[3]), Some("keep: the newest of an orphaned volume"));
    assert_eq!(dry.deleted.len(), 1, "rotation goes on apart: the tagged instance keeps 3 of its 4 completed");

    let report = run(&r, DAILY, now).await;
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(ids(&report.orphans_deleted), old, "{report:#?}");
    assert_eq!(report.created.len(), 1, "{report:#?}");
    assert_eq!(
        ids(&report.deleted),
        ids(&dry.deleted),
        "rotation goes on beside, as the dry run said: its new snapshot counts from the next run"
    );
    let left: Vec<String> =
        snapshots_of(&ec2, &volume).await.iter().map(|s| s.snapshot_id().unwrap().to_owned()).collect();
    for id in [&orphan[2], &orphan[3], &forever, &hourly] {
        assert!(left.contains(id), "{id} stays: {left:?}");
    }
    assert_eq!(left.len(), 4, "{left:?}");
    // Nothing more to expire: the next day's plan deletes no orphan (a dry run: a real one would
    // wait out EC2's 15 s between two snapshots of the tagged volume first).
    let mut next = request(DAILY, "2026-11-27T00:00:00Z");
    next.dry_run = true;
    let again = r.run(&next, at("2026-11-27T00:00:00Z")).await;
    assert!(again.orphans_deleted.is_empty(), "{again:#?}");
    assert_eq!(again.orphans_kept.len(), 2, "{again:#?}");
}

/// Issue #14.4: EBS snapshot locks. The oldest snapshot is locked in governance mode for 30 days,
/// the next in compliance mode for 10 (the emulator refuses to delete either, as EC2 does). Each
/// run that would delete them keeps them and reports a skip naming the lock's mode and expiry,
/// deletes the others it should, and fails on nothing, run after run; a dry run shows them kept
/// as locked.
#[tokio::test(flavor = "multi_thread")]
async fn a_locked_snapshot_is_a_skip_with_its_mode_and_expiry_run_after_run() {
    use aws_sdk_ec2::types::LockMode;
    // Instant completion: the first run's snapshot has completed by the second run, which counts it.
    let moto = Moto::start_instant().unwrap();
    let ec2 = ec2(&moto).await;
    let host = seed::instance(&ec2, &[(DAILY, "1")], 1).await;
    let mut old = Vec::new();
    for day in 20..24 {
        old.push(keyword_snapshot(&ec2, &host, 0, DAILY, "1", &format!("2026-11-{day}T00:00:00Z")).await);
    }
    let (governed, complied) = (old[0].clone(), old[1].clone());
    let lock = |id: String, mode: LockMode, days: i32| {
        let ec2 = ec2.clone();
        async move { ec2.lock_snapshot().snapshot_id(id).lock_mode(mode).lock_duration(days).send().await.unwrap() }
    };
    let until = |out: aws_sdk_ec2::operation::lock_snapshot::LockSnapshotOutput| {
        snapcycle_core::run_id(snapcycle_aws::inventory::to_chrono(out.lock_expires_on()))
    };
    let governance =
        format!("locked (governance until {})", until(lock(governed.clone(), LockMode::Governance, 30).await));
    let compliance =
        format!("locked (compliance until {})", until(lock(complied.clone(), LockMode::Compliance, 10).await));
    // The emulator refuses to delete them, as EC2 does (with a code of its own: EC2's is not
    // documented, and snapcycle never matches it).
    let refused = ec2.delete_snapshot().snapshot_id(&governed).send().await.unwrap_err();
    assert_eq!(aws_sdk_ec2::error::ProvideErrorMetadata::code(&refused), Some("SnapcycleEmulator.SnapshotLocked"));
    let r = runner(&moto, stack_settings()).await;
    let skip_reasons = |report: &snapcycle_core::Report| {
        let mut v: Vec<(String, String)> = report
            .skipped
            .iter()
            .map(|s| (s.snapshot_id.clone().unwrap_or_default().into(), s.reason.clone()))
            .collect();
        v.sort();
        v
    };
    let mut want_skips = vec![(governed.clone(), governance.clone()), (complied.clone(), compliance.clone())];
    want_skips.sort();

    // The dry run: retention 1 would delete the three older ones; the two locked ones are kept.
    let mut req = request(DAILY, "2026-11-26T00:00:00Z");
    req.dry_run = true;
    let dry = r.run(&req, at("2026-11-26T00:00:00Z")).await;
    assert!(dry.failures.is_empty(), "{dry:#?}");
    assert_eq!(dry.deleted.iter().map(|d| d.snapshot_id.as_str()).collect::<Vec<_>>(), [old[2].as_str()]);
    let why = |id: &str| dry.kept.iter().find(|k| k.snapshot_id == id).map(|k| k.reason.clone());
    assert_eq!(why(&governed), Some(format!("keep: {governance}")), "{dry:#?}");
    assert_eq!(why(&complied), Some(format!("keep: {compliance}")), "{dry:#?}");
    assert_eq!(skip_reasons(&dry), want_skips);

    // The run deletes what the dry run said, skips the locked ones, and fails on nothing.
    let first = run(&r, DAILY, "2026-11-26T00:00:00Z").await;
    assert!(first.failures.is_empty(), "{first:#?}");
    assert_eq!(first.deleted.iter().map(|d| d.snapshot_id.as_str()).collect::<Vec<_>>(), [old[2].as_str()]);
    assert_eq!(skip_reasons(&first), want_skips, "{first:#?}");
    assert!(first.skipped.iter().all(|s| s.instance_id.as_deref() == Some(host.instance_id.as_str())));
    assert_eq!(first.api_calls.get("DeleteSnapshot"), Some(&1), "no delete is tried on a locked snapshot");
    assert_eq!(first.api_calls.get("DescribeLockedSnapshots"), Some(&1), "one page of locks per invocation");

    // The next day's run counts the first run's snapshot: 23 Nov goes too; the locked ones are
    // skipped again, still with no failure.
    let second = run(&r, DAILY, "2026-11-27T00:00:00Z").await;
    assert!(second.failures.is_empty(), "{second:#?}");
    assert_eq!(second.deleted.iter().map(|d| d.snapshot_id.as_str()).collect::<Vec<_>>(), [old[3].as_str()]);
    assert_eq!(skip_reasons(&second), want_skips, "{second:#?}");
    let left: Vec<String> = keyword_snapshots_of(&ec2, &host.volumes[0].1, DAILY)
        .await
        .iter()
        .map(|s| s.snapshot_id().unwrap_or_default().to_owned())
        .collect();
    assert!(left.contains(&governed) && left.contains(&complied), "{left:?}");
    assert_eq!(left.len(), 4, "the two locked, the first run's and the second's: {left:?}");
}

//! Property tests of retention policies (`snapcycle_core::policy`): a plain count decides like
//! `last=N` and like plan.rs's `rotate`, a union keeps exactly what its terms keep, a second run
//! deletes nothing, pending snapshots and the newest completed one always stay, and on input sorted
//! by time the decision is restic's `ApplyPolicy` (ported below with its "last bucket" state).

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use snapcycle_core::policy::{Terms, Within};
use snapcycle_core::{Candidate, Retention, RetentionPolicy, SnapshotState};

const CASES: u32 = 1000;

fn state() -> impl Strategy<Value = SnapshotState> {
    prop_oneof![
        6 => Just(SnapshotState::Completed),
        2 => Just(SnapshotState::Pending),
        2 => Just(SnapshotState::Error),
        1 => Just(SnapshotState::Other),
    ]
}

fn tz() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::UTC,
        chrono_tz::Asia::Shanghai,
        chrono_tz::America::New_York,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::Pacific::Apia,
    ])
}

/// A generated snapshot: `start` orders the walk (like EC2's StartTime), `time` (the scheduled run
/// time the caller derives) is up to `lag` minutes earlier, so the walk's times need not be sorted.
#[derive(Debug, Clone)]
struct Snap {
    id: String,
    start: DateTime<Utc>,
    time: DateTime<Utc>,
    state: SnapshotState,
}

/// 0..40 snapshots over about two years, on the slots of a schedule (every half hour, hour or day,
/// at :00 UTC) so that hours, days and window boundaries collide often, newest first by (start,
/// id) as plan.rs's `newest_first` orders them.
fn snaps(lag: i64) -> impl Strategy<Value = Vec<Snap>> {
    let base = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    prop::sample::select(vec![30i64, 60, 1440]).prop_flat_map(move |step| {
        let slots = 730 * 1440 / step;
        let month = 30 * 1440 / step;
        prop::collection::vec(
            (
                prop_oneof![
                    1 => 0..slots,              // anywhere in two years
                    2 => slots - month..slots,  // crowded into the last month
                ],
                0..=lag,
                state(),
            ),
            0..40,
        )
        .prop_map(move |specs| {
            let mut v: Vec<Snap> = specs
                .into_iter()
                .enumerate()
                .map(|(i, (slot, lag, state))| {
                    let start = base + Duration::minutes(step * slot);
                    Snap { id: format!("snap-{i:02}"), start, time: start - Duration::minutes(lag), state }
                })
                .collect();
            v.sort_by(|a, b| (b.start, &b.id).cmp(&(a.start, &a.id)));
            v
        })
    })
}

fn count(max: u32) -> impl Strategy<Value = Retention> {
    (1..=max).prop_map(|n| Retention::new(n).unwrap())
}

/// Mostly one or two units, so that a window often starts exactly on a scheduled slot.
fn within() -> impl Strategy<Value = Within> {
    let amount = |max: u32| prop::option::weighted(0.35, 1..=max).prop_map(Option::unwrap_or_default);
    (amount(2), amount(13), amount(4), amount(40), amount(72))
        .prop_filter_map("all zero", |(y, m, w, d, h)| Within::new(y, m, w, d, h))
}

fn terms() -> impl Strategy<Value = Terms> {
    let some = |s: BoxedStrategy<Retention>| prop::option::weighted(0.4, s);
    (
        some(count(30).boxed()),
        some(count(12).boxed()),
        some(count(12).boxed()),
        some(count(8).boxed()),
        some(count(6).boxed()),
        some(count(3).boxed()),
        prop::option::weighted(0.4, within()),
    )
        .prop_map(|(last, hourly, daily, weekly, monthly, yearly, within)| Terms {
            last,
            hourly,
            daily,
            weekly,
            monthly,
            yearly,
            within,
        })
}

fn policy() -> impl Strategy<Value = RetentionPolicy> {
    prop_oneof![
        1 => count(30).prop_map(RetentionPolicy::count),
        4 => terms().prop_filter_map("no term", RetentionPolicy::from_terms),
    ]
}

fn candidates(snaps: &[Snap]) -> Vec<Candidate<'_>> {
    snaps.iter().map(|s| Candidate { id: &s.id, time: s.time, state: s.state }).collect()
}

/// The ids kept, in walk order.
fn kept(policy: &RetentionPolicy, snaps: &[Snap], tz: Tz) -> Vec<String> {
    policy.thin(&candidates(snaps), tz).into_iter().filter(|d| d.verdict.is_keep()).map(|d| d.id.to_owned()).collect()
}

/// Each term of a policy as a policy of its own.
fn single_terms(p: &RetentionPolicy) -> Vec<RetentionPolicy> {
    let t = p.terms();
    let none = Terms::default();
    let mut out = Vec::new();
    let mut push = |t: Terms| out.extend(RetentionPolicy::from_terms(t));
    push(Terms { last: t.last, ..none });
    push(Terms { hourly: t.hourly, ..none });
    push(Terms { daily: t.daily, ..none });
    push(Terms { weekly: t.weekly, ..none });
    push(Terms { monthly: t.monthly, ..none });
    push(Terms { yearly: t.yearly, ..none });
    push(Terms { within: t.within, ..none });
    out
}

/// plan.rs's `rotate`, copied: walk newest first, delete a completed or failed snapshot once
/// `retention` completed ones were seen; pending (and unknown) ones always stay.
fn rotate(sorted: &[Snap], retention: Retention) -> (Vec<String>, Vec<String>) {
    let mut completed = 0u32;
    let mut keep = Vec::new();
    let mut delete = Vec::new();
    for s in sorted {
        let deletable = matches!(s.state, SnapshotState::Completed | SnapshotState::Error);
        if completed >= retention.get() && deletable {
            delete.push(s.id.clone());
        } else {
            keep.push(s.id.clone());
        }
        if s.state == SnapshotState::Completed {
            completed += 1;
        }
    }
    (keep, delete)
}

/// restic's `ApplyPolicy` (internal/data/snapshot_policy.go), ported as it is, with its single
/// "last bucket" per rule, for a list sorted newest first by time; bucket times on `tz`'s wall
/// clock. Returns the indexes kept.
fn restic_apply(times: &[DateTime<Utc>], terms: &Terms, tz: Tz) -> BTreeSet<usize> {
    type Bucker = fn(&DateTime<Tz>, usize) -> i64;
    let ymdh: Bucker =
        |d, _| i64::from(d.year()) * 1_000_000 + i64::from(d.month() * 10_000 + d.day() * 100 + d.hour());
    let ymd: Bucker = |d, _| i64::from(d.year()) * 10_000 + i64::from(d.month() * 100 + d.day());
    let yw: Bucker = |d, _| i64::from(d.iso_week().year()) * 100 + i64::from(d.iso_week().week());
    let ym: Bucker = |d, _| i64::from(d.year()) * 100 + i64::from(d.month());
    let y: Bucker = |d, _| i64::from(d.year());
    let always: Bucker = |_, nr| nr as i64;
    let n = |r: Option<Retention>| r.map_or(0, Retention::get);
    let mut buckets = [
        (n(terms.last), always, -1i64),
        (n(terms.hourly), ymdh, -1),
        (n(terms.daily), ymd, -1),
        (n(terms.weekly), yw, -1),
        (n(terms.monthly), ym, -1),
        (n(terms.yearly), y, -1),
    ];
    let mut keep = BTreeSet::new();
    let Some(&latest) = times.iter().max() else { return keep };
    for (nr, &t) in times.iter().enumerate() {
        let local = t.with_timezone(&tz);
        if let Some(w) = terms.within {
            if t > w.cutoff(latest, tz) {
                keep.insert(nr);
            }
        }
        for (count, bucker, last) in buckets.iter_mut() {
            if *count > 0 {
                let val = bucker(&local, nr);
                if val != *last || nr == times.len() - 1 {
                    keep.insert(nr);
                    *last = val;
                    *count -= 1;
                }
            }
        }
    }
    keep
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// (1) `N` keeps exactly what `last=N` keeps, reasons and all (only the wording of a deletion
    /// differs).
    #[test]
    fn a_count_is_last_n(snaps in snaps(180), n in count(30), tz in tz()) {
        let plain = RetentionPolicy::count(n);
        let last = RetentionPolicy::from_terms(Terms { last: Some(n), ..Terms::default() }).unwrap();
        prop_assert_eq!(kept(&plain, &snaps, tz), kept(&last, &snaps, tz));
    }

    /// (2) A union keeps everything any of its terms keeps alone, and nothing else.
    #[test]
    fn a_union_keeps_what_its_terms_keep(snaps in snaps(180), p in policy(), tz in tz()) {
        let union: HashSet<String> = kept(&p, &snaps, tz).into_iter().collect();
        let mut any = HashSet::new();
        for single in single_terms(&p) {
            let alone: HashSet<String> = kept(&single, &snaps, tz).into_iter().collect();
            prop_assert!(alone.is_subset(&union), "{} keeps {:?} beyond {}", single, alone.difference(&union), p);
            any.extend(alone);
        }
        let completed = |ids: &HashSet<String>| -> BTreeSet<String> {
            snaps.iter().filter(|s| s.state == SnapshotState::Completed && ids.contains(&s.id)).map(|s| s.id.clone()).collect()
        };
        prop_assert_eq!(completed(&union), completed(&any), "completed snapshots of {}", p);
        prop_assert_eq!(union, any, "all snapshots of {}", p);
    }

    /// (3) Running again on what was kept deletes nothing.
    #[test]
    fn a_second_run_deletes_nothing(snaps in snaps(180), p in policy(), tz in tz()) {
        let kept_ids: HashSet<String> = kept(&p, &snaps, tz).into_iter().collect();
        let rest: Vec<Snap> = snaps.iter().filter(|s| kept_ids.contains(&s.id)).cloned().collect();
        for d in p.thin(&candidates(&rest), tz) {
            prop_assert!(d.verdict.is_keep(), "{} on the second run of {}", d, p);
        }
    }

    /// (4) and (5): pending and unknown snapshots always stay, and so does the newest completed one.
    #[test]
    fn pending_and_the_newest_completed_stay(snaps in snaps(180), p in policy(), tz in tz()) {
        let decisions = p.thin(&candidates(&snaps), tz);
        prop_assert_eq!(decisions.len(), snaps.len());
        for (s, d) in snaps.iter().zip(&decisions) {
            prop_assert_eq!(d.id, s.id.as_str());
            if matches!(s.state, SnapshotState::Pending | SnapshotState::Other) {
                prop_assert!(d.verdict.is_keep(), "{}", d);
            }
        }
        if let Some(i) = snaps.iter().position(|s| s.state == SnapshotState::Completed) {
            prop_assert!(decisions[i].verdict.is_keep(), "{} under {}", decisions[i], p);
        }
    }

    /// (6) A plain count splits exactly like plan.rs's `rotate` always has.
    #[test]
    fn a_count_is_rotate(snaps in snaps(180), n in count(30), tz in tz()) {
        let (keep, delete) = rotate(&snaps, n);
        let decisions = RetentionPolicy::count(n).thin(&candidates(&snaps), tz);
        let (k, d): (Vec<_>, Vec<_>) = decisions.iter().partition(|d| d.verdict.is_keep());
        prop_assert_eq!(k.iter().map(|d| d.id.to_owned()).collect::<Vec<_>>(), keep);
        prop_assert_eq!(d.iter().map(|d| d.id.to_owned()).collect::<Vec<_>>(), delete);
    }

    /// (7) On times sorted newest first, the completed snapshots kept are those restic's
    /// `ApplyPolicy` keeps of the completed ones: the set of buckets decides like restic's last
    /// bucket. (The newest completed one is kept in any case; only a time zone jump that empties a
    /// `within` window could make restic drop it, which these zones do not do in 2025-2027.)
    #[test]
    fn sorted_input_is_restic(snaps in snaps(0), p in policy(), tz in tz()) {
        let completed: Vec<&Snap> = snaps.iter().filter(|s| s.state == SnapshotState::Completed).collect();
        let times: Vec<DateTime<Utc>> = completed.iter().map(|s| s.time).collect();
        let want: BTreeSet<String> =
            restic_apply(&times, &p.terms(), tz).into_iter().map(|i| completed[i].id.clone()).collect();
        let got: BTreeSet<String> = p
            .thin(&candidates(&snaps), tz)
            .into_iter()
            .zip(&snaps)
            .filter(|(d, s)| s.state == SnapshotState::Completed && d.verdict.is_keep())
            .map(|(d, _)| d.id.to_owned())
            .collect();
        prop_assert_eq!(got, want, "{}", p);
    }

    /// Every policy displays in a canonical form that parses back to it.
    #[test]
    fn the_canonical_form_round_trips(p in policy()) {
        let shown = p.to_string();
        prop_assert_eq!(RetentionPolicy::parse(&shown), Ok(p.clone()));
        prop_assert_eq!(RetentionPolicy::parse(&shown.replace(' ', ",")), Ok(p));
    }
}

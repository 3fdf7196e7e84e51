//! Retention policies: the value of a keyword tag as restic's `forget` policy (`last=24 daily=7
//! weekly=4 monthly=12`, `within=30d`) or a plain count (`7`), and the decision which snapshots of
//! a volume such a policy keeps.
//!
//! # The decision is restic's
//!
//! [`RetentionPolicy::thin`] follows `ApplyPolicy` in restic's
//! `internal/data/snapshot_policy.go` (`internal/restic/snapshot_policy.go` up to restic 0.18; read at
//! commit a80be1478a4c537f8396e0db2b05120aa78f11e0 of github.com/restic/restic, August 2026) and the
//! page "Removing backup snapshots" (`doc/060_forget.rst`):
//!
//! * The snapshots are walked newest first. Each count rule (`last`, `hourly`, `daily`, `weekly`,
//!   `monthly`, `yearly`) has a count left and a bucket function of the snapshot's time: `last` a
//!   key unique to each snapshot, `hourly` (y, m, d, h), `daily` (y, m, d), `weekly` the ISO
//!   week-numbering year and week, `monthly` (y, m), `yearly` y. While a rule has count left, a
//!   snapshot whose bucket it has not kept yet is kept and the count goes down by one.
//! * restic ≥ 0.16 (#3624) also keeps the *oldest* snapshot when a rule still has count left at
//!   the end of the list even though its bucket was already kept ("oldest daily snapshot"): this
//!   keeps the longest history the counts allow. The count goes down for it too.
//! * `within=D` keeps every snapshot whose time is strictly after `latest.AddDate(-y, -m,
//!   -d).Add(-h hours)`, `latest` being the newest snapshot's time: years, months and days are
//!   calendar amounts on the wall clock (Go's `time.Date` normalisation: 31 March minus one month
//!   is "31 February", that is 3 March), hours are elapsed hours. See [`Within::cutoff`].
//! * A snapshot is kept when any rule keeps it (a union); all others are removed.
//!
//! # What snapcycle adds (README, "How it decides")
//!
//! * Only **completed** snapshots are bucketed and counted. Pending snapshots, and states this
//!   version does not know, are always kept and never counted.
//! * A **failed** snapshot is deleted once the policy is exhausted at its place in the walk: every
//!   count rule has reached zero and (for `within`) its time is not inside the window. Otherwise it
//!   is kept. So a plain count `N` decides exactly like `rotate` in `plan.rs` always has: a completed
//!   or failed snapshot goes once N completed snapshots newer than it were seen.
//! * "Oldest" means the oldest *completed* snapshot, `latest` the newest completed one's time (restic
//!   takes the newest of all snapshots not in the future; there is no clock here).
//! * The newest completed snapshot is always kept, whatever the time zone does to a `within`
//!   window ([`KeptBy::NewestCompleted`]).
//! * Buckets are taken on the wall clock of the stack's time zone (restic uses the zone each
//!   snapshot was recorded in): a "day" is a local day there.
//! * The walk follows the caller's order (plan.rs's newest first: start time, run tag, id), which
//!   need not agree with the bucket times to the second. Each rule therefore remembers the set of
//!   buckets it kept rather than only the last one: on input sorted by time (in any zone whose clock
//!   never jumps back over the start of an hour), the buckets of a rule come in runs, so the set and
//!   restic's "last bucket" decide alike (a property test checks it against a port of restic's loop);
//!   when times come out of order, the set never keeps a second snapshot of a bucket or spends a
//!   second count on it.
//! * `w` (weeks, seven calendar days) is accepted in durations; restic has no such unit.
//!
//! Not taken from restic: `unlimited` counts, `--keep-tag` and the `--keep-within-<period>` rules.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::retention::MAX_RETENTION;
use crate::{Retention, RetentionError, SnapshotState};

/// The largest amount of one unit in a `within` duration (`10000h` is 416 days, `10000y` far more than
/// anyone means): beyond it a value is a typo, and the calendar arithmetic stays far from overflow.
pub const MAX_WITHIN_AMOUNT: u32 = 10_000;

const ALLOWED: &str = "allowed are last=N, hourly=N, daily=N, weekly=N, monthly=N and yearly=N (N from 1 to 1000) \
and within=DURATION (e.g. 36h, 30d, 2w, 6m, 1y6m), separated by spaces or commas, e.g. \"daily=7 weekly=4\"";

const DURATION: &str = "a duration is one or more <number><unit> with the units y, m, w, d, h in that order, each \
at most once, e.g. within=30d or within=1y6m";

/// Why a tag value is not a retention policy. Each message quotes the whole value and names the
/// offending term, so a person can find the tag and the mistake in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A value without `=` is a plain count and keeps the count's messages (`abc`, `0`, `-1`, empty).
    #[error(transparent)]
    Count(#[from] RetentionError),
    /// Two commas in a row, or a comma at the start or the end.
    #[error(
        "the retention {raw:?} has an empty term (two commas in a row, or a comma at the start or end); {ALLOWED}"
    )]
    EmptyTerm {
        /// The whole tag value.
        raw: String,
    },
    /// `daily=`: a name with nothing after the `=`.
    #[error("the term {term:?} in the retention {raw:?} has no value; {ALLOWED}")]
    NoValue {
        /// The offending term.
        term: String,
        /// The whole tag value.
        raw: String,
    },
    /// A term without `=` among others (`7 daily=3`, `daily = 7`).
    #[error("the term {term:?} in the retention {raw:?} is not name=value; {ALLOWED}")]
    NotATerm {
        /// The offending term.
        term: String,
        /// The whole tag value.
        raw: String,
    },
    /// A name that is not one of the terms (`fortnightly=2`, `Daily=7`).
    #[error("the term {term:?} in the retention {raw:?} is unknown; {ALLOWED}")]
    UnknownTerm {
        /// The offending term.
        term: String,
        /// The whole tag value.
        raw: String,
    },
    /// The same name twice (`daily=7 daily=3`): which one was meant cannot be told.
    #[error("the term {term:?} in the retention {raw:?} repeats {name}; give each term at most once")]
    Repeated {
        /// The repeated name.
        name: String,
        /// The second occurrence.
        term: String,
        /// The whole tag value.
        raw: String,
    },
    /// `daily=0` or `within=0d`: a rule that keeps nothing is never what a schedule is for.
    #[error(
        "the term {term:?} in the retention {raw:?} is zero; a count goes from 1 to {MAX_RETENTION} and a duration \
         must be longer than zero (to stop snapshots remove the tag instead)"
    )]
    Zero {
        /// The offending term.
        term: String,
        /// The whole tag value.
        raw: String,
    },
    /// `daily=abc`, `daily=-1`, `daily=3.5`.
    #[error(
        "the term {term:?} in the retention {raw:?} is not a whole number; a count goes from 1 to {MAX_RETENTION}"
    )]
    NotANumber {
        /// The offending term.
        term: String,
        /// The whole tag value.
        raw: String,
    },
    /// `last=1001`, or a duration amount above [`MAX_WITHIN_AMOUNT`].
    #[error(
        "the term {term:?} in the retention {raw:?} is too large; a count goes up to {MAX_RETENTION} and each amount \
         of a duration up to {MAX_WITHIN_AMOUNT}"
    )]
    TooLarge {
        /// The offending term.
        term: String,
        /// The whole tag value.
        raw: String,
    },
    /// `within=30`: days or months or hours? Never guessed.
    #[error("the term {term:?} in the retention {raw:?} has a number without a unit; {DURATION}")]
    MissingUnit {
        /// The offending term.
        term: String,
        /// The whole tag value.
        raw: String,
    },
    /// `within=-1d`, `within=3x`, `within=1d1y`, `within=d`: not the duration grammar.
    #[error("the term {term:?} in the retention {raw:?} is not a duration; {DURATION}")]
    NotADuration {
        /// The offending term.
        term: String,
        /// The whole tag value.
        raw: String,
    },
}

/// A `within` duration (restic's `Duration` plus weeks): calendar years, months, weeks and days, then
/// hours. At least one amount is above zero, none above [`MAX_WITHIN_AMOUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Within {
    years: u32,
    months: u32,
    weeks: u32,
    days: u32,
    hours: u32,
}

impl Within {
    /// Builds a duration from its amounts; `None` when all are zero or one is above
    /// [`MAX_WITHIN_AMOUNT`] (the same rules as the parser, for tests and generated data).
    pub fn new(years: u32, months: u32, weeks: u32, days: u32, hours: u32) -> Option<Self> {
        let all = [years, months, weeks, days, hours];
        if all.iter().all(|&a| a == 0) || all.iter().any(|&a| a > MAX_WITHIN_AMOUNT) {
            return None;
        }
        Some(Within { years, months, weeks, days, hours })
    }

    /// Whether the duration is a day or more (calendar units count as at least a day): an age
    /// below that is a typo where a person must have time to notice a removed tag.
    pub fn at_least_a_day(&self) -> bool {
        self.years + self.months + self.weeks + self.days > 0 || self.hours >= 24
    }

    /// The start of the window, exclusive: restic's `latest.AddDate(-y, -m, -d).Add(-h * time.Hour)`
    /// with weeks as seven days each, on the wall clock of `tz`. Go's `time.Date` normalises an
    /// impossible date by counting days on from the first of the month (31 March minus 1m is 3 March)
    /// and resolves a wall clock in a gap or an overlap by its own rule, both reproduced here.
    pub fn cutoff(&self, latest: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        self.try_cutoff(latest, tz).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn try_cutoff(&self, latest: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let wall = latest.with_timezone(&tz).naive_local();
        let months = i64::from(wall.year()) * 12 + i64::from(wall.month0())
            - i64::from(self.years) * 12
            - i64::from(self.months);
        let first = NaiveDate::from_ymd_opt(
            i32::try_from(months.div_euclid(12)).ok()?,
            u32::try_from(months.rem_euclid(12)).ok()? + 1,
            1,
        )?;
        let days = i64::from(wall.day()) - 1 - 7 * i64::from(self.weeks) - i64::from(self.days);
        let date = first.checked_add_signed(TimeDelta::try_days(days)?)?;
        let at = go_date(tz, date.and_time(wall.time()))?;
        at.checked_sub_signed(TimeDelta::try_hours(i64::from(self.hours))?)
    }

    pub(crate) fn parse(term: &str, value: &str, raw: &str) -> Result<Self, PolicyError> {
        let err = |make: fn(String, String) -> PolicyError| make(term.to_owned(), raw.to_owned());
        let not_a_duration = |t, r| PolicyError::NotADuration { term: t, raw: r };
        let mut amounts = [0u32; 5];
        let mut next_unit = 0;
        let mut rest = value;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err(not_a_duration));
            }
            let (number, after) = rest.split_at(digits);
            let Some(unit) = after.chars().next() else {
                return Err(err(|t, r| PolicyError::MissingUnit { term: t, raw: r }));
            };
            let Some(index) = "ymwdh".find(unit) else {
                return Err(err(not_a_duration));
            };
            if index < next_unit {
                return Err(err(not_a_duration));
            }
            let significant = number.trim_start_matches('0');
            match significant.parse::<u32>() {
                _ if significant.is_empty() => {}
                Ok(n) if n <= MAX_WITHIN_AMOUNT => amounts[index] = n,
                _ => return Err(err(|t, r| PolicyError::TooLarge { term: t, raw: r })),
            }
            next_unit = index + 1;
            rest = &after[unit.len_utf8()..];
        }
        let [years, months, weeks, days, hours] = amounts;
        Within::new(years, months, weeks, days, hours).ok_or_else(|| err(|t, r| PolicyError::Zero { term: t, raw: r }))
    }
}

/// Go's `time.Date` for a wall clock in `tz`: take the offset in force at the wall clock read as UTC,
/// then the offset in force at the instant that gives (Go checks whether that instant is still in
/// the first offset's period, which comes to the same).
fn go_date(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let offset_at = |utc: &NaiveDateTime| i64::from(tz.offset_from_utc_datetime(utc).fix().local_minus_utc());
    let guess = wall.checked_sub_signed(TimeDelta::try_seconds(offset_at(&wall))?)?;
    let utc = wall.checked_sub_signed(TimeDelta::try_seconds(offset_at(&guess))?)?;
    Some(Utc.from_utc_datetime(&utc))
}

impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [(self.years, 'y'), (self.months, 'm'), (self.weeks, 'w'), (self.days, 'd'), (self.hours, 'h')];
        for (n, unit) in parts {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// The terms of a policy, each at most once; what [`RetentionPolicy::terms`] returns and
/// [`RetentionPolicy::from_terms`] takes, so a caller can inspect or build a policy without text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Terms {
    /// `last=N`: the newest N completed snapshots.
    pub last: Option<Retention>,
    /// `hourly=N`: the newest snapshot of each of the newest N local hours that have one.
    pub hourly: Option<Retention>,
    /// `daily=N`: the newest snapshot of each of the newest N local days that have one.
    pub daily: Option<Retention>,
    /// `weekly=N`: the newest snapshot of each of the newest N ISO weeks that have one.
    pub weekly: Option<Retention>,
    /// `monthly=N`: the newest snapshot of each of the newest N months that have one.
    pub monthly: Option<Retention>,
    /// `yearly=N`: the newest snapshot of each of the newest N years that have one.
    pub yearly: Option<Retention>,
    /// `within=D`: every snapshot less than D older than the newest completed one.
    pub within: Option<Within>,
}

impl Terms {
    fn counts(&self) -> [(Rule, Option<Retention>); 6] {
        [
            (Rule::Last, self.last),
            (Rule::Hourly, self.hourly),
            (Rule::Daily, self.daily),
            (Rule::Weekly, self.weekly),
            (Rule::Monthly, self.monthly),
            (Rule::Yearly, self.yearly),
        ]
    }

    fn is_empty(&self) -> bool {
        self.counts().iter().all(|(_, n)| n.is_none()) && self.within.is_none()
    }
}

impl fmt::Display for Terms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for (rule, n) in self.counts() {
            if let Some(n) = n {
                write!(f, "{sep}{}={n}", rule.name())?;
                sep = " ";
            }
        }
        if let Some(w) = self.within {
            write!(f, "{sep}within={w}")?;
        }
        Ok(())
    }
}

/// A count rule, in the fixed order of the canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Rule {
    fn name(self) -> &'static str {
        match self {
            Rule::Last => "last",
            Rule::Hourly => "hourly",
            Rule::Daily => "daily",
            Rule::Weekly => "weekly",
            Rule::Monthly => "monthly",
            Rule::Yearly => "yearly",
        }
    }

    /// restic's bucket functions (`always`, `ymdh`, `ymd`, `yw`, `ym`, `y`), on the local wall clock.
    fn bucket(self, local: &DateTime<Tz>, rank: u32) -> Bucket {
        match self {
            Rule::Last => Bucket::Last(rank),
            Rule::Hourly => Bucket::Hourly { date: local.date_naive(), hour: local.hour() },
            Rule::Daily => Bucket::Daily(local.date_naive()),
            Rule::Weekly => {
                let w = local.iso_week();
                Bucket::Weekly { year: w.year(), week: w.week() }
            }
            Rule::Monthly => Bucket::Monthly { year: local.year(), month: local.month() },
            Rule::Yearly => Bucket::Yearly(local.year()),
        }
    }
}

/// A keyword tag's retention: a plain count (`7`) or restic-style terms combined by union
/// (`last=24 daily=7 weekly=4 monthly=12`, `within=30d`). Displays (and serializes) canonically.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RetentionPolicy(Repr);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Repr {
    Count(Retention),
    /// Never empty. Boxed: a plan holds one policy per volume, nearly always a plain count, and
    /// the terms inline would make every one of them 72 bytes rather than 16.
    Terms(Box<Terms>),
}

impl RetentionPolicy {
    /// The plain count `N`, which decides exactly like `last=N` (and like snapcycle always has).
    pub fn count(n: Retention) -> Self {
        RetentionPolicy(Repr::Count(n))
    }

    /// A policy of terms (displayed as terms, even `last=N` alone); `None` when no term is set.
    pub fn from_terms(terms: Terms) -> Option<Self> {
        (!terms.is_empty()).then(|| RetentionPolicy(Repr::Terms(Box::new(terms))))
    }

    /// The count when the value was a plain number (`7`, not `last=7`): the form older snapcycle
    /// versions understand and the one multi-attach volumes can compare.
    pub fn as_count(&self) -> Option<Retention> {
        match self.0 {
            Repr::Count(n) => Some(n),
            Repr::Terms(_) => None,
        }
    }

    /// At most how many completed snapshots of one volume the policy keeps, for sizing the
    /// function: each count term keeps at most its count (restic's "oldest" spends a count too),
    /// and `within` at most one snapshot per `interval` across its longest span (a year as 366
    /// days, a month as 31). Pending and failed snapshots come on top.
    pub fn kept_at_most(&self, interval: std::time::Duration) -> u64 {
        let t = self.terms();
        let counts: u64 = [t.last, t.hourly, t.daily, t.weekly, t.monthly, t.yearly]
            .iter()
            .flatten()
            .map(|n| u64::from(n.get()))
            .sum();
        let within = t.within.map_or(0, |w| {
            let hours = u64::from(w.years) * 366 * 24
                + u64::from(w.months) * 31 * 24
                + u64::from(w.weeks) * 7 * 24
                + u64::from(w.days) * 24
                + u64::from(w.hours);
            (hours * 3600).div_ceil(interval.as_secs().max(1)) + 1
        });
        counts + within
    }

    /// The terms the policy applies; a plain count `N` is `last=N`.
    pub fn terms(&self) -> Terms {
        match &self.0 {
            Repr::Count(n) => Terms { last: Some(*n), ..Terms::default() },
            Repr::Terms(t) => **t,
        }
    }

    /// Parses a tag value. A value without `=` is a plain count, read by [`Retention::parse`] with its
    /// errors; otherwise terms separated by spaces and/or one comma. Surrounding white space is forgiven.
    pub fn parse(raw: &str) -> Result<Self, PolicyError> {
        let value = raw.trim();
        if !value.contains('=') {
            return Ok(RetentionPolicy::count(Retention::parse(raw)?));
        }
        let mut terms = Terms::default();
        let mut seen: Vec<&str> = Vec::new();
        for piece in value.split(',') {
            if piece.trim().is_empty() {
                return Err(PolicyError::EmptyTerm { raw: raw.to_owned() });
            }
            for term in piece.split_whitespace() {
                let (name, v) = parse_term(term, raw)?;
                if seen.contains(&name) {
                    return Err(PolicyError::Repeated {
                        name: name.to_owned(),
                        term: term.to_owned(),
                        raw: raw.to_owned(),
                    });
                }
                seen.push(name);
                match (name, v) {
                    ("last", Value::Count(n)) => terms.last = Some(n),
                    ("hourly", Value::Count(n)) => terms.hourly = Some(n),
                    ("daily", Value::Count(n)) => terms.daily = Some(n),
                    ("weekly", Value::Count(n)) => terms.weekly = Some(n),
                    ("monthly", Value::Count(n)) => terms.monthly = Some(n),
                    ("yearly", Value::Count(n)) => terms.yearly = Some(n),
                    (_, Value::Within(w)) => terms.within = Some(w),
                    (_, Value::Count(_)) => unreachable!("parse_term only returns known names"),
                }
            }
        }
        Ok(RetentionPolicy(Repr::Terms(Box::new(terms))))
    }

    /// Decides, for one volume, which snapshots the policy keeps and why. `newest_first` is the
    /// volume's snapshots of the keyword in the caller's newest-first order (plan.rs's rotation
    /// order); it is walked as given, never re-sorted, and each candidate's `time` is used only for its
    /// buckets (on the wall clock of `tz`) and the `within` window. One decision per candidate, in
    /// the same order.
    pub fn thin<'a>(&self, newest_first: &[Candidate<'a>], tz: Tz) -> Vec<Decision<'a>> {
        let terms = self.terms();
        let mut rules: Vec<(Rule, u32, HashSet<Bucket>)> =
            terms.counts().iter().filter_map(|&(rule, n)| Some((rule, n?.get(), HashSet::new()))).collect();
        let completed = |c: &&Candidate<'_>| c.state == SnapshotState::Completed;
        let first_completed = newest_first.iter().position(|c| completed(&c));
        let last_completed = newest_first.iter().rposition(|c| completed(&c));
        let latest = newest_first.iter().filter(completed).map(|c| c.time).max();
        // The window; with no completed snapshot there is no newest to count back from, and nothing
        // is exhausted (a failed snapshot stays, like rotate keeps it with fewer than N completed).
        let window = terms.within.map(|w| (w, latest.map(|l| w.cutoff(l, tz))));
        let in_window = |t: DateTime<Utc>| window.is_some_and(|(_, cut)| cut.is_none_or(|cut| t > cut));

        let mut rank = 0;
        let mut out = Vec::with_capacity(newest_first.len());
        for (i, c) in newest_first.iter().enumerate() {
            let verdict = match c.state {
                SnapshotState::Pending | SnapshotState::Other => Verdict::Keep(vec![KeptBy::Pending]),
                SnapshotState::Error => {
                    if rules.iter().any(|(_, left, _)| *left > 0) || in_window(c.time) {
                        Verdict::Keep(vec![KeptBy::FailedNotBeyond])
                    } else {
                        Verdict::Delete(Why::FailedBeyond)
                    }
                }
                SnapshotState::Completed => {
                    rank += 1;
                    let local = c.time.with_timezone(&tz);
                    let mut by = Vec::new();
                    for (rule, left, seen) in rules.iter_mut().filter(|(_, left, _)| *left > 0) {
                        let bucket = rule.bucket(&local, rank);
                        if seen.insert(bucket) {
                            by.push(KeptBy::Bucket(bucket));
                        } else if Some(i) == last_completed {
                            by.push(KeptBy::Oldest(bucket));
                        } else {
                            continue;
                        }
                        *left -= 1;
                    }
                    if let Some((w, _)) = window.filter(|_| in_window(c.time)) {
                        by.push(KeptBy::Within(w));
                    }
                    if by.is_empty() && Some(i) == first_completed {
                        by.push(KeptBy::NewestCompleted);
                    }
                    if by.is_empty() {
                        Verdict::Delete(Why::Beyond(self.clone()))
                    } else {
                        Verdict::Keep(by)
                    }
                }
            };
            out.push(Decision { id: c.id, verdict });
        }
        out
    }
}

enum Value {
    Count(Retention),
    Within(Within),
}

fn parse_term<'t>(term: &'t str, raw: &str) -> Result<(&'t str, Value), PolicyError> {
    let owned = || (term.to_owned(), raw.to_owned());
    let Some((name, value)) = term.split_once('=') else {
        let (term, raw) = owned();
        return Err(PolicyError::NotATerm { term, raw });
    };
    let name = match name {
        "last" | "hourly" | "daily" | "weekly" | "monthly" | "yearly" | "within" => name,
        _ => {
            let (term, raw) = owned();
            return Err(PolicyError::UnknownTerm { term, raw });
        }
    };
    if value.is_empty() {
        let (term, raw) = owned();
        return Err(PolicyError::NoValue { term, raw });
    }
    if name == "within" {
        return Ok((name, Value::Within(Within::parse(term, value, raw)?)));
    }
    let (term, raw) = owned();
    match Retention::parse(value) {
        Ok(n) => Ok((name, Value::Count(n))),
        Err(RetentionError::Zero(_)) => Err(PolicyError::Zero { term, raw }),
        Err(RetentionError::TooLarge(_)) => Err(PolicyError::TooLarge { term, raw }),
        Err(_) => Err(PolicyError::NotANumber { term, raw }),
    }
}

impl From<Retention> for RetentionPolicy {
    fn from(n: Retention) -> Self {
        RetentionPolicy::count(n)
    }
}

impl FromStr for RetentionPolicy {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RetentionPolicy::parse(s)
    }
}

impl fmt::Display for RetentionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Count(n) => write!(f, "{n}"),
            Repr::Terms(t) => write!(f, "{t}"),
        }
    }
}

impl Serialize for RetentionPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One snapshot of a volume as the policy sees it; the caller derives `time` (the snapshot's
/// scheduled run time) and passes the candidates newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The snapshot id, carried into its [`Decision`].
    pub id: &'a str,
    /// The time its buckets and the `within` window are read from.
    pub time: DateTime<Utc>,
    /// Only completed snapshots count; pending ones are kept, failed ones kept until beyond.
    pub state: SnapshotState,
}

/// The policy's decision on one candidate, for the plan and for a person reading a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    /// The candidate's snapshot id.
    pub id: &'a str,
    /// Keep or delete, and why.
    pub verdict: Verdict,
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.id, self.verdict)
    }
}

/// Keep (by which terms) or delete (why). Displays as `keep: last 1, daily 2026-11-30` or
/// `delete: beyond weekly=4`, and serializes as that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Kept; never empty, in the order of the canonical form (last ... yearly, within).
    Keep(Vec<KeptBy>),
    /// Deleted.
    Delete(Why),
}

impl Verdict {
    /// Whether the snapshot stays.
    pub fn is_keep(&self) -> bool {
        matches!(self, Verdict::Keep(_))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Keep(by) => {
                f.write_str("keep: ")?;
                for (i, b) in by.iter().enumerate() {
                    write!(f, "{}{b}", if i == 0 { "" } else { ", " })?;
                }
                Ok(())
            }
            Verdict::Delete(why) => write!(f, "delete: {why}"),
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The bucket a count rule kept a snapshot for, labelled on the stack's local wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `last 3`: the third newest completed snapshot.
    Last(u32),
    /// `hourly 2026-11-30T14`.
    Hourly {
        /// The local date.
        date: NaiveDate,
        /// The local hour, 0 to 23.
        hour: u32,
    },
    /// `daily 2026-11-30`.
    Daily(NaiveDate),
    /// `weekly 2026-W48`: the ISO week-numbering year and week (2027-01-03 is in 2026-W53).
    Weekly {
        /// The ISO week-numbering year.
        year: i32,
        /// The ISO week, 1 to 53.
        week: u32,
    },
    /// `monthly 2026-11`.
    Monthly {
        /// The local year.
        year: i32,
        /// The local month, 1 to 12.
        month: u32,
    },
    /// `yearly 2026`.
    Yearly(i32),
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bucket::Last(rank) => write!(f, "last {rank}"),
            Bucket::Hourly { date, hour } => write!(f, "hourly {date}T{hour:02}"),
            Bucket::Daily(date) => write!(f, "daily {date}"),
            Bucket::Weekly { year, week } => write!(f, "weekly {year:04}-W{week:02}"),
            Bucket::Monthly { year, month } => write!(f, "monthly {year:04}-{month:02}"),
            Bucket::Yearly(year) => write!(f, "yearly {year:04}"),
        }
    }
}

/// Why a snapshot is kept; a snapshot kept by several terms lists them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptBy {
    /// The newest completed snapshot of a bucket the rule had count left for (`daily 2026-11-30`).
    Bucket(Bucket),
    /// restic's "oldest": the oldest completed snapshot, kept because the rule still had count left
    /// though its bucket was kept already (`oldest daily 2026-11-30`).
    Oldest(Bucket),
    /// Inside the `within` window (`within 30d`).
    Within(Within),
    /// The newest completed snapshot, kept although no term did (only a `within` window that a time
    /// zone's jump makes empty can do that): a policy never leaves a volume without it.
    NewestCompleted,
    /// Pending, or in a state this version does not know: never counted, never deleted.
    Pending,
    /// Failed, but some count is left or it is inside the window: it goes once the policy is
    /// exhausted at its place, as rotate has always done.
    FailedNotBeyond,
}

impl fmt::Display for KeptBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeptBy::Bucket(b) => write!(f, "{b}"),
            KeptBy::Oldest(b) => write!(f, "oldest {b}"),
            KeptBy::Within(w) => write!(f, "within {w}"),
            KeptBy::NewestCompleted => f.write_str("newest completed"),
            KeptBy::Pending => f.write_str("pending"),
            KeptBy::FailedNotBeyond => f.write_str("failed snapshot not yet beyond the policy"),
        }
    }
}

/// Why a snapshot is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A completed snapshot no term keeps (`beyond weekly=4`; a plain count reads
    /// `beyond the newest 7 completed`).
    Beyond(RetentionPolicy),
    /// A failed snapshot where the policy is exhausted.
    FailedBeyond,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Beyond(p) => match p.as_count() {
                Some(n) => write!(f, "beyond the newest {n} completed"),
                None => write!(f, "beyond {p}"),
            },
            Why::FailedBeyond => f.write_str("failed snapshot beyond the policy"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(raw: &str) -> RetentionPolicy {
        RetentionPolicy::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"))
    }

    #[test]
    fn what_a_policy_keeps_at_most_sizes_the_function() {
        let hour = std::time::Duration::from_secs(3600);
        let day = std::time::Duration::from_secs(86_400);
        let at_most = |raw: &str, every| RetentionPolicy::parse(raw).unwrap().kept_at_most(every);
        assert_eq!(at_most("7", day), 7);
        assert_eq!(at_most("last=24 daily=7 weekly=4 monthly=12", hour), 47);
        // 30 days of daily runs: at most 31 fall in the window (both ends may).
        assert_eq!(at_most("within=30d", day), 31);
        assert_eq!(at_most("within=36h last=2", hour), 39);
        assert_eq!(at_most("within=1y", day), 367);
    }

    #[test]
    fn accepts_counts_and_terms_in_canonical_form() {
        let cases = [
            ("7", "7"),
            (" 7 ", "7"),
            ("007", "7"),
            ("+2", "2"),
            ("1000", "1000"),
            ("last=7", "last=7"),
            ("last=24 daily=7 weekly=4 monthly=12", "last=24 daily=7 weekly=4 monthly=12"),
            ("daily=7,weekly=4", "daily=7 weekly=4"),
            ("  monthly=12, daily=7 ,weekly=4\t", "daily=7 weekly=4 monthly=12"),
            ("yearly=1000 hourly=1", "hourly=1 yearly=1000"),
            ("daily=007", "daily=7"),
            ("daily=+3", "daily=3"),
            ("within=30d", "within=30d"),
            ("within=36h", "within=36h"),
            ("within=6m", "within=6m"),
            ("within=1y", "within=1y"),
            ("within=1y6m", "within=1y6m"),
            ("within=2w", "within=2w"),
            ("within=1y2m3w4d5h", "within=1y2m3w4d5h"),
            ("within=0y3d", "within=3d"),
            ("within=007d", "within=7d"),
            ("within=10000h", "within=10000h"),
            ("within=1d last=3", "last=3 within=1d"),
            (
                "yearly=3 monthly=2 weekly=1 daily=1 hourly=1 last=1 within=1h",
                "last=1 hourly=1 daily=1 weekly=1 monthly=2 yearly=3 within=1h",
            ),
        ];
        for (raw, canonical) in cases {
            let p = policy(raw);
            assert_eq!(p.to_string(), canonical, "{raw:?}");
            assert_eq!(RetentionPolicy::parse(&p.to_string()), Ok(p.clone()), "{raw:?} round trip");
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("{canonical:?}"));
        }
        assert_eq!(policy("7").as_count(), Retention::new(7));
        assert_eq!(policy("last=7").as_count(), None, "only the plain form is a count");
        assert_eq!(policy("last=7").terms(), policy("7").terms(), "but both are last=7");
        assert_eq!(RetentionPolicy::count(Retention::new(3).unwrap()), policy("3"));
        assert_eq!(RetentionPolicy::from_terms(Terms::default()), None);
        assert_eq!(RetentionPolicy::from_terms(policy("daily=7,weekly=4").terms()), Some(policy("weekly=4 daily=7")));
        assert_eq!(Within::new(0, 0, 0, 0, 0), None);
        assert_eq!(Within::new(0, 0, 0, 0, MAX_WITHIN_AMOUNT + 1), None);
    }

    type Expect = fn(&PolicyError) -> bool;

    #[test]
    fn refuses_bad_values_naming_the_term() {
        use PolicyError as E;
        // (value, the offending term the message must quote, expected variant)
        let cases: &[(&str, &str, Expect)] = &[
            ("daily=0", "daily=0", |e| matches!(e, E::Zero { .. })),
            ("daily=000", "daily=000", |e| matches!(e, E::Zero { .. })),
            ("within=0d", "within=0d", |e| matches!(e, E::Zero { .. })),
            ("within=0y0h", "within=0y0h", |e| matches!(e, E::Zero { .. })),
            ("daily=7 daily=3", "daily=3", |e| matches!(e, E::Repeated { name, .. } if name == "daily")),
            ("within=1d,within=2d", "within=2d", |e| matches!(e, E::Repeated { .. })),
            ("fortnightly=2", "fortnightly=2", |e| matches!(e, E::UnknownTerm { .. })),
            ("Daily=7", "Daily=7", |e| matches!(e, E::UnknownTerm { .. })),
            ("=7", "=7", |e| matches!(e, E::UnknownTerm { .. })),
            ("within=30", "within=30", |e| matches!(e, E::MissingUnit { .. })),
            ("within=1d30", "within=1d30", |e| matches!(e, E::MissingUnit { .. })),
            ("within=-1d", "within=-1d", |e| matches!(e, E::NotADuration { .. })),
            ("within=+1d", "within=+1d", |e| matches!(e, E::NotADuration { .. })),
            ("within=3x", "within=3x", |e| matches!(e, E::NotADuration { .. })),
            ("within=1d1y", "within=1d1y", |e| matches!(e, E::NotADuration { .. })),
            ("within=1d1d", "within=1d1d", |e| matches!(e, E::NotADuration { .. })),
            ("within=d", "within=d", |e| matches!(e, E::NotADuration { .. })),
            ("within=1.5d", "within=1.5d", |e| matches!(e, E::NotADuration { .. })),
            ("within=30D", "within=30D", |e| matches!(e, E::NotADuration { .. })),
            ("last=1001", "last=1001", |e| matches!(e, E::TooLarge { .. })),
            ("last=99999999999999999999", "last=99999999999999999999", |e| matches!(e, E::TooLarge { .. })),
            ("within=10001h", "within=10001h", |e| matches!(e, E::TooLarge { .. })),
            ("within=99999999999d", "within=99999999999d", |e| matches!(e, E::TooLarge { .. })),
            ("daily=", "daily=", |e| matches!(e, E::NoValue { .. })),
            ("within=", "within=", |e| matches!(e, E::NoValue { .. })),
            ("7 daily=3", "7", |e| matches!(e, E::NotATerm { .. })),
            ("daily = 7", "daily", |e| matches!(e, E::NotATerm { .. })),
            ("daily=abc", "daily=abc", |e| matches!(e, E::NotANumber { .. })),
            ("daily=-1", "daily=-1", |e| matches!(e, E::NotANumber { .. })),
            ("daily=3.5", "daily=3.5", |e| matches!(e, E::NotANumber { .. })),
            ("daily=7,,weekly=4", "", |e| matches!(e, E::EmptyTerm { .. })),
            ("daily=7, ,weekly=4", "", |e| matches!(e, E::EmptyTerm { .. })),
            ("daily=7,", "", |e| matches!(e, E::EmptyTerm { .. })),
            (",daily=7", "", |e| matches!(e, E::EmptyTerm { .. })),
            // No `=`: a plain count, with the count's own errors and messages.
            ("", "", |e| matches!(e, E::Count(RetentionError::Empty))),
            ("   ", "", |e| matches!(e, E::Count(RetentionError::Empty))),
            ("abc", "abc", |e| matches!(e, E::Count(RetentionError::NotANumber(_)))),
            ("0", "0", |e| matches!(e, E::Count(RetentionError::Zero(_)))),
            ("-1", "-1", |e| matches!(e, E::Count(RetentionError::Negative(_)))),
            ("1001", "1001", |e| matches!(e, E::Count(RetentionError::TooLarge(_)))),
            ("7 days", "7 days", |e| matches!(e, E::Count(RetentionError::NotANumber(_)))),
        ];
        for &(raw, term, want) in cases {
            let err = RetentionPolicy::parse(raw).expect_err(raw);
            assert!(want(&err), "{raw:?} gave {err:?}");
            let msg = err.to_string();
            // An empty term has no text to quote; the message says "empty term" and quotes the value.
            if !term.is_empty() {
                assert!(msg.contains(&format!("{term:?}")), "{raw:?}: the message names the term: {msg}");
            }
            if !raw.trim().is_empty() {
                assert!(msg.contains(&format!("{raw:?}")), "{raw:?}: the message quotes the value: {msg}");
            }
            if let E::Count(inner) = &err {
                assert_eq!(msg, inner.to_string(), "a plain count keeps the count's message");
                assert_eq!(Retention::parse(raw).unwrap_err(), *inner);
            }
        }
        assert!(ALLOWED.contains(&format!("1 to {MAX_RETENTION}")), "the help text follows the limit");
        let unknown = RetentionPolicy::parse("fortnightly=2").unwrap_err().to_string();
        for name in ["last", "hourly", "daily", "weekly", "monthly", "yearly", "within"] {
            assert!(unknown.contains(name), "{unknown}");
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).with_timezone(&Utc)
    }

    /// Decides `snaps` (id, time, state; newest first) and returns (kept ids, deleted ids).
    fn split(raw: &str, tz: Tz, snaps: &[(&str, &str, SnapshotState)]) -> (Vec<String>, Vec<String>) {
        let candidates: Vec<Candidate<'_>> =
            snaps.iter().map(|&(id, t, state)| Candidate { id, time: at(t), state }).collect();
        let decisions = policy(raw).thin(&candidates, tz);
        assert_eq!(decisions.iter().map(|d| d.id).collect::<Vec<_>>(), snaps.iter().map(|s| s.0).collect::<Vec<_>>());
        let (keep, delete): (Vec<_>, Vec<_>) = decisions.iter().partition(|d| d.verdict.is_keep());
        (keep.iter().map(|d| d.id.to_owned()).collect(), delete.iter().map(|d| d.id.to_owned()).collect())
    }

    fn reasons(raw: &str, tz: Tz, snaps: &[(&str, &str, SnapshotState)]) -> Vec<String> {
        let candidates: Vec<Candidate<'_>> =
            snaps.iter().map(|&(id, t, state)| Candidate { id, time: at(t), state }).collect();
        policy(raw).thin(&candidates, tz).iter().map(ToString::to_string).collect()
    }

    const C: SnapshotState = SnapshotState::Completed;
    const UTC: Tz = chrono_tz::UTC;

    /// Worked by hand with restic's rules (module docs); each case says why.
    #[test]
    fn hand_worked_cases() {
        struct Case {
            name: &'static str,
            policy: &'static str,
            tz: Tz,
            snaps: &'static [(&'static str, &'static str, SnapshotState)],
            keep: &'static [&'static str],
        }
        let cases = [
            Case {
                // Five days, 2026-11-28 missing: the newest of each of the three newest days that
                // have snapshots (30, 29, 27); the 26th is beyond, and so are the earlier ones of a day.
                name: "daily=3 over five days",
                policy: "daily=3",
                tz: UTC,
                snaps: &[
                    ("a", "2026-11-30T18:00:00Z", C),
                    ("b", "2026-11-30T06:00:00Z", C),
                    ("c", "2026-11-29T18:00:00Z", C),
                    ("d", "2026-11-29T06:00:00Z", C),
                    ("e", "2026-11-27T12:00:00Z", C),
                    ("f", "2026-11-27T00:00:00Z", C),
                    ("g", "2026-11-26T12:00:00Z", C),
                ],
                keep: &["a", "c", "e"],
            },
            Case {
                // Only two days for daily=3: restic keeps the oldest snapshot too (a count is left).
                name: "restic's oldest",
                policy: "daily=3",
                tz: UTC,
                snaps: &[
                    ("a", "2026-11-30T18:00:00Z", C),
                    ("b", "2026-11-30T06:00:00Z", C),
                    ("c", "2026-11-29T18:00:00Z", C),
                    ("d", "2026-11-29T06:00:00Z", C),
                ],
                keep: &["a", "c", "d"],
            },
            Case {
                // 2026-01-01 is a Thursday, so 2026 has 53 ISO weeks: 2026-12-28 (Mon) to 2027-01-03
                // (Sun) is 2026-W53, and 2027-W01 starts on Monday 2027-01-04.
                name: "weekly=2 across the ISO year",
                policy: "weekly=2",
                tz: UTC,
                snaps: &[
                    ("a", "2027-01-05T00:00:00Z", C), // 2027-W01
                    ("b", "2027-01-04T00:00:00Z", C), // 2027-W01
                    ("c", "2027-01-03T00:00:00Z", C), // 2026-W53
                    ("d", "2026-12-31T00:00:00Z", C), // 2026-W53
                    ("e", "2026-12-28T00:00:00Z", C), // 2026-W53
                    ("f", "2026-12-27T00:00:00Z", C), // 2026-W52
                ],
                keep: &["a", "c"],
            },
            Case {
                name: "monthly=2",
                policy: "monthly=2",
                tz: UTC,
                snaps: &[
                    ("a", "2026-11-30T00:00:00Z", C),
                    ("b", "2026-11-01T00:00:00Z", C),
                    ("c", "2026-10-31T23:00:00Z", C),
                    ("d", "2026-10-15T00:00:00Z", C),
                    ("e", "2026-09-30T00:00:00Z", C),
                ],
                keep: &["a", "c"],
            },
            Case {
                name: "yearly=1",
                policy: "yearly=1",
                tz: UTC,
                snaps: &[
                    ("a", "2026-06-01T00:00:00Z", C),
                    ("b", "2026-01-01T00:00:00Z", C),
                    ("c", "2025-12-31T23:00:00Z", C),
                ],
                keep: &["a"],
            },
            Case {
                // Newest 2026-11-30T12:00, so the window starts at 2026-11-28T12:00, exclusive
                // (restic: `cur.Time.After(t)`): d, exactly on it, goes.
                name: "within=2d with hours",
                policy: "within=2d",
                tz: UTC,
                snaps: &[
                    ("a", "2026-11-30T12:00:00Z", C),
                    ("b", "2026-11-29T00:00:00Z", C),
                    ("c", "2026-11-28T13:00:00Z", C),
                    ("d", "2026-11-28T12:00:00Z", C),
                    ("e", "2026-11-27T12:00:00Z", C),
                ],
                keep: &["a", "b", "c"],
            },
            Case {
                // last=2 keeps a and b, daily=2 keeps a (30th) and c (29th): the union is a, b, c.
                name: "last=2 daily=2",
                policy: "last=2 daily=2",
                tz: UTC,
                snaps: &[
                    ("a", "2026-11-30T18:00:00Z", C),
                    ("b", "2026-11-30T06:00:00Z", C),
                    ("c", "2026-11-29T18:00:00Z", C),
                    ("d", "2026-11-28T18:00:00Z", C),
                ],
                keep: &["a", "b", "c"],
            },
            Case {
                // UTC days: a and b on the 29th, c on the 28th -> a, c.
                name: "daily=2 in UTC",
                policy: "daily=2",
                tz: UTC,
                snaps: &[
                    ("a", "2026-11-29T20:00:00Z", C),
                    ("b", "2026-11-29T10:00:00Z", C),
                    ("c", "2026-11-28T20:00:00Z", C),
                ],
                keep: &["a", "c"],
            },
            Case {
                // Shanghai (UTC+8) days: a is 30th 04:00, b 29th 18:00, c 29th 04:00 -> a, b.
                name: "daily=2 in Asia/Shanghai",
                policy: "daily=2",
                tz: chrono_tz::Asia::Shanghai,
                snaps: &[
                    ("a", "2026-11-29T20:00:00Z", C),
                    ("b", "2026-11-29T10:00:00Z", C),
                    ("c", "2026-11-28T20:00:00Z", C),
                ],
                keep: &["a", "b"],
            },
            Case {
                // Snapshots stopped on 2026-10-31 (whatever today is: there is no clock): the window
                // counts back from the newest, (10-24T00:00, 10-31T00:00], seven daily snapshots.
                name: "within=7d on a volume that stopped",
                policy: "within=7d",
                tz: UTC,
                snaps: &[
                    ("1031", "2026-10-31T00:00:00Z", C),
                    ("1030", "2026-10-30T00:00:00Z", C),
                    ("1029", "2026-10-29T00:00:00Z", C),
                    ("1028", "2026-10-28T00:00:00Z", C),
                    ("1027", "2026-10-27T00:00:00Z", C),
                    ("1026", "2026-10-26T00:00:00Z", C),
                    ("1025", "2026-10-25T00:00:00Z", C),
                    ("1024", "2026-10-24T00:00:00Z", C),
                    ("1023", "2026-10-23T00:00:00Z", C),
                    ("1015", "2026-10-15T00:00:00Z", C),
                ],
                keep: &["1031", "1030", "1029", "1028", "1027", "1026", "1025"],
            },
            Case {
                // rotate's rule: pending and unknown states stay; a failed snapshot stays until two
                // completed ones are newer than it.
                name: "2 with pending and failed snapshots",
                policy: "2",
                tz: UTC,
                snaps: &[
                    ("p1", "2026-11-30T00:00:00Z", SnapshotState::Pending),
                    ("e1", "2026-11-29T12:00:00Z", SnapshotState::Error),
                    ("c1", "2026-11-29T00:00:00Z", C),
                    ("e2", "2026-11-28T12:00:00Z", SnapshotState::Error),
                    ("c2", "2026-11-28T00:00:00Z", C),
                    ("e3", "2026-11-27T12:00:00Z", SnapshotState::Error),
                    ("c3", "2026-11-27T00:00:00Z", C),
                    ("o1", "2026-11-26T12:00:00Z", SnapshotState::Other),
                    ("e4", "2026-11-26T00:00:00Z", SnapshotState::Error),
                ],
                keep: &["p1", "e1", "c1", "e2", "c2", "o1"],
            },
            Case {
                // Samoa skipped 2011-12-30: local 31st 10:00 (+14) minus one calendar day is the
                // missing 30th 10:00, which Go's time.Date resolves to the newest itself, so
                // within=1d keeps nothing; the newest completed stays anyway.
                name: "within=1d over Samoa's missing day",
                policy: "within=1d",
                tz: chrono_tz::Pacific::Apia,
                snaps: &[("a", "2011-12-30T20:00:00Z", C), ("b", "2011-12-30T08:00:00Z", C)],
                keep: &["a"],
            },
        ];
        for case in cases {
            let (keep, delete) = split(case.policy, case.tz, case.snaps);
            assert_eq!(keep, case.keep, "{}", case.name);
            let want_delete: Vec<&str> = case.snaps.iter().map(|s| s.0).filter(|id| !case.keep.contains(id)).collect();
            assert_eq!(delete, want_delete, "{}", case.name);
            // `N` and `last=N` split alike.
            if let Some(n) = policy(case.policy).as_count() {
                assert_eq!(split(&format!("last={n}"), case.tz, case.snaps), (keep, delete), "{}", case.name);
            }
        }
    }

    #[test]
    fn reasons_read_well() {
        let daily = [
            ("a", "2026-11-30T18:00:00Z", C),
            ("b", "2026-11-30T06:00:00Z", C),
            ("c", "2026-11-29T18:00:00Z", C),
            ("d", "2026-11-28T18:00:00Z", C),
        ];
        assert_eq!(
            reasons("last=2 daily=2", UTC, &daily),
            [
                "a: keep: last 1, daily 2026-11-30",
                "b: keep: last 2",
                "c: keep: daily 2026-11-29",
                "d: delete: beyond last=2 daily=2",
            ]
        );
        assert_eq!(
            reasons("daily=5", UTC, &daily[..3]),
            ["a: keep: daily 2026-11-30", "b: delete: beyond daily=5", "c: keep: daily 2026-11-29"]
        );
        assert_eq!(
            reasons("daily=3", UTC, &daily[..2]),
            ["a: keep: daily 2026-11-30", "b: keep: oldest daily 2026-11-30"],
            "restic's oldest snapshot, while a count is left"
        );
        assert_eq!(
            reasons("hourly=1 weekly=1 monthly=1 yearly=1 within=30d", chrono_tz::Asia::Shanghai, &daily[..1]),
            ["a: keep: hourly 2026-12-01T02, weekly 2026-W49, monthly 2026-12, yearly 2026, within 30d"],
            "labels are on the stack's wall clock (18:00Z is 02:00 the next day in Shanghai)"
        );
        assert_eq!(reasons("weekly=1", UTC, &[("d", "2026-12-31T00:00:00Z", C)]), ["d: keep: weekly 2026-W53"]);
        assert_eq!(
            reasons(
                "1",
                UTC,
                &[
                    ("p", "2026-12-01T00:00:00Z", SnapshotState::Pending),
                    ("a", "2026-11-30T00:00:00Z", C),
                    ("e", "2026-11-29T12:00:00Z", SnapshotState::Error),
                    ("b", "2026-11-29T00:00:00Z", C),
                ]
            ),
            [
                "p: keep: pending",
                "a: keep: last 1",
                "e: delete: failed snapshot beyond the policy",
                "b: delete: beyond the newest 1 completed",
            ]
        );
        assert_eq!(
            reasons("within=1d", chrono_tz::Pacific::Apia, &[("a", "2011-12-30T20:00:00Z", C)]),
            ["a: keep: newest completed"]
        );
        assert_eq!(
            reasons("daily=1", UTC, &[("e", "2026-11-29T12:00:00Z", SnapshotState::Error)]),
            ["e: keep: failed snapshot not yet beyond the policy"]
        );
    }

    #[test]
    fn failed_snapshots_go_once_every_term_is_exhausted() {
        let e = SnapshotState::Error;
        let snaps = [
            ("a", "2026-11-30T12:00:00Z", C),
            ("e1", "2026-11-30T06:00:00Z", e),
            ("b", "2026-11-29T12:00:00Z", C),
            ("e2", "2026-11-29T06:00:00Z", e),
            ("c", "2026-11-27T12:00:00Z", C),
            ("e3", "2026-11-27T06:00:00Z", e),
        ];
        // last=1 is exhausted after a; daily=2 after b; the window (11-28T12:00, ...) ends before c.
        assert_eq!(split("last=1", UTC, &snaps).0, ["a"]);
        assert_eq!(split("daily=2", UTC, &snaps).0, ["a", "e1", "b"]);
        assert_eq!(split("within=2d", UTC, &snaps).0, ["a", "e1", "b", "e2"]);
        assert_eq!(split("last=1 daily=2 within=2d", UTC, &snaps).0, ["a", "e1", "b", "e2"]);
        // With no completed snapshot nothing is exhausted: like rotate, every failed one stays.
        assert_eq!(split("within=1h", UTC, &[("e", "2026-11-30T06:00:00Z", e)]).0, ["e"]);
    }

    #[test]
    fn the_window_is_gos_add_date() {
        let cut = |w: &str, latest: &str, tz: Tz| {
            let Repr::Terms(terms) = policy(&format!("within={w}")).0 else { unreachable!() };
            let Some(w) = terms.within else { unreachable!() };
            w.cutoff(at(latest), tz)
        };
        // "31 February" is 3 March (Go counts the days on from 1 February).
        assert_eq!(cut("1m", "2026-03-31T12:00:00Z", UTC), at("2026-03-03T12:00:00Z"));
        assert_eq!(cut("1y", "2028-02-29T00:00:00Z", UTC), at("2027-03-01T00:00:00Z"));
        assert_eq!(cut("1y6m", "2026-11-30T00:00:00Z", UTC), at("2025-05-30T00:00:00Z"));
        assert_eq!(cut("2w", "2026-11-30T00:00:00Z", UTC), at("2026-11-16T00:00:00Z"));
        assert_eq!(cut("36h", "2026-11-30T00:00:00Z", UTC), at("2026-11-28T12:00:00Z"));
        assert_eq!(cut("1d12h", "2026-11-30T00:00:00Z", UTC), at("2026-11-28T12:00:00Z"));
        assert_eq!(cut("1m", "2026-01-15T00:00:00Z", UTC), at("2025-12-15T00:00:00Z"));
        // Days are calendar days on the wall clock: across New York's spring-forward a day is 23 hours.
        let ny = chrono_tz::America::New_York;
        assert_eq!(cut("1d", "2026-03-09T04:00:00Z", ny), at("2026-03-08T05:00:00Z"));
        assert_eq!(cut("24h", "2026-03-09T04:00:00Z", ny), at("2026-03-08T04:00:00Z"));
        // A wall clock in the gap (02:30 on 8 March) or the overlap (01:30 on 1 November) is resolved
        // as Go's time.Date does it: the offset at the wall clock read as UTC, then at the result.
        assert_eq!(cut("1d", "2026-03-09T06:30:00Z", ny), at("2026-03-08T06:30:00Z"));
        assert_eq!(cut("1d", "2026-11-02T06:30:00Z", ny), at("2026-11-01T05:30:00Z"));
        assert_eq!(cut("1d", "2011-12-30T20:00:00Z", chrono_tz::Pacific::Apia), at("2011-12-30T20:00:00Z"));
    }
}

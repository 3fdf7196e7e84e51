//! Fire times on a time zone's clock, as EventBridge Scheduler reads a schedule with
//! `ScheduleExpressionTimezone`.
//!
//! EventBridge Scheduler User Guide, "Schedule types on EventBridge Scheduler", "Daylight saving
//! time": "When time shifts forward in the spring, if a cron expression falls on a non-existent
//! date and time, your schedule invocation is skipped. When time shifts backwards in the fall,
//! your schedule runs only once and does not repeat its invocation." A local time in the gap
//! therefore never fires, and one in the overlap fires once: at its first occurrence (the earlier
//! instant; the guide does not say which, and the first is the one a clock shows first).

use chrono::offset::LocalResult;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::ScheduleExpression;

impl ScheduleExpression {
    /// The first fire time strictly after `after` when the expression is read on `tz`'s clock:
    /// a cron's fields match the local wall clock (Scheduler's daylight-saving rules above), a rate
    /// is the same in every zone. With `Tz::UTC` this is [`ScheduleExpression::next_after`].
    pub fn next_after_in(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let cron = match self {
            ScheduleExpression::Rate(_) => return self.next_after(after),
            ScheduleExpression::Cron(cron) => cron,
        };
        // The cron is evaluated on the wall clock, carried as a UTC value of the same reading.
        // Taking the first occurrence of a repeated wall time keeps wall-to-instant monotonic, so
        // no fire earlier on the clock than `after`'s own reading can come after it.
        let mut wall = Utc.from_utc_datetime(&after.with_timezone(&tz).naive_local());
        loop {
            wall = cron.next_after(wall)?;
            let at = match tz.from_local_datetime(&wall.naive_utc()) {
                LocalResult::None => continue,
                LocalResult::Single(t) => t,
                LocalResult::Ambiguous(first, _) => first,
            };
            let at = at.with_timezone(&Utc);
            if at > after {
                return Some(at);
            }
        }
    }

    /// Fire times strictly after `after` on `tz`'s clock, in order; see
    /// [`ScheduleExpression::next_after_in`].
    pub fn fires_after_in(&self, after: DateTime<Utc>, tz: Tz) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        std::iter::successors(self.next_after_in(after, tz), move |t| self.next_after_in(*t, tz))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn fires(expr: &str, tz: Tz, from: &str, n: usize) -> Vec<String> {
        let e: ScheduleExpression = expr.parse().unwrap();
        e.fires_after_in(at(from), tz).take(n).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).collect()
    }

    #[test]
    fn eight_in_beijing_is_midnight_utc() {
        // Asia/Shanghai is UTC+8 all year.
        assert_eq!(
            fires("cron(0 8 * * ? *)", chrono_tz::Asia::Shanghai, "2026-11-26T00:00:00Z", 2),
            ["2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z"]
        );
    }

    #[test]
    fn a_local_time_the_spring_gap_skips_does_not_fire() {
        // New York, 8 March 2026: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist that day.
        assert_eq!(
            fires("cron(30 2 * * ? *)", chrono_tz::America::New_York, "2026-03-06T12:00:00Z", 4),
            ["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z", "2026-03-11T06:30:00Z"]
        );
    }

    #[test]
    fn a_local_time_the_autumn_overlap_repeats_fires_once_at_its_first_occurrence() {
        // New York, 1 November 2026: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice
        // (05:30Z and 06:30Z); it fires once, at 05:30Z.
        assert_eq!(
            fires("cron(30 1 * * ? *)", chrono_tz::America::New_York, "2026-10-31T12:00:00Z", 3),
            ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"]
        );
        // Asked from inside the overlap's second pass, the repeat is not a fire either.
        assert_eq!(
            fires("cron(30 1 * * ? *)", chrono_tz::America::New_York, "2026-11-01T06:00:00Z", 1),
            ["2026-11-02T06:30:00Z"]
        );
        // Berlin, 25 October 2026: 03:00 CEST falls back to 02:00 CET. Every half hour: 02:00
        // and 02:30 fire once (00:00Z, 00:30Z, CEST); their repeats (01:00Z, 01:30Z) do not, so
        // UTC sees a one-hour hole.
        assert_eq!(
            fires("cron(0/30 * * * ? *)", chrono_tz::Europe::Berlin, "2026-10-24T23:00:00Z", 5),
            [
                "2026-10-24T23:30:00Z",
                "2026-10-25T00:00:00Z",
                "2026-10-25T00:30:00Z",
                "2026-10-25T02:00:00Z",
                "2026-10-25T02:30:00Z"
            ]
        );
    }

    #[test]
    fn a_rate_is_the_same_in_every_zone_and_utc_is_the_plain_evaluation() {
        let from = at("2026-03-07T00:00:00Z");
        for expr in ["rate(1 hour)", "cron(0 0 * * ? *)", "cron(15 10 ? * 6L 2026-2027)", "cron(0 8 L * ? *)"] {
            let e: ScheduleExpression = expr.parse().unwrap();
            let plain: Vec<_> = e.fires_after(from).take(50).collect();
            assert_eq!(e.fires_after_in(from, Tz::UTC).take(50).collect::<Vec<_>>(), plain, "{expr}");
            if expr.starts_with("rate") {
                let ny: Vec<_> = e.fires_after_in(from, chrono_tz::America::New_York).take(50).collect();
                assert_eq!(ny, plain, "{expr}");
            }
        }
    }

    #[test]
    fn a_cron_whose_years_are_past_ends_in_any_zone() {
        let e: ScheduleExpression = "cron(0 0 1 1 ? 1999)".parse().unwrap();
        assert_eq!(e.next_after_in(at("2026-01-01T00:00:00Z"), chrono_tz::Pacific::Kiritimati), None);
    }
}

//! Fire times on a time zone's clock, as EventBridge Scheduler reads a schedule with
//! `ScheduleExpressionTimezone`.
//!
//! A cron is evaluated on the zone's wall clock by the same calendar search as in UTC (a wall
//! clock is a calendar too), carried as a UTC value of the same reading; each wall-clock fire is
//! then mapped to the instant(s) that show it. Scheduler's daylight-saving rules (cited on
//! [`ScheduleExpression::next_after_in`]) decide the gaps and overlaps.

use chrono::{DateTime, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::ScheduleExpression;

impl ScheduleExpression {
    /// The first fire time strictly after `after` when the expression is read on `tz`'s clock, as
    /// EventBridge Scheduler fires an `AWS::Scheduler::Schedule` whose `ScheduleExpressionTimezone`
    /// is `tz`; `None` when it never fires again. Lets the CLI show, and a run recognise, what a
    /// stack deployed in a time zone really does.
    ///
    /// A cron's six fields match the local wall clock. Daylight saving follows the EventBridge
    /// Scheduler User Guide, "Schedule types on EventBridge Scheduler", "Daylight saving time":
    /// "When time shifts forward in the spring, if a cron expression falls on a non-existent date
    /// and time, your schedule invocation is skipped. When time shifts backwards in the fall, your
    /// schedule runs only once and does not repeat its invocation." So a local time in the spring
    /// gap does not fire, and one the autumn overlap repeats fires once, at its *first* occurrence
    /// (the earlier instant: the guide does not say which, and the first is the one a clock shows
    /// first). A rate is an interval, the same in every zone. With `Tz::UTC` this is exactly
    /// [`ScheduleExpression::next_after`].
    pub fn next_after_in(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let cron = match self {
            ScheduleExpression::Rate(_) => return self.next_after(after),
            ScheduleExpression::Cron(cron) => cron,
        };
        // `after`'s wall-clock reading. chrono's `naive_local` panics where the offset leaves its
        // calendar (a few days from year ±262143), so add it with a check: below the calendar
        // nothing has fired yet (crons start in 1970), above it nothing fires again.
        let offset = tz.offset_from_utc_datetime(&after.naive_utc()).fix();
        let mut wall = match after.naive_utc().checked_add_offset(offset) {
            Some(wall) => wall,
            None if offset.local_minus_utc() < 0 => NaiveDateTime::MIN,
            None => return None,
        };
        // Starting at `after`'s own reading loses nothing: taking the first occurrence of a
        // repeated reading makes wall clock to instant increasing (each fall-back's overlap is
        // re-covered by the hour(s) just before it, as long as no other change falls within those
        // hours; in tzdata 1970-2199 changes are about a week apart at the closest), so every
        // reading up to `after`'s maps to an instant at or before `after`. Readings just after it
        // may still map before `after` (when `after` is in an overlap's second pass): skipped
        // below. Each turn moves `wall` forward to a fire of a cron that ends by 2199: it ends.
        loop {
            wall = cron.next_after(wall.and_utc())?.naive_utc();
            // None: a time the spring change skips, which Scheduler does not fire.
            let Some(at) = tz.from_local_datetime(&wall).earliest() else {
                continue;
            };
            let at = at.with_timezone(&Utc);
            if at > after {
                return Some(at);
            }
        }
    }

    /// Fire times strictly after `after` on `tz`'s clock, ascending, each once; finite for a cron
    /// (nothing after 2199). What a schedule deployed in `tz` fires, for listings and simulation;
    /// the daylight-saving rules are those of [`ScheduleExpression::next_after_in`].
    pub fn fires_after_in(&self, after: DateTime<Utc>, tz: Tz) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        std::iter::successors(self.next_after_in(after, tz), move |t| self.next_after_in(*t, tz))
    }
}

//! Evaluation: which minutes, days and years a cron allows, and the next fire time.

use super::*;

/// Which days of a month fire; exactly one of the two day fields applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Days {
    OfMonth(MonthDays),
    OfWeek(WeekDays),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MonthDays {
    /// Bit `d` set for each listed day (days past the month's end never fire).
    Set(u64),
    /// `L`.
    Last,
    /// `LW`: the last Monday-Friday of the month.
    LastWeekday,
    /// `nW`: the Monday-Friday nearest day n without leaving the month (Quartz's rule: a
    /// Saturday 1st moves to Monday the 3rd, a Sunday last day to Friday). In a month shorter than
    /// n days it does not fire, as a plain n would not.
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WeekDays {
    /// Bit `w` (1 = Sunday .. 7 = Saturday) set for each listed weekday.
    Set(u64),
    /// `wL`: the last such weekday of the month.
    Last(u32),
    /// `w#n`: the n-th such weekday of the month, if the month has one.
    Nth { weekday: u32, n: u32 },
}

impl Days {
    /// Bit `d` set for each day of `year`-`month` that fires.
    pub(crate) fn in_month(&self, year: i32, month: u32) -> u64 {
        let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
            return 0;
        };
        let last = days_in_month(year, month);
        // 1 = Sunday .. 7 = Saturday, AWS's numbering.
        let first_weekday = first.weekday().number_from_sunday();
        let weekday = |day: u32| (first_weekday + day - 2) % 7 + 1;
        let bit = |day: u32| 1u64 << day;
        let whole_month = ((1u64 << (last + 1)) - 1) & !1;
        match self {
            Days::OfMonth(MonthDays::Set(set)) => set & whole_month,
            Days::OfMonth(MonthDays::Last) => bit(last),
            Days::OfMonth(MonthDays::LastWeekday) => match weekday(last) {
                7 => bit(last - 1),
                1 => bit(last - 2),
                _ => bit(last),
            },
            Days::OfMonth(MonthDays::NearestWeekday(day)) => {
                let day = *day;
                if day > last {
                    return 0;
                }
                bit(match weekday(day) {
                    7 if day == 1 => 3,
                    7 => day - 1,
                    1 if day == last => day - 2,
                    1 => day + 1,
                    _ => day,
                })
            }
            Days::OfWeek(WeekDays::Set(set)) => {
                (1..=last).filter(|&day| set & (1 << weekday(day)) != 0).fold(0, |acc, day| acc | bit(day))
            }
            Days::OfWeek(WeekDays::Last(wanted)) => bit(last - (weekday(last) + 7 - wanted) % 7),
            Days::OfWeek(WeekDays::Nth { weekday: wanted, n }) => {
                let day = 1 + (wanted + 7 - first_weekday) % 7 + 7 * (n - 1);
                if day <= last {
                    bit(day)
                } else {
                    0
                }
            }
        }
    }
}

impl Cron {
    pub(crate) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let t = after.naive_utc();
        // The next whole minute after `after`; an overflowing minute is carried by the search.
        let next = self.first_at_or_after(t.year(), t.month(), t.day(), t.hour(), t.minute() + 1)?;
        Some(next.and_utc())
    }

    /// The first fire at or after the given (possibly overflowing) wall-clock minute. Jumps to the
    /// next allowed year, month, day, hour and minute in turn, so it costs a few steps per month
    /// visited, never a scan through minutes.
    pub(crate) fn first_at_or_after(
        &self,
        mut year: i32,
        mut month: u32,
        mut day: u32,
        mut hour: u32,
        mut minute: u32,
    ) -> Option<NaiveDateTime> {
        if year < MIN_YEAR {
            (year, month, day, hour, minute) = (MIN_YEAR, 1, 1, 0, 0);
        }
        while year <= MAX_YEAR {
            let offset = year.abs_diff(MIN_YEAR);
            let next_year = MIN_YEAR + i32::try_from(self.years.next_from(offset)?).ok()?;
            if next_year != year {
                (year, month, day, hour, minute) = (next_year, 1, 1, 0, 0);
            }
            let Some(next_month) = next_bit(self.months, month) else {
                (year, month, day, hour, minute) = (year + 1, 1, 1, 0, 0);
                continue;
            };
            if next_month != month {
                (month, day, hour, minute) = (next_month, 1, 0, 0);
            }
            let Some(next_day) = next_bit(self.days.in_month(year, month), day) else {
                (month, day, hour, minute) = (month + 1, 1, 0, 0);
                continue;
            };
            if next_day != day {
                (day, hour, minute) = (next_day, 0, 0);
            }
            let Some(next_hour) = next_bit(self.hours, hour) else {
                (day, hour, minute) = (day + 1, 0, 0);
                continue;
            };
            if next_hour != hour {
                (hour, minute) = (next_hour, 0);
            }
            let Some(next_minute) = next_bit(self.minutes, minute) else {
                (hour, minute) = (hour + 1, 0);
                continue;
            };
            return NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hour, next_minute, 0);
        }
        None
    }

    pub(crate) fn min_interval(&self) -> Option<Duration> {
        // Fire times within one day, in minutes since midnight, ascending.
        let times: Vec<i64> =
            bits(self.hours).flat_map(|h| bits(self.minutes).map(move |m| i64::from(h * 60 + m))).collect();
        let within_day = times.windows(2).map(|w| w[1] - w[0]).min();
        let (first, last) = (*times.first()?, *times.last()?);

        // The shortest gap between consecutive firing days gives the shortest gap across midnight.
        let mut previous: Option<i64> = None;
        let mut fewest_days: Option<i64> = None;
        'years: for offset in self.years.iter() {
            let year = MIN_YEAR + i32::try_from(offset).ok()?;
            for month in bits(self.months) {
                for day in bits(self.days.in_month(year, month)) {
                    let n = i64::from(NaiveDate::from_ymd_opt(year, month, day)?.num_days_from_ce());
                    if let Some(p) = previous {
                        let gap = n - p;
                        fewest_days = Some(fewest_days.map_or(gap, |g| g.min(gap)));
                        if gap == 1 {
                            break 'years;
                        }
                    }
                    previous = Some(n);
                }
            }
        }
        previous?; // no day ever fires: no interval either
        let across_days = fewest_days.map(|d| d * 1440 - (last - first));
        let minutes = match (within_day, across_days) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return None,
        };
        Some(Duration::minutes(minutes))
    }
}

pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// The lowest set bit at or above `from`.
pub(crate) fn next_bit(mask: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = mask & (u64::MAX << from);
    (rest != 0).then_some(rest.trailing_zeros())
}

/// The set bits of `mask`, ascending.
pub(crate) fn bits(mask: u64) -> impl Iterator<Item = u32> {
    (0..64).filter(move |i| mask & (1 << i) != 0)
}

/// A set of up to 256 small numbers; wide enough for the 230 cron years.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bits([u64; 4]);

impl Bits {
    const LEN: u32 = 256;

    pub(crate) fn insert(&mut self, i: u32) {
        if i < Self::LEN {
            self.0[(i / 64) as usize] |= 1 << (i % 64);
        }
    }

    /// Moves members at `size` and above down by `size` (wrapped ranges).
    pub(crate) fn fold(&mut self, size: u32) {
        for i in size..Self::LEN {
            if self.contains(i) {
                self.0[(i / 64) as usize] &= !(1 << (i % 64));
                self.insert(i - size);
            }
        }
    }

    pub(crate) fn contains(&self, i: u32) -> bool {
        i < Self::LEN && self.0[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    pub(crate) fn next_from(&self, from: u32) -> Option<u32> {
        let mut word = (from / 64) as usize;
        let mut rest = *self.0.get(word)? & (u64::MAX << (from % 64));
        loop {
            if rest != 0 {
                return u32::try_from(word * 64).ok().map(|base| base + rest.trailing_zeros());
            }
            word += 1;
            rest = *self.0.get(word)?;
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..Self::LEN).filter(|&i| self.contains(i))
    }

    /// Members below 64 as a mask, for fields that fit in one word.
    pub(crate) fn low_word(&self) -> u64 {
        self.0[0]
    }
}

//! The parser's and the evaluator's tables and properties.

use super::*;
use chrono::{Offset, SecondsFormat, TimeZone};
use chrono_tz::{America, Asia, Australia, Europe, Pacific, Tz};
use proptest::prelude::*;

fn at(text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .unwrap_or_else(|e| panic!("bad test time {text:?}: {e}"));
    Utc.from_utc_datetime(&naive)
}

fn expr(text: &str) -> ScheduleExpression {
    text.parse().unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

/// Fire times worked out by hand with a calendar from AWS's descriptions of each example
/// ("Cron expressions reference" and "Rate expressions reference" of the EventBridge guide).
/// Each row: expression, start (exclusive), the next fires in order.
const FIRES: &[(&str, &str, &[&str])] = &[
    // "Run at 12:00 pm (UTC+0) every day"; crosses the 2024 leap day.
    ("cron(0 12 * * ? *)", "2024-02-27 13:00", &["2024-02-28 12:00", "2024-02-29 12:00", "2024-03-01 12:00"]),
    // "Run at 10:15 am (UTC+0) on the last Friday of each month during the years 2002 to 2005".
    // Jan 2002 ends on a Thursday (31st), so its last Friday is the 25th.
    (
        "cron(15 10 ? * 6L 2002-2005)",
        "2001-06-01 00:00",
        &["2002-01-25 10:15", "2002-02-22 10:15", "2002-03-29 10:15", "2002-04-26 10:15"],
    ),
    // ... and it ends with December 2005 (Dec 30th is that month's last Friday).
    ("cron(15 10 ? * 6L 2002-2005)", "2005-11-25 10:15", &["2005-12-30 10:15"]),
    // "Run every 15 minutes", across a year boundary.
    (
        "cron(0/15 * * * ? *)",
        "2024-12-31 23:40",
        &["2024-12-31 23:45", "2025-01-01 00:00", "2025-01-01 00:15", "2025-01-01 00:30"],
    ),
    // "Run at 8:00 am (UTC+0) on the 1st day of the month"; strictly after a fire time.
    ("cron(0 8 1 * ? *)", "2024-01-01 08:00", &["2024-02-01 08:00", "2024-03-01 08:00", "2024-04-01 08:00"]),
    // "Run at 6:00 pm (UTC+0) every Monday through Friday"; 2024-03-01 is a Friday.
    (
        "cron(0 18 ? * MON-FRI *)",
        "2024-03-01 18:00",
        &[
            "2024-03-04 18:00",
            "2024-03-05 18:00",
            "2024-03-06 18:00",
            "2024-03-07 18:00",
            "2024-03-08 18:00",
            "2024-03-11 18:00",
        ],
    ),
    // "Run at 10:00 am (UTC+0) every day"; a start with seconds.
    ("cron(0 10 * * ? *)", "2024-06-15 09:59:59", &["2024-06-15 10:00", "2024-06-16 10:00", "2024-06-17 10:00"]),
    // "Run every 5 minutes Monday through Friday between 8:00 am and 5:55 pm (UTC+0)".
    (
        "cron(0/5 8-17 ? * MON-FRI *)",
        "2024-03-01 17:50",
        &["2024-03-01 17:55", "2024-03-04 08:00", "2024-03-04 08:05", "2024-03-04 08:10"],
    ),
    // "Run at 12:15 pm every day", "2:05 pm and 2:35 pm every day".
    ("cron(15 12 * * ? *)", "2024-05-05 12:15", &["2024-05-06 12:15"]),
    ("cron(5,35 14 * * ? *)", "2024-05-05 14:05", &["2024-05-05 14:35", "2024-05-06 14:05"]),
    // "Run at 9:00 am on the first Monday of each month" (2#1).
    ("cron(0 9 ? * 2#1 *)", "2024-01-01 09:00", &["2024-02-05 09:00", "2024-03-04 09:00", "2024-04-01 09:00"]),
    // 3#2, "the second Tuesday of the month".
    ("cron(0 9 ? * 3#2 *)", "2024-01-01 00:00", &["2024-01-09 09:00", "2024-02-13 09:00", "2024-03-12 09:00"]),
    // A fifth Monday exists only in some months; the others are skipped.
    (
        "cron(0 9 ? * MON#5 *)",
        "2024-01-01 00:00",
        &["2024-01-29 09:00", "2024-04-29 09:00", "2024-07-29 09:00", "2024-09-30 09:00"],
    ),
    // "Third Saturday" with a name before '#', every minute of that day.
    ("cron(* * ? * SAT#3 *)", "2024-05-18 23:58", &["2024-05-18 23:59", "2024-06-15 00:00", "2024-06-15 00:01"]),
    // 15W: 2024-06-15 is a Saturday -> Friday 14th; 2024-09-15 a Sunday -> Monday 16th.
    (
        "cron(0 9 15W * ? *)",
        "2024-06-01 00:00",
        &["2024-06-14 09:00", "2024-07-15 09:00", "2024-08-15 09:00", "2024-09-16 09:00"],
    ),
    // 1W never leaves the month: Saturday 2024-06-01 -> Monday 3rd, Sunday 2024-09-01 -> Monday 2nd.
    (
        "cron(0 9 1W * ? *)",
        "2024-05-15 00:00",
        &["2024-06-03 09:00", "2024-07-01 09:00", "2024-08-01 09:00", "2024-09-02 09:00"],
    ),
    // 31W: Sunday 2024-03-31 -> Friday 29th; April has no 31st and is skipped.
    ("cron(0 9 31W * ? *)", "2024-03-01 00:00", &["2024-03-29 09:00", "2024-05-31 09:00", "2024-07-31 09:00"]),
    // LW: Feb 29 2024 is a Thursday; Mar 31 a Sunday -> Fri 29th; Aug 31 a Saturday -> Fri 30th.
    (
        "cron(0 0 LW * ? *)",
        "2024-02-01 00:00",
        &[
            "2024-02-29 00:00",
            "2024-03-29 00:00",
            "2024-04-30 00:00",
            "2024-05-31 00:00",
            "2024-06-28 00:00",
            "2024-07-31 00:00",
            "2024-08-30 00:00",
        ],
    ),
    // L in day-of-month, through a leap February and then a common one.
    (
        "cron(30 23 L * ? *)",
        "2024-01-15 00:00",
        &["2024-01-31 23:30", "2024-02-29 23:30", "2024-03-31 23:30", "2024-04-30 23:30"],
    ),
    ("cron(30 23 L 2 ? *)", "2024-03-01 00:00", &["2025-02-28 23:30"]),
    // L alone in day-of-week is Saturday.
    ("cron(0 6 ? * L *)", "2024-05-01 00:00", &["2024-05-04 06:00", "2024-05-11 06:00"]),
    // Leap days: only leap years; 2100 is not one (divisible by 100, not by 400).
    ("cron(0 0 29 2 ? *)", "2024-02-29 00:00", &["2028-02-29 00:00", "2032-02-29 00:00"]),
    ("cron(0 0 29 2 ? 2100-2199)", "2024-01-01 00:00", &["2104-02-29 00:00", "2108-02-29 00:00"]),
    // Year ranges that end: 2196 is the last leap year before 2200.
    ("cron(0 0 29 2 ? 2100-2199)", "2192-03-01 00:00", &["2196-02-29 00:00"]),
    ("cron(0 0 * * ? 2199)", "2199-12-30 23:59", &["2199-12-31 00:00"]),
    ("cron(0 0 1 1 ? 2030)", "1900-01-01 00:00", &["2030-01-01 00:00"]),
    // Month names, wrapping ranges and a first-of-range start before 1970.
    (
        "cron(0 0 1 NOV-FEB ? *)",
        "2024-03-01 00:00",
        &["2024-11-01 00:00", "2024-12-01 00:00", "2025-01-01 00:00", "2025-02-01 00:00", "2025-11-01 00:00"],
    ),
    (
        "cron(0 22-2 1 1 ? 1970)",
        "1969-12-31 23:00",
        &["1970-01-01 00:00", "1970-01-01 01:00", "1970-01-01 02:00", "1970-01-01 22:00", "1970-01-01 23:00"],
    ),
    // Weekend as SAT-SUN (7-1 wraps): 2024-05-04 is a Saturday.
    ("cron(0 12 ? * SAT-SUN *)", "2024-05-01 00:00", &["2024-05-04 12:00", "2024-05-05 12:00", "2024-05-11 12:00"]),
    // Steps in day-of-month, month and year lists.
    (
        "cron(0 0 1/10,2 * ? *)",
        "2024-04-01 00:00",
        &["2024-04-02 00:00", "2024-04-11 00:00", "2024-04-21 00:00", "2024-05-01 00:00", "2024-05-02 00:00"],
    ),
    (
        "cron(0 0 1 */4 ? 2030/5)",
        "2024-01-01 00:00",
        &["2030-01-01 00:00", "2030-05-01 00:00", "2030-09-01 00:00", "2035-01-01 00:00"],
    ),
    // Rates anchored on the epoch: on the hour, at midnight, on Thursdays (the epoch's weekday).
    ("rate(1 hour)", "2024-05-05 10:20:30", &["2024-05-05 11:00", "2024-05-05 12:00", "2024-05-05 13:00"]),
    ("rate(1 day)", "2024-05-05 00:00", &["2024-05-06 00:00", "2024-05-07 00:00"]),
    ("rate(5 minutes)", "2024-05-05 10:20", &["2024-05-05 10:25", "2024-05-05 10:30"]),
    ("rate(1 minute)", "2024-05-05 10:20:59", &["2024-05-05 10:21", "2024-05-05 10:22"]),
    ("rate(7 days)", "2024-05-05 00:00", &["2024-05-09 00:00", "2024-05-16 00:00"]),
    // 90 minutes: 2024-05-05 00:00 is 19848 days = 317568 intervals after the epoch.
    ("rate(90 minutes)", "2024-05-04 23:59", &["2024-05-05 00:00", "2024-05-05 01:30", "2024-05-05 03:00"]),
    ("rate(1 day)", "1969-12-31 12:00", &["1970-01-01 00:00", "1970-01-02 00:00"]),
];

#[test]
fn fires_match_the_hand_worked_table() {
    for (text, start, want) in FIRES {
        let schedule = expr(text);
        let got: Vec<_> = schedule.fires_after(at(start)).take(want.len()).collect();
        let want: Vec<_> = want.iter().map(|w| at(w)).collect();
        assert_eq!(got, want, "{text} after {start}");
    }
}

#[test]
fn schedules_whose_years_are_over_never_fire_again() {
    let cases = [
        ("cron(15 10 ? * 6L 2002-2005)", "2005-12-30 10:15"),
        ("cron(0 0 * * ? 2199)", "2199-12-31 00:00"),
        ("cron(0 0 1 1 ? 2030)", "2030-01-01 00:00"),
        ("cron(0 0 29 2 ? 2100-2199)", "2196-02-29 00:00"),
        ("cron(0 12 * * ? *)", "2199-12-31 12:00"),
        ("cron(0 12 * * ? *)", "2300-01-01 00:00"),
    ];
    for (text, start) in cases {
        assert_eq!(expr(text).next_after(at(start)), None, "{text} after {start}");
    }
    assert_eq!(expr("cron(15 10 ? * 6L 2002-2005)").fires_after(at("2001-01-01 00:00")).count(), 48);
}

#[test]
fn impossible_dates_never_fire_and_answer_quickly() {
    let started = std::time::Instant::now();
    for text in [
        "cron(0 0 31 2 ? *)",
        "cron(0 0 30 2 ? *)",
        "cron(0 0 31 APR,JUN,SEP,NOV ? *)",
        "cron(0 0 31W 2 ? *)",
        "cron(0 0 29 2 ? 2100)",
    ] {
        let schedule = expr(text);
        for _ in 0..100 {
            assert_eq!(schedule.next_after(at("1970-01-01 00:00")), None, "{text}");
        }
        assert_eq!(schedule.min_interval(), None, "{text}");
    }
    // Each answer visits at most 230 years x 12 months; 500 of them take milliseconds.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn rates_beyond_the_calendar_end_without_panicking() {
    let schedule = expr("rate(4294967295 days)");
    assert_eq!(schedule.next_after(at("2024-01-01 00:00")), None);
    assert_eq!(schedule.min_interval(), Some(Duration::days(4_294_967_295)));
    let schedule = expr("rate(1 minute)");
    assert_eq!(schedule.next_after(DateTime::<Utc>::MAX_UTC), None);
    assert!(schedule.next_after(DateTime::<Utc>::MIN_UTC).is_some());
}

#[test]
fn min_interval_is_the_shortest_gap_between_fires() {
    let cases: &[(&str, Option<Duration>)] = &[
        ("rate(1 hour)", Some(Duration::hours(1))),
        ("rate(1 minute)", Some(Duration::minutes(1))),
        ("rate(5 minutes)", Some(Duration::minutes(5))),
        ("rate(7 days)", Some(Duration::days(7))),
        ("cron(0/15 * * * ? *)", Some(Duration::minutes(15))),
        ("cron(0 0 * * ? *)", Some(Duration::hours(24))),
        ("cron(0 18 ? * MON-FRI *)", Some(Duration::hours(24))),
        ("cron(* * * * ? *)", Some(Duration::minutes(1))),
        // 17:55 Friday to 08:00 Monday is long; 17:55 to 08:00 next day is not the minimum:
        // the 5-minute steps within the day are.
        ("cron(0/5 8-17 ? * MON-FRI *)", Some(Duration::minutes(5))),
        // 50 past and 10 past: 20 minutes across the hour beats 40 within it.
        ("cron(10,50 * * * ? *)", Some(Duration::minutes(20))),
        // 23:00 and 01:00: two hours across midnight, 22 within the day.
        ("cron(0 1,23 * * ? *)", Some(Duration::hours(2))),
        // Monthly: February is the shortest month.
        ("cron(0 8 1 * ? *)", Some(Duration::days(28))),
        // Last day of each month: Feb 28/29 to Mar 31 is 31 days, but Jan 31 to Feb 28 is 28.
        ("cron(0 0 L * ? *)", Some(Duration::days(28))),
        // Weekly and monthly-by-weekday schedules.
        ("cron(0 2 ? * SAT *)", Some(Duration::days(7))),
        ("cron(0 9 ? * 2#1 *)", Some(Duration::days(28))),
        // Once a year on the leap day: every four years, but 2096 to 2104 is eight.
        ("cron(0 0 29 2 ? *)", Some(Duration::days(4 * 365 + 1))),
        // A single fire has no interval; two fires a year apart do.
        ("cron(0 0 1 1 ? 2030)", None),
        ("cron(0 0 1 1 ? 2030,2031)", Some(Duration::days(365))),
        ("cron(0 0,12 1 1 ? 2030)", Some(Duration::hours(12))),
    ];
    for (text, want) in cases {
        assert_eq!(expr(text).min_interval(), *want, "{text}");
    }
}

#[test]
fn display_gives_back_the_canonical_text() {
    let cases = [
        ("rate(1 hour)", "rate(1 hour)"),
        ("rate(05 minutes)", "rate(5 minutes)"),
        ("rate(2 days)", "rate(2 days)"),
        ("cron(0 12 * * ? *)", "cron(0 12 * * ? *)"),
        ("cron(0 18 ? * mon-fri *)", "cron(0 18 ? * MON-FRI *)"),
        ("cron(0 9 15w jan,Feb ? *)", "cron(0 9 15W JAN,FEB ? *)"),
    ];
    for (text, want) in cases {
        let schedule = expr(text);
        assert_eq!(schedule.to_string(), want);
        assert_eq!(expr(want), schedule, "{want} parses back to the same schedule");
    }
    assert_eq!(expr("rate(3 hours)"), ScheduleExpression::Rate(Rate::new(3, RateUnit::Hour).unwrap()));
    assert_eq!(Rate::new(0, RateUnit::Day), None);
}

#[test]
fn accepts_what_eventbridge_accepts() {
    // Examples AWS documents, and expressions checked against the service.
    for text in [
        "cron(0 10 * * ? *)",
        "cron(15 12 * * ? *)",
        "cron(0 18 ? * MON-FRI *)",
        "cron(0 8 1 * ? *)",
        "cron(0/15 * * * ? *)",
        "cron(0/10 * ? * MON-FRI *)",
        "cron(0/5 8-17 ? * MON-FRI *)",
        "cron(0/30 20-23 ? * MON-FRI *)",
        "cron(0/30 0-2 ? * MON-FRI *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0 2 ? * SAT *)",
        "cron(0 2 ? * SAT#3 *)",
        "cron(0/5 5 ? JAN 1-5 2022)",
        "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)",
        "cron(30-30 13-13 ? * 2,4,6 *)",
        "cron(1-31/30 1-1 ? * 1,7 *)",
        "cron(0 0 1/10,2,3/8 * ? *)",
        "cron(0 0 ? * 5L *)",
        "cron(0 * ? * * *)",
        "cron(0 0 LW * ? *)",
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 day)",
    ] {
        expr(text);
    }
}

/// Each invalid expression, the field the error must name (None: the shape, named in words),
/// and words the message must contain.
const INVALID: &[(&str, Option<Field>, &str)] = &[
    ("rate(0 hours)", Some(Field::RateValue), "rate value: must be at least 1"),
    ("rate(1 hours)", Some(Field::RateUnit), "singular 'hour'"),
    ("rate(2 hour)", Some(Field::RateUnit), "plural 'hours'"),
    ("rate(x minutes)", Some(Field::RateValue), "'x' is not a positive whole number"),
    ("rate(-10 minutes)", Some(Field::RateValue), "'-10'"),
    ("rate(5 weeks)", Some(Field::RateUnit), "'weeks' is not one of"),
    ("rate(10 seconds)", Some(Field::RateUnit), "'seconds'"),
    ("rate(10 MINUTES)", Some(Field::RateUnit), "'MINUTES'"),
    ("rate(10 minutess)", Some(Field::RateUnit), "'minutess'"),
    ("rate(99999999999 minutes)", Some(Field::RateValue), "out of range"),
    ("rate(10)", None, "rate(value unit)"),
    ("rate()", None, "rate(value unit)"),
    ("rate(5  minutes)", None, "one space"),
    ("rate( 10 minutes )", None, "rate(value unit)"),
    (" rate(10 minutes)", None, "white space"),
    ("rate(1 hour) ", None, "white space"),
    ("rate(1 hour", None, "closing ')'"),
    ("rate(1 hour))", None, "parentheses"),
    ("rate(1 hour) daily", None, "parentheses"),
    ("RATE(1 hour)", None, "expected rate(value unit) or cron("),
    ("cron(0 0 * * *)", None, "6 fields"),
    ("cron(0 0 * * ? * *)", None, "found 7"),
    ("cron(0 0 * * * *)", None, "'*' in both day-of-month and day-of-week; one of them must be '?'"),
    ("cron(0 0 ? * ? *)", None, "'?' in both day-of-month and day-of-week"),
    ("cron(0 0 1 * MON *)", None, "day-of-month (1) and day-of-week (MON) are both set"),
    ("cron(60 0 * * ? *)", Some(Field::Minutes), "minutes: '60' is out of range 0-59"),
    ("cron(*/60 * * * ? *)", Some(Field::Minutes), "step"),
    ("cron(0/0 * * * ? *)", Some(Field::Minutes), "step"),
    ("cron(0 24 * * ? *)", Some(Field::Hours), "hours: '24' is out of range 0-23"),
    ("cron(0 ? * * ? *)", Some(Field::Hours), "'?' is not allowed"),
    ("cron(0 dummy ? * MON-FRI *)", Some(Field::Hours), "'DUMMY' is not an hour"),
    ("cron(0 0 32 * ? *)", Some(Field::DayOfMonth), "day-of-month: '32' is out of range 1-31"),
    ("cron(0 0 0 * ? *)", Some(Field::DayOfMonth), "'0' is out of range 1-31"),
    ("cron(0 0 32W * ? *)", Some(Field::DayOfMonth), "'32'"),
    ("cron(0 0 L,15 * ? *)", Some(Field::DayOfMonth), "'L' must be the only entry"),
    ("cron(0 0 L-3 * ? *)", Some(Field::DayOfMonth), "day-of-month"),
    ("cron(0 0 1,,2 * ? *)", Some(Field::DayOfMonth), "empty"),
    ("cron(0 0 * FOO ? *)", Some(Field::Month), "month: 'FOO' is not a month 1-12 or JAN-DEC"),
    ("cron(0 0 * 13 ? *)", Some(Field::Month), "'13' is out of range 1-12"),
    ("cron(0 0 ? * XYZ *)", Some(Field::DayOfWeek), "day-of-week: 'XYZ' is not a day of the week"),
    ("cron(7 20 * * NOT *)", Some(Field::DayOfWeek), "'NOT'"),
    ("cron(0 0 ? * 0 *)", Some(Field::DayOfWeek), "'0' is out of range 1-7"),
    ("cron(0 0 ? * 3#6 *)", Some(Field::DayOfWeek), "after '#' must be 1-5"),
    ("cron(0 0 ? * 3#1,6#3 *)", Some(Field::DayOfWeek), "must be the only entry"),
    ("cron(0 0 ? * */2 *)", Some(Field::DayOfWeek), "'/' is not allowed"),
    ("cron(0 0 ? * 8L *)", Some(Field::DayOfWeek), "'8'"),
    ("cron(0 0 * * ? 1969)", Some(Field::Year), "year: '1969' is out of range 1970-2199"),
    ("cron(0 0 * * ? 2200)", Some(Field::Year), "year: '2200' is out of range 1970-2199"),
    ("cron(0 0 * * ? 2010-2005)", Some(Field::Year), "runs backwards"),
    ("", None, "empty"),
    ("cron()", None, "found 0"),
    ("cron(INVALID)", None, "found 1"),
    ("cron(0  0 * * ? *)", None, "single spaces"),
    ("cron(0\t0 * * ? *)", None, "single spaces"),
    ("garbage", None, "expected rate(value unit) or cron("),
    ("cron 0 0 * * ? *", None, "expected rate(value unit) or cron("),
];

#[test]
fn invalid_expressions_name_the_field_and_the_problem() {
    for (text, field, words) in INVALID {
        let err = text.parse::<ScheduleExpression>().expect_err(&format!("{text:?} should be rejected"));
        assert_eq!(err.field(), *field, "{text:?}: {err}");
        assert_eq!(err.expression(), *text);
        let message = err.to_string();
        let prefix = format!("invalid schedule expression {text:?}: ");
        assert!(message.starts_with(&prefix), "{message}");
        assert!(message.contains(words), "{text:?}: {message:?} lacks {words:?}");
    }
}

#[test]
fn the_documented_message_for_both_stars() {
    let err = "cron(0 0 * * * *)".parse::<ScheduleExpression>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid schedule expression \"cron(0 0 * * * *)\": '*' in both day-of-month and \
         day-of-week; one of them must be '?'"
    );
    assert_eq!(err.kind(), &ScheduleErrorKind::BothDaysStar);
}

/// Brute force, minute by minute: the first fire at or after `from` within `limit` minutes.
fn scan(cron: &Cron, from: NaiveDateTime, limit: i64) -> Option<NaiveDateTime> {
    (0..limit).map(|i| from + Duration::minutes(i)).take_while(|t| t.year() <= MAX_YEAR).find(|t| matches(cron, *t))
}

/// Whether every field of `cron` allows the whole minute `t` (a calendar reading, UTC or local).
fn matches(cron: &Cron, t: NaiveDateTime) -> bool {
    // Cheap tests first: the day rule is only computed for matching minutes.
    t.second() == 0
        && cron.minutes & (1 << t.minute()) != 0
        && cron.hours & (1 << t.hour()) != 0
        && cron.months & (1 << t.month()) != 0
        && t.year() >= MIN_YEAR
        && cron.years.contains(t.year().abs_diff(MIN_YEAR))
        && cron.days.in_month(t.year(), t.month()) & (1 << t.day()) != 0
}

fn cron_text() -> impl Strategy<Value = String> {
    let minutes = prop::sample::select(vec!["*", "0", "0/15", "5,35", "10-20", "*/7", "50-10", "59"]);
    let hours = prop::sample::select(vec!["*", "0", "8-17", "22-2", "*/6", "12", "23"]);
    let days = prop::sample::select(vec![
        "* ?",
        "1 ?",
        "15 ?",
        "31 ?",
        "29 ?",
        "L ?",
        "LW ?",
        "15W ?",
        "1W ?",
        "31W ?",
        "1/10 ?",
        "28-3 ?",
        "? *",
        "? MON-FRI",
        "? 6L",
        "? 3#2",
        "? FRI#5",
        "? L",
        "? SAT-SUN",
        "? 1,7",
    ]);
    let months = prop::sample::select(vec!["*", "JAN", "2", "FEB-MAR", "NOV-FEB", "*/3"]);
    let years = prop::sample::select(vec!["*", "2024-2030", "2025", "2026/3", "2020,2199", "2199"]);
    (minutes, hours, days, months, years).prop_map(|(mi, h, d, mo, y)| {
        let (dom, dow) = d.split_once(' ').unwrap();
        format!("cron({mi} {h} {dom} {mo} {dow} {y})")
    })
}

proptest! {
    #[test]
    fn parsing_any_text_never_panics(s in "\\PC*") {
        let _ = s.parse::<ScheduleExpression>();
    }

    #[test]
    fn parsing_cron_and_rate_lookalikes_never_panics(
        inner in "[0-9A-Za-z ,*/?#LW-]{0,40}",
        other in ".{0,30}",
    ) {
        for text in [format!("cron({inner})"), format!("rate({inner})"), format!("cron({other})")] {
            if let Ok(schedule) = text.parse::<ScheduleExpression>() {
                // Whatever parses can be evaluated and printed back without panicking.
                let _ = schedule.next_after(at("2024-01-01 00:00"));
                let _ = schedule.min_interval();
                prop_assert_eq!(schedule.to_string().parse::<ScheduleExpression>(), Ok(schedule));
            }
        }
    }

    #[test]
    fn next_after_is_the_first_fire_a_minute_by_minute_scan_finds(
        text in cron_text(),
        start in 1_577_836_800i64..2_082_758_400, // 2020 to 2036
        second in 0u32..60,
    ) {
        let schedule = expr(&text);
        let ScheduleExpression::Cron(cron) = &schedule else { unreachable!() };
        let after = DateTime::from_timestamp(start - start % 60 + i64::from(second), 0).unwrap();
        let next = schedule.next_after(after);
        let from = after.naive_utc().with_second(0).unwrap() + Duration::minutes(1);
        let limit = 40 * 24 * 60;
        let scanned = scan(cron, from, limit);
        match scanned {
            Some(t) => prop_assert_eq!(next, Some(t.and_utc()), "{} after {}", text, after),
            None => prop_assert!(
                next.is_none_or(|n| n.naive_utc() >= from + Duration::minutes(limit)),
                "{} after {}: {:?} missed by the scan", text, after, next
            ),
        }
        if let Some(n) = next {
            prop_assert!(n > after);
        }
    }

    #[test]
    fn rate_fires_are_one_interval_apart_and_strictly_later(
        value in 1u32..2000,
        unit in prop::sample::select(vec![RateUnit::Minute, RateUnit::Hour, RateUnit::Day]),
        start in -2_000_000_000i64..4_000_000_000,
        nanos in 0u32..1_000_000_000,
    ) {
        let schedule = ScheduleExpression::Rate(Rate::new(value, unit).unwrap());
        let after = DateTime::from_timestamp(start, nanos).unwrap();
        let fires: Vec<_> = schedule.fires_after(after).take(3).collect();
        prop_assert_eq!(fires.len(), 3);
        prop_assert!(fires[0] > after);
        prop_assert!(fires[0] - after <= schedule.min_interval().unwrap());
        prop_assert_eq!(fires[1] - fires[0], schedule.min_interval().unwrap());
        prop_assert_eq!(fires[2] - fires[1], schedule.min_interval().unwrap());
        prop_assert_eq!(fires[0].timestamp() % (i64::from(value) * unit.seconds()), 0);
    }
}

// Time zones: `fires_after_in`, a cron read on a zone's wall clock as EventBridge Scheduler reads
// a schedule with `ScheduleExpressionTimezone`. Offsets and change dates below are tzdata's (as
// `zdump -v` prints them); every UTC instant was worked out by hand from them.

/// An RFC 3339 instant, for the time-zone tests where the offset matters.
fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("bad test instant {text:?}: {e}")).to_utc()
}

/// The next `n` fires of `text` read on `tz`'s clock, strictly after `after`, in UTC.
fn fires_in(text: &str, tz: Tz, after: &str, n: usize) -> Vec<String> {
    expr(text)
        .fires_after_in(instant(after), tz)
        .take(n)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .collect()
}

#[test]
fn in_a_zone_without_daylight_saving_a_cron_is_shifted_by_the_offset() {
    // Asia/Shanghai is UTC+8 all year: 08:00 there is 00:00Z the same day.
    assert_eq!(
        fires_in("cron(0 8 * * ? *)", Asia::Shanghai, "2026-11-26T00:00:00Z", 3),
        ["2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z"]
    );
    // Strictly after: asked at a fire, the next is the following day's.
    assert_eq!(fires_in("cron(0 8 * * ? *)", Asia::Shanghai, "2026-11-27T00:00:00Z", 1), ["2026-11-28T00:00:00Z"]);
    // The day fields are local too: Monday 08:00 in Beijing is Monday 00:00Z, and 02:00 on the
    // 1st in Beijing is 18:00Z on the last day of the month before.
    assert_eq!(fires_in("cron(0 8 ? * MON *)", Asia::Shanghai, "2026-11-26T00:00:00Z", 1), ["2026-11-30T00:00:00Z"]);
    assert_eq!(
        fires_in("cron(0 2 1 * ? *)", Asia::Shanghai, "2026-11-26T00:00:00Z", 2),
        ["2026-11-30T18:00:00Z", "2026-12-31T18:00:00Z"]
    );
}

#[test]
fn a_local_time_the_spring_change_skips_does_not_fire() {
    // New York, Sunday 8 March 2026: 02:00 EST (07:00Z) jumps to 03:00 EDT, so 02:30 does not exist
    // that day and Scheduler skips it. The day before is EST (UTC-5): 02:30 = 07:30Z; the days
    // after are EDT (UTC-4): 02:30 = 06:30Z.
    assert_eq!(
        fires_in("cron(30 2 * * ? *)", America::New_York, "2026-03-06T12:00:00Z", 4),
        ["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z", "2026-03-11T06:30:00Z"]
    );
    // Every half hour from 01:00 to 03:30 that day: 02:00 and 02:30 are skipped, and as the hour
    // they would fill does not exist either, UTC sees the half hours go on without a hole.
    assert_eq!(
        fires_in("cron(0/30 1-3 * * ? *)", America::New_York, "2026-03-08T05:00:00Z", 5),
        [
            "2026-03-08T06:00:00Z", // 01:00 EST
            "2026-03-08T06:30:00Z", // 01:30 EST
            "2026-03-08T07:00:00Z", // 03:00 EDT
            "2026-03-08T07:30:00Z", // 03:30 EDT
            "2026-03-09T05:00:00Z", // 01:00 EDT the next day
        ]
    );
    // São Paulo changed at midnight (4 November 2018: 00:00 -03 became 01:00 -02), so a midnight
    // cron has no fire that day: 3 Nov 00:00 -03 = 03:00Z, then 5 Nov 00:00 -02 = 02:00Z.
    assert_eq!(
        fires_in("cron(0 0 * * ? *)", America::Sao_Paulo, "2018-11-02T12:00:00Z", 3),
        ["2018-11-03T03:00:00Z", "2018-11-05T02:00:00Z", "2018-11-06T02:00:00Z"]
    );
    // Samoa skipped Friday 30 December 2011 altogether (Thursday 23:59:59 -10 was followed by
    // Saturday 00:00 +14). Noon: 29 Dec 12:00 -10 = 22:00Z; 31 Dec 12:00 +14 = 30 Dec 22:00Z. The
    // local calendar lost a day, UTC did not.
    assert_eq!(
        fires_in("cron(0 12 * * ? *)", Pacific::Apia, "2011-12-28T23:00:00Z", 3),
        ["2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z", "2011-12-31T22:00:00Z"]
    );
    // A cron naming only that lost day never fires, and the search ends (no endless skipping).
    assert_eq!(expr("cron(* * 30 12 ? 2011)").next_after_in(instant("2011-01-01T00:00:00Z"), Pacific::Apia), None);
}

#[test]
fn a_local_time_the_autumn_change_repeats_fires_once_at_its_first_occurrence() {
    // New York, Sunday 1 November 2026: 02:00 EDT (06:00Z) falls back to 01:00 EST, so 01:30 shows
    // twice, at 05:30Z (EDT) and 06:30Z (EST). Scheduler "runs only once and does not repeat": we
    // take the first occurrence, 05:30Z. The days after are EST: 01:30 = 06:30Z.
    assert_eq!(
        fires_in("cron(30 1 * * ? *)", America::New_York, "2026-10-31T12:00:00Z", 3),
        ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"]
    );
    // Asked at the fire itself, or from inside the second pass (06:00Z is 01:00 EST), the repeat
    // at 06:30Z is not a fire either.
    for after in ["2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:29:59Z"] {
        assert_eq!(fires_in("cron(30 1 * * ? *)", America::New_York, after, 1), ["2026-11-02T06:30:00Z"], "{after}");
    }
    // Berlin, Sunday 25 October 2026: 03:00 CEST (01:00Z) falls back to 02:00 CET. Every half hour
    // from 2026-10-24T23:00Z: 01:30 CEST = 23:30Z, 02:00 CEST = 00:00Z, 02:30 CEST = 00:30Z; their
    // repeats 02:00 CET = 01:00Z and 02:30 CET = 01:30Z do not fire; 03:00 CET = 02:00Z does. UTC
    // sees a one-hour hole.
    assert_eq!(
        fires_in("cron(0/30 * * * ? *)", Europe::Berlin, "2026-10-24T23:00:00Z", 6),
        [
            "2026-10-24T23:30:00Z",
            "2026-10-25T00:00:00Z",
            "2026-10-25T00:30:00Z",
            "2026-10-25T02:00:00Z",
            "2026-10-25T02:30:00Z",
            "2026-10-25T03:00:00Z"
        ]
    );
    // Lord Howe Island falls back half an hour (5 April 2026: 02:00 +11 = 15:00Z becomes 01:30
    // +10:30): 01:45 shows at 14:45Z and 15:15Z and fires at 14:45Z; the next day's 01:45 +10:30
    // is 15:15Z.
    assert_eq!(
        fires_in("cron(45 1 * * ? *)", Australia::Lord_Howe, "2026-04-04T12:00:00Z", 2),
        ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]
    );
}

#[test]
fn an_hourly_cron_fires_once_per_local_hour_on_change_days() {
    // New York's 23-hour spring day has 23 fires (no 02:00); its 25-hour autumn day has 24, one per
    // hour the clock shows, so from 01:00 EDT (05:00Z) to 02:00 EST (07:00Z) there are two hours.
    let hourly = expr("cron(0 * * * ? *)");
    let local_days = |from: &str, to: &str| {
        let fires: Vec<_> =
            hourly.fires_after_in(instant(from), America::New_York).take_while(|t| *t < instant(to)).collect();
        let gaps: Vec<i64> = fires.windows(2).map(|w| (w[1] - w[0]).num_hours()).collect();
        (fires.len(), gaps)
    };
    // From a second before local midnight to the next local midnight (exclusive).
    let (spring, gaps) = local_days("2026-03-07T23:59:59-05:00", "2026-03-09T00:00:00-04:00");
    assert_eq!(spring, 23, "00:00, 01:00, 03:00 .. 23:00");
    assert!(gaps.iter().all(|g| *g == 1), "{gaps:?}");
    let (autumn, gaps) = local_days("2026-10-31T23:59:59-04:00", "2026-11-02T00:00:00-05:00");
    assert_eq!(autumn, 24, "00:00 .. 23:00");
    assert_eq!(gaps.iter().filter(|g| **g == 2).count(), 1, "{gaps:?}");
    assert_eq!(instant("2026-11-01T01:00:00-04:00") + Duration::hours(2), instant("2026-11-01T02:00:00-05:00"));
}

/// Zones with daylight-saving quirks: changes at midnight (São Paulo, Havana, Santiago), by half
/// an hour (Lord Howe), by two hours (Troll), several a year (Casablanca), a lost day (Apia), a
/// "negative" summer time (Dublin), odd offsets (Kathmandu, Chatham, St John's), none at all.
const ZONES: &[Tz] = &[
    Tz::UTC,
    America::New_York,
    Europe::Berlin,
    America::Sao_Paulo,
    America::Havana,
    America::Santiago,
    America::St_Johns,
    Australia::Lord_Howe,
    Australia::Sydney,
    chrono_tz::Antarctica::Troll,
    chrono_tz::Africa::Casablanca,
    Pacific::Apia,
    Pacific::Chatham,
    Pacific::Kiritimati,
    Europe::Dublin,
    Asia::Kathmandu,
    Asia::Shanghai,
];

#[test]
fn a_rate_is_the_same_in_every_zone() {
    for text in ["rate(1 hour)", "rate(5 minutes)", "rate(1 day)", "rate(7 days)", "rate(90 minutes)"] {
        let schedule = expr(text);
        // Across New York's and Berlin's autumn changes and Samoa's lost day.
        for from in ["2026-10-24T22:10:00Z", "2026-11-01T04:59:59Z", "2011-12-29T12:00:00Z"] {
            let utc: Vec<_> = schedule.fires_after(instant(from)).take(40).collect();
            for tz in ZONES {
                let zoned: Vec<_> = schedule.fires_after_in(instant(from), *tz).take(40).collect();
                assert_eq!(zoned, utc, "{text} in {tz} after {from}");
            }
        }
    }
}

#[test]
fn in_a_zone_a_cron_whose_years_are_past_ends_and_the_range_ends_do_not_panic() {
    let past = expr("cron(0 0 1 1 ? 1999)");
    assert_eq!(past.next_after_in(instant("2026-01-01T00:00:00Z"), Pacific::Kiritimati), None);
    // Kiritimati is UTC+14: 2199-12-31T10:00Z is already 2200 there, when no cron fires.
    let last_year = expr("cron(0 0 * * ? 2199)");
    assert_eq!(last_year.next_after_in(instant("2199-12-31T10:00:00Z"), Pacific::Kiritimati), None);
    // Niue is UTC-11: its last 2199 evening is in 2200 in UTC, and still fires.
    assert_eq!(fires_in("cron(0 20 31 12 ? 2199)", Pacific::Niue, "2199-01-01T00:00:00Z", 2), ["2200-01-01T07:00:00Z"]);
    // chrono's own limits: its `naive_local` panics where an offset leaves the calendar.
    for tz in ZONES.iter().copied().chain([Pacific::Niue]) {
        for schedule in [expr("cron(0 0 * * ? *)"), expr("rate(1 day)")] {
            let first = schedule.next_after_in(DateTime::<Utc>::MIN_UTC, tz);
            assert!(first.is_some(), "{schedule} in {tz}");
            assert_eq!(schedule.next_after_in(DateTime::<Utc>::MAX_UTC, tz), None, "{schedule} in {tz}");
        }
    }
}

/// The instants of `year` (UTC) where `tz`'s offset changes, to the second: a probe every three
/// hours (changes are days apart) and bisection.
fn offset_changes(tz: Tz, year: i32) -> Vec<DateTime<Utc>> {
    let offset = |t: i64| {
        let t = DateTime::from_timestamp(t, 0).expect("a year inside chrono's range");
        tz.offset_from_utc_datetime(&t.naive_utc()).fix()
    };
    let start = at(&format!("{year}-01-01 00:00")).timestamp();
    let end = at(&format!("{}-01-01 00:00", year + 1)).timestamp();
    let step = 3 * 3600;
    let mut changes = vec![];
    for probe in 0..(end - start) / step {
        let (mut lo, mut hi) = (start + probe * step, start + (probe + 1) * step);
        if offset(lo) != offset(hi) {
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset(mid) == offset(lo) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            changes.extend(DateTime::from_timestamp(hi, 0));
        }
    }
    changes
}

/// Whether `t`, a whole UTC minute, is a fire of `cron` on `tz`'s clock by the definition: its
/// reading there matches the cron and no earlier instant shows that reading.
fn fires_at_in(cron: &Cron, tz: Tz, t: DateTime<Utc>) -> bool {
    let wall = t.with_timezone(&tz).naive_local();
    matches(cron, wall) && tz.from_local_datetime(&wall).earliest().map(|first| first.to_utc()) == Some(t)
}

/// Crons that fire around the hours clocks change at (00:00-03:00 local), densely and sparsely.
fn zone_cron_text() -> impl Strategy<Value = String> {
    let minutes = prop::sample::select(vec!["0", "30", "45", "59", "0/15", "0/7", "*"]);
    let hours = prop::sample::select(vec!["*", "0", "1", "2", "3", "1-3", "0/2", "22-2", "23"]);
    let days = prop::sample::select(vec!["* ?", "? SUN", "? 1,7", "L ?", "1 ?", "29-31 ?", "? 1#1"]);
    (minutes, hours, days).prop_map(|(mi, h, d)| {
        let (dom, dow) = d.split_once(' ').unwrap();
        format!("cron({mi} {h} {dom} * {dow} *)")
    })
}

proptest! {
    #[test]
    fn on_the_utc_clock_a_schedule_fires_as_it_does_without_a_zone(
        text in cron_text(),
        value in 1u32..2000,
        unit in prop::sample::select(vec![RateUnit::Minute, RateUnit::Hour, RateUnit::Day]),
        start in -100_000_000i64..7_400_000_000, // 1966 to 2204
        nanos in 0u32..1_000_000_000,
    ) {
        let after = DateTime::from_timestamp(start, nanos).unwrap();
        for schedule in [expr(&text), ScheduleExpression::Rate(Rate::new(value, unit).unwrap())] {
            prop_assert_eq!(schedule.next_after_in(after, Tz::UTC), schedule.next_after(after));
            let zoned: Vec<_> = schedule.fires_after_in(after, Tz::UTC).take(20).collect();
            let plain: Vec<_> = schedule.fires_after(after).take(20).collect();
            prop_assert_eq!(zoned, plain, "{} after {}", schedule, after);
        }
    }

    #[test]
    fn around_clock_changes_fires_are_what_a_minute_by_minute_scan_finds(
        text in zone_cron_text(),
        tz in prop::sample::select(ZONES.to_vec()),
        year in 2000i32..2036,
        pick in any::<prop::sample::Index>(),
        // Often within the change's own hours, where an `after` in an overlap's second pass is.
        shift in prop_oneof![-36 * 3600i64..36 * 3600, -2 * 3600i64..2 * 3600],
    ) {
        let schedule = expr(&text);
        let ScheduleExpression::Cron(cron) = &schedule else { unreachable!() };
        let changes = offset_changes(tz, year);
        let base = if changes.is_empty() { at(&format!("{year}-07-01 00:00")) } else { changes[pick.index(changes.len())] };
        let after = base + Duration::seconds(shift);
        let end = after + Duration::days(2);
        let got: Vec<_> = schedule.fires_after_in(after, tz).take_while(|t| *t <= end).collect();
        let want: Vec<_> = (after.timestamp().div_euclid(60) + 1..=end.timestamp().div_euclid(60))
            .map(|minute| DateTime::from_timestamp(minute * 60, 0).unwrap())
            .filter(|t| fires_at_in(cron, tz, *t))
            .collect();
        prop_assert_eq!(got, want, "{} in {} after {}", text, tz, after);
    }

    #[test]
    fn in_any_zone_fires_are_ascending_strictly_later_and_on_the_cron(
        text in cron_text(),
        tz in prop::sample::select(ZONES.to_vec()),
        start in prop_oneof![
            -8_000_000_000_000i64..8_000_000_000_000, // most of chrono's range
            -400_000_000i64..7_400_000_000, // 1957 to 2204
        ],
    ) {
        let schedule = expr(&text);
        let ScheduleExpression::Cron(cron) = &schedule else { unreachable!() };
        let after = DateTime::from_timestamp(start, 0).unwrap();
        let fires: Vec<_> = schedule.fires_after_in(after, tz).take(10).collect();
        let mut previous = after;
        for t in fires {
            prop_assert!(t > previous, "{} in {} after {}: {} not after {}", text, tz, after, t, previous);
            prop_assert!(fires_at_in(cron, tz, t), "{} in {}: {} is not a fire", text, tz, t);
            previous = t;
        }
    }
}

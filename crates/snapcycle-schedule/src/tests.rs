//! The parser's and the evaluator's tables and properties.

use super::*;
use chrono::TimeZone;
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
    (0..limit).map(|i| from + Duration::minutes(i)).take_while(|t| t.year() <= MAX_YEAR).find(|t| {
        // Cheap tests first: the day rule is only computed for matching minutes.
        cron.minutes & (1 << t.minute()) != 0
            && cron.hours & (1 << t.hour()) != 0
            && cron.months & (1 << t.month()) != 0
            && t.year() >= MIN_YEAR
            && cron.years.contains(t.year().abs_diff(MIN_YEAR))
            && cron.days.in_month(t.year(), t.month()) & (1 << t.day()) != 0
    })
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

//! Parsing `rate(...)` and six-field `cron(...)` text, field by field, as PutRule accepts it.

use super::*;

pub(crate) fn parse(s: &str) -> Result<ScheduleExpression, ScheduleErrorKind> {
    if s.is_empty() {
        return Err(ScheduleErrorKind::Empty);
    }
    if s.trim() != s {
        return Err(ScheduleErrorKind::SurroundingWhitespace);
    }
    let (is_rate, rest) = if let Some(rest) = s.strip_prefix("rate(") {
        (true, rest)
    } else if let Some(rest) = s.strip_prefix("cron(") {
        (false, rest)
    } else {
        return Err(ScheduleErrorKind::UnknownForm);
    };
    let inner = match rest.strip_suffix(')') {
        Some(inner) if !inner.contains(['(', ')']) => inner,
        Some(_) => return Err(ScheduleErrorKind::StrayText),
        None if rest.contains(')') => return Err(ScheduleErrorKind::StrayText),
        None => return Err(ScheduleErrorKind::MissingClosingParen),
    };
    if is_rate {
        parse_rate(inner).map(ScheduleExpression::Rate)
    } else {
        parse_cron(inner).map(ScheduleExpression::Cron)
    }
}

pub(crate) fn field_err(field: Field, problem: FieldProblem) -> ScheduleErrorKind {
    ScheduleErrorKind::Field { field, problem }
}

pub(crate) fn parse_rate(inner: &str) -> Result<Rate, ScheduleErrorKind> {
    let Some((value_text, unit_text)) = inner.split_once(' ') else {
        return Err(ScheduleErrorKind::RateShape);
    };
    if value_text.is_empty() || unit_text.is_empty() || unit_text.contains(char::is_whitespace) {
        return Err(ScheduleErrorKind::RateShape);
    }
    let value_err = |problem| field_err(Field::RateValue, problem);
    if !value_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(value_err(FieldProblem::NotAValue {
            text: value_text.to_owned(),
            expected: "a positive whole number",
        }));
    }
    let value: u32 = value_text
        .parse()
        .map_err(|_| value_err(FieldProblem::OutOfRange { text: value_text.to_owned(), min: 1, max: u32::MAX }))?;
    if value == 0 {
        return Err(value_err(FieldProblem::Zero(value_text.to_owned())));
    }
    let (unit, plural) = match unit_text {
        "minute" => (RateUnit::Minute, false),
        "minutes" => (RateUnit::Minute, true),
        "hour" => (RateUnit::Hour, false),
        "hours" => (RateUnit::Hour, true),
        "day" => (RateUnit::Day, false),
        "days" => (RateUnit::Day, true),
        _ => return Err(field_err(Field::RateUnit, FieldProblem::UnknownUnit(unit_text.to_owned()))),
    };
    if value == 1 && plural {
        return Err(field_err(
            Field::RateUnit,
            FieldProblem::NeedsSingular { singular: unit.singular(), found: unit_text.to_owned() },
        ));
    }
    if value > 1 && !plural {
        return Err(field_err(
            Field::RateUnit,
            FieldProblem::NeedsPlural { value, plural: unit.plural(), found: unit_text.to_owned() },
        ));
    }
    Ok(Rate { value, unit })
}

/// How one numeric cron field is read.
pub(crate) struct Spec {
    field: Field,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, ...; empty when the field has none.
    names: &'static [&'static str],
    /// The largest step after `/`; `None` when the field takes no `/`.
    max_step: Option<u32>,
    /// Whether a range may run past the end and wrap to the start (`FRI-MON`, `22-2`).
    wraps: bool,
    expected: &'static str,
}

pub(crate) const MINUTES: Spec = Spec {
    field: Field::Minutes,
    min: 0,
    max: 59,
    names: &[],
    max_step: Some(59),
    wraps: true,
    expected: "a minute 0-59",
};

pub(crate) const HOURS: Spec = Spec {
    field: Field::Hours,
    min: 0,
    max: 23,
    names: &[],
    max_step: Some(23),
    wraps: true,
    expected: "an hour 0-23",
};

pub(crate) const DAY_OF_MONTH: Spec = Spec {
    field: Field::DayOfMonth,
    min: 1,
    max: 31,
    names: &[],
    max_step: Some(31),
    wraps: true,
    expected: "a day of the month 1-31, L, LW or a day followed by W",
};

pub(crate) const MONTH: Spec = Spec {
    field: Field::Month,
    min: 1,
    max: 12,
    names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    max_step: Some(12),
    wraps: true,
    expected: "a month 1-12 or JAN-DEC",
};

/// AWS's table lists no `/` for day-of-week, and the service rejects it.
pub(crate) const DAY_OF_WEEK: Spec = Spec {
    field: Field::DayOfWeek,
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    max_step: None,
    wraps: true,
    expected: "a day of the week 1-7 (1 is SUN) or SUN-SAT",
};

pub(crate) const YEAR: Spec = Spec {
    field: Field::Year,
    min: MIN_YEAR as u32,
    max: MAX_YEAR as u32,
    names: &[],
    max_step: Some((MAX_YEAR - MIN_YEAR) as u32),
    wraps: false,
    expected: "a year 1970-2199",
};

pub(crate) fn parse_cron(inner: &str) -> Result<Cron, ScheduleErrorKind> {
    if inner.is_empty() {
        return Err(ScheduleErrorKind::FieldCount { found: 0 });
    }
    if inner.contains(|c: char| c.is_whitespace() && c != ' ')
        || inner.starts_with(' ')
        || inner.ends_with(' ')
        || inner.contains("  ")
    {
        return Err(ScheduleErrorKind::Spacing);
    }
    let fields: Vec<String> = inner.split(' ').map(str::to_ascii_uppercase).collect();
    let [minutes, hours, dom, month, dow, year] = fields.as_slice() else {
        return Err(ScheduleErrorKind::FieldCount { found: fields.len() });
    };
    let minutes = parse_list(minutes, &MINUTES)?;
    let hours = parse_list(hours, &HOURS)?;
    let month_days = parse_day_of_month(dom)?;
    let months = parse_list(month, &MONTH)?;
    let week_days = parse_day_of_week(dow)?;
    let years = parse_list(year, &YEAR)?;
    let days = match (month_days, week_days) {
        (Some(days), None) => Days::OfMonth(days),
        (None, Some(days)) => Days::OfWeek(days),
        (None, None) => return Err(ScheduleErrorKind::BothDaysAny),
        (Some(_), Some(_)) if dom == "*" && dow == "*" => return Err(ScheduleErrorKind::BothDaysStar),
        (Some(_), Some(_)) => {
            return Err(ScheduleErrorKind::BothDaysSet { day_of_month: dom.clone(), day_of_week: dow.clone() })
        }
    };
    Ok(Cron {
        minutes: minutes.low_word(),
        hours: hours.low_word(),
        months: months.low_word() << 1,
        years,
        days,
        text: fields.join(" "),
    })
}

/// Day-of-month; `None` for `?`.
pub(crate) fn parse_day_of_month(text: &str) -> Result<Option<MonthDays>, ScheduleErrorKind> {
    let err = |problem| field_err(Field::DayOfMonth, problem);
    if text == "?" {
        return Ok(None);
    }
    if text.contains(',') {
        if let Some(item) = text.split(',').find(|item| *item == "?" || item.contains(['L', 'W'])) {
            return Err(err(FieldProblem::MustStandAlone(item.to_owned())));
        }
    }
    if text == "L" {
        return Ok(Some(MonthDays::Last));
    }
    if text == "LW" {
        return Ok(Some(MonthDays::LastWeekday));
    }
    if let Some(day) = text.strip_suffix('W') {
        if day.is_empty() || !day.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(FieldProblem::NotAValue { text: text.to_owned(), expected: DAY_OF_MONTH.expected }));
        }
        let day = parse_value(day, &DAY_OF_MONTH)?;
        return Ok(Some(MonthDays::NearestWeekday(day)));
    }
    if text.contains(['L', 'W']) {
        // `L-3`, `WL` and the like: Quartz has some of them, EventBridge documents none.
        return Err(err(FieldProblem::NotAValue { text: text.to_owned(), expected: DAY_OF_MONTH.expected }));
    }
    let set = parse_list(text, &DAY_OF_MONTH)?;
    Ok(Some(MonthDays::Set(set.low_word() << 1)))
}

/// Day-of-week; `None` for `?`.
pub(crate) fn parse_day_of_week(text: &str) -> Result<Option<WeekDays>, ScheduleErrorKind> {
    let err = |problem| field_err(Field::DayOfWeek, problem);
    if text == "?" {
        return Ok(None);
    }
    if text.contains(',') {
        if let Some(item) = text.split(',').find(|item| *item == "?" || item.contains('#') || item.ends_with('L')) {
            return Err(err(FieldProblem::MustStandAlone(item.to_owned())));
        }
    }
    if text == "L" {
        // Alone, L is the last day of the week: Saturday.
        return Ok(Some(WeekDays::Set(1 << 7)));
    }
    if let Some((day, nth)) = text.split_once('#') {
        let weekday = parse_value(day, &DAY_OF_WEEK)?;
        let n = match nth {
            "1" => 1,
            "2" => 2,
            "3" => 3,
            "4" => 4,
            "5" => 5,
            _ => return Err(err(FieldProblem::BadOccurrence(text.to_owned()))),
        };
        return Ok(Some(WeekDays::Nth { weekday, n }));
    }
    if let Some(day) = text.strip_suffix('L') {
        let weekday = parse_value(day, &DAY_OF_WEEK)?;
        return Ok(Some(WeekDays::Last(weekday)));
    }
    let set = parse_list(text, &DAY_OF_WEEK)?;
    Ok(Some(WeekDays::Set(set.low_word() << 1)))
}

/// A comma-separated list of `*`, values, ranges and steps; the set is indexed by `value - min`.
pub(crate) fn parse_list(text: &str, spec: &Spec) -> Result<Bits, ScheduleErrorKind> {
    let err = |problem| field_err(spec.field, problem);
    let mut set = Bits::default();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(err(FieldProblem::Empty));
        }
        if item.contains('?') {
            return Err(err(match spec.field {
                Field::DayOfMonth | Field::DayOfWeek => FieldProblem::MustStandAlone("?".into()),
                _ => FieldProblem::NotAllowed('?'),
            }));
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step_text)) => {
                let Some(max_step) = spec.max_step else {
                    return Err(err(FieldProblem::NotAllowed('/')));
                };
                let bad_step = || err(FieldProblem::BadStep { text: item.to_owned(), max: max_step });
                if step_text.is_empty() || step_text.len() > 4 || !step_text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad_step());
                }
                let step: u32 = step_text.parse().map_err(|_| bad_step())?;
                if step == 0 || step > max_step {
                    return Err(bad_step());
                }
                (base, Some(step))
            }
            None => (item, None),
        };
        let (start, end) = if base == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = base.split_once('-') {
            let (a, b) = (parse_value(a, spec)?, parse_value(b, spec)?);
            if a > b && !spec.wraps {
                return Err(err(FieldProblem::Backwards(base.to_owned())));
            }
            (a, b)
        } else {
            let a = parse_value(base, spec)?;
            // `a/n` runs from a to the end of the field; a lone value is just itself.
            (a, if step.is_some() { spec.max } else { a })
        };
        let size = spec.max - spec.min + 1;
        let len = (end + size - start) % size;
        let mut k = 0;
        while k <= len {
            set.insert(spec.min.abs_diff(start) + k);
            k += step.unwrap_or(1);
        }
        if start > end {
            // A wrapped range (`FRI-MON`): offsets past the top belong at the bottom.
            set.fold(size);
        }
    }
    Ok(set)
}

/// One number or name of a field, checked against its range.
pub(crate) fn parse_value(text: &str, spec: &Spec) -> Result<u32, ScheduleErrorKind> {
    let err = |problem| field_err(spec.field, problem);
    if text.is_empty() {
        return Err(err(FieldProblem::Empty));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let out_of_range = || err(FieldProblem::OutOfRange { text: text.to_owned(), min: spec.min, max: spec.max });
        let value: u32 = text.parse().map_err(|_| out_of_range())?;
        if value < spec.min || value > spec.max {
            return Err(out_of_range());
        }
        return Ok(value);
    }
    match spec.names.iter().position(|name| *name == text) {
        // At most 12 names: the cast cannot truncate.
        Some(i) => Ok(spec.min + i as u32),
        None => Err(err(FieldProblem::NotAValue { text: text.to_owned(), expected: spec.expected })),
    }
}

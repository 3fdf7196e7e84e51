//! `snapcycle run`'s text output: the report as a table, one row per instance and volume event.

use std::fmt::Write as _;

use snapcycle_core::Report;

/// The report as a readable table, with the counts and any hand-over on the last lines.
pub(crate) fn table(report: &Report) -> String {
    let dash = || "-".to_string();
    let opt = |o: Option<&str>| o.map_or_else(dash, str::to_owned);
    let mut rows: Vec<[String; 5]> = Vec::new();
    let verb = |real: &str, dry: &str| if report.dry_run { dry.to_string() } else { real.to_string() };
    for c in &report.created {
        rows.push([
            c.instance_id.to_string(),
            c.volume_id.to_string(),
            verb("created", "would create"),
            opt(c.snapshot_id.as_deref()),
            String::new(),
        ]);
    }
    for d in &report.deleted {
        let why = d.reason.clone().unwrap_or_default();
        rows.push([dash(), d.volume_id.to_string(), verb("deleted", "would delete"), d.snapshot_id.to_string(), why]);
    }
    for k in &report.kept {
        rows.push([dash(), k.volume_id.to_string(), "would keep".into(), k.snapshot_id.to_string(), k.reason.clone()]);
    }
    // Orphans apart: no instance rotates them, and only an expiry deletes them.
    for d in &report.orphans_deleted {
        let why = d.reason.clone().unwrap_or_default();
        rows.push([
            "(orphan)".into(),
            d.volume_id.to_string(),
            verb("deleted", "would delete"),
            d.snapshot_id.to_string(),
            why,
        ]);
    }
    for k in &report.orphans_kept {
        rows.push([
            "(orphan)".into(),
            k.volume_id.to_string(),
            "would keep".into(),
            k.snapshot_id.to_string(),
            k.reason.clone(),
        ]);
    }
    for s in &report.skipped {
        rows.push([
            opt(s.instance_id.as_deref()),
            opt(s.volume_id.as_deref()),
            "skipped".into(),
            opt(s.snapshot_id.as_deref()),
            s.reason.clone(),
        ]);
    }
    for f in &report.failures {
        rows.push([
            opt(f.instance_id.as_deref()),
            opt(f.volume_id.as_deref()),
            "FAILED".into(),
            opt(f.snapshot_id.as_deref()),
            format!("{}: {}", f.code, f.message),
        ]);
    }
    let header = ["INSTANCE", "VOLUME", "ACTION", "SNAPSHOT", "DETAIL"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{} run {}: {} instances, {} volumes",
        if report.dry_run { "DRY RUN: " } else { "" },
        report.keyword,
        snapcycle_core::run_id(report.scheduled_time),
        report.instances,
        report.volumes
    );
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            if i == 4 {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "{} created, {} deleted{}, {} skipped, {} failed; {} API calls",
        report.created.len(),
        report.deleted.len(),
        match report.orphans_deleted.len() {
            0 => String::new(),
            n => format!(" (and {n} expired orphans)"),
        },
        report.skipped.len(),
        report.failures.len(),
        report.api_calls.values().sum::<u64>()
    );
    if let Some(c) = &report.continued {
        let _ = writeln!(out, "ran short of time: {} calls handed to invocation {}", c.left, c.invocation + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapcycle_core::report::Continuation;

    #[test]
    fn a_hand_over_is_the_last_line() {
        let r = Report {
            keyword: "SnapshotDaily".into(),
            scheduled_time: snapcycle_core::event::parse_time("2026-11-26T00:00:00Z").unwrap(),
            continued: Some(Continuation { left: 7, invocation: 1, rotating: false }),
            ..Report::default()
        };
        let t = table(&r);
        assert!(t.starts_with("SnapshotDaily run 2026-11-26T00:00:00Z: 0 instances, 0 volumes\n"), "{t}");
        assert!(t.ends_with("ran short of time: 7 calls handed to invocation 2\n"), "{t}");
    }
}

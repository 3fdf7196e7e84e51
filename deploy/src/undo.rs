//! `snapcycle undo`: the stack's deleted snapshots in the EC2 Recycle Bin, listed, and restored
//! when named.
//!
//! A stack deployed with `--recycle-bin-days N` has a tag-level retention rule that keeps every
//! deleted snapshot marked `snapcycle:keyword = K`, for any of its keywords K, restorable for N
//! days. EC2 lists the bin with ListSnapshotsInRecycleBin, which gives each snapshot's id,
//! description, volume, and when it entered and leaves the bin, but no tags (EC2 API Reference,
//! SnapshotRecycleBinInfo). So a snapshot of this stack is told by its description, which
//! snapcycle always writes as `snapcycle K <name or instance id> (<instance>, N volumes)` (before
//! snapshot sets, `snapcycle K <label> <volume> (<device>)`): it starts with `snapcycle K `.
//!
//! RestoreSnapshotFromRecycleBin (EC2) brings a snapshot back with its tags: while in the bin a
//! snapshot can only be viewed, restored or retagged, and the one tag the bin adds,
//! `aws:recycle-bin:resource-in-bin`, goes when it is restored (EBS User Guide, "Considerations for
//! Recycle Bin"). A restored snapshot is therefore in its keyword's rotation again, and the next
//! run deletes it again if the retention still drops it; `--keep-forever` removes its keyword's
//! tag, which is how a person keeps a snapshot (the function's role may delete only snapshots that
//! still carry it).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::anyhow;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_ec2::types::Tag;
use aws_sdk_ec2::Client;
use chrono::{DateTime, Utc};
use serde::Serialize;
use snapcycle_core::policy::Within;
use snapcycle_core::tags::TAG_KEYWORD;
use snapcycle_core::{run_id, Keyword};

use crate::cli::{Global, Output, UndoArgs};
use crate::{failed, usage, Failure};

/// ListSnapshotsInRecycleBin's largest page (EC2 API Reference: MaxResults 5 to 1000).
const PAGE: i32 = 1000;

/// What every description snapcycle writes starts with, before the keyword.
const DESCRIPTION_PREFIX: &str = "snapcycle ";

/// Lists the snapshots of the stack's keywords (`--keyword`, or the deployed stack's) in the
/// Recycle Bin, deleted within `--since` of `now`; or, with `--restore`, restores exactly the ones
/// named: exit 2 if any is not this stack's in the bin (nothing restored), 1 if one was not
/// restored or, with `--keep-forever`, kept.
pub(crate) async fn undo(global: &Global, args: UndoArgs, now: DateTime<Utc>) -> Result<ExitCode, Failure> {
    let sdk = snapcycle_aws::load_config(&global.aws_options()).await;
    crate::aws::preflight(&sdk).await?;
    let keywords = if args.keywords.is_empty() {
        let k = crate::run::stack_keywords(&sdk, &args.stack_name).await?.keywords;
        if k.is_empty() {
            return Err(usage(anyhow!(
                "no keyword to look for: pass --keyword K (repeatable) or name a deployed stack with --stack-name"
            )));
        }
        k
    } else {
        args.keywords.clone()
    };
    let ec2 = Client::new(&sdk);
    if args.restore.is_empty() {
        let cutoff = args.since.map(|age| age.cutoff(now, chrono_tz::Tz::UTC));
        let found = deleted_since(binned(&ec2, &keywords).await.map_err(failed)?, cutoff);
        match args.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&found).map_err(|e| failed(e.into()))?),
            Output::Text => print!("{}", list_table(&found, &keywords, args.since)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let results = match restore(&ec2, &keywords, &args.restore, args.keep_forever).await {
        Ok(r) => r,
        Err(UndoError::Refused(refusals)) => return Err(refused(&refusals, &keywords)),
        Err(UndoError::Failed(e)) => return Err(failed(e)),
    };
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&results).map_err(|e| failed(e.into()))?),
        Output::Text => print!("{}", restore_table(&results)),
    }
    let complete = results.iter().all(|r| r.restored && (r.kept_forever || !args.keep_forever));
    Ok(if complete { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Named snapshots that are not this stack's in the bin are bad input: exit 2, each with its
/// reason, and nothing was restored.
fn refused(refusals: &[Refusal], keywords: &[Keyword]) -> Failure {
    let lines: Vec<String> = refusals.iter().map(|r| format!("  {r}")).collect();
    usage(anyhow!(
        "nothing restored: {} of the snapshots named {} not this stack's in the Recycle Bin (keywords {}):\n{}\n\
         list them with `snapcycle undo`",
        refusals.len(),
        if refusals.len() == 1 { "is" } else { "are" },
        names(keywords),
        lines.join("\n")
    ))
}

/// One snapshot of the stack's keywords in the Recycle Bin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Binned {
    pub(crate) snapshot_id: String,
    /// The keyword its description names.
    pub(crate) keyword: String,
    pub(crate) volume_id: Option<String>,
    /// When it was deleted into the bin.
    #[serde(rename = "recycle_bin_enter_time", serialize_with = "opt_time")]
    pub(crate) entered: Option<DateTime<Utc>>,
    /// When the bin deletes it for good, unless restored before.
    #[serde(rename = "recycle_bin_exit_time", serialize_with = "opt_time")]
    pub(crate) leaves: Option<DateTime<Utc>>,
    pub(crate) description: String,
}

fn opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&run_id(*t)),
        None => s.serialize_none(),
    }
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    use aws_smithy_types_convert::date_time::DateTimeExt as _;
    t.and_then(|t| t.to_chrono_utc().ok())
}

/// The keyword a snapshot was taken for, from its description `snapcycle K ...`; the longest
/// keyword that fits when one keyword begins another (`Snapshot` and `Snapshot Weekly`). `None`
/// for a description snapcycle did not write or a keyword not in `keywords`.
pub(crate) fn keyword_of<'k>(description: &str, keywords: &'k [Keyword]) -> Option<&'k Keyword> {
    let rest = description.strip_prefix(DESCRIPTION_PREFIX)?;
    keywords
        .iter()
        .filter(|k| rest.strip_prefix(k.as_str()).is_some_and(|after| after.starts_with(' ')))
        .max_by_key(|k| k.as_str().len())
}

/// Every snapshot in the Recycle Bin, as EC2 lists it: ListSnapshotsInRecycleBin to its last page.
async fn whole_bin(ec2: &Client) -> anyhow::Result<Vec<aws_sdk_ec2::types::SnapshotRecycleBinInfo>> {
    let mut pages = ec2.list_snapshots_in_recycle_bin().max_results(PAGE).into_paginator().send();
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            let hint = match e.code() {
                Some("UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException") => {
                    " (the caller needs ec2:ListSnapshotsInRecycleBin)"
                }
                _ => "",
            };
            anyhow!("listing the Recycle Bin (ListSnapshotsInRecycleBin) failed{hint}: {}", sdk_message(&e))
        })?;
        all.extend(page.snapshots().iter().cloned());
    }
    Ok(all)
}

/// The snapshots of `keywords` in the Recycle Bin, most recently deleted first.
pub(crate) async fn binned(ec2: &Client, keywords: &[Keyword]) -> anyhow::Result<Vec<Binned>> {
    Ok(of_stack(&whole_bin(ec2).await?, keywords))
}

/// The bin's entries whose description names one of `keywords`, most recently deleted first.
fn of_stack(bin: &[aws_sdk_ec2::types::SnapshotRecycleBinInfo], keywords: &[Keyword]) -> Vec<Binned> {
    let mut found: Vec<Binned> = bin
        .iter()
        .filter_map(|s| {
            let description = s.description().unwrap_or_default();
            let keyword = keyword_of(description, keywords)?;
            Some(Binned {
                snapshot_id: s.snapshot_id()?.to_owned(),
                keyword: keyword.to_string(),
                volume_id: s.volume_id().map(str::to_owned),
                entered: time(s.recycle_bin_enter_time()),
                leaves: time(s.recycle_bin_exit_time()),
                description: description.to_owned(),
            })
        })
        .collect();
    found.sort_by(|a, b| b.entered.cmp(&a.entered).then_with(|| a.snapshot_id.cmp(&b.snapshot_id)));
    found
}

/// Those deleted at or after `cutoff` (all of them without one; one without an entry time only
/// without one).
pub(crate) fn deleted_since(found: Vec<Binned>, cutoff: Option<DateTime<Utc>>) -> Vec<Binned> {
    found.into_iter().filter(|b| cutoff.is_none_or(|c| b.entered.is_some_and(|t| t >= c))).collect()
}

/// Why a named snapshot is refused. One refusal restores nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not in the Recycle Bin: never deleted into it, restored already, or its time ran out.
    NotInBin(String),
    /// In the bin, but its description names none of the stack's keywords.
    NotOfThisStack { snapshot_id: String, description: String },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotInBin(id) => write!(
                f,
                "{id} is not in the Recycle Bin (never deleted into it, restored already, or its retention ran out)"
            ),
            Refusal::NotOfThisStack { snapshot_id, description } => write!(
                f,
                "{snapshot_id} is in the Recycle Bin but is not a snapshot of this stack's keywords (its description \
                 is {description:?})"
            ),
        }
    }
}

/// Why `restore` restored nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UndoError {
    /// Some named snapshots are not this stack's in the bin: bad input, nothing was changed.
    #[error("{} snapshots refused", .0.len())]
    Refused(Vec<Refusal>),
    /// The bin could not be read.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// The named snapshots as this stack's entries in the bin, in the order named (each once), or
/// every refusal.
pub(crate) fn check_named(
    named: &[String],
    bin: &[aws_sdk_ec2::types::SnapshotRecycleBinInfo],
    keywords: &[Keyword],
) -> Result<Vec<Binned>, Vec<Refusal>> {
    let ours: HashMap<String, Binned> =
        of_stack(bin, keywords).into_iter().map(|b| (b.snapshot_id.clone(), b)).collect();
    let mut seen = BTreeSet::new();
    let (mut wanted, mut refused) = (Vec::new(), Vec::new());
    for id in named.iter().filter(|id| seen.insert(id.as_str())) {
        if let Some(b) = ours.get(id) {
            wanted.push(b.clone());
        } else if let Some(other) = bin.iter().find(|s| s.snapshot_id() == Some(id)) {
            refused.push(Refusal::NotOfThisStack {
                snapshot_id: id.clone(),
                description: other.description().unwrap_or_default().to_owned(),
            });
        } else {
            refused.push(Refusal::NotInBin(id.clone()));
        }
    }
    if refused.is_empty() {
        Ok(wanted)
    } else {
        Err(refused)
    }
}

/// What became of one named snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Restored {
    pub(crate) snapshot_id: String,
    pub(crate) keyword: String,
    /// Whether EC2 restored it.
    pub(crate) restored: bool,
    /// Its state as RestoreSnapshotFromRecycleBin answered (`completed`, ...).
    pub(crate) state: Option<String>,
    /// Whether its keyword tag was removed (`--keep-forever`), so no run deletes it.
    pub(crate) kept_forever: bool,
    /// What happened, and what happens next, in words.
    pub(crate) detail: String,
}

/// Restores the named snapshots, after checking that every one is this stack's in the bin (else
/// nothing is restored); with `keep_forever`, then removes each one's keyword tag. A snapshot EC2
/// does not restore is reported and the others go on.
pub(crate) async fn restore(
    ec2: &Client,
    keywords: &[Keyword],
    named: &[String],
    keep_forever: bool,
) -> Result<Vec<Restored>, UndoError> {
    let bin = whole_bin(ec2).await?;
    let wanted = check_named(named, &bin, keywords).map_err(UndoError::Refused)?;
    let mut results = Vec::new();
    for b in wanted {
        let id = b.snapshot_id.as_str();
        let k = b.keyword.as_str();
        let mut r = Restored {
            snapshot_id: b.snapshot_id.clone(),
            keyword: b.keyword.clone(),
            restored: false,
            state: None,
            kept_forever: false,
            detail: String::new(),
        };
        match ec2.restore_snapshot_from_recycle_bin().snapshot_id(id).send().await {
            Err(e) => r.detail = format!("not restored: {}", sdk_message(&e)),
            Ok(out) => {
                r.restored = true;
                r.state = out.state().map(|s| s.as_str().to_owned());
                r.detail = if keep_forever {
                    match remove_keyword_tag(ec2, id, k).await {
                        Ok(tag) => {
                            r.kept_forever = true;
                            format!("kept until you delete it: its tag {tag} was removed, so no run deletes it")
                        }
                        Err((tag, why)) => format!(
                            "restored, but its tag {tag} could not be removed ({why}): the next {k} run may delete \
                             it again; remove the tag by hand (aws ec2 delete-tags --resources {id} --tags 'Key={tag}')"
                        ),
                    }
                } else {
                    format!(
                        "back in {k}'s rotation with its tags: the next {k} run deletes it again if the retention \
                         on its instance still drops it (raise that first, or restore with --keep-forever)"
                    )
                };
            }
        }
        results.push(r);
    }
    Ok(results)
}

/// Removes the keyword tag of a restored snapshot, the tag key its `snapcycle:keyword` names
/// (read back with DescribeSnapshots; `from_description` if that read fails), whatever its value
/// (EC2 API Reference, DeleteTags: "If you specify a tag key without a tag value, we delete any tag
/// with this key regardless of its value"). Returns the key removed, or the key and why not.
async fn remove_keyword_tag(ec2: &Client, id: &str, from_description: &str) -> Result<String, (String, String)> {
    let marked = match ec2.describe_snapshots().snapshot_ids(id).send().await {
        Ok(d) => d
            .snapshots()
            .first()
            .and_then(|s| s.tags().iter().find(|t| t.key() == Some(TAG_KEYWORD)))
            .and_then(|t| t.value())
            .map(str::to_owned),
        Err(_) => None,
    };
    let key = marked.unwrap_or_else(|| from_description.to_owned());
    match ec2.delete_tags().resources(id).tags(Tag::builder().key(&key).build()).send().await {
        Ok(_) => Ok(key),
        Err(e) => Err((key, format!("DeleteTags: {}", sdk_message(&e)))),
    }
}

/// `Code: message`, AWS's words for a failed call (or the transport's cause chain).
fn sdk_message<E: ProvideErrorMetadata + std::error::Error>(e: &E) -> String {
    let message = match e.message() {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ => DisplayErrorContext(e).to_string(),
    };
    match e.code() {
        Some(code) => format!("{code}: {message}"),
        None => message,
    }
}

fn names(keywords: &[Keyword]) -> String {
    keywords.iter().map(Keyword::as_str).collect::<Vec<_>>().join(", ")
}

/// Rows under a header, each column as wide as its widest cell; the last column is not padded.
fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for r in std::iter::once(&head).chain(rows) {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(&widths).enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn list_table(found: &[Binned], keywords: &[Keyword], since: Option<Within>) -> String {
    let window = since.map(|s| format!(" deleted within {s}")).unwrap_or_default();
    if found.is_empty() {
        return format!(
            "No snapshot of {}{window} in the Recycle Bin (only a stack deployed with --recycle-bin-days keeps \
             deleted snapshots there).\n",
            names(keywords)
        );
    }
    let opt = |t: Option<DateTime<Utc>>| t.map_or_else(|| "-".to_owned(), run_id);
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|b| {
            vec![
                b.snapshot_id.clone(),
                b.keyword.clone(),
                b.volume_id.clone().unwrap_or_else(|| "-".to_owned()),
                opt(b.entered),
                opt(b.leaves),
                b.description.clone(),
            ]
        })
        .collect();
    let mut out = columns(&["SNAPSHOT", "KEYWORD", "VOLUME", "DELETED", "RESTORABLE UNTIL", "DESCRIPTION"], &rows);
    let _ = writeln!(
        out,
        "{} snapshot{} of {}{window} in the Recycle Bin; restore with `snapcycle undo --restore SNAPSHOT_ID ...` \
         (add --keep-forever to keep them out of rotation)",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        names(keywords)
    );
    out
}

fn restore_table(results: &[Restored]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let result = match (r.restored, &r.state) {
                (false, _) => "FAILED".to_owned(),
                (true, Some(state)) => format!("restored ({state})"),
                (true, None) => "restored".to_owned(),
            };
            vec![r.snapshot_id.clone(), r.keyword.clone(), result, r.detail.clone()]
        })
        .collect();
    let mut out = columns(&["SNAPSHOT", "KEYWORD", "RESULT", "DETAIL"], &rows);
    let restored = results.iter().filter(|r| r.restored).count();
    let _ = writeln!(out, "{restored} of {} restored", results.len());
    out
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::operation::delete_tags::{DeleteTagsError, DeleteTagsOutput};
    use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
    use aws_sdk_ec2::operation::list_snapshots_in_recycle_bin::{
        ListSnapshotsInRecycleBinError, ListSnapshotsInRecycleBinOutput,
    };
    use aws_sdk_ec2::operation::restore_snapshot_from_recycle_bin::{
        RestoreSnapshotFromRecycleBinError, RestoreSnapshotFromRecycleBinOutput,
    };
    use aws_sdk_ec2::types::{Snapshot, SnapshotRecycleBinInfo, SnapshotState};
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

    use super::*;

    const DAILY_1: &str = "snap-0000000000000d001";
    const DAILY_2: &str = "snap-0000000000000d002";
    const WEEKLY: &str = "snap-00000000000000w01";
    const HOURLY_OLD: &str = "snap-00000000000000h01";
    const OTHER_STACK: &str = "snap-00000000000000f01";
    const BY_HAND: &str = "snap-00000000000000b01";

    fn keywords() -> Vec<Keyword> {
        ["SnapshotHourly", "SnapshotDaily", "Snapshot Weekly"].map(|k| Keyword::new(k).unwrap()).to_vec()
    }

    fn at(raw: &str) -> DateTime<Utc> {
        snapcycle_core::event::parse_time(raw).unwrap()
    }

    fn sdk_time(raw: &str) -> aws_smithy_types::DateTime {
        aws_smithy_types::DateTime::from_secs(at(raw).timestamp())
    }

    /// A snapshot deleted at `deleted` into a bin that keeps it 7 days.
    fn entry(id: &str, description: &str, deleted: &str) -> SnapshotRecycleBinInfo {
        let entered = sdk_time(deleted);
        SnapshotRecycleBinInfo::builder()
            .snapshot_id(id)
            .description(description)
            .volume_id("vol-0123456789abcdef0")
            .recycle_bin_enter_time(entered)
            .recycle_bin_exit_time(aws_smithy_types::DateTime::from_secs(entered.secs() + 7 * 86_400))
            .build()
    }

    /// The bin as EC2 lists it, over two pages: this stack's snapshots of three keywords (a
    /// set's description and an older volume's), another tool's and a hand-made one.
    fn two_pages() -> Rule {
        mock!(Client::list_snapshots_in_recycle_bin)
            .sequence()
            .output(|| {
                ListSnapshotsInRecycleBinOutput::builder()
                    .snapshots(entry(
                        DAILY_1,
                        "snapcycle SnapshotDaily web-1 (i-0aa, 2 volumes)",
                        "2026-11-25T00:00:05Z",
                    ))
                    .snapshots(entry(OTHER_STACK, "Created by AWS Backup", "2026-11-25T01:00:00Z"))
                    .snapshots(entry(WEEKLY, "snapcycle Snapshot Weekly db (i-0bb, 1 volume)", "2026-11-20T02:30:04Z"))
                    .next_token("page-2")
                    .build()
            })
            .output(|| {
                ListSnapshotsInRecycleBinOutput::builder()
                    .snapshots(entry(
                        DAILY_2,
                        "snapcycle SnapshotDaily i-0aa (i-0aa, 2 volumes)",
                        "2026-11-26T00:00:07Z",
                    ))
                    .snapshots(entry(
                        HOURLY_OLD,
                        "snapcycle SnapshotHourly web-1 vol-0123456789abcdef0 (/dev/xvda)",
                        "2026-11-10T13:00:02Z",
                    ))
                    .snapshots(entry(BY_HAND, "snapcycle-ish backup by hand", "2026-11-26T09:00:00Z"))
                    .build()
            })
            .build()
    }

    fn client(rules: &[&Rule]) -> Client {
        mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules)
    }

    fn restored_ok() -> Rule {
        mock!(Client::restore_snapshot_from_recycle_bin)
            .then_output(|| RestoreSnapshotFromRecycleBinOutput::builder().state(SnapshotState::Completed).build())
    }

    fn ec2_error(code: &str) -> aws_sdk_ec2::error::ErrorMetadata {
        aws_sdk_ec2::error::ErrorMetadata::builder().code(code).message(format!("{code} (mocked)")).build()
    }

    fn ids(found: &[Binned]) -> Vec<&str> {
        found.iter().map(|b| b.snapshot_id.as_str()).collect()
    }

    #[test]
    fn a_description_names_its_keyword_and_the_longest_fitting_one_wins() {
        let k = keywords();
        let of = |d: &str| keyword_of(d, &k).map(Keyword::as_str);
        assert_eq!(of("snapcycle SnapshotDaily web-1 (i-0aa, 2 volumes)"), Some("SnapshotDaily"));
        assert_eq!(of("snapcycle Snapshot Weekly db (i-0bb, 1 volume)"), Some("Snapshot Weekly"));
        assert_eq!(of("snapcycle SnapshotHourly web vol-1 (/dev/xvda)"), Some("SnapshotHourly"));
        assert_eq!(of("snapcycle SnapshotDailyX web (i-1, 1 volume)"), None, "a keyword is a whole word");
        assert_eq!(of("snapcycle SnapshotMonthly web (i-1, 1 volume)"), None, "not this stack's keyword");
        assert_eq!(of("SnapshotDaily web (i-1, 1 volume)"), None);
        assert_eq!(of(""), None);
        let nested: Vec<Keyword> = ["Snapshot", "Snapshot Weekly"].map(|k| Keyword::new(k).unwrap()).to_vec();
        assert_eq!(
            keyword_of("snapcycle Snapshot Weekly db (i-1, 1 volume)", &nested).unwrap().as_str(),
            "Snapshot Weekly"
        );
        assert_eq!(keyword_of("snapcycle Snapshot db (i-1, 1 volume)", &nested).unwrap().as_str(), "Snapshot");
    }

    /// Every page is read; only descriptions naming the stack's keywords are listed, most
    /// recently deleted first, with the bin's times.
    #[tokio::test]
    async fn the_listing_reads_every_page_and_keeps_only_this_stacks_snapshots() {
        let pages = two_pages();
        let ec2 = client(&[&pages]);
        let found = binned(&ec2, &keywords()).await.unwrap();
        assert_eq!(pages.num_calls(), 2);
        assert_eq!(ids(&found), [DAILY_2, DAILY_1, WEEKLY, HOURLY_OLD]);
        assert_eq!(found[2].keyword, "Snapshot Weekly");
        assert_eq!(found[0].entered, Some(at("2026-11-26T00:00:07Z")));
        assert_eq!(found[0].volume_id.as_deref(), Some("vol-0123456789abcdef0"));
        let json = serde_json::to_value(&found[0]).unwrap();
        assert_eq!(json["recycle_bin_enter_time"], "2026-11-26T00:00:07Z");
        assert_eq!(json["keyword"], "SnapshotDaily");

        // One keyword only: --keyword SnapshotDaily.
        let pages = two_pages();
        let ec2 = client(&[&pages]);
        let daily = binned(&ec2, &[Keyword::new("SnapshotDaily").unwrap()]).await.unwrap();
        assert_eq!(ids(&daily), [DAILY_2, DAILY_1]);
    }

    /// `--since 2d` on 2026-11-26T12:00Z keeps what entered the bin at or after 2026-11-24T12:00Z.
    #[tokio::test]
    async fn since_keeps_what_was_deleted_within_the_age() {
        let pages = two_pages();
        let found = binned(&client(&[&pages]), &keywords()).await.unwrap();
        let now = at("2026-11-26T12:00:00Z");
        let two_days = crate::values::since("2d").unwrap();
        let recent = deleted_since(found.clone(), Some(two_days.cutoff(now, chrono_tz::Tz::UTC)));
        assert_eq!(ids(&recent), [DAILY_2, DAILY_1]);
        let hours = crate::values::since("12h").unwrap();
        assert_eq!(ids(&deleted_since(found.clone(), Some(hours.cutoff(now, chrono_tz::Tz::UTC)))), [DAILY_2]);
        assert_eq!(deleted_since(found.clone(), None), found);
        let table = list_table(&recent, &keywords(), Some(two_days));
        assert!(table.starts_with("SNAPSHOT"), "{table}");
        assert!(
            table.contains("2 snapshots of SnapshotHourly, SnapshotDaily, Snapshot Weekly deleted within 2d"),
            "{table}"
        );
        let none = list_table(&[], &keywords(), Some(hours));
        assert!(
            none.starts_with("No snapshot of SnapshotHourly, SnapshotDaily, Snapshot Weekly deleted within 12h"),
            "{none}"
        );
    }

    #[tokio::test]
    async fn a_listing_the_caller_may_not_make_says_which_permission() {
        let denied = mock!(Client::list_snapshots_in_recycle_bin)
            .then_error(|| ListSnapshotsInRecycleBinError::generic(ec2_error("UnauthorizedOperation")));
        let e = binned(&client(&[&denied]), &keywords()).await.unwrap_err().to_string();
        assert!(e.contains("ec2:ListSnapshotsInRecycleBin") && e.contains("UnauthorizedOperation"), "{e}");
    }

    /// The named snapshots are restored in the order named, each once; without --keep-forever
    /// nothing else is called, and each one's detail says the next run may delete it again.
    #[tokio::test]
    async fn restoring_named_snapshots_restores_exactly_those() {
        let pages = two_pages();
        let restore = restored_ok();
        let tags = mock!(Client::delete_tags).then_output(|| DeleteTagsOutput::builder().build());
        let ec2 = client(&[&pages, &restore, &tags]);
        let named = [WEEKLY, DAILY_1, WEEKLY].map(str::to_owned);
        let results = super::restore(&ec2, &keywords(), &named, false).await.unwrap();
        assert_eq!(restore.num_calls(), 2, "each named snapshot once");
        assert_eq!(tags.num_calls(), 0);
        assert_eq!(results.iter().map(|r| r.snapshot_id.as_str()).collect::<Vec<_>>(), [WEEKLY, DAILY_1]);
        assert!(results.iter().all(|r| r.restored && !r.kept_forever && r.state.as_deref() == Some("completed")));
        assert!(results[1].detail.contains("the next SnapshotDaily run deletes it again"), "{}", results[1].detail);
        let table = restore_table(&results);
        assert!(table.contains("restored (completed)") && table.ends_with("2 of 2 restored\n"), "{table}");
    }

    /// An id not in the bin, and one in the bin that is not this stack's, are refused, each with
    /// its reason, and nothing is restored, not even the valid one named beside them.
    #[tokio::test]
    async fn ids_that_are_not_this_stacks_in_the_bin_are_refused_and_nothing_is_restored() {
        let pages = two_pages();
        let restore = restored_ok();
        let ec2 = client(&[&pages, &restore]);
        let gone = "snap-0123456789abcdef0";
        let named = [DAILY_1, OTHER_STACK, gone, BY_HAND].map(str::to_owned);
        let Err(UndoError::Refused(refused)) = super::restore(&ec2, &keywords(), &named, false).await else {
            panic!("refused");
        };
        assert_eq!(restore.num_calls(), 0, "nothing restored");
        assert_eq!(
            refused,
            [
                Refusal::NotOfThisStack {
                    snapshot_id: OTHER_STACK.into(),
                    description: "Created by AWS Backup".into()
                },
                Refusal::NotInBin(gone.into()),
                Refusal::NotOfThisStack {
                    snapshot_id: BY_HAND.into(),
                    description: "snapcycle-ish backup by hand".into()
                },
            ]
        );
        assert!(refused[1].to_string().contains("is not in the Recycle Bin"), "{}", refused[1]);
        assert!(refused[0].to_string().contains("not a snapshot of this stack's keywords"), "{}", refused[0]);
        let Failure::Usage(e) = super::refused(&refused, &keywords()) else { panic!("a refusal is exit 2") };
        let e = format!("{e:#}");
        assert!(e.starts_with("nothing restored: 3 of the snapshots named are not this stack's"), "{e}");
        assert!(e.contains(&format!("  {gone} is not in the Recycle Bin")), "{e}");

        // A snapshot of a keyword not asked for is not this stack's either.
        let pages = two_pages();
        let ec2 = client(&[&pages, &restore]);
        let only_daily = [Keyword::new("SnapshotDaily").unwrap()];
        let Err(UndoError::Refused(refused)) = super::restore(&ec2, &only_daily, &[HOURLY_OLD.to_owned()], false).await
        else {
            panic!("refused");
        };
        assert!(matches!(&refused[..], [Refusal::NotOfThisStack { .. }]), "{refused:?}");
        assert_eq!(restore.num_calls(), 0);
    }

    /// One snapshot EC2 will not restore (its time ran out between the listing and the call) is
    /// reported, and the other named one is still restored.
    #[tokio::test]
    async fn a_snapshot_ec2_does_not_restore_is_reported_and_the_others_go_on() {
        let pages = two_pages();
        let expired = mock!(Client::restore_snapshot_from_recycle_bin)
            .match_requests(|r| r.snapshot_id() == Some(DAILY_1))
            .then_error(|| RestoreSnapshotFromRecycleBinError::generic(ec2_error("InvalidSnapshot.NotFound")));
        let ok = restored_ok();
        let ec2 = client(&[&pages, &expired, &ok]);
        let named = [DAILY_1, DAILY_2].map(str::to_owned);
        let results = super::restore(&ec2, &keywords(), &named, false).await.unwrap();
        assert!(!results[0].restored && results[0].detail.contains("InvalidSnapshot.NotFound"), "{results:?}");
        assert!(results[1].restored);
        assert!(restore_table(&results).contains("FAILED"));
    }

    /// --keep-forever: after the restore, the tag key the snapshot's `snapcycle:keyword` names is
    /// removed (any value), so no run deletes it; a refused DeleteTags says how to do it by hand.
    #[tokio::test]
    async fn keep_forever_removes_the_keyword_tag_of_each_restored_snapshot() {
        let pages = two_pages();
        let restore = restored_ok();
        let read =
            mock!(Client::describe_snapshots).match_requests(|r| r.snapshot_ids() == [WEEKLY]).then_output(|| {
                DescribeSnapshotsOutput::builder()
                    .snapshots(
                        Snapshot::builder()
                            .snapshot_id(WEEKLY)
                            .tags(Tag::builder().key(TAG_KEYWORD).value("Snapshot Weekly").build())
                            .tags(Tag::builder().key("Snapshot Weekly").value("4").build())
                            .build(),
                    )
                    .build()
            });
        let untag = mock!(Client::delete_tags)
            .match_requests(|r| {
                r.resources() == [WEEKLY]
                    && r.tags().len() == 1
                    && r.tags()[0].key() == Some("Snapshot Weekly")
                    && r.tags()[0].value().is_none()
            })
            .then_output(|| DeleteTagsOutput::builder().build());
        let ec2 = client(&[&pages, &restore, &read, &untag]);
        let results = super::restore(&ec2, &keywords(), &[WEEKLY.to_owned()], true).await.unwrap();
        assert_eq!((restore.num_calls(), read.num_calls(), untag.num_calls()), (1, 1, 1));
        assert!(results[0].restored && results[0].kept_forever, "{results:?}");
        assert!(results[0].detail.contains("its tag Snapshot Weekly was removed"), "{}", results[0].detail);

        let pages = two_pages();
        let restore = restored_ok();
        let unreadable = mock!(Client::describe_snapshots).then_error(|| {
            aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsError::generic(ec2_error(
                "UnauthorizedOperation",
            ))
        });
        let denied =
            mock!(Client::delete_tags).then_error(|| DeleteTagsError::generic(ec2_error("UnauthorizedOperation")));
        let ec2 = client(&[&pages, &restore, &unreadable, &denied]);
        let results = super::restore(&ec2, &keywords(), &[DAILY_1.to_owned()], true).await.unwrap();
        assert!(results[0].restored && !results[0].kept_forever, "{results:?}");
        let d = &results[0].detail;
        assert!(d.contains("its tag SnapshotDaily could not be removed") && d.contains("UnauthorizedOperation"), "{d}");
        assert!(d.contains(&format!("aws ec2 delete-tags --resources {DAILY_1} --tags 'Key=SnapshotDaily'")), "{d}");
    }
}

//! Hugging Face daily papers: raw `/api/daily_papers` responses and the flattened JSON lines.

use std::collections::HashMap;

use chrono::NaiveDate;
use paperboy_core::{Author, DailyEntry, Paper, Submitter};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::text::{
    basename, collapse_ws, opt_trimmed, optional_date, parse_day, parse_timestamp, trim_owned,
    versioned_id, BStr, Rejection,
};
use crate::{pyliteral, Record, RecordError, RejectReason};

/// The day of a daily file from its name: `2024-12-11.json`, `dir/2024-12-11.json.gz`.
pub fn day_from_name(name: &str) -> Option<NaiveDate> {
    let base = basename(name);
    let stem = base.get(..10)?;
    let rest = &base[10..];
    if !(rest.is_empty() || rest.starts_with('.')) {
        return None;
    }
    NaiveDate::parse_from_str(stem, "%Y-%m-%d").ok()
}

/// Parses one raw `/api/daily_papers` response: a JSON array of items (objects, or Python-repr
/// strings of them as in some archived files), or an object `{"date", "data": [...]}` wrapping one.
/// The day is the wrapper's `date`, else the one in `name` (`YYYY-MM-DD.json`). Errors are located
/// as `<file name> item <index>`; a document that cannot be read at all yields one error.
pub fn parse_daily_api(name: &str, json: &[u8]) -> Vec<Result<Record, RecordError>> {
    let mut out = Vec::new();
    parse_daily_api_into(name, json, &mut |r| out.push(r));
    out
}

pub(crate) fn parse_daily_api_into(
    name: &str,
    json: &[u8],
    emit: &mut dyn FnMut(Result<Record, RecordError>),
) {
    let label = basename(name);
    let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
    let doc: Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(e) => {
            return emit(Err(RecordError::new(
                label,
                RejectReason::MalformedJson,
                e.to_string(),
            )))
        }
    };
    let (items, day) = match doc {
        Value::Array(items) => (items, day_from_name(name)),
        Value::Object(mut wrapper) => {
            let day = wrapper
                .get("date")
                .and_then(Value::as_str)
                .and_then(|d| parse_day(d).ok())
                .or_else(|| day_from_name(name));
            match wrapper.remove("data") {
                Some(Value::Array(items)) => (items, day),
                _ => {
                    let detail = match wrapper.get("error").or_else(|| wrapper.get("message")) {
                        Some(e) => format!("not a daily papers response: {e}"),
                        None => "an object without a \"data\" array is not a daily papers response"
                            .to_string(),
                    };
                    let reason = if wrapper.contains_key("error") {
                        RejectReason::ApiError
                    } else {
                        RejectReason::MalformedJson
                    };
                    return emit(Err(RecordError::new(label, reason, detail)));
                }
            }
        }
        _ => {
            return emit(Err(RecordError::new(
                label,
                RejectReason::MalformedJson,
                "expected a JSON array of daily papers",
            )))
        }
    };
    let Some(day) = day else {
        if items.is_empty() {
            return;
        }
        return emit(Err(RecordError::new(
            label,
            RejectReason::InvalidDate,
            "cannot tell the day: the file name is not YYYY-MM-DD.json and there is no \"date\"",
        )));
    };
    for (i, item) in items.into_iter().enumerate() {
        let result = match item {
            Value::String(repr) => match pyliteral::parse(&repr) {
                Ok(v) => daily_item(day, i as u32, v),
                Err(e) => Err((RejectReason::MalformedJson, format!("Python literal: {e}"))),
            },
            v => daily_item(day, i as u32, v),
        };
        emit(
            result
                .map(|(entry, paper)| Record::Daily { entry, paper })
                .map_err(|(reason, detail)| {
                    RecordError::new(format!("{label} item {i}"), reason, detail)
                }),
        );
    }
}

/// Maps one daily-papers item (`{"paper": {...}, "publishedAt", "numComments", ...}`) on `day`
/// at `position` to its list entry and paper. Keys neither models go to their `extra` verbatim.
pub fn daily_item(
    day: NaiveDate,
    position: u32,
    item: Value,
) -> Result<(DailyEntry, Paper), (RejectReason, String)> {
    let Value::Object(mut item) = item else {
        return Err((RejectReason::MalformedJson, "item is not an object".into()));
    };
    let mut p = match item.remove("paper") {
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err((
                RejectReason::MalformedJson,
                "\"paper\" is not an object".into(),
            ))
        }
        None => return Err((RejectReason::MissingField, "no \"paper\"".into())),
    };
    let vid = match p.remove("id") {
        Some(Value::String(s)) => versioned_id(&s)?,
        Some(Value::Null) | None => return Err((RejectReason::MissingField, "no paper.id".into())),
        Some(other) => {
            return Err((
                RejectReason::InvalidId,
                format!("paper.id is not a string: {other}"),
            ))
        }
    };
    let item_title = take_string(&mut item, "title")
        .map(collapse_ws)
        .filter(|t| !t.is_empty());
    let title = match take_string(&mut p, "title")
        .map(collapse_ws)
        .filter(|t| !t.is_empty())
    {
        Some(t) => t,
        None => item_title
            .clone()
            .ok_or((RejectReason::MissingField, "no paper.title".to_string()))?,
    };

    let mut paper = Paper::new(vid.id.clone(), title);
    paper.version = vid.version;
    paper.summary = take_string(&mut p, "summary")
        .map(trim_owned)
        .unwrap_or_default();
    if let Some(Value::Array(authors)) = p.remove("authors") {
        paper.authors = authors.into_iter().filter_map(hf_author).collect();
    }
    paper.published = take_date(&mut p, "publishedAt", "paper.publishedAt")?;
    paper.submitted_on_daily_at =
        take_date(&mut p, "submittedOnDailyAt", "paper.submittedOnDailyAt")?;
    paper.submitted_on_daily_by = p.remove("submittedOnDailyBy").and_then(submitter);
    let upvotes = p.remove("upvotes").and_then(|v| v.as_i64());
    paper.hf_upvotes = upvotes;
    paper.hf_discussion_id = take_string(&mut p, "discussionId").filter(|s| !s.is_empty());
    paper.ai_summary = opt_trimmed(take_string(&mut p, "ai_summary"));
    if let Some(Value::Array(kw)) = p.remove("ai_keywords") {
        paper.ai_keywords = kw
            .into_iter()
            .filter_map(|k| {
                if let Value::String(s) = k {
                    Some(s)
                } else {
                    None
                }
            })
            .collect();
    }
    paper.github_repo = opt_trimmed(take_string(&mut p, "githubRepo"));
    paper.github_stars = p.remove("githubStars").and_then(|v| v.as_i64());
    paper.project_page = opt_trimmed(take_string(&mut p, "projectPage"));
    paper.daily_date = Some(day);
    paper.extra = p;

    let published_at = take_date(&mut item, "publishedAt", "publishedAt")?;
    let num_comments = item
        .remove("numComments")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    let submitted_by = item.remove("submittedBy").and_then(submitter);
    let summary = opt_trimmed(take_string(&mut item, "summary"));
    let thumbnail = match take_string(&mut item, "thumbnail").filter(|s| !s.is_empty()) {
        Some(t) => Some(t),
        None => take_string(&mut item, "mediaUrl").filter(|s| !s.is_empty()),
    };
    let is_author_participating = item
        .remove("isAuthorParticipating")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let entry = DailyEntry {
        day,
        paper_id: vid.id,
        position,
        upvotes: upvotes.unwrap_or(0),
        num_comments,
        submitted_by,
        published_at,
        title: item_title,
        summary,
        thumbnail,
        is_author_participating,
        extra: item,
    };
    Ok((entry, paper))
}

/// Removes `key` and returns it if it is a string (a value of another type is dropped).
fn take_string(m: &mut Map<String, Value>, key: &str) -> Option<String> {
    match m.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

fn take_date(
    m: &mut Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Rejection> {
    match m.remove(key) {
        Some(Value::String(s)) => optional_date(Some(&s), what, parse_timestamp),
        Some(Value::Null) | None => Ok(None),
        Some(other) => Err((
            RejectReason::InvalidDate,
            format!("{what}: not a string: {other}"),
        )),
    }
}

fn hf_author(v: Value) -> Option<Author> {
    let Value::Object(mut a) = v else { return None };
    let name = collapse_ws(take_string(&mut a, "name")?);
    if name.is_empty() {
        return None;
    }
    Some(Author {
        name,
        hf_id: take_string(&mut a, "_id").filter(|s| !s.is_empty()),
        hidden: a.get("hidden").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// An HF account object: the account name is `user` (in `submittedOnDailyBy`) or `name` (in
/// `submittedBy`).
fn submitter(v: Value) -> Option<Submitter> {
    let Value::Object(mut m) = v else { return None };
    let name = take_string(&mut m, "user")
        .or_else(|| take_string(&mut m, "name"))
        .filter(|n| !n.is_empty())?;
    Some(Submitter {
        name,
        fullname: take_string(&mut m, "fullname").filter(|s| !s.is_empty()),
        hf_id: take_string(&mut m, "_id").filter(|s| !s.is_empty()),
        avatar_url: take_string(&mut m, "avatarUrl").filter(|s| !s.is_empty()),
    })
}

/// One line of the flattened file (`hf_daily_papers_*.jsonl`).
#[derive(Deserialize)]
struct FlatLine<'a> {
    #[serde(borrow)]
    daily_date: Option<BStr<'a>>,
    #[serde(borrow)]
    arxiv_id: Option<BStr<'a>>,
    title: Option<String>,
    summary: Option<String>,
    authors: Option<Vec<String>>,
    #[serde(borrow)]
    published_at: Option<BStr<'a>>,
    #[serde(borrow)]
    submitted_on_daily_at: Option<BStr<'a>>,
    upvotes: Option<i64>,
    num_comments: Option<i64>,
    github_repo: Option<String>,
    github_stars: Option<i64>,
    project_page: Option<String>,
    ai_keywords: Option<Vec<String>>,
    organization: Option<Value>,
    submitted_by: Option<Value>,
}

/// Positions within each day, in file order, for the flattened format.
#[derive(Default)]
pub(crate) struct FlatState {
    positions: HashMap<NaiveDate, u32>,
}

/// Maps one flattened line. `organization` (the organisation's display name in this format) is
/// kept in both `extra`s as `{"fullname": …}`, the shape the raw API gives it.
pub(crate) fn flat_line(line: &[u8], state: &mut FlatState) -> Result<Record, Rejection> {
    let l: FlatLine =
        serde_json::from_slice(line).map_err(|e| (RejectReason::MalformedJson, e.to_string()))?;
    let day = l
        .daily_date
        .as_deref()
        .ok_or((RejectReason::MissingField, "no daily_date".to_string()))?;
    let day =
        parse_day(day).map_err(|e| (RejectReason::InvalidDate, format!("daily_date: {e}")))?;
    let slot = state.positions.entry(day).or_insert(0);
    let position = *slot;
    *slot += 1;
    let id = l
        .arxiv_id
        .as_deref()
        .ok_or((RejectReason::MissingField, "no arxiv_id".to_string()))?;
    let vid = versioned_id(id)?;
    let title = l
        .title
        .map(collapse_ws)
        .filter(|t| !t.is_empty())
        .ok_or((RejectReason::MissingField, "no title".to_string()))?;
    let opt_date =
        |v: &Option<BStr>, what: &str| optional_date(v.as_deref(), what, parse_timestamp);

    let mut paper = Paper::new(vid.id.clone(), title.clone());
    paper.version = vid.version;
    paper.summary = l.summary.map(trim_owned).unwrap_or_default();
    paper.authors = l
        .authors
        .unwrap_or_default()
        .into_iter()
        .map(collapse_ws)
        .filter(|n| !n.is_empty())
        .map(Author::named)
        .collect();
    paper.published = opt_date(&l.published_at, "published_at")?;
    paper.submitted_on_daily_at = opt_date(&l.submitted_on_daily_at, "submitted_on_daily_at")?;
    paper.hf_upvotes = l.upvotes;
    paper.github_repo = opt_trimmed(l.github_repo);
    paper.github_stars = l.github_stars;
    paper.project_page = opt_trimmed(l.project_page);
    paper.ai_keywords = l.ai_keywords.unwrap_or_default();
    paper.daily_date = Some(day);

    let mut extra = Map::new();
    match l.organization {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            let mut org = Map::new();
            org.insert("fullname".into(), Value::String(s));
            extra.insert("organization".into(), Value::Object(org));
        }
        Some(v @ Value::Object(_)) => {
            extra.insert("organization".into(), v);
        }
        _ => {}
    }
    paper.extra = extra.clone();
    let submitted_by = match l.submitted_by {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(Submitter {
            name: s.trim().to_string(),
            fullname: None,
            hf_id: None,
            avatar_url: None,
        }),
        Some(v @ Value::Object(_)) => submitter(v),
        _ => None,
    };
    let entry = DailyEntry {
        day,
        paper_id: vid.id,
        position,
        upvotes: l.upvotes.unwrap_or(0),
        num_comments: l.num_comments.unwrap_or(0),
        submitted_by,
        // The flattened file has no item `publishedAt`; `submitted_on_daily_at` is on the paper.
        published_at: None,
        title: Some(title),
        summary: None,
        thumbnail: None,
        is_author_participating: false,
        extra,
    };
    Ok(Record::Daily { entry, paper })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 10).unwrap()
    }

    #[test]
    fn day_from_file_names() {
        assert_eq!(day_from_name("2025-06-10.json"), Some(day()));
        assert_eq!(
            day_from_name("Paper_metadata_download/2025-06-10.json"),
            Some(day())
        );
        assert_eq!(day_from_name("2025-06-10.json.gz"), Some(day()));
        assert_eq!(day_from_name("2025-06-10"), Some(day()));
        assert_eq!(day_from_name("2025-06-10-backup.json"), None);
        assert_eq!(day_from_name("papers.json"), None);
        assert_eq!(day_from_name("2025-13-10.json"), None);
    }

    #[test]
    fn maps_an_item_and_keeps_unmodelled_keys() {
        let item = json!({
            "paper": {
                "id": "2506.08007",
                "authors": [
                    {"_id": "a1", "name": "Qingxiu  Dong", "hidden": false},
                    {"_id": "a2", "name": "Furu Wei", "hidden": true, "user": {"user": "frontierai"}, "status": "extracted_pending"}
                ],
                "mediaUrls": ["https://cdn/x.png"],
                "publishedAt": "2025-06-09T17:59:53.000Z",
                "submittedOnDailyAt": "2025-06-10T00:43:01.816Z",
                "title": "Reinforcement\n  Pre-Training",
                "submittedOnDailyBy": {"_id": "u1", "avatarUrl": "/a.svg", "fullname": "Li Dong", "user": "unilm", "type": "user"},
                "summary": "In this work,\nwe introduce RPT.\n",
                "upvotes": 97,
                "discussionId": "d1",
                "ai_summary": "RPT improves LMs.",
                "ai_keywords": ["RPT", "RL"],
                "githubRepo": "https://github.com/x/y",
                "githubStars": 12,
                "projectPage": "",
                "organization": {"name": "ms", "fullname": "Microsoft"},
                "ai_summary_model": "qwen"
            },
            "publishedAt": "2025-06-09T13:59:53.000Z",
            "title": "Reinforcement Pre-Training",
            "summary": "In this work",
            "thumbnail": "https://thumb/2506.08007.png",
            "numComments": 3,
            "submittedBy": {"_id": "u1", "avatarUrl": "/a.svg", "fullname": "Li Dong", "name": "unilm", "type": "user", "isPro": false},
            "isAuthorParticipating": true,
            "organization": {"name": "ms"},
            "mediaUrls": ["https://cdn/x.png"]
        });
        let (entry, paper) = daily_item(day(), 5, item).unwrap();
        assert_eq!(paper.id.as_str(), "2506.08007");
        assert_eq!(paper.title, "Reinforcement Pre-Training");
        assert_eq!(paper.summary, "In this work,\nwe introduce RPT.");
        assert_eq!(paper.authors.len(), 2);
        assert_eq!(
            paper.authors[0],
            Author {
                name: "Qingxiu Dong".into(),
                hf_id: Some("a1".into()),
                hidden: false
            }
        );
        assert!(paper.authors[1].hidden);
        assert_eq!(
            paper.published.unwrap().to_rfc3339(),
            "2025-06-09T17:59:53+00:00"
        );
        assert_eq!(
            paper.submitted_on_daily_at.unwrap().to_rfc3339(),
            "2025-06-10T00:43:01.816+00:00"
        );
        let by = paper.submitted_on_daily_by.as_ref().unwrap();
        assert_eq!(
            (
                by.name.as_str(),
                by.fullname.as_deref(),
                by.hf_id.as_deref(),
                by.avatar_url.as_deref()
            ),
            ("unilm", Some("Li Dong"), Some("u1"), Some("/a.svg"))
        );
        assert_eq!(paper.hf_upvotes, Some(97));
        assert_eq!(paper.hf_discussion_id.as_deref(), Some("d1"));
        assert_eq!(paper.ai_summary.as_deref(), Some("RPT improves LMs."));
        assert_eq!(paper.ai_keywords, vec!["RPT", "RL"]);
        assert_eq!(paper.github_repo.as_deref(), Some("https://github.com/x/y"));
        assert_eq!(paper.github_stars, Some(12));
        assert_eq!(
            paper.project_page, None,
            "an empty project page is no project page"
        );
        assert_eq!(paper.daily_date, Some(day()));
        let mut keys: Vec<_> = paper.extra.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["ai_summary_model", "mediaUrls", "organization"]);
        assert_eq!(paper.extra["organization"]["fullname"], "Microsoft");

        assert_eq!(entry.day, day());
        assert_eq!(entry.paper_id.as_str(), "2506.08007");
        assert_eq!(entry.position, 5);
        assert_eq!(entry.upvotes, 97);
        assert_eq!(entry.num_comments, 3);
        assert_eq!(entry.submitted_by.as_ref().unwrap().name, "unilm");
        assert_eq!(
            entry.published_at.unwrap().to_rfc3339(),
            "2025-06-09T13:59:53+00:00"
        );
        assert_eq!(entry.title.as_deref(), Some("Reinforcement Pre-Training"));
        assert_eq!(entry.summary.as_deref(), Some("In this work"));
        assert_eq!(
            entry.thumbnail.as_deref(),
            Some("https://thumb/2506.08007.png")
        );
        assert!(entry.is_author_participating);
        let mut keys: Vec<_> = entry.extra.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["mediaUrls", "organization"]);
    }

    #[test]
    fn media_url_is_the_thumbnail_when_there_is_none() {
        let item = json!({"paper": {"id": "2501.00001", "title": "T", "upvotes": 1}, "mediaUrl": "https://m/1.mp4", "numComments": 0});
        let (entry, paper) = daily_item(day(), 0, item).unwrap();
        assert_eq!(entry.thumbnail.as_deref(), Some("https://m/1.mp4"));
        assert!(entry.extra.is_empty());
        assert!(paper.extra.is_empty());
        assert_eq!(entry.submitted_by, None);
        assert!(!entry.is_author_participating);
    }

    #[test]
    fn rejects_bad_items() {
        let cases = [
            (json!({"paper": {"title": "T"}}), RejectReason::MissingField),
            (
                json!({"paper": {"id": "nope", "title": "T"}}),
                RejectReason::InvalidId,
            ),
            (
                json!({"paper": {"id": 5, "title": "T"}}),
                RejectReason::InvalidId,
            ),
            (
                json!({"paper": {"id": "2501.00001"}}),
                RejectReason::MissingField,
            ),
            (
                json!({"paper": {"id": "2501.00001", "title": "T", "publishedAt": "last week"}}),
                RejectReason::InvalidDate,
            ),
            (json!({"nopaper": 1}), RejectReason::MissingField),
            (json!([1, 2]), RejectReason::MalformedJson),
        ];
        for (item, reason) in cases {
            let got = daily_item(day(), 0, item.clone()).unwrap_err();
            assert_eq!(got.0, reason, "{item}: {}", got.1);
        }
        // The item's own title stands in for a missing paper title.
        let (_, p) = daily_item(
            day(),
            0,
            json!({"paper": {"id": "2501.00001"}, "title": "Item title"}),
        )
        .unwrap();
        assert_eq!(p.title, "Item title");
    }

    #[test]
    fn python_repr_and_wrapped_documents() {
        let repr = r#"["{'paper': {'id': '2412.07730', 'authors': [{'_id': 'x', 'name': \"Jiasen O'Lu\", 'hidden': False}], 'title': 'A\\n  B', 'upvotes': 4}, 'numComments': 2, 'thumbnail': None, 'isAuthorParticipating': True}", "{'paper': {'id': 'bad'}}"]"#;
        let got = parse_daily_api("2024-12-11.json", repr.as_bytes());
        assert_eq!(got.len(), 2);
        let Ok(Record::Daily { entry, paper }) = &got[0] else {
            panic!("{:?}", got[0])
        };
        assert_eq!(paper.title, "A B");
        assert_eq!(paper.authors[0].name, "Jiasen O'Lu");
        assert_eq!(
            (
                entry.day,
                entry.num_comments,
                entry.upvotes,
                entry.is_author_participating
            ),
            (NaiveDate::from_ymd_opt(2024, 12, 11).unwrap(), 2, 4, true)
        );
        let err = got[1].as_ref().unwrap_err();
        assert_eq!(
            (err.location.as_str(), err.reason),
            ("2024-12-11.json item 1", RejectReason::InvalidId)
        );

        let wrapped = r#"{"status": "success", "date": "2025-01-10", "count": 1, "data": [{"paper": {"id": "2501.05441", "title": "T", "upvotes": 3}, "numComments": 1}]}"#;
        let got = parse_daily_api("whatever.json", wrapped.as_bytes());
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].as_ref().unwrap().entry().unwrap().day,
            NaiveDate::from_ymd_opt(2025, 1, 10).unwrap()
        );

        let err = parse_daily_api("papers.json", b"[]");
        assert!(
            err.is_empty(),
            "an empty day is no error even without a day"
        );
        let err = parse_daily_api(
            "papers.json",
            br#"[{"paper": {"id": "2501.05441", "title": "T"}}]"#,
        );
        assert_eq!(
            err[0].as_ref().unwrap_err().reason,
            RejectReason::InvalidDate
        );
        let err = parse_daily_api("2025-01-10.json", b"[{\"paper\": ");
        assert_eq!(
            err[0].as_ref().unwrap_err().reason,
            RejectReason::MalformedJson
        );
        assert_eq!(err[0].as_ref().unwrap_err().location, "2025-01-10.json");
        let err = parse_daily_api("2025-01-10.json", br#"{"error": "Invalid date"}"#);
        assert_eq!(err[0].as_ref().unwrap_err().reason, RejectReason::ApiError);
    }

    #[test]
    fn flattened_lines_count_positions_per_day() {
        let mut st = FlatState::default();
        let a = br#"{"daily_date": "2024-05-27", "arxiv_id": "2405.15738", "title": "ConvLLaVA:\n  Hierarchical", "summary": " S\nT ", "authors": ["Chunjiang  Ge", "Sijie Cheng"], "published_at": "2024-05-24T17:34:15.000Z", "submitted_on_daily_at": "2024-05-27T03:50:58.348Z", "upvotes": 32, "num_comments": 3, "github_repo": null, "github_stars": null, "project_page": null, "ai_keywords": null, "organization": "ByteDance Seed", "submitted_by": "akhaliq"}"#;
        let b = br#"{"daily_date": "2024-05-28", "arxiv_id": "2405.00001", "title": "B", "summary": "", "authors": [], "published_at": "2024-05-24T17:34:15.000Z", "submitted_on_daily_at": "2024-05-27T03:50:58.348Z", "upvotes": 1, "num_comments": 0}"#;
        let c = br#"{"daily_date": "2024-05-27", "arxiv_id": "2405.00002", "title": "C", "upvotes": 2, "num_comments": 0, "ai_keywords": ["x"]}"#;
        let Record::Daily { entry, paper } = flat_line(a, &mut st).unwrap() else {
            panic!()
        };
        assert_eq!(paper.title, "ConvLLaVA: Hierarchical");
        assert_eq!(paper.summary, "S\nT");
        assert_eq!(paper.author_names(), ["Chunjiang Ge", "Sijie Cheng"]);
        assert_eq!(paper.hf_upvotes, Some(32));
        assert_eq!(
            paper.submitted_on_daily_at.unwrap().to_rfc3339(),
            "2024-05-27T03:50:58.348+00:00"
        );
        assert_eq!(
            paper.extra["organization"],
            json!({"fullname": "ByteDance Seed"})
        );
        assert_eq!(
            (entry.position, entry.upvotes, entry.num_comments),
            (0, 32, 3)
        );
        assert_eq!(entry.submitted_by.unwrap().name, "akhaliq");
        assert_eq!(flat_line(b, &mut st).unwrap().entry().unwrap().position, 0);
        let r = flat_line(c, &mut st).unwrap();
        assert_eq!(r.entry().unwrap().position, 1);
        assert_eq!(r.paper().ai_keywords, ["x"]);
        assert_eq!(
            flat_line(b"{\"daily_date\": \"2024-05-27\"}", &mut st)
                .unwrap_err()
                .0,
            RejectReason::MissingField
        );
        assert_eq!(
            flat_line(b"{\"daily_date\": 5}", &mut st).unwrap_err().0,
            RejectReason::MalformedJson
        );
        assert_eq!(
            flat_line(b"{\"daily_date\": \"May 27\"}", &mut st)
                .unwrap_err()
                .0,
            RejectReason::InvalidDate
        );
    }
}

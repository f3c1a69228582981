//! The JSON the API answers with, in hf.co's shapes and field names so that `huggingface_hub`
//! and scripts written for hf.co read paperboy unchanged. Dates are `YYYY-MM-DDTHH:MM:SS.mmmZ`,
//! the only form that client parses.

use chrono::{DateTime, Utc};
use paperboy_core::{ArxivId, Author, Paper, Submitter};
use paperboy_store::PaperView;
use serde_json::{json, Map, Value};

use crate::query::Status;

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// hf.co gives every author a 24-hex id; papers from arXiv have none, so derive a stable one.
fn author_id(paper: &ArxivId, index: usize, author: &Author) -> String {
    author.hf_id.clone().unwrap_or_else(|| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in paper
            .as_str()
            .bytes()
            .chain(author.name.bytes())
            .chain(index.to_le_bytes())
        {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{:08x}{:016x}", index as u32, h)
    })
}

fn authors_json(p: &Paper) -> Value {
    Value::Array(
        p.authors
            .iter()
            .enumerate()
            .map(|(i, a)| json!({ "_id": author_id(&p.id, i, a), "name": a.name, "hidden": a.hidden }))
            .collect(),
    )
}

fn submitter_json(s: &Submitter) -> Value {
    let mut m = Map::new();
    if let Some(id) = &s.hf_id {
        m.insert("_id".into(), json!(id));
    }
    m.insert(
        "avatarUrl".into(),
        json!(s.avatar_url.clone().unwrap_or_default()),
    );
    m.insert(
        "fullname".into(),
        json!(s.fullname.clone().unwrap_or_else(|| s.name.clone())),
    );
    m.insert("name".into(), json!(s.name));
    m.insert("user".into(), json!(s.name));
    m.insert("type".into(), json!("user"));
    m.insert("isPro".into(), json!(false));
    Value::Object(m)
}

fn put<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v));
    }
}

/// The paper object, as in hf.co's `/api/papers/{id}` and the `paper` of a daily item, plus
/// paperboy's own arXiv fields (categories, comment, journalRef, doi).
pub fn paper_json(view: &PaperView) -> Map<String, Value> {
    let p = &view.paper;
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("authors".into(), authors_json(p));
    put(&mut m, "publishedAt", p.published.map(timestamp));
    put(
        &mut m,
        "submittedOnDailyAt",
        p.submitted_on_daily_at.map(timestamp),
    );
    m.insert("title".into(), json!(p.title));
    m.insert("summary".into(), json!(p.summary));
    m.insert("upvotes".into(), json!(view.upvotes()));
    put(&mut m, "discussionId", p.hf_discussion_id.as_ref());
    put(
        &mut m,
        "submittedOnDailyBy",
        p.submitted_on_daily_by.as_ref().map(submitter_json),
    );
    put(&mut m, "ai_summary", p.ai_summary.as_ref());
    if !p.ai_keywords.is_empty() {
        m.insert("ai_keywords".into(), json!(p.ai_keywords));
    }
    put(&mut m, "githubRepo", p.github_repo.as_ref());
    put(&mut m, "githubStars", p.github_stars);
    put(&mut m, "projectPage", p.project_page.as_ref());
    for (k, v) in &p.extra {
        m.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if view.entry.is_some() || view.local_comments > 0 {
        m.insert("numComments".into(), json!(view.num_comments()));
    }
    m.insert("categories".into(), json!(p.categories));
    put(&mut m, "arxivVersion", p.version);
    put(&mut m, "updatedAt", p.updated.map(timestamp));
    put(&mut m, "comment", p.comment.as_ref());
    put(&mut m, "journalRef", p.journal_ref.as_ref());
    put(&mut m, "doi", p.doi.as_ref());
    put(&mut m, "dailyDate", p.daily_date.map(|d| d.to_string()));
    m
}

/// A daily-list item as hf.co sends it. The paper's upvotes and links are repeated at the top
/// level because `huggingface_hub` reads them there.
pub fn item_json(view: &PaperView) -> Value {
    let p = &view.paper;
    let mut m = Map::new();
    m.insert("paper".into(), Value::Object(paper_json(view)));
    let e = view.entry.as_ref();
    let listed = e
        .and_then(|e| e.published_at)
        .or(p.submitted_on_daily_at)
        .or(p.published);
    put(&mut m, "publishedAt", listed.map(timestamp));
    m.insert(
        "title".into(),
        json!(e
            .and_then(|e| e.title.clone())
            .unwrap_or_else(|| p.title.clone())),
    );
    m.insert(
        "summary".into(),
        json!(e
            .and_then(|e| e.summary.clone())
            .unwrap_or_else(|| p.summary.clone())),
    );
    put(&mut m, "thumbnail", e.and_then(|e| e.thumbnail.as_ref()));
    m.insert("numComments".into(), json!(view.num_comments()));
    put(
        &mut m,
        "submittedBy",
        e.and_then(|e| e.submitted_by.as_ref()).map(submitter_json),
    );
    m.insert(
        "isAuthorParticipating".into(),
        json!(e.is_some_and(|e| e.is_author_participating)),
    );
    if let Some(e) = e {
        for (k, v) in &e.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    m.insert("upvotes".into(), json!(view.upvotes()));
    put(&mut m, "githubRepo", p.github_repo.as_ref());
    put(&mut m, "githubStars", p.github_stars);
    put(&mut m, "projectPage", p.project_page.as_ref());
    put(&mut m, "ai_summary", p.ai_summary.as_ref());
    if !p.ai_keywords.is_empty() {
        m.insert("ai_keywords".into(), json!(p.ai_keywords));
    }
    Value::Object(m)
}

/// `/api/status`: the status page's facts.
pub fn status(s: &Status) -> Value {
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
    let sources: Vec<Value> = s
        .sources
        .iter()
        .map(|h| {
            json!({
                "source": h.source, "lastRunStarted": time(h.run_started),
                "lastSuccess": time(h.last_success), "lastPapers": h.last_papers,
                "runPapers": h.run_papers, "papersTotal": h.papers_total,
                "lastError": h.last_error, "lastErrorAt": time(h.last_error_at),
            })
        })
        .collect();
    let (stats, mail) = (&s.stats, &s.mail);
    json!({
        "sync": {
            "everyMinutes": (s.sync_minutes > 0).then_some(s.sync_minutes),
            "sources": sources,
        },
        "digests": {
            "subscribers": mail.subscribers, "confirmed": mail.confirmed, "pending": mail.pending,
            "sent": mail.sent, "failed": mail.failed, "lastPeriod": mail.last_period,
        },
        "version": env!("CARGO_PKG_VERSION"),
        "store": {
            "backend": s.backend,
            "papers": stats.papers,
            "dailyEntries": stats.daily_entries,
            "days": stats.days,
            "firstDay": stats.first_day.map(|d| d.to_string()),
            "lastDay": stats.last_day.map(|d| d.to_string()),
        },
        "search": {
            "mode": if s.semantic.is_ok() { "hybrid" } else { "keyword" },
            "indexedPapers": s.indexed,
            "pendingChanges": s.index_lag(),
            "semantic": match &s.semantic {
                Ok(m) => json!({ "available": true, "model": m.model, "kernel": m.kernel, "vectors": m.vectors,
                                 "embeddedSinceStart": m.embedded, "pendingChanges": m.pending }),
                Err(why) => json!({ "available": false, "reason": why }),
            },
        },
    })
}

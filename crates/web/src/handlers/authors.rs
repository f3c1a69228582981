//! Authors' pages (`/authors/{name}`, its Atom feed) and following authors and categories
//! (`POST /follows`, `/following`).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use paperboy_core::names::normalise;
use paperboy_core::ArxivId;
use paperboy_store::{FollowKind, PaperView};
use serde::Deserialize;

use crate::csrf::CsrfForm;
use crate::error::ApiError;
use crate::params::CATEGORY_PATTERN;
use crate::params::{checked, MAX_AUTHOR_CHARS};
use crate::redirect::{on_site_path, see_other};
use crate::state::AppState;
use crate::viewer::{SignedIn, Viewer};
use crate::views::authors::{self as view, Author};
use crate::views::feed::{Feed, Kind};
use crate::views::layout::html_response;

/// Papers an author's page looks through, newest first (by name, then by surname).
const CANDIDATES: usize = 2_000;
/// Papers an author's page shows.
pub const SHOWN: usize = 200;

/// The papers whose author list has `name` (compared as [`normalise`] does), newest first.
pub async fn author(state: &AppState, name: &str) -> Result<Author, ApiError> {
    let key = normalise(name);
    let index = state.index.clone();
    let (asked, surname) = (
        name.to_owned(),
        key.split(' ').next_back().unwrap_or("").to_owned(),
    );
    let ids = tokio::task::spawn_blocking(move || -> Result<Vec<ArxivId>, ApiError> {
        let mut ids = index.newest(None, Some(&asked), CANDIDATES)?;
        if !surname.is_empty() {
            ids.extend(index.newest(None, Some(&surname), CANDIDATES)?);
        }
        Ok(ids)
    })
    .await
    .map_err(ApiError::internal)??;
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<ArxivId> = ids
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect();
    let mut papers: Vec<PaperView> = state
        .store
        .papers(&ids)
        .await?
        .into_iter()
        .filter(|v| {
            v.paper
                .authors
                .iter()
                .any(|a| !a.hidden && normalise(&a.name) == key)
        })
        .collect();
    papers.sort_by(|a, b| {
        b.paper
            .published
            .cmp(&a.paper.published)
            .then_with(|| b.paper.id.cmp(&a.paper.id))
    });
    papers.truncate(SHOWN);
    let mut categories: HashMap<String, usize> = HashMap::new();
    let mut coauthors: HashMap<String, (String, usize)> = HashMap::new();
    let mut spellings: Vec<String> = Vec::new();
    for v in &papers {
        for c in &v.paper.categories {
            *categories.entry(c.clone()).or_default() += 1;
        }
        for a in v.paper.authors.iter().filter(|a| !a.hidden) {
            let k = normalise(&a.name);
            if k == key {
                if a.name != name && !spellings.contains(&a.name) {
                    spellings.push(a.name.clone());
                }
            } else {
                coauthors.entry(k).or_insert_with(|| (a.name.clone(), 0)).1 += 1;
            }
        }
    }
    let by_count = |m: Vec<(String, usize)>| {
        let mut m = m;
        m.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        m
    };
    let mut coauthors = by_count(coauthors.into_values().collect());
    coauthors.truncate(10);
    Ok(Author {
        name: name.to_owned(),
        papers,
        categories: by_count(categories.into_iter().collect()),
        coauthors,
        spellings,
    })
}

fn checked_name(name: &str) -> Result<&str, ApiError> {
    crate::params::typed_text("an author's name", name, (1, MAX_AUTHOR_CHARS), false)
}

/// `/authors/{name}` and `/authors/{name}.atom`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let (name, atom) = match name.strip_suffix(".atom") {
        Some(n) => (n.to_owned(), true),
        None => (name, false),
    };
    let name = checked_name(&name)?;
    let found = author(&state, name).await?;
    if atom {
        let base = &state.settings.public_url;
        let path = format!("/authors/{}", crate::render::path_escape(name));
        let feed = Feed {
            title: format!("{}: papers by {name}", state.settings.site_name),
            page: format!("{base}{path}"),
            items: found.papers.into_iter().take(50).collect(),
        };
        let body = Kind::Atom.render(&feed, &format!("{base}{path}.atom"), base, Utc::now());
        return Ok(([(header::CONTENT_TYPE, Kind::Atom.content_type())], body).into_response());
    }
    let following = match &viewer.account {
        Some(a) => {
            let key = normalise(name);
            state
                .store
                .follows(a.id)
                .await?
                .iter()
                .any(|f| f.kind == FollowKind::Author && f.key == key)
        }
        None => false,
    };
    let ids = found.papers.iter().map(|v| v.paper.id.clone());
    let votes = super::listings::votes_on(&state, &viewer, ids).await?;
    Ok(html_response(view::author(&found, following, &votes)))
}

#[derive(Debug, Deserialize)]
pub struct FollowForm {
    kind: String,
    name: String,
    follow: Option<String>,
    next: Option<String>,
}

/// `POST /follows`: follow (`follow=1`, the default) or unfollow an author or a category.
pub async fn follow(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    CsrfForm(f): CsrfForm<FollowForm>,
) -> Result<Response, ApiError> {
    let follow = !matches!(f.follow.as_deref(), Some("0") | Some("false"));
    let (kind, key, shown, back) = match f.kind.as_str() {
        "author" => {
            let name = checked_name(&f.name)?;
            let back = format!("/authors/{}", crate::render::path_escape(name));
            (FollowKind::Author, normalise(name), name.to_owned(), back)
        }
        "category" => {
            checked(
                "name",
                Some(&f.name),
                CATEGORY_PATTERN,
                "an arXiv category such as cs.CV",
            )?;
            (
                FollowKind::Category,
                f.name.clone(),
                f.name.clone(),
                format!("/list/{}", f.name),
            )
        }
        other => {
            return Err(ApiError::invalid(format!(
                "kind is author or category, not {other:?}"
            )))
        }
    };
    state
        .store
        .follow(a.id, kind, &key, &shown, follow, Utc::now())
        .await?;
    Ok(see_other(&on_site_path(f.next.as_deref(), &back)))
}

/// `/following`: what the reader follows, and the newest papers of the authors among them.
pub async fn following(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(a): SignedIn,
) -> Result<Response, ApiError> {
    let follows = state.store.follows(a.id).await?;
    let mut papers: Vec<PaperView> = Vec::new();
    for f in follows
        .iter()
        .filter(|f| f.kind == FollowKind::Author)
        .take(50)
    {
        papers.extend(author(&state, &f.shown).await?.papers.into_iter().take(10));
    }
    let mut seen = std::collections::HashSet::new();
    papers.retain(|v| seen.insert(v.paper.id.clone()));
    papers.sort_by_key(|v| std::cmp::Reverse(v.paper.published));
    papers.truncate(50);
    let ids = papers.iter().map(|v| v.paper.id.clone());
    let votes = super::listings::votes_on(&state, &viewer, ids).await?;
    Ok(html_response(view::following(&follows, &papers, &votes)))
}

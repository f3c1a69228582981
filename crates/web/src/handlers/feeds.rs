//! Feeds of the daily list, trending, each category, each author and any search:
//! `/feeds/{name}.rss` or `.atom`. Feed readers are browsers of a kind: errors are pages.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use paperboy_core::Period;
use paperboy_search::SearchQuery;
use paperboy_store::ListingFilter;
use serde::Deserialize;

use crate::error::ApiError;
use crate::params::{Query, MAX_AUTHOR_CHARS, MAX_CATEGORY_CHARS};
use crate::query::{self, listed_view, Sort};
use crate::state::AppState;
use crate::views::feed::{Feed, Kind};

const ITEMS: usize = 50;

#[derive(Debug, Deserialize)]
pub struct FeedParams {
    q: Option<String>,
}

pub async fn feed(
    State(state): State<AppState>,
    Path(path): Path<String>,
    Query(params): Query<FeedParams>,
) -> Result<Response, ApiError> {
    let (name, kind) =
        Kind::of_path(&path).ok_or_else(|| ApiError::not_found("Feeds end in .rss or .atom."))?;
    let base = &state.settings.public_url;
    let site = &state.settings.site_name;
    let search_q = params.q.clone().unwrap_or_default();
    // Where a feed of papers also found on the search page leads: that search.
    let search_page = |pairs: &[(&str, &str)]| {
        format!(
            "{base}/search?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let feed = match name.split_once('/') {
        None if name == "daily" => {
            let items = match state.store.latest_day().await? {
                Some(day) => {
                    query::ranked_listing(&state, Period::Day(day), &ListingFilter::default(), Sort::Votes)
                        .await?
                        .iter()
                        .take(ITEMS)
                        .map(listed_view)
                        .collect()
                }
                None => Vec::new(),
            };
            Feed {
                title: format!("{site}: daily papers"),
                page: format!("{base}/papers"),
                items,
            }
        }
        None if name == "trending" => {
            let list = query::trending(&state, ITEMS, Utc::now()).await?;
            let title = match list.widened {
                false => format!("{site}: trending papers"),
                true => format!(
                    "{site}: trending papers since {} (little voted for lately)",
                    list.from.date_naive()
                ),
            };
            Feed {
                title,
                page: format!("{base}/papers/trending"),
                items: list.papers.into_iter().map(|(v, _)| v).collect(),
            }
        }
        None if name == "search" => {
            let text = params.q.unwrap_or_default();
            if text.is_empty() {
                return Err(ApiError::invalid("a search feed needs ?q="));
            }
            let found = query::search(
                &state,
                SearchQuery {
                    text: text.clone(),
                    limit: ITEMS,
                    ..Default::default()
                },
                Default::default(),
            )
            .await?;
            Feed {
                title: format!("{site}: search for “{text}”"),
                page: search_page(&[("q", text.as_str())]),
                items: found.results,
            }
        }
        Some(("category", cat)) if cat.chars().count() > MAX_CATEGORY_CHARS => {
            return Err(ApiError::invalid(format!(
                "a category has at most {MAX_CATEGORY_CHARS} characters"
            )))
        }
        Some(("author", name)) if name.chars().count() > MAX_AUTHOR_CHARS => {
            return Err(ApiError::invalid(format!(
                "an author's name has at most {MAX_AUTHOR_CHARS} characters"
            )))
        }
        Some(("for-you", secret)) => {
            let reader = super::foryou::feed_reader(&state, secret).await?;
            let model = crate::foryou::model(&state, reader).await?;
            let day = crate::foryou::ranked_day(&state, &model, None, ITEMS).await?;
            Feed {
                title: format!("{site}: for you"),
                page: format!("{base}/for-you"),
                items: day.papers.into_iter().take(ITEMS).map(|r| r.view).collect(),
            }
        }
        Some(("list", cat)) => {
            crate::params::checked("category", Some(cat), crate::params::CATEGORY_PATTERN, "an arXiv category such as cs.CV")?;
            let latest = state.store.category_days_around(cat, None).await?.1;
            let items = match latest {
                Some(day) => state.store.category_day(cat, day).await?.into_iter().map(|l| l.view).collect(),
                None => return Err(ApiError::not_found(format!("No papers are listed in {cat}."))),
            };
            Feed {
                title: format!("{site}: {cat}, latest announcement"),
                page: format!("{base}/list/{cat}"),
                items,
            }
        }
        Some(("category", cat)) if !cat.is_empty() => {
            let ids = state.index.newest(Some(cat), None, ITEMS)?;
            Feed {
                title: format!("{site}: newest in {cat}"),
                page: search_page(&[("category", cat)]),
                items: state.store.papers(&ids).await?,
            }
        }
        Some(("author", name)) if !name.trim().is_empty() => {
            let ids = state.index.newest(None, Some(name), ITEMS)?;
            Feed {
                title: format!("{site}: papers by {name}"),
                page: search_page(&[("q", format!("\"{name}\"").as_str())]),
                items: state.store.papers(&ids).await?,
            }
        }
        _ => {
            return Err(ApiError::not_found(
                "Feeds: daily, trending, search?q=, category/{category}, list/{category}, author/{name}, each .rss or .atom.",
            ))
        }
    };
    let mut self_url = format!("{base}/feeds/{}", crate::render::path_escape(&path));
    if name == "search" {
        self_url.push('?');
        self_url
            .push_str(&serde_urlencoded::to_string([("q", search_q.as_str())]).unwrap_or_default());
    }
    let body = kind.render(&feed, &self_url, base, Utc::now());
    Ok(([(header::CONTENT_TYPE, kind.content_type())], body).into_response())
}

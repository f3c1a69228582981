//! Collections: the hf.co-compatible API (`/api/collections`, `/api/whoami-v2`, what
//! `huggingface_hub`'s collection functions call, with a personal token), and the pages
//! (`/collections/{owner}/{key}`, its BibTeX and Atom, the forms that change it).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use paperboy_core::{bib, escape_html, VersionedId};
use paperboy_store::{
    Account, Added, Collection, CollectionChange, CollectionId, CollectionItem, ItemId, Looking,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::client_ip::ClientIp;
use crate::csrf::CsrfForm;
use crate::error::{ApiError, Code};
use crate::limits::{per_account, Action};
use crate::params::{
    page_number, Query, MAX_COLLECTION_DESCRIPTION_CHARS, MAX_COLLECTION_NOTE_CHARS,
    MAX_COLLECTION_TITLE_CHARS,
};
use crate::redirect::see_other;
use crate::session::random_token;
use crate::state::AppState;
use crate::viewer::{SignedIn, TokenAccount, TokenWriter, Viewer};
use crate::views::collections as view;
use crate::views::feed::{Feed, Kind};
use crate::views::json::timestamp;
use crate::views::layout::html_response;

/// Items each collection carries in a list answer (hf.co gives the first four).
const LISTED_ITEMS: usize = 4;
/// Most collections a list answer gives.
pub const MAX_LIST: usize = 100;
const THEMES: [&str; 6] = ["orange", "blue", "green", "purple", "pink", "indigo"];

/// The account of a personal token if the request carries one (a wrong one is refused).
pub struct MaybeToken(pub Option<Account>);

impl FromRequestParts<AppState> for MaybeToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeToken(None));
        }
        let TokenAccount(account, _) = TokenAccount::from_request_parts(parts, state).await?;
        Ok(MaybeToken(Some(account)))
    }
}

fn looking(account: Option<&Account>) -> Looking {
    Looking {
        account: account.map(|a| a.id),
        moderator: account.is_some_and(|a| a.is_admin && !a.blocked),
    }
}

/// A new collection's key: its title's words, a dash and 24 hex digits (as hf.co's slugs).
fn new_key(title: &str) -> String {
    let words: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let words: Vec<&str> = words.split('-').filter(|w| !w.is_empty()).collect();
    let mut name = words.join("-");
    name.truncate(40);
    let name = name.trim_end_matches('-');
    let hex = &random_token()[..24];
    match name.is_empty() {
        true => hex.to_owned(),
        false => format!("{name}-{hex}"),
    }
}

fn item_id_hex(id: ItemId) -> String {
    format!("{:024x}", id.get())
}

fn parse_item_id(s: &str) -> Result<ItemId, ApiError> {
    (s.len() <= 24)
        .then(|| i64::from_str_radix(s, 16).ok())
        .flatten()
        .map(ItemId)
        .ok_or_else(|| ApiError::not_found(format!("No item {s:?} in this collection.")))
}

fn checked_text(name: &str, s: &str, max: usize, empty_ok: bool) -> Result<String, ApiError> {
    let min = usize::from(!empty_ok);
    Ok(crate::params::typed_text(name, s, (min, max), true)?.to_owned())
}

fn theme(s: &str) -> Result<String, ApiError> {
    match THEMES.contains(&s) {
        true => Ok(s.to_owned()),
        false => Err(ApiError::invalid(format!(
            "theme is one of {}",
            THEMES.join(", ")
        ))),
    }
}

/// An item as hf.co's API gives it.
fn item_json(item: &CollectionItem) -> Value {
    let p = &item.view.paper;
    let mut v = json!({
        "_id": item_id_hex(item.id),
        "id": p.id.to_string(),
        "type": "paper",
        "position": item.position,
        "title": p.title,
        "upvotes": item.view.upvotes(),
        "publishedAt": p.published.map(timestamp),
    });
    if !item.note.is_empty() {
        v["note"] = json!({ "text": item.note, "html": escape_html(&item.note) });
    }
    v
}

/// A collection as hf.co's API gives it.
fn collection_json(c: &Collection, items: &[CollectionItem]) -> Value {
    json!({
        "slug": c.slug(),
        "id": format!("{:024x}", c.id.get()),
        "title": c.title,
        "description": c.description,
        "owner": { "name": c.owner_name, "fullname": c.owner_display, "type": "user", "_id": format!("{:024x}", c.owner.get()), "avatarUrl": "" },
        "items": items.iter().map(item_json).collect::<Vec<_>>(),
        "lastUpdated": timestamp(c.updated_at),
        "position": c.position,
        "private": c.private,
        "theme": c.theme,
        "upvotes": 0,
        "isUpvotedByUser": false,
        "gating": false,
    })
}

/// A JSON request body, whatever its content type says; a 400 naming what is wrong.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("the body is not the JSON expected: {e}")))
}

/// What follows `/api/collections/` in the address.
fn api_rest(uri: &axum::http::Uri) -> &str {
    uri.path().strip_prefix("/api/collections/").unwrap_or("")
}

/// `owner/key` of a slug, or of the address's rest (`owner/key/items/...`).
fn split_slug(rest: &str) -> Result<(&str, &str, Vec<&str>), ApiError> {
    let mut parts = rest.split('/');
    match (parts.next(), parts.next()) {
        (Some(owner), Some(key)) if !owner.is_empty() && !key.is_empty() => {
            Ok((owner, key, parts.collect()))
        }
        _ => Err(ApiError::not_found(format!(
            "No collection {rest:?}: a slug is owner/name."
        ))),
    }
}

/// The collection `owner/key` as `who` may see it.
async fn find(
    state: &AppState,
    owner: &str,
    key: &str,
    who: Option<&Account>,
) -> Result<Collection, ApiError> {
    state
        .store
        .collection(key, looking(who))
        .await?
        .filter(|c| c.owner_name.eq_ignore_ascii_case(owner))
        .ok_or_else(|| ApiError::not_found(format!("No collection {owner}/{key} here.")))
}

/// The collection of the slug `owner/key` if `account` owns it.
pub async fn own_slug(
    state: &AppState,
    slug: &str,
    account: &Account,
) -> Result<Collection, ApiError> {
    let (owner, key, more) = split_slug(slug)?;
    if !more.is_empty() {
        return Err(ApiError::not_found(format!(
            "No collection {slug:?}: a slug is owner/name."
        )));
    }
    own(state, owner, key, account).await
}

/// The collection `owner/key` if `account` owns it.
async fn own(
    state: &AppState,
    owner: &str,
    key: &str,
    account: &Account,
) -> Result<Collection, ApiError> {
    let c = find(state, owner, key, Some(account)).await?;
    if c.owner != account.id {
        return Err(ApiError::new(
            Code::FORBIDDEN,
            "Only its owner may change a collection.",
        ));
    }
    Ok(c)
}

async fn all_items(state: &AppState, id: CollectionId) -> Result<Vec<CollectionItem>, ApiError> {
    Ok(state
        .store
        .collection_items(id, 0, paperboy_store::collections::MAX_ITEMS)
        .await?)
}

/// `GET /api/whoami-v2`: the token's account, as hf.co says it (`create_collection` asks it for
/// the namespace).
pub async fn whoami(TokenAccount(a, scope): TokenAccount) -> Response {
    Json(json!({
        "type": "user",
        "id": format!("{:024x}", a.id.get()),
        "name": a.username,
        "fullname": a.display_name,
        "email": a.email,
        "emailVerified": true,
        "isPro": false,
        "orgs": [],
        "auth": { "type": "access_token", "accessToken": { "displayName": "paperboy token", "role": scope.as_str() } },
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    owner: Option<String>,
    item: Option<String>,
    sort: Option<String>,
    limit: Option<String>,
}

/// `GET /api/collections?owner=&item=papers/ID&limit=`: collections newest changed first.
pub async fn list(
    State(state): State<AppState>,
    MaybeToken(who): MaybeToken,
    Query(q): Query<ListParams>,
) -> Result<Response, ApiError> {
    let limit = crate::params::whole("limit", q.limit.as_deref(), (1, MAX_LIST), MAX_LIST)?;
    if let Some(sort) = q.sort.as_deref() {
        if !["lastModified", "trending", "upvotes"].contains(&sort) {
            return Err(ApiError::invalid(
                "sort is lastModified, trending or upvotes",
            ));
        }
    }
    let paper = match q.item.as_deref() {
        None => None,
        Some(item) => match item.strip_prefix("papers/") {
            Some(id) => Some(
                VersionedId::parse(id)
                    .map_err(|e| ApiError::invalid(e.to_string()))?
                    .id,
            ),
            // Models, datasets and Spaces are never in a paperboy collection.
            None => return Ok(Json(Vec::<Value>::new()).into_response()),
        },
    };
    let found = state
        .store
        .list_collections(
            q.owner.as_deref(),
            paper.as_ref(),
            looking(who.as_ref()),
            limit,
        )
        .await?;
    let mut out = Vec::with_capacity(found.len());
    for c in &found {
        let items = state.store.collection_items(c.id, 0, LISTED_ITEMS).await?;
        let mut json = collection_json(c, &items);
        // hf.co lists collections without their position: the client numbers them itself
        // (`Collection(position=i, **data)`), and a second one is a TypeError.
        if let Some(o) = json.as_object_mut() {
            o.remove("position");
        }
        out.push(json);
    }
    Ok(Json(out).into_response())
}

#[derive(Debug, Deserialize)]
pub struct NewCollection {
    title: String,
    namespace: String,
    description: Option<String>,
    #[serde(default)]
    private: bool,
}

/// `POST /api/collections`: a new collection of the token's account (`namespace`).
pub async fn create(
    State(state): State<AppState>,
    TokenWriter(a): TokenWriter,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: NewCollection = json_body(&body)?;
    if !body.namespace.eq_ignore_ascii_case(&a.username) {
        return Err(ApiError::new(
            Code::FORBIDDEN,
            format!("You may only make collections as {}.", a.username),
        ));
    }
    let title = checked_text("title", &body.title, MAX_COLLECTION_TITLE_CHARS, false)?;
    let description = checked_text(
        "description",
        body.description.as_deref().unwrap_or(""),
        MAX_COLLECTION_DESCRIPTION_CHARS,
        true,
    )?;
    let mine = state
        .store
        .list_collections(
            Some(&a.username),
            None,
            looking(Some(&a)),
            paperboy_store::collections::MAX_COLLECTIONS,
        )
        .await?;
    if let Some(same) = mine.iter().find(|c| c.title == title) {
        let body = json!({ "error": format!("You already have a collection titled {title:?}."), "slug": same.slug() });
        return Ok((StatusCode::CONFLICT, Json(body)).into_response());
    }
    let c = make(&state, &a, &title, &description, body.private).await?;
    Ok(Json(collection_json(&c, &[])).into_response())
}

async fn make(
    state: &AppState,
    a: &Account,
    title: &str,
    description: &str,
    private: bool,
) -> Result<Collection, ApiError> {
    state
        .store
        .create_collection(
            a.id,
            &new_key(title),
            title,
            description,
            private,
            Utc::now(),
        )
        .await?
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "An account has at most {} collections.",
                paperboy_store::collections::MAX_COLLECTIONS
            ))
        })
}

/// `GET /api/collections/{owner}/{key}`.
pub async fn get(
    State(state): State<AppState>,
    MaybeToken(who): MaybeToken,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let (owner, key, more) = split_slug(api_rest(&uri))?;
    if !more.is_empty() {
        return Err(ApiError::not_found("There is no API endpoint here."));
    }
    let c = find(&state, owner, key, who.as_ref()).await?;
    let items = all_items(&state, c.id).await?;
    Ok(Json(collection_json(&c, &items)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct Change {
    title: Option<String>,
    description: Option<String>,
    position: Option<i64>,
    private: Option<bool>,
    theme: Option<String>,
    note: Option<String>,
    item: Option<NewItem>,
}

#[derive(Debug, Deserialize)]
pub struct NewItem {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

/// `PATCH`, `DELETE` and `POST` under `/api/collections/{owner}/{key}`: metadata, deletion,
/// items (`/items`, `/items/{item_id}`), with a write token.
pub async fn change(
    State(state): State<AppState>,
    TokenWriter(a): TokenWriter,
    ip: ClientIp,
    method: axum::http::Method,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let (owner, key, more) = split_slug(api_rest(&uri))?;
    let c = own(&state, owner, key, &a).await?;
    let body: Change = match body.is_empty() {
        true => Change::default(),
        false => serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(format!("the body is not the JSON expected: {e}")))?,
    };
    state.limit(Action::Save, &per_account(&ip, a.id)).await?;
    let now = Utc::now();
    let ok = || Json(json!({ "success": true })).into_response();
    match (method.as_str(), more.as_slice()) {
        ("PATCH", []) => {
            let change = CollectionChange {
                title: body
                    .title
                    .as_deref()
                    .map(|t| checked_text("title", t, MAX_COLLECTION_TITLE_CHARS, false))
                    .transpose()?,
                description: body
                    .description
                    .as_deref()
                    .map(|d| checked_text("description", d, MAX_COLLECTION_DESCRIPTION_CHARS, true))
                    .transpose()?,
                private: body.private,
                theme: body.theme.as_deref().map(theme).transpose()?,
                position: body.position.map(|p| p.clamp(0, 10_000)),
            };
            state.store.update_collection(c.id, change, now).await?;
            let c = find(&state, owner, key, Some(&a)).await?;
            let items = all_items(&state, c.id).await?;
            Ok(
                Json(json!({ "success": true, "data": collection_json(&c, &items) }))
                    .into_response(),
            )
        }
        ("DELETE", []) => {
            state.store.delete_collection(c.id).await?;
            Ok(ok())
        }
        ("POST", ["items"]) => {
            let item = body.item.ok_or_else(|| {
                ApiError::invalid("item is required: {\"item\": {\"id\", \"type\": \"paper\"}}")
            })?;
            if item.kind != "paper" {
                return Err(ApiError::invalid(format!(
                    "a paperboy collection holds papers, not {}s",
                    item.kind
                )));
            }
            let id = VersionedId::parse(&item.id)
                .map_err(|e| ApiError::not_found(e.to_string()))?
                .id;
            let note = checked_text(
                "note",
                body.note.as_deref().unwrap_or(""),
                MAX_COLLECTION_NOTE_CHARS,
                true,
            )?;
            match state.store.add_item(c.id, &id, &note, now).await? {
                Added::Added(_) => {}
                Added::Exists(_) => {
                    let body = json!({ "error": format!("{id} is in this collection already.") });
                    return Ok((StatusCode::CONFLICT, Json(body)).into_response());
                }
                Added::NoPaper => return Err(ApiError::not_found(format!("No paper {id} here."))),
                Added::Full => return Err(ApiError::invalid("This collection is full.")),
            }
            let c = find(&state, owner, key, Some(&a)).await?;
            let items = all_items(&state, c.id).await?;
            Ok(Json(collection_json(&c, &items)).into_response())
        }
        ("PATCH", ["items", item]) => {
            let item = parse_item_id(item)?;
            let note = body
                .note
                .as_deref()
                .map(|n| checked_text("note", n, MAX_COLLECTION_NOTE_CHARS, true))
                .transpose()?;
            if !state
                .store
                .update_item(c.id, item, note, body.position, now)
                .await?
            {
                return Err(ApiError::not_found("No such item in this collection."));
            }
            Ok(ok())
        }
        ("DELETE", ["items", item]) => {
            let item = parse_item_id(item)?;
            if !state.store.delete_item(c.id, item, now).await? {
                return Err(ApiError::not_found("No such item in this collection."));
            }
            Ok(ok())
        }
        _ => Err(ApiError::not_found("There is no API endpoint here.")),
    }
}

#[derive(Debug, Deserialize)]
pub struct PageParams {
    page: Option<String>,
}

/// `/collections/{owner}/{key}` (and `.bib`, `.atom`).
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((owner, key)): Path<(String, String)>,
    Query(q): Query<PageParams>,
) -> Result<Response, ApiError> {
    let (key, format) = match key.rsplit_once('.') {
        Some((k, f @ ("bib" | "atom" | "rss"))) => (k.to_owned(), Some(f)),
        _ => (key, None),
    };
    let c = find(&state, &owner, &key, viewer.account.as_ref()).await?;
    match format {
        Some("bib") => {
            let papers: Vec<_> = all_items(&state, c.id)
                .await?
                .into_iter()
                .map(|i| i.view.paper)
                .collect();
            return Ok(crate::views::citation::bibtex_response(
                bib::to_bibtex_all(&papers),
                &format!("{key}.bib"),
            ));
        }
        Some(f) => {
            let kind = if f == "atom" { Kind::Atom } else { Kind::Rss };
            let base = &state.settings.public_url;
            let items = all_items(&state, c.id).await?;
            let feed = Feed {
                title: format!(
                    "{}: {} (a collection by {})",
                    state.settings.site_name, c.title, c.owner_name
                ),
                page: format!("{base}/collections/{}", c.slug()),
                items: items.into_iter().rev().take(50).map(|i| i.view).collect(),
            };
            let self_url = format!("{base}/collections/{}.{f}", c.slug());
            let body = kind.render(&feed, &self_url, base, Utc::now());
            return Ok(([(header::CONTENT_TYPE, kind.content_type())], body).into_response());
        }
        None => {}
    }
    let page = page_number("page", q.page.as_deref())?;
    let items = state
        .store
        .collection_items(c.id, page * view::ITEMS_PAGE, view::ITEMS_PAGE)
        .await?;
    if page > 0 && items.is_empty() {
        return Err(ApiError::not_found(format!(
            "This collection has no page {page}."
        )));
    }
    let ids = items.iter().map(|i| i.view.paper.id.clone());
    let votes = super::listings::votes_on(&state, &viewer, ids).await?;
    Ok(html_response(view::collection(&c, &items, page, &votes)))
}

#[derive(Debug, Deserialize)]
pub struct NewForm {
    title: String,
    #[serde(default)]
    description: String,
    private: Option<String>,
    /// Add this paper at once (the form on a paper's page).
    paper: Option<String>,
}

/// `POST /collections`: a new collection from the library's form or a paper's page.
pub async fn create_form(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    CsrfForm(f): CsrfForm<NewForm>,
) -> Result<Response, ApiError> {
    let title = checked_text("title", &f.title, MAX_COLLECTION_TITLE_CHARS, false)?;
    let description = checked_text(
        "description",
        &f.description,
        MAX_COLLECTION_DESCRIPTION_CHARS,
        true,
    )?;
    let c = make(&state, &a, &title, &description, f.private.is_some()).await?;
    if let Some(paper) = f.paper.as_deref().filter(|p| !p.is_empty()) {
        let id = VersionedId::parse(paper)
            .map_err(|e| ApiError::not_found(e.to_string()))?
            .id;
        state.store.add_item(c.id, &id, "", Utc::now()).await?;
    }
    Ok(see_other(&format!("/collections/{}", c.slug())))
}

#[derive(Debug, Deserialize)]
pub struct ActForm {
    paper: Option<String>,
    item: Option<String>,
    note: Option<String>,
    to: Option<i64>,
    title: Option<String>,
    description: Option<String>,
    private: Option<String>,
    /// Where to go after (a paper's page adds and comes back).
    next: Option<String>,
}

/// `POST /collections/{owner}/{key}/{action}`: add, note, move, remove, edit, delete (the
/// owner's), copy (anyone signed in, of a collection they can see), hide and show (moderators').
pub async fn act(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    Path((owner, key, action)): Path<(String, String, String)>,
    CsrfForm(f): CsrfForm<ActForm>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    if action == "hide" || action == "show" {
        if !a.is_admin || a.blocked {
            return Err(ApiError::new(
                Code::FORBIDDEN,
                "Only administrators may do this.",
            ));
        }
        let c = find(&state, &owner, &key, Some(&a)).await?;
        state
            .store
            .set_collection_hidden(c.id, action == "hide")
            .await?;
        return Ok(see_other(&format!("/collections/{}", c.slug())));
    }
    if action == "copy" {
        let c = find(&state, &owner, &key, Some(&a)).await?;
        let copy = state
            .store
            .copy_collection(c.id, a.id, &new_key(&c.title), now)
            .await?
            .ok_or_else(|| ApiError::invalid("You have as many collections as an account may."))?;
        return Ok(see_other(&format!("/collections/{}", copy.slug())));
    }
    let c = own(&state, &owner, &key, &a).await?;
    let here = format!("/collections/{}", c.slug());
    let item = || parse_item_id(f.item.as_deref().unwrap_or(""));
    match action.as_str() {
        "add" => {
            let paper = f.paper.as_deref().unwrap_or("");
            let id = VersionedId::parse(paper)
                .map_err(|e| ApiError::not_found(e.to_string()))?
                .id;
            let note = checked_text(
                "note",
                f.note.as_deref().unwrap_or(""),
                MAX_COLLECTION_NOTE_CHARS,
                true,
            )?;
            if let Added::NoPaper = state.store.add_item(c.id, &id, &note, now).await? {
                return Err(ApiError::not_found(format!("No paper {id} here.")));
            }
            let back = crate::redirect::on_site_path(f.next.as_deref(), &here);
            Ok(see_other(&back))
        }
        "note" => {
            let note = checked_text(
                "note",
                f.note.as_deref().unwrap_or(""),
                MAX_COLLECTION_NOTE_CHARS,
                true,
            )?;
            state
                .store
                .update_item(c.id, item()?, Some(note), None, now)
                .await?;
            Ok(see_other(&here))
        }
        "move" => {
            state
                .store
                .update_item(c.id, item()?, None, f.to, now)
                .await?;
            Ok(see_other(&here))
        }
        "remove" => {
            state.store.delete_item(c.id, item()?, now).await?;
            Ok(see_other(&here))
        }
        "edit" => {
            let change = CollectionChange {
                title: f
                    .title
                    .as_deref()
                    .map(|t| checked_text("title", t, MAX_COLLECTION_TITLE_CHARS, false))
                    .transpose()?,
                description: f
                    .description
                    .as_deref()
                    .map(|d| checked_text("description", d, MAX_COLLECTION_DESCRIPTION_CHARS, true))
                    .transpose()?,
                private: Some(f.private.is_some()),
                ..Default::default()
            };
            state.store.update_collection(c.id, change, now).await?;
            Ok(see_other(&here))
        }
        "delete" => {
            state.store.delete_collection(c.id).await?;
            Ok(see_other("/library"))
        }
        _ => Err(ApiError::not_found("There is nothing to post to here.")),
    }
}

/// The viewer's collections, for the library page and a paper's "add to collection" form.
pub async fn mine(state: &AppState, a: &Account) -> Result<Vec<Collection>, ApiError> {
    Ok(state
        .store
        .list_collections(
            Some(&a.username),
            None,
            looking(Some(a)),
            paperboy_store::collections::MAX_COLLECTIONS,
        )
        .await?)
}

//! The OpenAPI 3.1 description of the JSON API and the feeds, served at `/openapi.json`. It is
//! the contract: every bound here is the one the code enforces (the constants are shared), and
//! the test suite runs schemathesis against the running server to hold both to it: a request the
//! document calls valid is answered, one it calls invalid is refused with a 4xx, and every answer
//! has the documented status, content type and shape.

use crate::handlers::collections;
use crate::params::CATEGORY_PATTERN;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::Code;
use crate::params::{
    CURSOR_PATTERN, DATE_PATTERN, DEFAULT_LIMIT, MAX_AUTHOR_CHARS, MAX_CATEGORY_CHARS,
    MAX_CURSOR_CHARS, MAX_DAILY_LIMIT, MAX_PAGE, MAX_SEARCH_LIMIT, MAX_SUBMITTER_CHARS,
    MONTH_PATTERN, NO_CONTROLS, PAPER_ID_PATTERN, WEEK_PATTERN,
};
use paperboy_search::kernel::Kernel;
use paperboy_search::MAX_QUERY_CHARS;

fn query(name: &str, desc: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": desc, "schema": schema })
}

fn required_query(name: &str, desc: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": true, "description": desc, "schema": schema })
}

fn path(name: &str, desc: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": desc, "schema": schema })
}

/// How an operation's errors are sent: JSON `Error` objects, or pages (feeds).
#[derive(Clone, Copy, PartialEq)]
enum Errors {
    Json,
    Pages,
}

/// `responses` with the error responses of `codes` added, one per status, each described by
/// its codes (and, in JSON, held to them) as the error table says.
fn with_errors(mut responses: Value, errors: Errors, codes: &[Code]) -> Value {
    let mut by_status: Vec<(u16, Vec<Code>)> = Vec::new();
    for &code in codes {
        let status = code.status.as_u16();
        match by_status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, same)) => same.push(code),
            None => by_status.push((status, vec![code])),
        }
    }
    let map: &mut Map<String, Value> = responses.as_object_mut().expect("responses are an object");
    for (status, codes) in by_status {
        let description = codes
            .iter()
            .map(|c| format!("{}: {}", c.name, c.meaning))
            .collect::<Vec<_>>()
            .join("; ");
        let names: Vec<&str> = codes.iter().map(|c| c.name).collect();
        let content = match errors {
            Errors::Json => json!({ "application/json": { "schema": { "allOf": [
                { "$ref": "#/components/schemas/Error" },
                { "properties": { "code": { "enum": names } } }
            ] } } }),
            Errors::Pages => json!({ "text/html": { "schema": { "type": "string" } } }),
        };
        map.insert(
            status.to_string(),
            json!({ "description": description, "content": content }),
        );
    }
    responses
}

fn json_body(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn items(description: &str) -> Value {
    json_body(
        description,
        json!({ "type": "array", "items": { "$ref": "#/components/schemas/DailyItem" } }),
    )
}

fn page_param(name: &str) -> Value {
    query(
        name,
        "Page number, from 0 (pages past the last result are empty)",
        json!({ "type": "integer", "minimum": 0, "maximum": MAX_PAGE, "default": 0 }),
    )
}

fn limit_param(max: usize) -> Value {
    query(
        "limit",
        "Items per page",
        json!({ "type": "integer", "minimum": 1, "maximum": max, "default": DEFAULT_LIMIT }),
    )
}

fn date_param(name: &str, desc: &str) -> Value {
    query(
        name,
        desc,
        json!({ "type": "string", "format": "date", "pattern": DATE_PATTERN }),
    )
}

/// Feeds are for feed readers and browsers: their errors are pages.
fn feed(description: &str, codes: &[Code]) -> Value {
    let ok = json!({
        "200": { "description": description, "content": {
            "application/atom+xml": { "schema": { "type": "string" } },
            "application/rss+xml": { "schema": { "type": "string" } } } }
    });
    with_errors(ok, Errors::Pages, codes)
}

fn format_param() -> Value {
    path(
        "format",
        "rss (RSS 2.0) or atom",
        json!({ "type": "string", "enum": ["rss", "atom"] }),
    )
}

pub fn spec() -> Value {
    let id = path(
        "id",
        "An arXiv id, new style (2505.24864) or old (hep-th/9901001), with an optional version",
        json!({ "type": "string", "pattern": PAPER_ID_PATTERN }),
    );
    let text = |max: usize| json!({ "type": "string", "maxLength": max, "pattern": NO_CONTROLS });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "paperboy API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Research papers ranked by the community. Paths, parameters and fields follow hf.co's /api/daily_papers and /api/papers so that huggingface_hub reads them. Errors are {message, code, error}: 400 for a parameter the document does not allow (its message names it), 404 for what does not exist."
        },
        "paths": {
            "/api/daily_papers": { "get": {
                "summary": "Daily papers, ranked by upvotes (ties keep the feed's order); with no date, week or month the last ten years, newest day first",
                "description": "Give at most one of date, week and month (more is a 400). A week 53 of a year that has none is a 404.",
                "parameters": [
                    page_param("p"),
                    limit_param(MAX_DAILY_LIMIT),
                    date_param("date", "A day, YYYY-MM-DD"),
                    query("week", "An ISO week, YYYY-Www", json!({ "type": "string", "pattern": WEEK_PATTERN })),
                    query("month", "A month, YYYY-MM", json!({ "type": "string", "pattern": MONTH_PATTERN })),
                    query("submitter", "Only items submitted by this account name (empty: everyone)", text(MAX_SUBMITTER_CHARS)),
                    query("sort", "upvotes (the default), publishedAt (newest first) or trending (each item then has trendingScore)", json!({ "type": "string", "enum": ["upvotes", "publishedAt", "trending"] }))
                ],
                "responses": with_errors(json!({
                    "200": {
                        "description": "Items; a Link header with rel=\"next\" names the next page",
                        "headers": { "Link": { "description": "rel=\"next\": the next page", "schema": { "type": "string" } } },
                        "content": items("")["content"].clone()
                    }
                }), Errors::Json, &[Code::INVALID_PARAMETER, Code::NOT_FOUND])
            }},
            "/api/papers/search": { "get": {
                "summary": "Search papers: keyword (BM25 over title, abstract and authors), semantic (by meaning) or hybrid (both, the default; keyword when the model is missing or slow); an arXiv id or URL finds that paper",
                "parameters": [
                    query("q", "The query", json!({ "type": "string", "maxLength": MAX_QUERY_CHARS })),
                    limit_param(MAX_SEARCH_LIMIT),
                    page_param("p"),
                    query("category", "Only papers in this arXiv category", text(MAX_CATEGORY_CHARS)),
                    date_param("from", "Listed or published on or after"),
                    date_param("to", "Listed or published on or before"),
                    query("mode", "How to search", json!({ "type": "string", "enum": ["hybrid", "keyword", "semantic"], "default": "hybrid" }))
                ],
                "responses": with_errors(json!({
                    "200": {
                        "description": "Items, best first",
                        "headers": { "X-Search-Mode": { "description": "The mode that answered", "schema": { "type": "string", "enum": ["hybrid", "keyword", "semantic"] } } },
                        "content": items("")["content"].clone()
                    }
                }), Errors::Json, &[Code::INVALID_PARAMETER, Code::QUERY_TOO_LONG])
            }},
            "/api/papers": { "get": {
                "summary": "All papers, newest first, by cursor",
                "parameters": [
                    query("cursor", "From the previous page's Link header (DATE~ID)", json!({ "type": "string", "pattern": CURSOR_PATTERN, "maxLength": MAX_CURSOR_CHARS })),
                    limit_param(MAX_DAILY_LIMIT)
                ],
                "responses": with_errors(json!({
                    "200": {
                        "description": "Papers; a Link header with rel=\"next\" names the next page",
                        "headers": { "Link": { "description": "rel=\"next\": the next page", "schema": { "type": "string" } } },
                        "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Paper" } } } }
                    }
                }), Errors::Json, &[Code::INVALID_PARAMETER])
            }},
            "/api/papers/{id}": { "get": {
                "summary": "One paper by arXiv id (a version suffix is ignored)",
                "parameters": [id.clone()],
                "responses": with_errors(json!({
                    "200": json_body("The paper", json!({ "$ref": "#/components/schemas/Paper" }))
                }), Errors::Json, &[Code::INVALID_PARAMETER, Code::NOT_FOUND])
            }},
            "/api/papers/{id}/similar": { "get": {
                "summary": "The ten papers nearest to one by embedding (by its title's keywords without a model)",
                "parameters": [id],
                "responses": with_errors(json!({
                    "200": items("Similar papers, nearest first")
                }), Errors::Json, &[Code::INVALID_PARAMETER, Code::NOT_FOUND])
            }},
            "/api/trending": { "get": {
                "summary": "Trending papers, best first; each item has trendingScore = sum over its votes of 1/(hours since the vote + offset)^gravity (imported votes count at their list time; see /about/ranking)",
                "parameters": [ limit_param(MAX_DAILY_LIMIT) ],
                "responses": with_errors(json!({
                    "200": {
                        "description": "Items, best first",
                        "headers": { "X-Trending-Window": { "description": "The days whose votes and lists ranked them, YYYY-MM-DD/YYYY-MM-DD: the last trending_window_days, or the newest data's when those held too few votes", "schema": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}/[0-9]{4}-[0-9]{2}-[0-9]{2}$" } } },
                        "content": items("")["content"].clone()
                    }
                }), Errors::Json, &[Code::INVALID_PARAMETER])
            }},
            "/api/list": { "get": {
                "summary": "arXiv's list of one category on one announcement day (the latest when no date): new papers, then cross-lists, each item with crossList; the day in the X-List-Date header",
                "parameters": [
                    required_query("category", "An arXiv category, e.g. cs.CV", json!({ "type": "string", "pattern": CATEGORY_PATTERN })),
                    date_param("date", "An announcement day, YYYY-MM-DD"),
                    query("sort", "feed (arXiv's order, the default) or votes", json!({ "type": "string", "enum": ["feed", "votes"] }))
                ],
                "responses": with_errors(json!({ "200": items("Items") }), Errors::Json, &[Code::INVALID_PARAMETER, Code::NOT_FOUND])
            }},
            "/api/library": { "get": {
                "summary": "The saved papers of the token's account, newest saved first, as papers (each with savedAt). Needs a personal API token (Authorization: Bearer), made on /account",
                "responses": with_errors(json!({ "200": json_body("Papers", json!({ "type": "array", "items": { "type": "object" } })) }), Errors::Json, &[Code::SIGN_IN_REQUIRED])
            }},
            "/api/library/import": { "post": {
                "summary": "Imports a BibTeX or RIS file (the body; the format is read from its content) into the token's library: entries are matched by arXiv id, DOI, then title. Needs a write token",
                "parameters": [ query("collection", "Add to this collection too", json!({ "type": "string" })) ],
                "requestBody": { "required": true, "content": { "text/plain": { "schema": { "type": "string" } } } },
                "responses": with_errors(json!({ "200": json_body("What was imported", json!({ "type": "object", "required": ["matched", "already", "notFound", "errors"], "properties": {
                    "matched": { "type": "integer" }, "already": { "type": "integer" },
                    "notFound": { "type": "array", "items": { "type": "string" } },
                    "errors": { "type": "array", "items": { "type": "object", "required": ["line", "message"], "properties": { "line": { "type": "integer" }, "message": { "type": "string" } } } }
                } })) }), Errors::Json, &[Code::INVALID_PARAMETER, Code::SIGN_IN_REQUIRED, Code::FORBIDDEN, Code::NOT_FOUND, Code::TOO_LARGE, Code::RATE_LIMITED])
            }},
            "/api/library/{id}": {
                "put": {
                    "summary": "Saves a paper to the token's library. Needs a write token",
                    "parameters": [path("id", "An arXiv id", json!({ "type": "string" }))],
                    "responses": with_errors(json!({ "200": json_body("The paper's state", json!({ "type": "object", "required": ["id", "saved"], "properties": { "id": { "type": "string" }, "saved": { "type": "boolean" } } })) }), Errors::Json, &[Code::SIGN_IN_REQUIRED, Code::FORBIDDEN, Code::NOT_FOUND, Code::RATE_LIMITED])
                },
                "delete": {
                    "summary": "Takes a paper out of the token's library. Needs a write token",
                    "parameters": [path("id", "An arXiv id", json!({ "type": "string" }))],
                    "responses": with_errors(json!({ "200": json_body("The paper's state", json!({ "type": "object", "required": ["id", "saved"], "properties": { "id": { "type": "string" }, "saved": { "type": "boolean" } } })) }), Errors::Json, &[Code::SIGN_IN_REQUIRED, Code::FORBIDDEN, Code::NOT_FOUND, Code::RATE_LIMITED])
                }
            },
            "/api/for-you": { "get": {
                "summary": "The new papers of one announcement day (the latest when no day) in the token's account's followed categories (every category when none), ranked for that reader, each with score, reason (the line /for-you shows) and why {near: [{id, title}], terms, authors, category, popular}. Needs a personal API token (Authorization: Bearer), made on /account",
                "parameters": [
                    date_param("day", "An announcement day, YYYY-MM-DD"),
                    query("limit", "At most this many papers (default 50)", json!({ "type": "integer", "minimum": 1, "maximum": crate::handlers::foryou::MAX_API_LIMIT }))
                ],
                "responses": with_errors(json!({ "200": json_body("The day ranked", json!({ "type": "object", "required": ["day", "previousDay", "nextDay", "categories", "total", "papers"], "properties": {
                    "day": { "type": ["string", "null"], "format": "date" },
                    "previousDay": { "type": ["string", "null"], "format": "date" },
                    "nextDay": { "type": ["string", "null"], "format": "date" },
                    "categories": { "type": "array", "items": { "type": "string" } },
                    "total": { "type": "integer" },
                    "papers": { "type": "array", "items": { "type": "object", "required": ["id", "score", "reason", "why"] } }
                } })) }), Errors::Json, &[Code::INVALID_PARAMETER, Code::SIGN_IN_REQUIRED])
            }},
            "/api/whoami-v2": { "get": {
                "summary": "The account of the personal API token sent (Authorization: Bearer), as hf.co answers it: name is the username",
                "responses": with_errors(json!({ "200": json_body("The account", json!({ "type": "object", "required": ["name", "type"], "properties": { "name": { "type": "string" }, "type": { "type": "string" } } })) }), Errors::Json, &[Code::SIGN_IN_REQUIRED])
            }},
            "/api/collections": {
                "get": {
                    "summary": "Collections, newest changed first: public ones, and the token's own private ones (hf.co's shape; each with its first four items)",
                    "parameters": [
                        query("owner", "Only this account's", json!({ "type": "string" })),
                        query("item", "Only those holding this item, papers/ID", json!({ "type": "string" })),
                        query("sort", "lastModified (the only order kept)", json!({ "type": "string", "enum": ["lastModified", "trending", "upvotes"] })),
                        query("limit", "At most", json!({ "type": "integer", "minimum": 1, "maximum": collections::MAX_LIST }))
                    ],
                    "responses": with_errors(json!({ "200": json_body("Collections", json!({ "type": "array", "items": { "type": "object" } })) }), Errors::Json, &[Code::INVALID_PARAMETER, Code::SIGN_IN_REQUIRED])
                },
                "post": {
                    "summary": "Makes a collection of the token's account (namespace: its username); 409 with the slug when it has one of that title. Needs a write token",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["title", "namespace"], "properties": {
                        "title": { "type": "string", "minLength": 1, "maxLength": crate::params::MAX_COLLECTION_TITLE_CHARS },
                        "namespace": { "type": "string" },
                        "description": { "type": "string", "maxLength": crate::params::MAX_COLLECTION_DESCRIPTION_CHARS },
                        "private": { "type": "boolean" }
                    } } } } },
                    "responses": with_errors(json!({ "200": json_body("The collection", json!({ "type": "object" })), "409": json_body("A collection of that title exists", json!({ "type": "object" })) }), Errors::Json, &[Code::INVALID_PARAMETER, Code::SIGN_IN_REQUIRED, Code::FORBIDDEN])
                }
            },
            "/api/collections/{owner}/{name}": {
                "get": {
                    "summary": "A collection with all its items, if the token (or a visitor) may see it",
                    "parameters": [path("owner", "The owner's username", json!({ "type": "string" })), path("name", "The slug's second part", json!({ "type": "string" }))],
                    "responses": with_errors(json!({ "200": json_body("The collection", json!({ "type": "object" })) }), Errors::Json, &[Code::SIGN_IN_REQUIRED, Code::NOT_FOUND])
                },
                "patch": {
                    "summary": "Changes a collection's title, description, position, privacy or theme. Needs its owner's write token",
                    "parameters": [path("owner", "The owner's username", json!({ "type": "string" })), path("name", "The slug's second part", json!({ "type": "string" }))],
                    "requestBody": { "content": { "application/json": { "schema": { "type": "object" } } } },
                    "responses": with_errors(json!({ "200": json_body("{success, data: the collection}", json!({ "type": "object" })) }), Errors::Json, &[Code::INVALID_PARAMETER, Code::SIGN_IN_REQUIRED, Code::FORBIDDEN, Code::NOT_FOUND, Code::RATE_LIMITED])
                },
                "delete": {
                    "summary": "Deletes a collection. Needs its owner's write token",
                    "parameters": [path("owner", "The owner's username", json!({ "type": "string" })), path("name", "The slug's second part", json!({ "type": "string" }))],
                    "responses": with_errors(json!({ "200": json_body("{success}", json!({ "type": "object" })) }), Errors::Json, &[Code::INVALID_PARAMETER, Code::SIGN_IN_REQUIRED, Code::FORBIDDEN, Code::NOT_FOUND, Code::RATE_LIMITED])
                }
            },
            "/api/collections/{owner}/{name}/items": { "post": {
                "summary": "Adds a paper to a collection: {\"item\": {\"id\": ARXIV_ID, \"type\": \"paper\"}, \"note\"}; 409 when it is there. Needs its owner's write token",
                "parameters": [path("owner", "The owner's username", json!({ "type": "string" })), path("name", "The slug's second part", json!({ "type": "string" }))],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object" } } } },
                "responses": with_errors(json!({ "200": json_body("The collection", json!({ "type": "object" })), "409": json_body("The paper is there", json!({ "type": "object" })) }), Errors::Json, &[Code::INVALID_PARAMETER, Code::SIGN_IN_REQUIRED, Code::FORBIDDEN, Code::NOT_FOUND, Code::RATE_LIMITED])
            }},
            "/api/collections/{owner}/{name}/items/{item}": {
                "patch": {
                    "summary": "Changes an item's note or position. Needs its owner's write token",
                    "parameters": [path("owner", "The owner's username", json!({ "type": "string" })), path("name", "The slug's second part", json!({ "type": "string" })), path("item", "The item's _id", json!({ "type": "string" }))],
                    "requestBody": { "content": { "application/json": { "schema": { "type": "object" } } } },
                    "responses": with_errors(json!({ "200": json_body("{success}", json!({ "type": "object" })) }), Errors::Json, &[Code::INVALID_PARAMETER, Code::SIGN_IN_REQUIRED, Code::FORBIDDEN, Code::NOT_FOUND, Code::RATE_LIMITED])
                },
                "delete": {
                    "summary": "Takes an item out. Needs its owner's write token",
                    "parameters": [path("owner", "The owner's username", json!({ "type": "string" })), path("name", "The slug's second part", json!({ "type": "string" })), path("item", "The item's _id", json!({ "type": "string" }))],
                    "responses": with_errors(json!({ "200": json_body("{success}", json!({ "type": "object" })) }), Errors::Json, &[Code::INVALID_PARAMETER, Code::SIGN_IN_REQUIRED, Code::FORBIDDEN, Code::NOT_FOUND, Code::RATE_LIMITED])
                }
            },
            "/feeds/list/{category}.{format}": { "get": {
                "summary": "The latest announcement day's list of an arXiv category",
                "parameters": [path("category", "e.g. cs.CV", json!({ "type": "string", "pattern": CATEGORY_PATTERN })), format_param()],
                "responses": feed("The feed", &[Code::INVALID_PARAMETER, Code::NOT_FOUND])
            }},
            "/feeds/{feed}": { "get": {
                "summary": "The daily list or the trending list as RSS 2.0 (.rss) or Atom (.atom)",
                "parameters": [path("feed", "Which feed", json!({ "type": "string", "enum": ["daily.rss", "daily.atom", "trending.rss", "trending.atom"] }))],
                "responses": feed("The feed", &[Code::INVALID_PARAMETER, Code::NOT_FOUND])
            }},
            "/feeds/search.{format}": { "get": {
                "summary": "The newest papers matching a search",
                "parameters": [format_param(), required_query("q", "The search", json!({ "type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS }))],
                "responses": feed("The feed", &[Code::INVALID_PARAMETER, Code::QUERY_TOO_LONG, Code::NOT_FOUND])
            }},
            "/feeds/category/{category}.{format}": { "get": {
                "summary": "The newest papers in an arXiv category",
                "parameters": [path("category", "e.g. cs.CL", json!({ "type": "string", "minLength": 1, "maxLength": MAX_CATEGORY_CHARS, "pattern": "^[^/]+$" })), format_param()],
                "responses": feed("The feed", &[Code::INVALID_PARAMETER, Code::NOT_FOUND])
            }},
            "/feeds/author/{name}.{format}": { "get": {
                "summary": "The newest papers by an author (the name as a phrase)",
                "parameters": [path("name", "The author's name", json!({ "type": "string", "minLength": 1, "maxLength": MAX_AUTHOR_CHARS, "pattern": "^[^/]+$" })), format_param()],
                "responses": feed("The feed", &[Code::INVALID_PARAMETER, Code::NOT_FOUND])
            }},
            "/api/status": { "get": {
                "summary": "Counts, the state of the search index, digests and live sync (each source's last success, papers brought, last error)",
                "responses": { "200": json_body("Status", json!({ "type": "object", "required": ["version", "store", "search", "sync", "digests"],
                    "properties": { "search": { "type": "object", "required": ["mode", "indexedPapers", "pendingChanges", "semantic"], "properties": {
                        "mode": { "type": "string", "enum": ["hybrid", "keyword"] },
                        "semantic": { "type": "object", "required": ["available"], "properties": {
                            "available": { "type": "boolean" },
                            "model": { "type": "string", "description": "The embedding model (present when available)" },
                            "kernel": { "type": "string", "enum": Kernel::NAMES, "description": "The kernels that run the embedding model, chosen at start by the CPU's features and the embed_kernel setting (present when available)" },
                            "reason": { "type": "string", "description": "Why search is keyword-only (present when not available)" }
                        } }
                    } } } })) }
            }},
            "/openapi.json": { "get": { "summary": "This document", "responses": { "200": json_body("OpenAPI 3.1", json!({ "type": "object" })) } } },
            "/healthz": { "get": { "summary": "The process is up", "responses": { "200": { "description": "ok", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
            "/readyz": { "get": { "summary": "Ready for traffic: the database answers and the search index has caught up (within ready_max_lag changes)", "responses": {
                "200": { "description": "ready", "content": { "text/plain": { "schema": { "type": "string" } } } },
                "503": { "description": "not ready, and why", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "Text exposition format", "content": { "text/plain": { "schema": { "type": "string" } } } } } } }
        },
        "components": { "schemas": {
            "Error": { "type": "object", "required": ["message", "code"], "properties": {
                "message": { "type": "string" }, "code": { "type": "string" }, "error": { "type": "string", "description": "The message again, for hf.co clients" } } },
            "Author": { "type": "object", "required": ["_id", "name", "hidden"], "properties": {
                "_id": { "type": "string" }, "name": { "type": "string" }, "hidden": { "type": "boolean" } } },
            "User": { "type": "object", "properties": {
                "_id": { "type": "string" }, "name": { "type": "string" }, "user": { "type": "string" }, "fullname": { "type": "string" }, "avatarUrl": { "type": "string" } } },
            "Paper": { "type": "object", "required": ["id", "title", "summary", "authors", "upvotes"], "properties": {
                "id": { "type": "string" }, "title": { "type": "string" }, "summary": { "type": "string" },
                "authors": { "type": "array", "items": { "$ref": "#/components/schemas/Author" } },
                "publishedAt": { "type": "string", "format": "date-time" }, "submittedOnDailyAt": { "type": "string", "format": "date-time" },
                "submittedOnDailyBy": { "$ref": "#/components/schemas/User" },
                "upvotes": { "type": "integer" }, "numComments": { "type": "integer" }, "discussionId": { "type": "string" },
                "githubRepo": { "type": "string" }, "githubStars": { "type": "integer" }, "projectPage": { "type": "string" },
                "ai_summary": { "type": "string" }, "ai_keywords": { "type": "array", "items": { "type": "string" } },
                "categories": { "type": "array", "items": { "type": "string" }, "description": "arXiv categories, primary first" },
                "arxivVersion": { "type": "integer" }, "updatedAt": { "type": "string", "format": "date-time" },
                "comment": { "type": "string" }, "journalRef": { "type": "string" }, "doi": { "type": "string" }, "dailyDate": { "type": "string", "format": "date" } } },
            "DailyItem": { "type": "object", "required": ["paper", "title", "summary", "numComments", "isAuthorParticipating"], "properties": {
                "paper": { "$ref": "#/components/schemas/Paper" }, "publishedAt": { "type": "string", "format": "date-time" },
                "title": { "type": "string" }, "summary": { "type": "string" }, "thumbnail": { "type": "string" },
                "numComments": { "type": "integer" }, "submittedBy": { "$ref": "#/components/schemas/User" },
                "isAuthorParticipating": { "type": "boolean" }, "upvotes": { "type": "integer" },
                "trendingScore": { "type": "number", "description": "With sort=trending and on /api/trending" } } }
        }}
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}

//! The OpenAPI 3.1 description of the JSON API, served at `/openapi.json`.

use axum::Json;
use serde_json::{json, Value};

fn param(name: &str, desc: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": desc, "schema": schema })
}

fn error_responses() -> Value {
    json!({
        "400": { "description": "Invalid parameter", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "404": { "description": "Not found", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    })
}

fn with_errors(ok: Value) -> Value {
    let mut responses = error_responses();
    responses["200"] = ok;
    responses
}

pub fn spec() -> Value {
    let limit =
        |max: u32| json!({ "type": "integer", "minimum": 1, "maximum": max, "default": 50 });
    let items = json!({ "description": "Daily-list items", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/DailyItem" } } } } });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "paperboy API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Research papers ranked by the community. Paths, parameters and fields follow hf.co's /api/daily_papers and /api/papers so that huggingface_hub reads them. Errors are {message, code, error}."
        },
        "paths": {
            "/api/daily_papers": { "get": {
                "summary": "Daily papers, ranked by upvotes (ties keep the feed's order)",
                "parameters": [
                    param("p", "Page number, from 0", json!({ "type": "integer", "minimum": 0, "default": 0 })),
                    param("limit", "Items per page", limit(100)),
                    param("date", "A day, YYYY-MM-DD", json!({ "type": "string", "format": "date" })),
                    param("week", "An ISO week, YYYY-Www", json!({ "type": "string", "pattern": "^\\d{4}-W\\d{2}$" })),
                    param("month", "A month, YYYY-MM", json!({ "type": "string", "pattern": "^\\d{4}-\\d{2}$" })),
                    param("submitter", "Only items submitted by this account name", json!({ "type": "string" })),
                    param("sort", "publishedAt (newest first) or trending; upvotes when absent", json!({ "type": "string", "enum": ["publishedAt", "trending"] }))
                ],
                "responses": with_errors(json!({ "description": "Items; a Link header with rel=\"next\" names the next page", "content": items["content"].clone() }))
            }},
            "/api/papers/search": { "get": {
                "summary": "Search papers (BM25 over title, abstract and authors; an arXiv id or URL finds that paper)",
                "parameters": [
                    param("q", "The query, at most 250 characters", json!({ "type": "string", "maxLength": 250 })),
                    param("limit", "Results", limit(120)),
                    param("p", "Page number, from 0", json!({ "type": "integer", "minimum": 0 })),
                    param("category", "Only papers in this arXiv category", json!({ "type": "string" })),
                    param("from", "Listed or published on or after", json!({ "type": "string", "format": "date" })),
                    param("to", "Listed or published on or before", json!({ "type": "string", "format": "date" }))
                ],
                "responses": with_errors(items.clone())
            }},
            "/api/papers": { "get": {
                "summary": "All papers, newest first, by cursor",
                "parameters": [
                    param("cursor", "From the previous page's Link header", json!({ "type": "string" })),
                    param("limit", "Papers per page", limit(100))
                ],
                "responses": with_errors(json!({ "description": "Papers", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Paper" } } } } }))
            }},
            "/api/papers/{id}": { "get": {
                "summary": "One paper by arXiv id (a version suffix is ignored)",
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" }, "example": "2505.24864" }],
                "responses": with_errors(json!({ "description": "The paper", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Paper" } } } }))
            }},
            "/api/trending": { "get": {
                "summary": "Trending papers, best first; each item has trendingScore = sum over its votes of 1/(hours since the vote + offset)^gravity (imported votes count at their list time; see /about/ranking)",
                "parameters": [ param("limit", "Items", limit(100)) ],
                "responses": with_errors(items.clone())
            }},
            "/feeds/{feed}": { "get": {
                "summary": "RSS 2.0 (.rss) or Atom (.atom): daily, trending, search (?q=), category/{category}, author/{name}",
                "parameters": [{ "name": "feed", "in": "path", "required": true, "schema": { "type": "string" }, "example": "daily.atom" }],
                "responses": { "200": { "description": "The feed" }, "404": { "description": "No such feed" } }
            }},
            "/api/status": { "get": { "summary": "Counts, the state of the search index, digests and live sync (each source's last success, papers brought, last error)", "responses": { "200": { "description": "Status" } } } },
            "/healthz": { "get": { "summary": "The process is up", "responses": { "200": { "description": "ok" } } } },
            "/readyz": { "get": { "summary": "Ready for traffic: the database answers and the search index has caught up (within ready_max_lag changes)", "responses": { "200": { "description": "ready" }, "503": { "description": "not ready, and why" } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "Text exposition format" } } } }
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
                "isAuthorParticipating": { "type": "boolean" }, "upvotes": { "type": "integer" } } }
        }}
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}

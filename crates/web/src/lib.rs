//! paperboy's HTTP face: server-rendered pages, the hf.co-compatible JSON API, the OpenAPI
//! document and the operator endpoints (`/healthz`, `/readyz`, `/metrics`). It reads through the
//! `Store` trait and the search index and holds no state of its own beyond counters; it never
//! parses source files.
//!
//! Layers, each using only those below it: `server` runs `routes`, the table of `handlers`
//! (one module per resource); handlers take extractors (`viewer`, `csrf`, `params`), ask `query`
//! and the store, and answer with `views` (markup, JSON, XML; no I/O) or an `error`, which
//! `face` shows as JSON or a page. `state` is what they all read.
// The OpenAPI document is one json! literal, deeper than serde_json's macro goes by default.
#![recursion_limit = "256"]

pub mod client_ip;
pub mod csrf;
pub mod error;
pub mod face;
pub mod foryou;
pub mod handlers;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod query;
pub mod redirect;
pub mod render;
pub mod routes;
pub mod server;
pub mod services;
pub mod session;
pub mod state;
pub mod viewer;
pub mod views;

pub use error::ApiError;
pub use server::{follow_store, router, serve};
pub use state::{AppState, SemanticSlot, WebSettings};

//! The site's handlers, one module per resource: each takes what it needs as extractors
//! (who is asking, a checked form, parsed parameters), asks the store, the index or `query`,
//! and answers with a view, a redirect or an error.

pub mod account;
pub mod admin;
pub mod api;
pub mod authors;
pub mod collections;
pub mod comments;
pub mod feeds;
pub mod foryou;
pub mod library;
pub mod listings;
pub mod lists;
pub mod operator;
pub mod papers;
pub mod session;
pub mod submissions;
pub mod subscriptions;

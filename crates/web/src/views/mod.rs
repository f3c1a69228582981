//! What pages look like, as functions from data to markup (and JSON and XML): they read no
//! store, index or clock, so handlers fetch and views only show.

pub mod admin;
pub mod authors;
pub mod citation;
pub mod collections;
pub mod comments;
pub mod entry;
pub mod feed;
pub mod forms;
pub mod foryou;
pub mod json;
pub mod layout;
pub mod library;
pub mod listing;
pub mod lists;
pub mod paper;
pub mod status;
pub mod subscriptions;

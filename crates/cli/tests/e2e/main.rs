//! paperboy end to end: the real server in-process on port 0 over a real SQLite file, real data
//! sets, the official `huggingface_hub` client and headless Chromium. One test binary, so the
//! workspace is linked once.

mod api_errors;
mod authors;
mod browser;
mod cli;
mod collections;
mod common;
mod community;
mod digest_topics;
mod escaping;
mod foryou;
mod hardening;
mod harvest;
mod hf_archive;
mod hf_client;
mod library;
mod lists;
mod mail;
mod mail_tls;
mod page_weight;
mod readiness;
mod schema;
// Shared with tests/race.rs, which uses parts this binary does not.
#[allow(dead_code)]
mod people;
mod proxy;
// Shared with tests/harvest_crash.rs.
#[allow(dead_code)]
mod replay;
mod semantic;
mod trending;
// Shared with tests/digest_crash.rs.
#[allow(dead_code)]
mod smtp;
mod upgrade;

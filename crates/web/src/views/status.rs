//! The status page: what an operator wants to know at a glance (data, search index, search by
//! meaning, digests, live sync).

use maud::{html, Markup};

use crate::query::Status;
use crate::views::layout::{page, Frame};

pub fn status(s: &Status) -> Markup {
    let stats = &s.stats;
    let body = html! {
        h1 { "Status" }
        h2 { "Papers" }
        dl.facts {
            dt { "Database" } dd { (s.backend) }
            dt { "Papers" } dd { (stats.papers) }
            dt { "Daily-list entries" } dd { (stats.daily_entries) " on " (stats.days) " days" }
            @if let (Some(a), Some(b)) = (stats.first_day, stats.last_day) { dt { "Days" } dd { (a) " to " (b) } }
        }
        h2 { "Keyword search" }
        dl.facts {
            dt { "Indexed papers" } dd { (s.indexed) }
            dt { "Changes not yet indexed" } dd { (s.index_lag()) }
        }
        h2 { "Search by meaning" }
        @match &s.semantic {
            Ok(m) => {
                dl.facts {
                    dt { "Model" } dd { (m.model) }
                    dt { "Kernel" } dd { (m.kernel) }
                    dt { "Papers with vectors" } dd { (m.vectors) " of " (stats.papers) }
                    dt { "Embedded since start" } dd { (m.embedded) }
                    dt { "Changes still to look at" } dd { (m.pending) }
                }
                @if m.vectors < stats.papers as usize {
                    p { progress max=(stats.papers) value=(m.vectors) { (m.vectors) " of " (stats.papers) } }
                }
            }
            Err(why) => p.notice { "Search is keyword-only: " (why) "." },
        }
        h2 { "Digests" }
        dl.facts {
            dt { "Subscribers" } dd { (s.mail.subscribers) " (" (s.mail.confirmed) " confirmed)" }
            dt { "Last period" } dd { (s.mail.last_period.clone().unwrap_or_else(|| "none yet".into())) }
            dt { "Mails" } dd { (s.mail.sent) " sent, " (s.mail.pending) " pending, " (s.mail.failed) " failed" }
        }
        h2 { "Live sync" }
        @if s.sync_minutes > 0 {
            p { "Every " (s.sync_minutes) " minutes." }
        } @else {
            p { "No schedule: sources sync when " code { "paperboy harvest" } " runs." }
        }
        @if !s.sources.is_empty() {
            div.wide { table.sync {
                thead { tr { th scope="col" { "Source" } th scope="col" { "Last success" } th scope="col" { "Papers then" } th scope="col" { "All time" } th scope="col" { "Last error" } } }
                tbody {
                    @for h in &s.sources {
                        tr {
                            th scope="row" { (h.source) }
                            td { (h.last_success.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())) }
                            td { (h.last_papers.map(|n| n.to_string()).unwrap_or_else(|| "-".into())) }
                            td { (h.papers_total) }
                            td {
                                @match (&h.last_error, h.last_error_at) {
                                    (Some(e), Some(at)) => { (at.format("%Y-%m-%d %H:%M UTC")) ": " (e) }
                                    _ => "none",
                                }
                            }
                        }
                    }
                }
            } }
        }
        p { a href="/api/status" { "The same as JSON" } }
    };
    page(&Frame::plain(), "Status", body)
}

//! The moderation page: counts, blocking accounts, what is hidden, and the audit log.

use maud::{html, Markup};
use paperboy_store::{AuditEntry, ModerationQueue, StoreStats};

use crate::render::squash;
use crate::viewer::Viewer;
use crate::views::layout::{page, Frame};

pub fn moderation(
    viewer: &Viewer,
    stats: &StoreStats,
    queue: &ModerationQueue,
    log: &[AuditEntry],
) -> Markup {
    let csrf = &viewer.csrf;
    page(
        &Frame::of(viewer),
        "Moderation",
        html! {
            h1 { "Moderation" }
            p { (stats.accounts) " accounts · " (stats.votes) " votes · " (stats.comments) " comments" }
            h2 { "Block an account" }
            form.inline method="post" action="/admin/block" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Username " input name="username" required maxlength="32"; }
                label { "Reason " input name="reason" maxlength="200"; }
                button type="submit" { "Block" }
            }
            h2 { "Blocked accounts" }
            @if queue.blocked_accounts.is_empty() { p.muted { "None." } }
            ul { @for a in &queue.blocked_accounts {
                li { (a.username) " "
                    form.inline method="post" action="/admin/unblock" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="username" value=(a.username);
                        button type="submit" { "Unblock" }
                    }
                }
            } }
            h2 { "Hidden papers" }
            @if queue.hidden_papers.is_empty() { p.muted { "None." } }
            ul { @for (id, title) in &queue.hidden_papers {
                li { (id) " · " (squash(title)) " "
                    form.inline method="post" action={ "/papers/" (id) "/show" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Show again" }
                    }
                }
            } }
            h2 { "Hidden comments" }
            @if queue.hidden_comments.is_empty() { p.muted { "None." } }
            ul { @for c in &queue.hidden_comments {
                li { a href={ "/papers/" (c.paper_id) "#comment-" (c.id) } { "Comment " (c.id) } " by @" (c.username) ": "
                    (c.body.chars().take(120).collect::<String>()) " "
                    form.inline method="post" action={ "/comments/" (c.id) "/show" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Show again" }
                    }
                }
            } }
            h2 { "Audit log" }
            @if log.is_empty() { p.muted { "Nothing yet." } }
            table.audit {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "Target" } th { "Why" } } }
                tbody { @for e in log {
                    tr { td { (e.at.format("%Y-%m-%d %H:%M")) } td { (e.actor) } td { (e.action) } td { (e.target) } td { (e.detail) } }
                } }
            }
        },
    )
}

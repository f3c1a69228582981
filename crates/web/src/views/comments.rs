//! Comments as a paper's page shows them, the form to add one, and the form to edit one.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped};
use paperboy_core::comment;
use paperboy_store::{Account, Comment, PaperView};

use crate::render::{escape, with_math};
use crate::viewer::Viewer;
use crate::views::layout::{page, Frame};

/// Comment text as HTML: escaped, paragraphs at blank lines, `http(s)://` links made links
/// (`rel="nofollow ugc"`), `$…$` as MathML.
pub fn comment_html(body: &str) -> Markup {
    let mut out = String::new();
    for para in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        out.push_str("<p>");
        let mut text = String::new();
        let flush = |text: &mut String, out: &mut String| {
            out.push_str(&with_math(text).into_string());
            text.clear();
        };
        let mut rest = para;
        while let Some(pos) = rest.find("http://").or_else(|| rest.find("https://")) {
            let pos = match (rest.find("http://"), rest.find("https://")) {
                (Some(a), Some(b)) => a.min(b),
                _ => pos,
            };
            text.push_str(&rest[..pos]);
            let url_len = rest[pos..]
                .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
                .unwrap_or(rest.len() - pos);
            let mut url = &rest[pos..pos + url_len];
            url = url.trim_end_matches(['.', ',', ';', ':', ')', '!', '?', '\'']);
            flush(&mut text, &mut out);
            out.push_str(&format!(
                "<a href=\"{0}\" rel=\"nofollow ugc noopener\">{0}</a>",
                escape(url)
            ));
            rest = &rest[pos + url.len()..];
        }
        text.push_str(rest);
        flush(&mut text, &mut out);
        out.push_str("</p>");
    }
    PreEscaped(out.replace('\n', "<br>"))
}

/// An account as the comment rules see it.
pub fn reader(a: &Account) -> comment::Reader {
    comment::Reader {
        account: a.id.get(),
        blocked: a.blocked,
        moderator: a.is_admin,
    }
}

/// The comments of a paper page, and the form to add one; `now` decides which may still be
/// edited.
pub fn section(
    view: &PaperView,
    comments: &[Comment],
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Markup {
    let id = &view.paper.id;
    let reader = viewer.account.as_ref().map(reader);
    let may_edit =
        |c: &Comment| reader.is_some_and(|r| r.may_edit(c.account_id.get(), c.created_at, now));
    let may_delete = |c: &Comment| reader.is_some_and(|r| r.may_delete(c.account_id.get()));
    html! {
        section.comments #comments aria-labelledby="comments-h" {
            h2 #comments-h { "Comments" }
            @let elsewhere = view.num_comments() - view.local_comments;
            @if comments.is_empty() {
                p.muted {
                    "No comments here yet."
                    @if elsewhere > 0 {
                        " The " (if elsewhere == 1 { "comment".to_string() } else { format!("{elsewhere} comments") })
                        " counted for this paper " (if elsewhere == 1 { "is" } else { "are" }) " on "
                        a href={ "https://huggingface.co/papers/" (id) "#community" } { "its Hugging Face discussion" } "."
                    }
                }
            }
            ol.comments {
                @for c in comments {
                    li #{ "comment-" (c.id) } class=(if c.hidden { "comment hidden" } else { "comment" }) {
                        p.meta {
                            strong { (c.display_name) } " @" (c.username) " · "
                            time datetime=(c.created_at.to_rfc3339()) { (c.created_at.format("%Y-%m-%d %H:%M UTC")) }
                            @if c.edited_at.is_some() { " · edited" }
                            @if c.hidden { " · " strong { "hidden by a moderator" } }
                        }
                        div.body { (comment_html(&c.body)) }
                        @if may_edit(c) || may_delete(c) || viewer.is_admin() {
                            div.actions {
                                @if may_edit(c) { a href={ "/comments/" (c.id) "/edit" } { "Edit" } }
                                @if may_delete(c) {
                                    form.inline method="post" action={ "/comments/" (c.id) "/delete" } {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        button type="submit" { "Delete" }
                                    }
                                }
                                @if viewer.is_admin() {
                                    form.inline method="post" action={ "/comments/" (c.id) (if c.hidden { "/show" } else { "/hide" }) } {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        button type="submit" { (if c.hidden { "Show" } else { "Hide" }) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @match &viewer.account {
                Some(a) if !a.blocked => {
                    form.stack method="post" action={ "/papers/" (id) "/comments" } {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        label for="comment-body" { "Add a comment (plain text; links and " code { "$math$" } " work)" }
                        textarea #comment-body name="body" rows="4" required maxlength=(comment::MAX_CHARS) {}
                        button type="submit" { "Comment" }
                    }
                }
                Some(_) => p.muted { "This account is blocked." },
                None => p { a href={ "/login?next=/papers/" (id) } { "Sign in" } " to comment." },
            }
        }
    }
}

pub fn edit_form(c: &Comment, viewer: &Viewer) -> Markup {
    page(
        &Frame::of(viewer),
        "Edit comment",
        html! {
            h1 { "Edit your comment" }
            form.stack method="post" action={ "/comments/" (c.id) "/edit" } {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="comment-body" { "Comment" }
                textarea #comment-body name="body" rows="6" required maxlength=(comment::MAX_CHARS) { (c.body) }
                button type="submit" { "Save" }
            }
            p { a href={ "/papers/" (c.paper_id) "#comment-" (c.id) } { "Back to the paper" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_escaped_linked_and_mathed() {
        let html = comment_html(
            "See https://example.org/a?b=1&c=2. And <script>alert(1)</script>\n\n$x^2$ \"quoted\"",
        )
        .into_string();
        assert!(
            html.contains(
                "<a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"nofollow ugc noopener\">"
            ),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("<math"), "{html}");
        assert_eq!(html.matches("<p>").count(), 2);
        let sneaky = comment_html("https://x.org/\"onmouseover=alert(1)").into_string();
        assert!(!sneaky.contains("\"onmouseover"), "{sneaky}");
    }
}

//! Digests by email as pages show them: the preferences form, the pages signed links open, the
//! account page's part, and the words that describe a subscription's topics.

use maud::{html, Markup};
use paperboy_store::{Account, Frequency, Subscription, Topics};

use crate::viewer::Viewer;
use crate::views::layout::{notice, page, Frame};

/// The most of a stranger's topic text a confirmation mail carries: anyone may sign any address
/// up, and the mail must not become a way to send 12,000 characters of their choosing to it.
/// The confirmation page shows the whole list to the address's owner.
pub const MAIL_TOPICS_CHARS: usize = 200;

/// ", plus new papers in …; by …; matching …", or nothing without topics.
pub fn describe(t: &Topics) -> String {
    let mut parts = Vec::new();
    if !t.categories.is_empty() {
        parts.push(format!("in {}", t.categories.join(", ")));
    }
    if !t.authors.is_empty() {
        parts.push(format!("by {}", t.authors.join(", ")));
    }
    if !t.searches.is_empty() {
        parts.push(format!("matching “{}”", t.searches.join("”, “")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(", plus new papers {}", parts.join("; "))
    }
}

/// [`describe`], cut to [`MAIL_TOPICS_CHARS`] for a confirmation mail.
pub fn describe_for_mail(t: &Topics) -> String {
    let text = describe(t);
    if text.chars().count() <= MAIL_TOPICS_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAIL_TOPICS_CHARS).collect();
    format!("{cut}… (the confirmation page lists them all)")
}

fn preferences_form(
    action: &str,
    csrf: &str,
    s: Option<&Subscription>,
    with_email: bool,
    submit: &str,
) -> Markup {
    let t = s.map(|s| s.topics.clone()).unwrap_or_default();
    let weekly = s.is_some_and(|s| s.frequency == Frequency::Weekly);
    html! {
        form.stack method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            @if with_email {
                label for="sub-email" { "Email address" }
                input #sub-email type="email" name="email" required maxlength="254" autocomplete="email";
            }
            fieldset {
                legend { "How often" }
                label { input type="radio" name="frequency" value="daily" checked[!weekly]; " Every weekday morning" }
                label { input type="radio" name="frequency" value="weekly" checked[weekly]; " Monday mornings" }
            }
            label for="sub-categories" { "Categories (optional, comma-separated, e.g. cs.CL, cs.LG)" }
            input #sub-categories name="categories" value=(t.categories.join(", ")) maxlength="400";
            label for="sub-authors" { "Authors (optional, comma-separated)" }
            input #sub-authors name="authors" value=(t.authors.join(", ")) maxlength="800";
            label for="sub-searches" { "Searches (optional, one per line)" }
            textarea #sub-searches name="searches" rows="3" maxlength="2000" { (t.searches.join("\n")) }
            button type="submit" { (submit) }
        }
    }
}

pub fn subscribe(viewer: &Viewer) -> Markup {
    page(
        &Frame::of(viewer),
        "Get trending papers in your email inbox",
        html! {
            h1 { "Get trending papers in your email inbox" }
            p { "The papers people are voting for, and new papers on your topics, by email. No account needed; "
                "we first send a link to confirm the address, and every mail has a one-click unsubscribe." }
            (preferences_form("/subscribe", &viewer.csrf, None, true, "Subscribe"))
        },
    )
}

pub fn check_inbox(viewer: &Viewer, email: &str) -> Markup {
    notice(
        viewer,
        "Check your inbox",
        html! {
            p { "If " strong { (email) } " still needs confirming, a confirmation link is on its way. "
                "Nothing is sent to the address until its owner follows that link." }
        },
    )
}

/// The confirmation link's page: one button, so link scanners do not confirm for people.
/// `token` is the link's own.
pub fn confirm(viewer: &Viewer, sub: &Subscription, token: &str) -> Markup {
    let change = sub.pending.as_ref().filter(|_| sub.confirmed_at.is_some());
    let (title, button) = match change {
        Some(_) => ("Confirm the change to your digest", "Confirm the change"),
        None => ("Confirm your subscription", "Confirm"),
    };
    page(
        &Frame::of(viewer),
        title,
        html! {
            h1 { (title) }
            @match change {
                Some(p) => {
                    p { "Someone asked to change the digests sent to " strong { (sub.email) } ". Nothing changes unless you confirm." }
                    p { "Now: " (sub.frequency.as_str()) " digests of trending papers" (describe(&sub.topics)) "." }
                    p { "After the change: " (p.frequency.as_str()) " digests of trending papers" (describe(&p.topics)) "." }
                }
                None => p { "Send " (sub.frequency.as_str()) " digests of trending papers" (describe(&sub.topics)) " to " strong { (sub.email) } "?" },
            }
            form.stack method="post" action={ "/subscription/confirm?t=" (token) } {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { (button) }
            }
        },
    )
}

/// After confirming; `manage` is the signed link to the preferences.
pub fn subscribed(viewer: &Viewer, sub: &Subscription, manage: &str) -> Markup {
    page(
        &Frame::of(viewer),
        "Subscribed",
        html! {
            h1 { "You are subscribed" }
            p { "The first digest comes with the next " (sub.frequency.as_str()) " run. "
                a href=(manage) { "Change what you get or unsubscribe" } " at any time; every mail has the link too." }
        },
    )
}

/// Preferences, from the link in every mail; `token` is the link's own.
pub fn manage(viewer: &Viewer, sub: &Subscription, token: &str) -> Markup {
    page(
        &Frame::of(viewer),
        "Your digest",
        html! {
            h1 { "Your digest" }
            p { "For " strong { (sub.email) } ". "
                @if sub.unsubscribed_at.is_some() { "You are unsubscribed: nothing is sent." }
                @else if sub.confirmed_at.is_none() { "Not confirmed yet: nothing is sent until you follow the confirmation link." }
                @else if sub.bouncing { "Mail to this address bounces, so nothing is sent." }
            }
            (preferences_form(&format!("/subscription?t={token}"), &viewer.csrf, Some(sub), false, "Save"))
            @if sub.unsubscribed_at.is_none() {
                form.stack method="post" action={ "/subscription/unsubscribe?t=" (token) } {
                    button type="submit" { "Unsubscribe" }
                }
            }
        },
    )
}

pub fn unsubscribed(viewer: &Viewer, sub: &Subscription) -> Markup {
    notice(
        viewer,
        "Unsubscribed",
        html! {
            p { "Nothing more will be sent to " strong { (sub.email) } ". Changed your mind? "
                a href="/subscribe" { "Subscribe again" } "." }
        },
    )
}

/// The "Your digest" part of the account page: the address is the account's, proven by signing
/// in. `sub` is the subscription of that address, if any.
pub fn account_section(viewer: &Viewer, a: &Account, sub: Option<&Subscription>) -> Markup {
    let active = sub.is_some_and(Subscription::active);
    html! {
        h2 #digest { "Your digest" }
        @match sub {
            Some(s) if active => p { "Digests go to " strong { (s.email) } ", "
                @if s.frequency == Frequency::Weekly { "on Monday mornings" } @else { "every weekday morning" } "." }
            Some(s) if s.bouncing => p { "Mail to " strong { (s.email) } " bounced, so digests stopped. Save to start them again." }
            _ => p { "Trending papers, and new papers on your topics, by email to " strong { (a.email) } "." }
        }
        (preferences_form("/account/digest", &viewer.csrf, sub.filter(|_| active), false,
            if active { "Save" } else { "Subscribe" }))
        @if active {
            form.stack method="post" action="/account/digest/stop" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Stop digests" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_carries_a_cut_description_of_a_strangers_topics() {
        assert_eq!(describe(&Topics::default()), "");
        let loud = Topics {
            searches: vec!["x".repeat(200); 20],
            ..Default::default()
        };
        let mail = describe_for_mail(&loud);
        assert!(mail.chars().count() < MAIL_TOPICS_CHARS + 60, "{mail}");
        assert!(mail.ends_with("lists them all)"));
    }
}

//! The forms of signing in, the account page and submitting a paper, and what each answers.

use maud::{html, Markup};
use paperboy_core::ArxivId;
use paperboy_store::{Account, Subscription};

use crate::session::LINK_MINUTES;
use crate::viewer::Viewer;
use crate::views::layout::{notice, page, Frame};
use crate::views::subscriptions;

pub fn sign_in(viewer: &Viewer, next: &str) -> Markup {
    page(
        &Frame::of(viewer),
        "Sign in",
        html! {
            h1 { "Sign in" }
            p { "No password: we email you a link that signs you in. It works once, for "
                (LINK_MINUTES) " minutes. A new address gets a new account." }
            form.stack method="post" action="/login" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="next" value=(next);
                label for="email" { "Email address" }
                input #email type="email" name="email" required autocomplete="email" maxlength="254";
                button type="submit" { "Email me a sign-in link" }
            }
        },
    )
}

pub fn link_sent(viewer: &Viewer, email: &str, delivers: bool) -> Markup {
    notice(
        viewer,
        "Check your email",
        html! {
            p { "If " strong { (email) } " is yours, a sign-in link is on its way. It works once, for "
                (LINK_MINUTES) " minutes." }
            @if !delivers {
                p.notice { "This server has no mail server configured: the link is in its log." }
            }
        },
    )
}

pub fn link_not_sent(viewer: &Viewer) -> Markup {
    notice(
        viewer,
        "The link could not be sent",
        html! { p.notice { "The mail server refused it. Try again in a minute." } },
    )
}

/// The page a sign-in link opens: one button, so that link scanners cannot use the link up.
pub fn sign_in_button(viewer: &Viewer, token: &str, next: &str) -> Markup {
    page(
        &Frame::of(viewer),
        "Sign in",
        html! {
            h1 { "Sign in to paperboy" }
            form.stack method="post" action="/login/verify" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="token" value=(token);
                input type="hidden" name="next" value=(next);
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub fn link_spent(viewer: &Viewer) -> Markup {
    notice(
        viewer,
        "This link does not work any more",
        html! { p.notice { "Sign-in links work once, for " (LINK_MINUTES) " minutes. "
        a href="/login" { "Ask for a new one" } "." } },
    )
}

/// The account page: the profile, the account's digest, and signing out.
pub fn account(
    viewer: &Viewer,
    a: &Account,
    digest: Option<&Subscription>,
    tokens: &[paperboy_store::ApiToken],
    foryou: Markup,
) -> Markup {
    page(
        &Frame::of(viewer),
        "Your account",
        html! {
            h1 { "Your account" }
            p { "Signed in as " strong { (a.email) } @if a.is_admin { " (administrator)" } "." }
            form.stack method="post" action="/account" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="username" { "Username (letters, digits, . _ -)" }
                input #username name="username" value=(a.username) required minlength="2" maxlength="32" pattern="[A-Za-z0-9._-]+";
                label for="display_name" { "Display name" }
                input #display_name name="display_name" value=(a.display_name) required maxlength="64";
                button type="submit" { "Save" }
            }
            (subscriptions::account_section(viewer, a, digest))
            p { a href="/library" { "Your library" } }
            (foryou)
            (crate::views::library::tokens_section(viewer, tokens))
            h2 { "Your data" }
            p { a href="/account/export.json" download { "Download everything you have here" } " (votes, saves, collections, follows, for-you signals and model, comments, subscription, tokens) as JSON." }
            form.stack method="post" action="/account/delete" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="confirm-delete" { "Delete your account: type your username (" (a.username) ")" }
                input #confirm-delete name="confirm" required autocomplete="off";
                button type="submit" { "Delete my account" }
            }
            h2 { "Sessions" }
            form.inline method="post" action="/logout" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Sign out" }
            }
            form.inline method="post" action="/logout/everywhere" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Sign out everywhere" }
            }
        },
    )
}

pub fn submit(viewer: &Viewer) -> Markup {
    page(
        &Frame::of(viewer),
        "Submit a paper",
        html! {
            h1 { "Submit a paper" }
            p { "Found a paper worth reading? Give its arXiv id or address; it goes on today's list with your name." }
            form.stack method="post" action="/submit" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="paper" { "arXiv id or URL" }
                input #paper name="paper" required maxlength="200" placeholder="2505.15612 or https://arxiv.org/abs/2505.15612";
                button type="submit" { "Submit" }
            }
        },
    )
}

pub fn already_submitted(viewer: &Viewer, id: &ArxivId, day: chrono::NaiveDate) -> Markup {
    notice(
        viewer,
        "Already submitted",
        html! { p.notice { "This paper is already on the " a href={ "/papers/date/" (day) } { (day) } " list: "
        a href={ "/papers/" (id) } { "see it there" } "." } },
    )
}

pub fn arxiv_unreachable(viewer: &Viewer, why: &str) -> Markup {
    notice(
        viewer,
        "arXiv did not answer",
        html! { p.notice { "The paper's details could not be fetched from arXiv: " (why) ". Nothing was submitted; try again later." } },
    )
}

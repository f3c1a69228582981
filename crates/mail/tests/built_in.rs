//! The built-in templates' mails, byte for byte: a fixed sign-in, confirmation and digest mail
//! against files kept from the code that composed them before the templates owned the whole
//! mail. Moving a section from code into a template must not change what a reader receives.

use paperboy_mail::{Digest, DigestItem, Letter, Mailer, Section, SectionKind, Templates};

fn mailer() -> Mailer {
    Mailer::new(
        "smtp://127.0.0.1:9",
        "paperboy <digest@example.org>",
        Templates::new(None),
    )
    .unwrap()
}

fn same(letter: &Letter, name: &str) {
    let text = std::fs::read_to_string(format!("tests/built_in/{name}.txt")).unwrap();
    let html = std::fs::read_to_string(format!("tests/built_in/{name}.html")).unwrap();
    assert_eq!(letter.text, text, "{name}: the text part");
    assert_eq!(letter.html, html, "{name}: the HTML part");
}

fn item(title: &str, url: &str, authors: &str, upvotes: i64) -> DigestItem {
    DigestItem {
        title: title.into(),
        url: url.into(),
        authors: authors.into(),
        upvotes,
    }
}

fn section(kind: SectionKind, topic: &str, papers: Vec<DigestItem>) -> Section {
    Section {
        kind,
        topic: topic.into(),
        papers,
    }
}

/// Markup in every value a subscriber or an author controls, an empty section (left out), and
/// headings whose characters are not bytes (the text part's underline counts characters).
fn digest() -> Digest {
    Digest {
        site: "paperboy & co".into(),
        period: "2026-W49".into(),
        sections: vec![
            section(
                SectionKind::Trending,
                "",
                vec![
                    item(
                        "α-stable <b>processes</b> & \"quotes\"",
                        "https://p.test/papers/2611.00001",
                        "Ada O'Brien, Alan <Turing>",
                        12,
                    ),
                    item(
                        "Plain title",
                        "https://p.test/papers/2611.00002?a=1&b=2",
                        "",
                        0,
                    ),
                ],
            ),
            section(
                SectionKind::Category,
                "cs.CL",
                vec![item(
                    "Chain-of-thought",
                    "https://p.test/papers/2611.00003",
                    "Grace Hopper",
                    3,
                )],
            ),
            section(SectionKind::Author, "Edgar Codd", vec![]),
            section(
                SectionKind::Search,
                "a < b & c",
                vec![item(
                    "Polypeptide chains",
                    "https://p.test/papers/2611.00004",
                    "Rosalind Franklin",
                    1,
                )],
            ),
        ],
        manage_url: "https://p.test/subscription?t=7.abc&x=<y>".into(),
        unsubscribe_url: "https://p.test/subscription/unsubscribe?t=7.abc".into(),
        message_id: "digest.7.2026-W49@p.test".into(),
    }
}

#[test]
fn the_digest_reads_as_before() {
    let letter = mailer()
        .digest_letter("reader@example.org", &digest())
        .unwrap();
    assert_eq!(letter.to, "reader@example.org");
    assert_eq!(letter.subject, "paperboy & co: trending papers, 2026-W49");
    assert_eq!(
        letter.headers,
        [
            (
                "List-Unsubscribe".to_string(),
                "<https://p.test/subscription/unsubscribe?t=7.abc>".to_string()
            ),
            (
                "List-Unsubscribe-Post".to_string(),
                "List-Unsubscribe=One-Click".to_string()
            ),
        ]
    );
    assert_eq!(
        letter.message_id.as_deref(),
        Some("digest.7.2026-W49@p.test")
    );
    same(&letter, "digest");
}

#[test]
fn a_digest_of_trending_papers_alone_reads_as_before() {
    let mut d = digest();
    d.sections.truncate(1);
    same(
        &mailer().digest_letter("reader@example.org", &d).unwrap(),
        "digest_trending_only",
    );
}

#[test]
fn the_sign_in_mail_reads_as_before() {
    let letter = mailer()
        .sign_in_letter(
            "paperboy & co",
            "ada@example.org",
            "https://p.test/login/verify?token=a&b=<c>",
            15,
        )
        .unwrap();
    assert_eq!(letter.subject, "Sign in to paperboy & co");
    assert!(letter.headers.is_empty() && letter.message_id.is_none());
    same(&letter, "sign_in");
}

#[test]
fn the_confirmation_mail_reads_as_before() {
    let letter = mailer()
        .confirm_letter(
            "paperboy & co",
            "reader@example.org",
            "https://p.test/subscription/confirm?t=7.abc&x=<y>",
            "weekly",
            ", plus new papers in cs.CL; matching “a < b & c”",
        )
        .unwrap();
    assert_eq!(letter.subject, "Confirm your paperboy & co digest");
    same(&letter, "confirm");
}

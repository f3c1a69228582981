//! Mail over real SMTP: an `aiosmtpd` server (Python, from pip) started by the test delivers to a
//! maildir; paperboy sends its sign-in link there, and the test signs in with the link it finds
//! in the received mail (plain text and HTML parts, decoded by Python's `email` package).

use serde_json::Value;

use crate::common::*;
use crate::people::{token_in, Process, Visitor};
use crate::smtp::{mail_command, output_of, SmtpServer};

/// A real SMTP server and `paperboy serve` sending through it, with `env` besides; None (the
/// test skips) without aiosmtpd.
async fn server_with_smtp(env: &[(&str, String)]) -> Option<(SmtpServer, Process)> {
    let smtp = SmtpServer::start().await?;
    let mut env = env.to_vec();
    env.push(("PAPERBOY_SMTP_URL", smtp.url()));
    let server = Process::start(&env).await;
    Some((smtp, server))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_links_arrive_by_real_smtp() {
    let mail_from = ("PAPERBOY_MAIL_FROM", "paperboy <papers@example.org>".into());
    let Some((smtp, server)) = server_with_smtp(&[mail_from]).await else {
        return;
    };
    let ada = Visitor::arrived(&server.base).await;
    let r = ada.post("/login", &[("email", "ada@example.org")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains("in its log"),
        "with SMTP the page does not point at the log"
    );
    let mail = poll("the sign-in mail", || {
        let smtp = &smtp;
        async move { smtp.messages().await.into_iter().next() }
    })
    .await;
    assert_eq!(mail["to"], "ada@example.org");
    assert_eq!(mail["subject"], "Sign in to paperboy");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/login/verify?token="))
        .expect("the link in the text part")
        .to_owned();
    assert!(
        html.contains(&link.replace('&', "&amp;")),
        "the HTML part has the same link"
    );
    assert!(
        link.starts_with(&server.base),
        "{link} points at this server"
    );
    let token = token_in(&link);
    assert_eq!(ada.get(&link).await.status, 200);
    let r = ada.post("/login/verify", &[("token", &token)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        ada.get("/account").await.status,
        200,
        "signed in by the mailed link"
    );
    assert!(
        !server.log_contains(&token),
        "with SMTP configured, the link is not written to the log"
    );
    server.stop().await;
}

/// The link in a mail's text part that contains `marker`.
fn link_in(mail: &Value, marker: &str) -> String {
    mail["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .find(|w| w.contains(marker))
        .unwrap_or_else(|| panic!("no {marker} link in {}", mail["text"]))
        .to_owned()
}

/// The first mail to `to`, waited for.
async fn mail_to(smtp: &SmtpServer, to: &str) -> Value {
    poll(&format!("a mail to {to}"), || async move {
        smtp.messages().await.into_iter().find(|m| m["to"] == to)
    })
    .await
}

/// Signs `v` in as `email` by the link mailed to it.
async fn sign_in_by_mail(v: &Visitor, smtp: &SmtpServer, email: &str) {
    v.get("/papers").await;
    v.post("/login", &[("email", email)]).await;
    let link = link_in(&mail_to(smtp, email).await, "/login/verify?token=");
    v.post("/login/verify", &[("token", &token_in(&link))])
        .await;
}

/// `v` votes for the first paper of the day; its id and title.
async fn vote_for_first(v: &Visitor) -> (String, String) {
    let items = v.get("/api/daily_papers").await.json();
    let pid = items[0]["paper"]["id"].as_str().unwrap().to_owned();
    let title = items[0]["paper"]["title"].as_str().unwrap().to_owned();
    let r = v
        .post_json(&format!("/papers/{pid}/vote"), &[("up", "1")])
        .await;
    assert_eq!(r.status, 200);
    (pid, title)
}

/// `email` subscribes to daily digests and confirms by the mailed link; the confirmation token.
async fn subscribe_by_mail(base: &str, smtp: &SmtpServer, email: &str) -> String {
    let reader = Visitor::arrived(base).await;
    reader
        .post("/subscribe", &[("email", email), ("frequency", "daily")])
        .await;
    let t = link_in(&mail_to(smtp, email).await, "/subscription/confirm?t=")
        .split("t=")
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(
        reader
            .post(&format!("/subscription/confirm?t={t}"), &[])
            .await
            .status,
        200
    );
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_needs_the_mailed_confirmation_and_links_resist_tampering() {
    let Some((smtp, server)) = server_with_smtp(&[]).await else {
        return;
    };
    let v = Visitor::new(&server.base);
    let page = v.get("/papers").await.body;
    assert!(
        page.contains("Get trending papers in your email inbox"),
        "offered on every page"
    );
    let form = [
        ("email", "reader@example.org"),
        ("frequency", "weekly"),
        ("categories", "cs.CL, cs.LG"),
        ("searches", "diffusion models"),
    ];
    let first = v.post("/subscribe", &form).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let mail = poll("the confirmation mail", || {
        let smtp = &smtp;
        async move { smtp.messages().await.into_iter().next() }
    })
    .await;
    assert_eq!(mail["to"], "reader@example.org");
    assert!(mail["text"].as_str().unwrap().contains("weekly"));
    assert!(mail["html"].as_str().unwrap().contains("cs.CL, cs.LG"));
    let confirm = link_in(&mail, "/subscription/confirm?t=");

    // Asking again within the hour mails nothing more, and the answer is the same.
    let again = v.post("/subscribe", &form).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.body.replace(&v.csrf(), ""),
        first.body.replace(&v.csrf(), ""),
        "the answer does not tell whether the address was known"
    );

    // A changed byte in the link is refused.
    let t = confirm.split("t=").nth(1).unwrap().to_owned();
    let mut bad = t.clone().into_bytes();
    let last = bad.len() - 1;
    bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
    let bad = String::from_utf8(bad).unwrap();
    assert_eq!(
        v.get(&format!("/subscription/confirm?t={bad}"))
            .await
            .status,
        403
    );
    let forged = format!(
        "{}{}",
        (t.split('.').next().unwrap().parse::<i64>().unwrap() + 1),
        &t[t.find('.').unwrap()..]
    );
    assert_eq!(
        v.get(&format!("/subscription/confirm?t={forged}"))
            .await
            .status,
        403,
        "another id"
    );

    assert_eq!(v.get(&confirm).await.status, 200);
    let r = v.post(&format!("/subscription/confirm?t={t}"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let manage = r
        .body
        .split("href=\"")
        .find(|s| s.contains("/subscription?t="))
        .and_then(|s| s.split('"').next())
        .expect("a link to the preferences")
        .to_owned();
    let prefs = v.get(&manage).await.body;
    assert!(prefs.contains("cs.CL, cs.LG") && prefs.contains("diffusion models"));
    assert_eq!(smtp.messages().await.len(), 1, "one mail in all so far");

    // Someone else signs the confirmed address up again: nothing changes until the owner
    // follows the link mailed to the address (before, the new topics replaced the owner's).
    let mallory = Visitor::arrived(&server.base).await;
    let r = mallory
        .post(
            "/subscribe",
            &[
                ("email", "Reader@Example.org"),
                ("frequency", "daily"),
                ("searches", "cheap pills"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    let prefs = v.get(&manage).await.body;
    assert!(
        prefs.contains("cs.CL, cs.LG") && !prefs.contains("cheap pills"),
        "a stranger's sign-up changed a confirmed subscription: {prefs}"
    );
    let page = v.get(&confirm).await.body;
    assert!(
        page.contains("Confirm the change") && page.contains("cheap pills"),
        "{page}"
    );
    let r = v.post(&format!("/subscription/confirm?t={t}"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let prefs = v.get(&manage).await.body;
    assert!(
        prefs.contains("cheap pills"),
        "the owner's confirmation applies it"
    );

    // A stranger's 12,000 characters of topics do not go into a confirmation mail.
    let loud: Vec<String> = (0..20)
        .map(|i| format!("{}{i:02}", "x".repeat(180)))
        .collect();
    let r = mallory
        .post(
            "/subscribe",
            &[
                ("email", "stranger@example.org"),
                ("categories", &loud.join(",")),
                ("authors", &loud.join(",")),
                ("searches", &loud.join("\n")),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mail = mail_to(&smtp, "stranger@example.org").await;
    for part in ["text", "html"] {
        let body = mail[part].as_str().unwrap();
        assert!(
            body.matches('x').count() < 400,
            "the {part} part carries the stranger's text: {body}"
        );
    }

    // One-click unsubscribe as a mail client does it (RFC 8058): a bare POST, no cookies.
    let mt = manage.split("t=").nth(1).unwrap();
    let r = http()
        .post(format!("{}/subscription/unsubscribe?t={mt}", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(v.get(&manage).await.body.contains("You are unsubscribed"));
    let r = http()
        .post(format!("{}/subscription/unsubscribe?t={bad}", server.base))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a tampered unsubscribe link is refused");
    server.stop().await;
}

/// `paperboy digest ...` over a data directory, with or without a server running on it.
async fn digest(dir: &std::path::Path, base: &str, smtp: &SmtpServer, args: &[&str]) -> String {
    let args: Vec<&str> = std::iter::once("digest")
        .chain(args.iter().copied())
        .collect();
    output_of(mail_command(dir, &smtp.url(), base), &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_arrives_once_with_one_click_unsubscribe() {
    // The server's own schedule looks once at start, then not for an hour: the digest here is
    // run by hand, beside the running server.
    let hourly = ("PAPERBOY_DIGEST_POLL_SECONDS", "3600".into());
    let Some((smtp, server)) = server_with_smtp(&[hourly]).await else {
        return;
    };
    // Someone votes, so a paper is trending; a reader subscribes and confirms.
    let voter = Visitor::new(&server.base);
    sign_in_by_mail(&voter, &smtp, "voter@example.org").await;
    let (pid, title) = vote_for_first(&voter).await;
    let t = subscribe_by_mail(&server.base, &smtp, "reader@example.org").await;

    let base = server.base.clone();
    let dir = server.dir.path().to_owned();
    let out = digest(&dir, &base, &smtp, &["run"]).await;
    assert!(out.contains("1 digests recorded"), "{out}");
    let out = digest(&dir, &base, &smtp, &["send"]).await;
    assert!(out.starts_with("1 sent"), "{out}");
    let digests: Vec<Value> = smtp
        .messages()
        .await
        .into_iter()
        .filter(|m| {
            m["subject"]
                .as_str()
                .unwrap_or("")
                .contains("trending papers")
        })
        .collect();
    assert_eq!(digests.len(), 1);
    let d = &digests[0];
    assert_eq!(d["to"], "reader@example.org");
    assert_eq!(d["content_type"], "multipart/alternative");
    let squashed = title.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        d["text"].as_str().unwrap().contains(&squashed),
        "the voted paper is in it"
    );
    assert!(d["html"]
        .as_str()
        .unwrap()
        .contains(&format!("/papers/{pid}")));
    let mid = d["message_id"].as_str().unwrap();
    assert!(
        mid.starts_with("<digest.") && mid.contains(&chrono::Utc::now().date_naive().to_string()),
        "{mid}"
    );
    assert_eq!(
        d["headers"]["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    let unsub = d["headers"]["List-Unsubscribe"]
        .as_str()
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    assert!(unsub.starts_with(&base) && unsub.contains("/subscription/unsubscribe?t="));

    // Never twice: the same period again records and sends nothing.
    assert!(digest(&dir, &base, &smtp, &["run"])
        .await
        .contains("0 digests recorded"));
    assert!(digest(&dir, &base, &smtp, &["send"])
        .await
        .starts_with("0 sent"));

    // The unsubscribe link is the signed one the preferences test exercises with a one-click POST.
    assert!(
        unsub.contains(&format!("t={}.", t.split('.').next().unwrap())),
        "for this subscription"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_sends_digests_on_its_own_schedule() {
    let Some((smtp, server)) = server_with_smtp(&[
        ("PAPERBOY_DIGEST_HOUR_UTC", "0".into()),
        ("PAPERBOY_DIGEST_WEEKDAYS_ONLY", "false".into()),
        ("PAPERBOY_DIGEST_POLL_SECONDS", "1".into()),
    ])
    .await
    else {
        return;
    };
    let voter = Visitor::new(&server.base);
    sign_in_by_mail(&voter, &smtp, "voter@example.org").await;
    let (pid, _) = vote_for_first(&voter).await;
    subscribe_by_mail(&server.base, &smtp, "reader@example.org").await;

    let digest = poll("the scheduled digest", || {
        let smtp = &smtp;
        async move {
            smtp.messages().await.into_iter().find(|m| {
                m["to"] == "reader@example.org"
                    && m["subject"]
                        .as_str()
                        .unwrap_or("")
                        .contains("trending papers")
            })
        }
    })
    .await;
    assert!(digest["html"]
        .as_str()
        .unwrap()
        .contains(&format!("/papers/{pid}")));
    let status = poll("the status counts the digest", || {
        let v = voter.clone();
        async move {
            let s = v.get("/api/status").await.json();
            (s["digests"]["sent"] == 1).then_some(s)
        }
    })
    .await;
    assert_eq!(status["digests"]["confirmed"], 1);
    assert_eq!(
        status["digests"]["lastPeriod"],
        chrono::Utc::now().date_naive().to_string()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_templates_restyle_the_digest() {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let (dir, settings) = temp_settings(true);
    let store = import_demo(&settings).await;
    let now = chrono::Utc::now();
    let pid = crate::smtp::vote_for_the_first_paper(&*store, now).await;
    let topics = paperboy_store::Topics {
        categories: vec!["cs.CL".into()],
        ..Default::default()
    };
    // The subscriber is a signed-in reader who follows cs.AI: a topic of the digest too.
    let reader = store.sign_in("reader@example.org", &[], now).await.unwrap();
    let cs_ai = paperboy_store::FollowKind::Category;
    store
        .follow(reader.id, cs_ai, "cs.AI", "cs.AI", true, now)
        .await
        .unwrap();
    let paperboy_store::SignUp::SendConfirmation(s) = store
        .sign_up(
            "reader@example.org",
            paperboy_store::Frequency::Daily,
            &topics,
            Some(reader.id),
            now,
        )
        .await
        .unwrap()
    else {
        panic!("a new address")
    };
    store.confirm_subscription(s.id, now).await.unwrap();
    drop(store);

    // Every section listed, empty ones too (the built-in templates leave those out), in a
    // subject, text and HTML of the operator's own.
    let templates = tempfile::tempdir().unwrap();
    for (name, body) in [
        (
            "digest.subject.txt",
            "{{ sections|length }} lists from {{ site }}\n",
        ),
        (
            "digest.txt",
            "{% for s in sections %}\n[{{ s.kind }} {{ s.topic }}: {{ s.papers|length }}]\n{% for p in s.papers %}\n- {{ p.url }}\n{% endfor %}\n{% endfor %}\nStop: {{ unsubscribe }}\n",
        ),
        (
            "digest.html",
            "<table>{% for s in sections %}{% for p in s.papers %}<tr><td><a href=\"{{ p.url }}\">{{ p.title }}</a></td></tr>{% endfor %}{% endfor %}</table>\n",
        ),
    ] {
        std::fs::write(templates.path().join(name), body).unwrap();
    }
    let base = "http://127.0.0.1:9";
    let run = |args: &'static [&'static str]| {
        let mut cmd = mail_command(dir.path(), &smtp.url(), base);
        cmd.env("PAPERBOY_MAIL_TEMPLATES_DIR", templates.path());
        output_of(cmd, args)
    };
    assert!(run(&["digest", "run"]).await.contains("1 digests recorded"));
    assert!(run(&["digest", "send"]).await.starts_with("1 sent"));
    let mail = mail_to(&smtp, "reader@example.org").await;
    assert_eq!(mail["subject"], "4 lists from paperboy");
    let text = mail["text"].as_str().unwrap();
    // A reader with signals (the followed cs.AI) gets the latest cs.AI day ranked for them first.
    assert!(text.starts_with("[foryou : 5]\n"), "{text}");
    // The demo's votes are months old: trending reaches back to them (a quiet instance's digest
    // is never empty while papers have votes), and the fresh vote comes first unless the
    // for-you section took it.
    let trending = text
        .split("[trending : 10]\n")
        .nth(1)
        .expect("trending second");
    let foryou = text.split("[trending").next().unwrap();
    assert!(
        trending.starts_with(&format!("- {base}/papers/{pid}\n"))
            || foryou.contains(&format!("/papers/{pid}\n")),
        "{text}"
    );
    assert!(text.contains("\n[category cs.CL: 0]\n"), "{text}");
    assert!(
        text.contains("\n[category cs.AI: "),
        "followed categories are topics: {text}"
    );
    assert!(
        text.contains("Stop: http://127.0.0.1:9/subscription/unsubscribe?t="),
        "{text}"
    );
    assert!(
        !text.contains("You get this because"),
        "not the built-in template: {text}"
    );
    let html = mail["html"].as_str().unwrap();
    assert!(
        html.contains(&format!("<tr><td><a href=\"{base}/papers/{pid}\">")),
        "{html}"
    );
    assert_eq!(
        mail["headers"]["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click",
        "headers stay the code's"
    );
}

/// An SMTP server that answers 451 twice to `temp*` recipients, then accepts them, and 550 to
/// `gone*`: aiosmtpd with a handler of our own, delivering the rest to a maildir.
const FAULTY: &str = r#"
import mailbox, os
class Handler:
    def __init__(self):
        self.tries = {}
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('temp'):
            n = self.tries.get(address, 0)
            self.tries[address] = n + 1
            if n < 2:
                return '451 4.3.0 try again later'
        if address.startswith('gone'):
            return '550 5.1.1 no such user'
        envelope.rcpt_tos.append(address)
        return '250 OK'
    async def handle_DATA(self, server, session, envelope):
        mailbox.Maildir(os.environ['MAILDIR']).add(envelope.content)
        return '250 OK'
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_and_451_are_retried_550_marks_bouncing_nothing_is_lost() {
    // A data directory with three confirmed subscribers and something trending.
    let Some(plain) = SmtpServer::start().await else {
        return;
    };
    drop(plain);
    let (dir, settings) = temp_settings(true);
    let store = import_demo(&settings).await;
    let now = chrono::Utc::now();
    crate::smtp::vote_for_the_first_paper(&*store, now).await;
    for email in ["ok@example.org", "temp@example.org", "gone@example.org"] {
        confirmed_subscriber(&*store, email, &Default::default(), now).await;
    }
    drop(store);

    let port = free_port();
    let run = |args: &'static [&'static str]| {
        let mut cmd = mail_command(
            dir.path(),
            &format!("smtp://127.0.0.1:{port}"),
            "http://127.0.0.1:9",
        );
        cmd.env("PAPERBOY_DIGEST_RETRY_SECONDS", "0");
        output_of(cmd, args)
    };
    assert!(run(&["digest", "run"]).await.contains("3 digests recorded"));
    // Nothing listens yet: every mail waits for a retry.
    let out = run(&["digest", "send"]).await;
    assert!(out.starts_with("0 sent, 3 to retry"), "{out}");

    // Now a server that refuses some recipients for now and one for good.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("faulty.py"), FAULTY).unwrap();
    let maildir = tmp.path().join("maildir");
    let _server = tokio::process::Command::new(python())
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "faulty.Handler",
        ])
        .env("PYTHONPATH", tmp.path())
        .env("MAILDIR", &maildir)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_listening("the faulty SMTP server listens", port).await;
    let mut sends = Vec::new();
    for _ in 0..4 {
        sends.push(run(&["digest", "send"]).await);
    }
    assert!(sends[0].starts_with("1 sent, 2 to retry"), "{sends:?}");
    let received = crate::smtp::read_maildir(&maildir).await;
    let to: Vec<&str> = received.iter().map(|m| m["to"].as_str().unwrap()).collect();
    assert_eq!(to.len(), 2, "{to:?}");
    assert!(
        to.contains(&"ok@example.org") && to.contains(&"temp@example.org"),
        "{to:?}"
    );
    let store = paperboy_cli::open_store(&settings, false).unwrap();
    let stats = store.mail_stats().await.unwrap();
    assert_eq!(
        (stats.sent, stats.pending, stats.failed),
        (2, 0, 1),
        "{sends:?}"
    );
    let mut bouncing = Vec::new();
    for id in 1..=3 {
        let sub = store.subscription(id.into()).await.unwrap().unwrap();
        if sub.bouncing {
            bouncing.push(sub.email);
        }
    }
    assert_eq!(
        bouncing,
        ["gone@example.org"],
        "550 three times marks the address bouncing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_readers_manage_their_digest_from_the_account_page() {
    let server = Process::start(&[]).await;
    let confirmed = |v: &Visitor| {
        let v = v.clone();
        async move { v.get("/api/status").await.json()["digests"]["confirmed"].as_u64() }
    };
    let stranger = Visitor::arrived(&server.base).await;
    let r = stranger
        .post("/account/digest", &[("frequency", "daily")])
        .await;
    assert_eq!(r.status, 401, "signed out: {}", r.body);

    let reader = Visitor::signed_in(&server, "reader@example.org").await;
    let page = reader.get("/account").await.body;
    assert!(
        page.contains("Your digest") && page.contains(">Subscribe</button>"),
        "{page}"
    );
    let r = reader
        .post(
            "/account/digest",
            &[("csrf", "forged"), ("frequency", "weekly")],
        )
        .await;
    assert_eq!(r.status, 403, "a forged CSRF token is refused");
    assert_eq!(confirmed(&reader).await, Some(0));

    // Subscribing from the account needs no confirmation mail: signing in proved the address.
    let r = reader
        .post(
            "/account/digest",
            &[
                ("frequency", "weekly"),
                ("categories", "cs.CL"),
                ("searches", "protein folding"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/account#digest");
    let page = reader.get("/account").await.body;
    assert!(page.contains("on Monday mornings"), "{page}");
    assert!(page.contains(r#"value="cs.CL""#), "{page}");
    assert!(page.contains("protein folding</textarea>"), "{page}");
    assert!(page.contains("Stop digests"), "{page}");
    assert_eq!(confirmed(&reader).await, Some(1));

    // Stopping ends it at once; subscribing again starts it again.
    let r = reader.post("/account/digest/stop", &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(confirmed(&reader).await, Some(0));
    assert!(reader
        .get("/account")
        .await
        .body
        .contains(">Subscribe</button>"));
    reader
        .post("/account/digest", &[("frequency", "daily")])
        .await;
    let page = reader.get("/account").await.body;
    assert!(page.contains("every weekday morning"), "{page}");
    assert_eq!(confirmed(&reader).await, Some(1));
    server.stop().await;
}

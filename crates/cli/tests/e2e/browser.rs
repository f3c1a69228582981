//! A person's path through the site in real headless Chromium (driven over WebDriver by Debian's
//! chromedriver) on the demo data: today's list, the previous day, a search typed into the box and
//! sent with Enter, a result, the paper page; no sideways scrolling on a phone; screenshots of the
//! front page at desktop and phone width in `target/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::*;

struct Tools {
    chromedriver: PathBuf,
    chromium: PathBuf,
}

fn tools() -> Result<Tools, String> {
    let find = |var: &str, default: &str| {
        let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.into()));
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{} is absent (apt-get install chromium chromium-driver, or set {var})",
                path.display()
            ))
        }
    };
    Ok(Tools {
        chromedriver: find("CHROMEDRIVER", "/usr/bin/chromedriver")?,
        chromium: find("CHROMIUM", "/usr/bin/chromium")?,
    })
}

/// chromedriver on a free port; killed (and waited for) when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver(tools: &Tools) -> Driver {
    let port = free_port();
    let child = Command::new(&tools.chromedriver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let status = format!("{}/status", driver.url);
    poll_json("chromedriver /status ready", &status, |v| {
        v["value"]["ready"].as_bool().filter(|r| *r).map(|_| ())
    })
    .await;
    driver
}

async fn start_browser(driver: &Driver, tools: &Tools, profile: &std::path::Path) -> Client {
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--no-proxy-server".to_owned(),
        "--window-size=1280,900".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": tools.chromium, "args": args },
    });
    let caps = caps.as_object().expect("an object").clone();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

fn screenshot_dir() -> PathBuf {
    let dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// The element `css` selects on the page shown; without one the test fails, saying where.
async fn element(c: &Client, css: &str) -> Element {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => panic!("no {css} on {:?}: {e}", c.current_url().await.ok()),
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    element(c, css).await.text().await.expect("element text")
}

async fn body_text(c: &Client) -> String {
    text_of(c, "body").await
}

async fn click(c: &Client, css: &str) {
    let e = element(c, css).await;
    e.click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let e = element(c, css).await;
    e.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

/// Waits until the text of `css` (the page's script may change it) contains `text`.
async fn wait_for_text(c: &Client, css: &str, text: &str) {
    poll(&format!("{css} shows {text:?}"), || {
        let c = c.clone();
        async move {
            let t = c.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
            t.contains(text).then_some(())
        }
    })
    .await;
}

/// Saves what the browser shows as `target/screenshots/NAME`.
async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshot_dir().join(name), png).expect("save screenshot");
}

/// (scrollWidth, innerWidth) of the page shown.
async fn widths(c: &Client) -> (i64, i64) {
    let v = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .expect("run script");
    (
        v[0].as_i64().expect("scrollWidth"),
        v[1].as_i64().expect("innerWidth"),
    )
}

/// The ids and squashed titles of a day's list, from the JSON API.
async fn day_list(server: &Api, day: &str) -> Vec<(String, String)> {
    let items = server
        .json(&format!("/api/daily_papers?date={day}&limit=100"))
        .await;
    items
        .as_array()
        .expect("array")
        .iter()
        .map(|i| {
            (
                i["paper"]["id"].as_str().expect("id").to_owned(),
                squash(i["paper"]["title"].as_str().expect("title")),
            )
        })
        .collect()
}

/// The day before `day` that has a list.
async fn previous_day(server: &Api, day: &str) -> String {
    let mut d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("a day");
    for _ in 0..30 {
        d = d.pred_opt().expect("a day before");
        if !day_list(server, &d.to_string()).await.is_empty() {
            return d.to_string();
        }
    }
    panic!("no list in the 30 days before {day}");
}

/// A title that MathML or markup would not change on the page.
fn plain(title: &str) -> bool {
    !title.contains(['$', '<', '>', '&'])
}

async fn journey(c: Client, server: Api) {
    let server = &server;
    let server_base = server.base.clone();
    let latest = server.json("/api/status").await["store"]["lastDay"]
        .as_str()
        .expect("lastDay")
        .to_owned();
    let today = day_list(server, &latest).await;
    assert!(!today.is_empty(), "the demo's last day has papers");

    // Today's list.
    c.set_window_size(1280, 900).await.expect("desktop size");
    c.goto(&format!("{server_base}/papers"))
        .await
        .expect("open /papers");
    let h1 = text_of(&c, "h1").await;
    assert!(h1.starts_with("Daily papers"), "heading {h1:?}");
    let first_entry = text_of(&c, "ol.entries > li:first-child h2 a").await;
    if plain(&today[0].1) {
        assert_eq!(first_entry, today[0].1, "first entry of /papers");
    }
    assert!(
        body_text(&c).await.contains(&today[0].1) || !plain(&today[0].1),
        "the first paper's title is not on the page"
    );
    screenshot(&c, "front-desktop.png").await;

    // The previous day, by its rel="prev" link.
    let prev = previous_day(server, &latest).await;
    click(&c, "a[rel=prev]").await;
    let url = c.current_url().await.expect("URL");
    assert_eq!(url.path(), format!("/papers/date/{prev}"), "after rel=prev");
    let prev_list = day_list(server, &prev).await;
    let (pid, ptitle) = prev_list
        .iter()
        .find(|(_, t)| plain(t))
        .cloned()
        .expect("a plain title on the previous day");
    let text = body_text(&c).await;
    assert!(text.contains(&ptitle), "{ptitle:?} is not on {url}");

    // Search: type the title into the box and press Enter.
    let query: String = ptitle
        .chars()
        .map(|ch| if ch.is_alphanumeric() { ch } else { ' ' })
        .collect();
    let query = squash(&query);
    type_into(&c, "input#q", &format!("{query}{}", char::from(Key::Enter))).await;
    let url = poll("the results page", || {
        let c = c.clone();
        async move {
            let url = c.current_url().await.ok()?;
            (url.path() == "/search").then_some(url)
        }
    })
    .await;
    let sent: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(sent, [("q".to_owned(), query.clone())], "{url}");
    let h1 = text_of(&c, "h1").await;
    assert!(h1.starts_with("Results for"), "{h1:?}");
    let link = c
        .find(Locator::Css(&format!(
            "ol.entries a[href=\"/papers/{pid}\"]"
        )))
        .await
        .unwrap_or_else(|e| panic!("{pid} is not among the results for {query:?}: {e}"));

    // The paper page.
    link.click().await.expect("click the result");
    let url = c.current_url().await.expect("URL");
    assert_eq!(url.path(), format!("/papers/{pid}"));
    assert_eq!(text_of(&c, "h1").await, ptitle, "the paper page's h1");

    // A phone: no sideways scrolling on the front, paper and search pages.
    c.set_window_size(390, 844).await.expect("phone size");
    for path in [
        "/papers".to_owned(),
        format!("/papers/{pid}"),
        format!("/search?q={}", query.replace(' ', "+")),
    ] {
        c.goto(&format!("{server_base}{path}")).await.expect("open");
        let (scroll, inner) = widths(&c).await;
        assert!(
            inner <= 420,
            "{path}: the window is {inner}px wide, not a phone's"
        );
        assert!(
            scroll <= inner,
            "{path}: scrolls sideways on a phone (scrollWidth {scroll} > innerWidth {inner})"
        );
        if path == "/papers" {
            screenshot(&c, "front-phone.png").await;
        }
    }
}

/// Runs `journey` in a fresh headless Chromium, as its own task so that a failed assertion still
/// closes the browser and chromedriver; the panic is passed on afterwards. None without the tools.
async fn in_chromium<F, Fut>(journey: F) -> Option<()>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let tools = match tools() {
        Ok(t) => t,
        Err(why) => {
            skip(&why);
            return None;
        }
    };
    let driver = start_driver(&tools).await;
    let profile = tempfile::tempdir().expect("browser profile");
    let client = start_browser(&driver, &tools, profile.path()).await;
    client
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(30)),
            Some(Duration::from_secs(60)),
            Some(Duration::from_secs(5)),
        ))
        .await
        .expect("timeouts");
    let outcome = tokio::spawn(journey(client.clone())).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    Some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_browses_searches_and_reads_in_chromium() {
    if let Err(why) = tools() {
        return skip(&why);
    }
    let (dir, settings) = temp_settings(true);
    let server = Server::start(settings).await.owning(dir);
    let api = server.api.clone();
    in_chromium(move |c| journey(c, api)).await;
    server.stop().await;
}

/// A member's path in Chromium against the real binary: sign in through the emailed link (from
/// the server's log), upvote a paper in place (the script, no reload), comment, and find the
/// paper at the top of trending, where it was not before.
async fn member_journey(c: Client, server: &crate::people::Process) {
    let base = server.base.clone();
    let api = crate::people::Visitor::new(&base);
    let items = api.get("/api/daily_papers?limit=100").await.json();
    let last = items.as_array().unwrap().last().unwrap();
    let pid = last["paper"]["id"].as_str().unwrap().to_owned();
    let upvotes = last["paper"]["upvotes"].as_i64().unwrap();
    let trending = api.get("/api/trending").await.json();
    assert!(
        !item_ids(&trending).contains(&pid),
        "{pid} is not trending before anyone votes"
    );

    // Sign in: the form, the link from the log, the button on the link's page.
    sign_in_in_chromium(&c, server, "ada@example.org").await;
    wait_for_text(&c, "nav.account", "ada").await;

    // Upvote in place: the count and the pressed state change, the page does not reload.
    c.goto(&format!("{base}/papers/{pid}"))
        .await
        .expect("paper page");
    c.execute("window.__same_page = true;", vec![])
        .await
        .expect("mark the page");
    click(&c, ".paper-vote button.votes").await;
    poll("the vote shows", || {
        let c = c.clone();
        async move {
            let b = c
                .find(Locator::Css(".paper-vote button.votes"))
                .await
                .ok()?;
            let pressed = b.attr("aria-pressed").await.ok()??;
            let n = c
                .find(Locator::Css(".paper-vote .n"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (pressed == "true" && n == (upvotes + 1).to_string()).then_some(())
        }
    })
    .await;
    let same = c
        .execute("return window.__same_page === true;", vec![])
        .await
        .expect("script");
    assert_eq!(same, json!(true), "voting did not reload the page");

    // Comment.
    type_into(&c, "textarea#comment-body", "Worth reading: see $E=mc^2$.").await;
    click(&c, "section.comments form.stack button").await;
    wait_for_text(&c, "ol.comments", "Worth reading").await;

    // Trending: the paper is now first.
    c.goto(&format!("{base}/papers/trending"))
        .await
        .expect("trending");
    let first = element(&c, "ol.entries > li:first-child h2 a")
        .await
        .attr("href")
        .await
        .expect("href");
    assert_eq!(first.as_deref(), Some(format!("/papers/{pid}").as_str()));
    screenshot(&c, "trending-desktop.png").await;

    // The browser's own XML parser reads the feeds this page links to.
    for feed in [
        "/feeds/trending.atom",
        "/feeds/trending.rss",
        "/feeds/daily.atom",
    ] {
        let parsed = c
            .execute_async(
                "const [url, done] = arguments;
                 fetch(url).then(r => r.text()).then(t => {
                   const d = new DOMParser().parseFromString(t, 'application/xml');
                   done({ error: d.getElementsByTagName('parsererror').length,
                          items: d.querySelectorAll('entry, item').length,
                          first: (d.querySelector('entry > id, item > guid') || {}).textContent || '' });
                 });",
                vec![json!(feed)],
            )
            .await
            .expect("fetch and parse the feed");
        assert_eq!(parsed["error"], 0, "{feed} parses");
        assert!(parsed["items"].as_u64().unwrap() > 0, "{feed} has items");
        if feed.starts_with("/feeds/trending") {
            assert_eq!(
                parsed["first"],
                format!("https://arxiv.org/abs/{pid}"),
                "{feed}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_signs_in_votes_comments_and_sees_trending_in_chromium() {
    if let Err(why) = tools() {
        return skip(&why);
    }
    let server = std::sync::Arc::new(crate::people::Process::start(&[]).await);
    let s = server.clone();
    in_chromium(move |c| async move { member_journey(c, &s).await }).await;
    if let Ok(server) = std::sync::Arc::try_unwrap(server) {
        server.stop().await;
    }
}

/// axe-core (npm, pinned in `.ci/run`), read from `AXE_JS` or `target/npm`.
fn axe_source() -> Result<String, String> {
    let path = std::env::var("AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target/npm/node_modules/axe-core/axe.min.js"));
    std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "axe-core is absent at {} ({e}): npm install --prefix target/npm axe-core@4.14.1",
            path.display()
        )
    })
}

/// The axe-core violations of the page shown, as "rule: nodes".
async fn axe_violations(c: &Client, axe: &str) -> Vec<String> {
    c.execute(axe, vec![]).await.expect("inject axe-core");
    let found = c
        .execute_async(
            "const done = arguments[0];
             axe.run(document).then(r => done(r.violations.map(v =>
                 v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
            vec![],
        )
        .await
        .expect("run axe-core");
    serde_json::from_value(found).expect("a list of violations")
}

/// Signs `email` in through the form and the emailed link (from the server's log).
async fn sign_in_in_chromium(c: &Client, server: &crate::people::Process, email: &str) {
    let base = &server.base;
    c.goto(&format!("{base}/login")).await.expect("open /login");
    let mark = server.log_len();
    type_into(c, "input#email", email).await;
    click(c, "form.stack button").await;
    // Polled: the click's navigation may still be under way.
    wait_for_text(c, "h1", "Check your email").await;
    let link = server.sign_in_link(email, mark).await;
    c.goto(&link).await.expect("open the link");
    click(c, "form.stack button").await;
    wait_for_text(c, "nav.account", "Library").await;
}

/// A reader's library in Chromium: save in place, make a collection from a paper's page, add a
/// note, export BibTeX, follow an author; no axe-core violation on any of those pages.
async fn library_journey(c: Client, server: &crate::people::Process, axe: String) {
    let base = server.base.clone();
    let api = crate::people::Visitor::new(&base);
    let items = api.get("/api/daily_papers?limit=1").await.json();
    let pid = items[0]["paper"]["id"].as_str().unwrap().to_owned();
    let author = items[0]["paper"]["authors"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    sign_in_in_chromium(&c, server, "librarian@example.org").await;
    let mut checked = Vec::new();

    // Save in place: the button says so, the page does not reload.
    c.goto(&format!("{base}/papers/{pid}"))
        .await
        .expect("paper page");
    c.execute("window.__same_page = true;", vec![])
        .await
        .expect("mark");
    click(&c, ".paper-vote form.save button").await;
    wait_for_text(&c, ".paper-vote form.save button", "Saved").await;
    let same = c
        .execute("return window.__same_page === true;", vec![])
        .await
        .expect("script");
    assert_eq!(same, json!(true), "saving did not reload the page");
    checked.push(("paper", axe_violations(&c, &axe).await));

    // A new collection with this paper, from the paper's page.
    click(&c, "details.add-to-collection summary").await;
    type_into(&c, "input#add-new", "Weekend reading").await;
    click(&c, "details.add-to-collection form.inline button").await;
    wait_for_text(&c, "h1", "Weekend reading").await;
    let collection = c.current_url().await.expect("url").to_string();
    assert!(
        body_text(&c).await.contains("1 papers"),
        "the paper is in it"
    );
    // A note on it.
    let note = element(&c, "li.note input[name=note]").await;
    note.send_keys("Start with section 3")
        .await
        .expect("type the note");
    click(&c, "li.note form.inline button").await;
    wait_for_text(&c, "p.note", "Start with section 3").await;
    checked.push(("collection", axe_violations(&c, &axe).await));
    // Its BibTeX, as the browser fetches the link.
    let bib = c
        .execute_async(
            "const done = arguments[0];
             fetch(document.querySelector('a[href$=\".bib\"]').href).then(r => r.text()).then(done);",
            vec![],
        )
        .await
        .expect("fetch BibTeX");
    let bib = bib.as_str().unwrap_or_default().to_owned();
    assert!(bib.contains(&format!("eprint = {{{pid}}}")), "{bib}");
    assert!(collection.contains("/collections/"));

    // The library shows the paper and the collection.
    c.goto(&format!("{base}/library")).await.expect("library");
    let text = body_text(&c).await;
    assert!(
        text.contains("Weekend reading") && text.contains("1 saved papers"),
        "{text}"
    );
    checked.push(("library", axe_violations(&c, &axe).await));

    // Follow the first author from their page.
    c.goto(&format!("{base}/papers/{pid}"))
        .await
        .expect("paper page");
    click(&c, "p.authors a").await;
    wait_for_text(&c, "h1", &author).await;
    click(&c, "form.follow button").await;
    wait_for_text(&c, "form.follow button", "Following").await;
    checked.push(("author", axe_violations(&c, &axe).await));
    c.goto(&format!("{base}/following"))
        .await
        .expect("following");
    assert!(body_text(&c).await.contains(&author));
    checked.push(("following", axe_violations(&c, &axe).await));
    c.goto(&format!("{base}/list")).await.expect("categories");
    click(&c, "ul.categories a").await;
    checked.push(("category list", axe_violations(&c, &axe).await));
    screenshot(&c, "list-desktop.png").await;

    let failing: Vec<_> = checked.iter().filter(|(_, v)| !v.is_empty()).collect();
    assert!(failing.is_empty(), "axe-core violations: {failing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_keeps_a_library_in_chromium() {
    if let Err(why) = tools() {
        return skip(&why);
    }
    let axe = match axe_source() {
        Ok(a) => a,
        Err(why) => return skip(&why),
    };
    let server = std::sync::Arc::new(crate::people::Process::start(&[]).await);
    let s = server.clone();
    in_chromium(move |c| async move { library_journey(c, &s, axe).await }).await;
    if let Ok(server) = std::sync::Arc::try_unwrap(server) {
        server.stop().await;
    }
}

/// For you in Chromium: a new reader follows cs.CL, saves three papers, opens `/for-you` and
/// sees the saved papers' neighbour first with a reason line linking them, marks the top paper
/// "not interested" in place (it folds away, with an undo) and never sees it again; no axe-core
/// violation on `/for-you` or `/account`.
async fn foryou_journey(c: Client, server: &crate::people::Process, axe: String) {
    let base = server.base.clone();
    let api = crate::people::Visitor::new(&base);
    let (_, _, x_id, _, saved) = crate::foryou::a_paper_and_its_neighbours(&api).await;
    sign_in_in_chromium(&c, server, "taste@example.org").await;
    assert!(
        c.current_url().await.expect("url").path() == "/for-you",
        "signing in lands on /for-you"
    );
    c.goto(&format!("{base}/list/cs.CL")).await.expect("cs.CL");
    click(&c, "form.follow button").await;
    wait_for_text(&c, "form.follow button", "Following").await;
    for id in &saved {
        c.goto(&format!("{base}/papers/{id}")).await.expect("paper");
        click(&c, ".paper-vote form.save button").await;
        wait_for_text(&c, ".paper-vote form.save button", "Saved").await;
    }
    c.goto(&format!("{base}/for-you")).await.expect("/for-you");
    assert!(text_of(&c, "main p.muted").await.contains("cs.CL"));
    let first = element(&c, "ol.entries li.entry").await;
    let why = first
        .find(Locator::Css("p.why"))
        .await
        .expect("a reason line")
        .html(true)
        .await
        .expect("its markup");
    assert!(why.contains("Close to"), "{why}");
    assert!(
        saved
            .iter()
            .any(|id| why.contains(&format!("/papers/{id}\""))),
        "the reason links a saved paper: {why}"
    );
    let top10 = c
        .execute(
            "return [...document.querySelectorAll('ol.entries li.entry h2 a')].slice(0, 10).map(a => a.getAttribute('href'));",
            vec![],
        )
        .await
        .expect("script");
    assert!(
        top10.to_string().contains(&format!("/papers/{x_id}\"")),
        "{x_id} is among the first ten: {top10}"
    );
    let checked_foryou = axe_violations(&c, &axe).await;
    screenshot(&c, "for-you-desktop.png").await;

    // Not interested, in place: the entry folds, an undo appears, the page does not reload.
    let top = first
        .find(Locator::Css("h2 a"))
        .await
        .expect("title")
        .attr("href")
        .await
        .expect("href")
        .expect("an href");
    c.execute("window.__same_page = true;", vec![])
        .await
        .expect("mark");
    click(&c, "ol.entries li.entry .marks form.mark button").await;
    wait_for_text(&c, "ol.entries li.entry .marks", "Undo").await;
    let folded = c
        .execute(
            "return window.__same_page === true && document.querySelector('ol.entries li.entry').classList.contains('dismissed');",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(folded, json!(true), "the entry folded in place");
    c.goto(&format!("{base}/for-you"))
        .await
        .expect("/for-you again");
    let listed = c
        .execute(
            "return [...document.querySelectorAll('ol.entries li.entry h2 a')].map(a => a.getAttribute('href'));",
            vec![],
        )
        .await
        .expect("script");
    assert!(
        !listed.to_string().contains(&format!("\"{top}\"")),
        "{top} is never shown again"
    );
    c.goto(&format!("{base}/account")).await.expect("/account");
    assert!(body_text(&c).await.contains("Papers you liked (3)"));
    let checked_account = axe_violations(&c, &axe).await;
    assert!(
        checked_foryou.is_empty() && checked_account.is_empty(),
        "axe-core violations: /for-you {checked_foryou:?}, /account {checked_account:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_gets_papers_ranked_for_them_in_chromium_on_both_backends() {
    if let Err(why) = tools() {
        return skip(&why);
    }
    let axe = match axe_source() {
        Ok(a) => a,
        Err(why) => return skip(&why),
    };
    let postgres = paperboy_store::postgres::TestDatabase::create();
    let mut backends = vec![Vec::new()];
    if let Some(db) = &postgres {
        backends.push(vec![("PAPERBOY_DATABASE_URL", db.url().to_owned())]);
    }
    for env in backends {
        let server = std::sync::Arc::new(crate::people::Process::start(&env).await);
        let (s, axe) = (server.clone(), axe.clone());
        in_chromium(move |c| async move { foryou_journey(c, &s, axe).await }).await;
        if let Ok(server) = std::sync::Arc::try_unwrap(server) {
            server.stop().await;
        }
    }
}

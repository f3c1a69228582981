//! Every address the site answers, in one table. A POST route is added with a handler whose
//! body is a [`CsrfForm`](crate::csrf::CsrfForm) or, named here with the reason, without one;
//! the table keeps the list, and a test posts to each without a token.

use axum::handler::Handler;
use axum::http::header;
use axum::middleware;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::csrf::EndsInCsrfForm;
use crate::error::{ApiError, Code};
use crate::face::{is_api, json_when_asked};
use crate::handlers::{
    account, admin, api, authors, collections, comments, feeds, foryou, library, listings, lists,
    operator, papers, session, submissions, subscriptions,
};
use crate::state::AppState;

const APP_JS: &str = include_str!("app.js");

/// The proof of the API's writes: a personal token, and no cookie read.
const BY_TOKEN: Proof =
    Proof::Other("a personal API token in the Authorization header; no cookie is read");

/// How a POST route proves its request came from this site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The visitor's CSRF token, checked by the handler's `CsrfForm`.
    CsrfToken,
    /// Something else, said here (a signed link).
    Other(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostRoute {
    pub path: &'static str,
    pub proof: Proof,
}

/// The routes, and the POST routes among them.
pub struct Routes {
    router: Router<AppState>,
    posts: Vec<PostRoute>,
}

impl Routes {
    fn new() -> Routes {
        Routes {
            router: Router::new(),
            posts: Vec::new(),
        }
    }

    fn get<H, T>(mut self, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, get(handler));
        self
    }

    fn add_post(
        mut self,
        path: &'static str,
        proof: Proof,
        route: MethodRouter<AppState>,
    ) -> Routes {
        self.router = self.router.route(path, route);
        self.posts.push(PostRoute { path, proof });
        self
    }

    /// A form's route: `handler` takes its body as a `CsrfForm`.
    fn post<H, T>(self, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: EndsInCsrfForm + 'static,
    {
        self.add_post(path, Proof::CsrfToken, post(handler))
    }

    /// [`Routes::post`] for a route that answers a script in JSON, errors included.
    fn post_or_json<H, T>(self, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: EndsInCsrfForm + 'static,
    {
        let route = post(handler).route_layer(middleware::from_fn(json_when_asked));
        self.add_post(path, Proof::CsrfToken, route)
    }

    /// A route without POST (the API's PUT, PATCH and DELETE read a token, no cookie).
    fn route(mut self, path: &'static str, route: MethodRouter<AppState>) -> Routes {
        self.router = self.router.route(path, route);
        self
    }

    /// A POST whose request carries another proof than the CSRF token, `why`.
    fn post_without_csrf<H, T>(self, path: &'static str, handler: H, why: &'static str) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add_post(path, Proof::Other(why), post(handler))
    }

    pub fn posts(&self) -> &[PostRoute] {
        &self.posts
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

pub fn table() -> Routes {
    Routes::new()
        // Papers and their lists.
        .get("/", listings::front)
        .get("/papers", listings::front)
        .get("/papers/date/{day}", listings::period)
        .get("/papers/week/{week}", listings::period)
        .get("/papers/month/{month}", listings::period)
        .get("/papers/trending", listings::trending)
        .get("/papers/{*id}", papers::page)
        .post_or_json("/papers/{*id}", papers::act)
        .get("/list", lists::index)
        .get("/list/{category}", lists::latest)
        .get("/list/{category}/{day}", lists::on_day)
        .get("/for-you", foryou::page)
        .get("/search", listings::search)
        .get("/search.bib", listings::search_bibtex)
        .get("/about/ranking", listings::ranking)
        // Signing in and out, and the account.
        .get("/login", session::login_form)
        .post("/login", session::login_send)
        .get("/login/verify", session::verify_form)
        .post("/login/verify", session::verify)
        .post("/logout", session::logout)
        .post("/logout/everywhere", session::logout_everywhere)
        .get("/account", account::page)
        .post("/account/tokens", library::create_token)
        .get("/account/export.json", account::export)
        .post("/account/delete", account::delete)
        .post("/account/for-you/reset", foryou::reset)
        .post("/account/for-you/feed", foryou::renew_feed)
        .post("/account/for-you/feed/stop", foryou::stop_feed)
        .post("/account/tokens/{id}/revoke", library::revoke_token)
        .get("/library", library::page)
        .get("/library.bib", library::export_bibtex)
        .get("/library.ris", library::export_ris)
        .post("/library/import", library::import_form)
        .post("/collections", collections::create_form)
        .get("/authors/{name}", authors::page)
        .post("/follows", authors::follow)
        .get("/following", authors::following)
        .get("/collections/{owner}/{key}", collections::page)
        .post("/collections/{owner}/{key}/{action}", collections::act)
        .post("/account", account::save_profile)
        .post("/account/digest", subscriptions::account_digest)
        .post("/account/digest/stop", subscriptions::account_digest_stop)
        // What readers add, and moderation.
        .get("/submit", submissions::form)
        .post("/submit", submissions::submit)
        .get("/comments/{id}/edit", comments::edit_form)
        .post("/comments/{id}/edit", comments::edit)
        .post("/comments/{id}/{action}", comments::act)
        .get("/admin", admin::page)
        .post("/admin/{action}", admin::account)
        // Digests by email.
        .get("/subscribe", subscriptions::subscribe_form)
        .post("/subscribe", subscriptions::subscribe)
        .get("/subscription", subscriptions::manage_form)
        .post("/subscription", subscriptions::manage)
        .get("/subscription/confirm", subscriptions::confirm_form)
        .post("/subscription/confirm", subscriptions::confirm)
        .get("/subscription/unsubscribe", subscriptions::manage_form)
        .post_without_csrf(
            "/subscription/unsubscribe",
            subscriptions::unsubscribe,
            "RFC 8058 one-click unsubscribe: mail clients post no token; the signed link is the proof",
        )
        // Feeds and the API.
        .get("/feeds/{*path}", feeds::feed)
        .get("/api/daily_papers", api::daily_papers)
        .get("/api/papers", api::papers)
        .get("/api/papers/search", api::search)
        .get("/api/papers/{*id}", api::paper)
        .get("/api/trending", api::trending)
        .get("/api/list", lists::api)
        .get("/api/library", library::api_list)
        .get("/api/for-you", foryou::api)
        .get("/api/whoami-v2", collections::whoami)
        .add_post(
            "/api/collections",
            BY_TOKEN,
            get(collections::list).post(collections::create),
        )
        .route(
            "/api/collections/{owner}/{name}",
            get(collections::get)
                .patch(collections::change)
                .delete(collections::change),
        )
        .add_post(
            "/api/collections/{owner}/{name}/items",
            BY_TOKEN,
            post(collections::change),
        )
        .route(
            "/api/collections/{owner}/{name}/items/{item}",
            axum::routing::patch(collections::change).delete(collections::change),
        )
        .add_post(
            "/api/library/import",
            BY_TOKEN,
            post(library::api_import).layer(axum::extract::DefaultBodyLimit::max(library::MAX_IMPORT_BYTES + 1)),
        )
        .route(
            "/api/library/{*id}",
            axum::routing::put(library::api_save).delete(library::api_save),
        )
        .get("/api/status", api::status)
        .get("/openapi.json", crate::openapi::document)
        // The page's one script, and what operators ask.
        .get("/static/app.js", || async {
            (
                [
                    (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                APP_JS,
            )
        })
        .get("/status", operator::status)
        .get("/healthz", || async { "ok\n" })
        .get("/readyz", operator::readyz)
        .get("/metrics", operator::metrics)
}

/// Any address no route takes.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    if is_api(uri.path()) {
        ApiError::not_found(format!("There is no API endpoint at {}.", uri.path()))
    } else {
        ApiError::not_found("There is no page at this address.")
    }
}

/// A method a route does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        Code::METHOD_NOT_ALLOWED,
        "This address does not take that method.",
    )
}

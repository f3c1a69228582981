//! Who is asking: the signed-in account behind the session cookie ([`Viewer`]), whether they may
//! act ([`SignedIn`], [`Admin`]: a handler that takes one cannot forget to check), and the
//! client's address ([`ClientIp`]); for the API, the account behind a personal token
//! (`Authorization: Bearer`, [`TokenAccount`], [`TokenWriter`]: no cookie, so no CSRF check).
//!
//! Administrators are the first account, accounts whose email is in `admins`, and the accounts
//! that held a username in `admins` when the server started ([`resolve_admins`]): a name a
//! reader can take later makes nobody an administrator.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use paperboy_store::{Account, Scope};

use crate::client_ip::{client_address, rate_key, ClientIp};
use crate::csrf::CsrfToken;
use crate::error::{ApiError, Code};
use crate::session::{cookie, token_hash, SESSION_COOKIE};
use crate::state::AppState;

/// The signed-in account, if any, and the CSRF token forms must carry.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub account: Option<Account>,
    pub csrf: String,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.account
            .as_ref()
            .is_some_and(|a| a.is_admin && !a.blocked)
    }

    /// The account, or a 401 that tells how to sign in.
    fn require(&self) -> Result<&Account, ApiError> {
        match &self.account {
            Some(a) if !a.blocked => Ok(a),
            Some(_) => Err(ApiError::new(Code::BLOCKED, "This account is blocked.")),
            None => Err(ApiError::new(
                Code::SIGN_IN_REQUIRED,
                "Sign in first: /login",
            )),
        }
    }
}

/// Looked up once per request, however many extractors ask.
impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(known) = parts.extensions.get::<Viewer>() {
            return Ok(known.clone());
        }
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let mut account = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) if !token.is_empty() => {
                let not_before = chrono::Utc::now() - state.settings.session_lifetime();
                state.store.session(&token_hash(token), not_before).await?
            }
            _ => None,
        };
        if let Some(a) = &mut account {
            a.is_admin |= state.settings.admin_accounts.contains(&a.id);
        }
        let viewer = Viewer { account, csrf };
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

/// A signed-in account that is not blocked; anyone else is refused (401 with how to sign in,
/// 403 when blocked).
#[derive(Debug, Clone)]
pub struct SignedIn(pub Account);

impl SignedIn {
    /// The account, when it is an administrator's (for routes where some actions are theirs).
    pub fn admin(&self) -> Result<&Account, ApiError> {
        if self.0.is_admin {
            Ok(&self.0)
        } else {
            Err(ApiError::new(
                Code::FORBIDDEN,
                "Only administrators may do this.",
            ))
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        viewer.require().cloned().map(SignedIn)
    }
}

/// The account whose personal API token the request carries (`Authorization: Bearer TOKEN`),
/// and the token's scope; a request without a valid token is refused with a 401.
#[derive(Debug, Clone)]
pub struct TokenAccount(pub Account, pub Scope);

impl FromRequestParts<AppState> for TokenAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |m: &str| ApiError::new(Code::SIGN_IN_REQUIRED, m);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                unauthorized("Send a personal API token: Authorization: Bearer TOKEN (make one on /account).")
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or_else(|| unauthorized("The Authorization header must be: Bearer TOKEN."))?;
        let now = chrono::Utc::now();
        let (mut account, scope) = state
            .store
            .token_account(&token_hash(token), now)
            .await?
            .ok_or_else(|| {
                unauthorized(
                    "This token is not valid: revoked, mistyped, or its account is blocked.",
                )
            })?;
        account.is_admin |= state.settings.admin_accounts.contains(&account.id);
        Ok(TokenAccount(account, scope))
    }
}

/// [`TokenAccount`] with a token that may write; a read-only token is refused with a 403.
#[derive(Debug, Clone)]
pub struct TokenWriter(pub Account);

impl FromRequestParts<AppState> for TokenWriter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match TokenAccount::from_request_parts(parts, state).await? {
            TokenAccount(account, Scope::Write) => Ok(TokenWriter(account)),
            TokenAccount(_, Scope::Read) => Err(ApiError::new(
                Code::FORBIDDEN,
                "This token may only read: make one with write scope on /account.",
            )),
        }
    }
}

/// A signed-in administrator; anyone else is refused as [`SignedIn`] refuses, or with a 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Account);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        signed_in.admin()?;
        Ok(Admin(signed_in.0))
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientIp("unknown".into(), None));
        };
        let ip = client_address(peer.ip(), &parts.headers, &state.settings.trusted_proxies);
        Ok(ClientIp(rate_key(ip), Some(ip)))
    }
}

/// The accounts that hold the usernames listed in `admins` (entries without `@`) now, at start:
/// only they are administrators by name. Each is logged; a name that matches nobody is a
/// warning (the operator may have mistyped it), never an error.
pub async fn resolve_admins(
    store: &dyn paperboy_store::Store,
    admins: &[String],
) -> Result<Vec<paperboy_store::AccountId>, paperboy_store::StoreError> {
    let mut ids = Vec::new();
    for name in admins.iter().map(|a| a.trim()).filter(|a| !a.contains('@')) {
        match store.account_by_username(name).await? {
            Some(a) => {
                tracing::info!(
                    entry = name,
                    account = a.id.get(),
                    username = a.username,
                    email = a.email,
                    "administrator by username (the account holding it now, at start)"
                );
                ids.push(a.id);
            }
            None => tracing::warn!(
                entry = name,
                "admins names a username no account holds: it makes nobody an administrator \
                 (an account that takes the name later is not one either; list emails to be sure)"
            ),
        }
    }
    Ok(ids)
}

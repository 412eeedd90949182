//! The HTTP routes: ThreatConnect v3 user administration plus the rollcall
//! extensions. Every rule is decided by `domain::policy`; this module only
//! maps its refusals to HTTP (401 permission, 400 bad input, 404 unknown).

use super::auth::{self, Caller};
use super::db::{self, PageExtras, UserRow, View};
use super::error::ApiErr;
use super::page;
use super::tql::{self, Visibility};
use super::Shared;
use crate::api::client::MAX_PAGE_SIZE;
use crate::api::wire::{self, *};
use crate::domain::form;
use crate::domain::policy::{
    self, check_org_role, forced_org_role, may, may_assign_system_role, may_create, Action, Actor,
    Target,
};
use crate::domain::roles::{AccountType, CommunityRole, OrgRole, SystemRole};
use crate::domain::run_as::{self, Inheritance, Party};
use crate::domain::Field;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use chrono::Utc;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection};
use serde_json::{json, Map, Value};
use std::sync::Arc;

type ApiResult = Result<Response, ApiErr>;

fn ok_json(value: Value) -> ApiResult {
    Ok(Json(value).into_response())
}

fn one<T: serde::Serialize>(data: T, message: Option<&str>) -> ApiResult {
    let env = OneEnvelope {
        data: Some(data),
        message: message.map(str::to_string),
        status: SUCCESS.into(),
    };
    Ok(Json(env).into_response())
}

/// A whole small listing (groups, owners, roles). `count` only when asked
/// for with `count=true` on the first page, as the docs' "Return Count" says.
fn list<T: serde::Serialize>(data: Vec<T>, raw: &Option<String>) -> ApiResult {
    let pairs = query_pairs(raw);
    let count = wants_count(&pairs)?.then_some(data.len() as u64);
    let env = ListEnvelope {
        data,
        count,
        next: None,
        prev: None,
        status: SUCCESS.into(),
        skipped: 0,
    };
    Ok(Json(env).into_response())
}

/// A discovery answer: all of it, with its count (the docs' TQL options
/// example carries `count`).
fn list_counted<T: serde::Serialize>(data: Vec<T>) -> ApiResult {
    let count = Some(data.len() as u64);
    let env = ListEnvelope {
        data,
        count,
        next: None,
        prev: None,
        status: SUCCESS.into(),
        skipped: 0,
    };
    Ok(Json(env).into_response())
}

// ---------------------------------------------------------------- router

pub fn router(shared: Arc<Shared>) -> Router {
    let ext = |p: &str| format!("/api{EXT_PREFIX}{p}");
    let mut router = Router::new()
        .route(
            &format!("/api{USERS_PATH}"),
            get(list_users).post(create_user).options(options_users),
        )
        .route(
            &format!("/api{USERS_PATH}/fields"),
            axum::routing::options(options_fields),
        )
        .route(
            &format!("/api{USERS_PATH}/tql"),
            axum::routing::options(options_tql),
        )
        .route(
            &format!("/api{USERS_PATH}/{{id}}"),
            get(get_user).put(update_user).delete(delete_user),
        )
        .route(&format!("/api{USER_GROUPS_PATH}"), get(list_groups))
        .route(
            &format!("/api{USER_GROUPS_PATH}/fields"),
            axum::routing::options(options_group_fields),
        )
        .route(&format!("/api{USER_GROUPS_PATH}/{{id}}"), get(get_group))
        .route(&format!("/api{OWNERS_PATH}"), get(owners))
        .route(&format!("/api{SYSTEM_ROLES_PATH}"), get(system_roles))
        .route(&format!("/api{OWNER_ROLES_PATH}"), get(owner_roles))
        .route(&format!("/api{WHOAMI_PATH}"), get(whoami));
    // A plain instance has no extension paths: they fall to the 404 below.
    if shared.extensions() {
        router = router
            .route(&ext("/instance"), get(ext_instance))
            .route(&ext("/limits"), get(ext_limits))
            .route(&ext("/users/{id}/groups"), put(ext_set_groups))
            .route(
                &ext("/users/{id}/runAs"),
                get(ext_run_as).put(ext_move_run_as),
            )
            .route(&ext("/users/{id}/token"), post(ext_token));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            auth::authenticate,
        ))
        .with_state(shared)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiErr {
    ApiErr::not_found(format!("no such endpoint: {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiErr {
    ApiErr::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not supported on {}", uri.path()),
    )
}

type St = State<Arc<Shared>>;
type Who = Extension<Caller>;

// ---------------------------------------------------------------- query helpers

fn query_pairs(raw: &Option<String>) -> Vec<(String, String)> {
    raw.as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn int_param(pairs: &[(String, String)], key: &str) -> Result<Option<i64>, ApiErr> {
    match first(pairs, key) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiErr::bad(format!("{key} must be an integer, not {v:?}"))),
    }
}

/// The user fields a caller may name in `fields=` (wire names), plus extensions.
const USER_FIELDS: &[&str] = &[
    "id",
    "userName",
    "firstName",
    "lastName",
    "pseudonym",
    "owner",
    "systemRole",
    "ownerRoles",
    "disabled",
    "locked",
    "passwordResetRequired",
    "twoFactorResetRequired",
    "termsAccepted",
    "termsAcceptedDate",
    "logoutIntervalMinutes",
    "customTqlTimeout",
    "tqlTimeout",
    "uiTheme",
    "jobFunction",
    "jobRole",
    "lastLogin",
    "lastPasswordChange",
];

/// The names `OPTIONS /v3/security/users/fields` lists here: the
/// documented fields (without `lastLogin` when it is omitted), plus the
/// extension fields when extensions are served.
fn listed_user_fields(s: &Shared) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = USER_FIELDS
        .iter()
        .copied()
        .filter(|f| !(s.omit_last_login && *f == "lastLogin"))
        .collect();
    if s.extensions() {
        names.extend([ext::USER_GROUPS_FIELD, ext::MFA_FIELD]);
        names.extend(ext::SETTINGS_FIELDS.iter().copied());
    }
    names
}

/// `fields=a&fields=b`: each value one name that `OPTIONS .../fields` lists
/// (the docs' "Include Additional Fields"); a comma list is one unknown name.
fn requested_fields(s: &Shared, pairs: &[(String, String)]) -> Result<Vec<String>, ApiErr> {
    let listed = listed_user_fields(s);
    let mut out = Vec::new();
    for (k, v) in pairs {
        if k != "fields" {
            continue;
        }
        let name = v.trim();
        if !listed.contains(&name) {
            return Err(ApiErr::bad(format!(
                "Invalid field '{name}'; see OPTIONS {USERS_PATH}/fields"
            )));
        }
        out.push(name.to_string());
    }
    Ok(out)
}

/// `count=true` counts only on the first page: "count ... is omitted if the
/// resultStart query parameter is set to a value greater than 0" (docs).
fn wants_count(pairs: &[(String, String)]) -> Result<bool, ApiErr> {
    let start = int_param(pairs, "resultStart")?.unwrap_or(0);
    Ok(start == 0 && first(pairs, "count").is_some_and(|v| v.eq_ignore_ascii_case("true")))
}

/// The origin of absolute `next`/`prev` links: the scheme and Host the
/// request came to (as a server behind its own name builds them).
fn request_origin(s: &Shared, headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| s.addr.to_string());
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| matches!(*p, "http" | "https"))
        .unwrap_or(s.scheme);
    format!("{scheme}://{host}")
}

fn keyword_allowed(actor: &Actor, k: &tql::Keyword) -> Result<(), ApiErr> {
    let ok = match k.visibility {
        Visibility::Basic => true,
        Visibility::Detail => actor.sees_home_org(),
        Visibility::SystemRole => actor.sees_system_roles(),
    };
    if ok {
        Ok(())
    } else {
        Err(ApiErr::bad(format!(
            "{} is not available to this account (it cannot see that field)",
            k.keyword
        )))
    }
}

fn order_by(actor: &Actor, extensions: bool, sorting: Option<&str>) -> Result<String, ApiErr> {
    let Some(sorting) = sorting.filter(|s| !s.trim().is_empty()) else {
        return Ok("u.id ASC".into());
    };
    let mut parts = Vec::new();
    for term in sorting.split(',') {
        let mut words = term.split_whitespace();
        let field = words.next().unwrap_or_default();
        let dir = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => "ASC",
            Some("desc") => "DESC",
            Some(other) => {
                return Err(ApiErr::bad(format!(
                    "sorting direction must be asc or desc, not '{other}'"
                )))
            }
        };
        if words.next().is_some() {
            return Err(ApiErr::bad(format!("cannot parse sorting '{term}'")));
        }
        let k = tql::keyword(field, extensions)
            .filter(|k| k.keyword != "groupId")
            .ok_or_else(|| ApiErr::bad(format!("cannot sort by '{field}'")))?;
        keyword_allowed(actor, k)?;
        parts.push(format!("{} {dir}", k.sql_column()));
    }
    parts.push("u.id ASC".into());
    Ok(parts.join(", "))
}

/// `query` with `resultStart` set to `start`, every other pair kept
/// byte for byte as the client sent it.
fn with_start(raw: &str, start: i64) -> String {
    let mut parts: Vec<String> = raw
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("resultStart="))
        .map(str::to_string)
        .collect();
    parts.push(format!("resultStart={start}"));
    parts.join("&")
}

// ---------------------------------------------------------------- users

async fn list_users(
    State(s): St,
    Extension(Caller(me)): Who,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    users_page(s, me, headers, raw, Paging::Keyset).await
}

/// How a users page is read: by the cursor where one is known, or (the
/// reference, kept for the test that compares the two) by `OFFSET` alone.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Paging {
    Keyset,
    #[cfg(test)]
    Reference,
}

/// Where each page of one listing begins, learnt from the pages served:
/// the sort key of the account before `resultStart`. A later page then
/// starts from the nearest known cursor instead of skipping every
/// account before it (`OFFSET`). Valid while the database is unchanged
/// (`total_changes`), so an answer is the same as `OFFSET` would give.
#[derive(Default)]
pub(crate) struct Cursors {
    by_listing: std::sync::Mutex<std::collections::HashMap<String, ListingCursors>>,
}

struct ListingCursors {
    changes: u64,
    /// `resultStart` -> the sort key of the account just before it.
    at: std::collections::BTreeMap<i64, SqlValue>,
}

/// Listings kept; more are forgotten (a cache, not a record).
const MAX_CURSOR_LISTINGS: usize = 256;

impl Cursors {
    /// The nearest known cursor at or before `start`: (its start, key).
    fn nearest(&self, listing: &str, changes: u64, start: i64) -> Option<(i64, SqlValue)> {
        let map = self.by_listing.lock().ok()?;
        let known = map.get(listing).filter(|l| l.changes == changes)?;
        known
            .at
            .range(..=start)
            .next_back()
            .map(|(at, key)| (*at, key.clone()))
    }

    fn remember(&self, listing: &str, changes: u64, start: i64, key: SqlValue) {
        let Ok(mut map) = self.by_listing.lock() else {
            return;
        };
        if map.len() >= MAX_CURSOR_LISTINGS && !map.contains_key(listing) {
            map.clear();
        }
        let entry = map
            .entry(listing.to_string())
            .or_insert_with(|| ListingCursors {
                changes,
                at: Default::default(),
            });
        if entry.changes != changes {
            *entry = ListingCursors {
                changes,
                at: Default::default(),
            };
        }
        entry.at.insert(start, key);
    }
}

/// The unique sort column of orders a cursor can resume (every order ends
/// in `u.id ASC`; `user_name` is unique and never NULL).
fn keyset_column(order: &str) -> Option<&'static str> {
    match order {
        "u.id ASC" => Some("u.id"),
        "u.user_name ASC, u.id ASC" => Some("u.user_name"),
        _ => None,
    }
}

async fn users_page(
    s: Arc<Shared>,
    me: UserRow,
    headers: HeaderMap,
    raw: Option<String>,
    paging: Paging,
) -> ApiResult {
    let pairs = query_pairs(&raw);
    let actor = me.actor();
    let start = int_param(&pairs, "resultStart")?.unwrap_or(0);
    let limit = int_param(&pairs, "resultLimit")?.unwrap_or(100);
    if start < 0 {
        return Err(ApiErr::bad("resultStart must not be negative"));
    }
    if !(1..=i64::from(MAX_PAGE_SIZE)).contains(&limit) {
        return Err(ApiErr::bad(format!(
            "resultLimit must be between 1 and {MAX_PAGE_SIZE}, not {limit}"
        )));
    }
    let want_count = wants_count(&pairs)?;
    let fields = requested_fields(&s, &pairs)?;
    let order = order_by(&actor, s.extensions(), first(&pairs, "sorting"))?;
    let mut where_sql = Vec::new();
    let mut params: Vec<SqlValue> = Vec::new();
    if let Some(owner) = first(&pairs, "owner") {
        if !actor.may_list_org(owner) {
            return Err(ApiErr::forbidden("owner not accessible"));
        }
        where_sql.push("o.name = ?".to_string());
        params.push(SqlValue::Text(owner.to_string()));
    }
    if actor.sees_all_orgs() {
        // every Organization
    } else if actor.sees_home_org() {
        where_sql.push("u.org_id = ?".into());
        params.push(SqlValue::Integer(me.org_id));
    } else {
        where_sql.push("u.id = ?".into());
        params.push(SqlValue::Integer(me.id));
    }
    if let Some(text) = first(&pairs, "tql").filter(|t| !t.trim().is_empty()) {
        let compiled = tql::compile(text, s.extensions())
            .map_err(|e| ApiErr::bad(format!("Invalid TQL: {e}")))?;
        for k in &compiled.keywords {
            keyword_allowed(&actor, k)?;
            if s.refuse_tql_keywords.iter().any(|r| r == k.keyword) {
                return Err(ApiErr::bad(format!(
                    "Invalid TQL: the keyword '{}' cannot be used here",
                    k.keyword
                )));
            }
        }
        where_sql.push(format!("({})", compiled.sql));
        params.extend(compiled.params);
    }
    let view = view_for(&s, &actor, &fields);
    let shared = Arc::clone(&s);
    let origin = request_origin(&s, &headers);
    let raw = raw.unwrap_or_default();
    let link = move |at: i64| format!("{origin}/api{USERS_PATH}?{}", with_start(&raw, at));
    match paging {
        Paging::Keyset => {
            // A page of a few rows (a count, a lookup by name) holds the
            // database no longer than other requests do.
            let turn = match limit > SMALL_PAGE {
                true => Some(
                    s.page_reads
                        .acquire()
                        .await
                        .map_err(|_| ApiErr::internal("page reads closed"))?,
                ),
                false => None,
            };
            let (page, count) = s
                .db(move |conn| {
                    keyset_page(
                        conn,
                        &shared.cursors,
                        &where_sql,
                        &params,
                        &order,
                        start,
                        limit,
                        want_count,
                        view,
                    )
                })
                .await?;
            drop(turn);
            let next = page.more.then(|| link(start.saturating_add(limit)));
            let prev = (start > 0).then(|| link((start - limit).max(0)));
            // Written as JSON off the database's lock (and off the async
            // threads): pages asked for together are written in parallel.
            let body = tokio::task::spawn_blocking(move || {
                // A page of 10,000 is about 7 MB of JSON.
                let mut body = Vec::with_capacity(page.written * 720 + 512);
                body.extend_from_slice(page::ENVELOPE_START);
                page.write(view, &mut body).map_err(ApiErr::db)?;
                page::end_envelope(&mut body, count, next.as_deref(), prev.as_deref(), SUCCESS);
                Ok::<_, ApiErr>(body)
            })
            .await
            .map_err(|e| ApiErr::internal(format!("page task failed: {e}")))??;
            Ok((
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response())
        }
        #[cfg(test)]
        Paging::Reference => {
            let (users, more, count) = s
                .db(move |conn| {
                    reference_page(
                        conn, &where_sql, &params, &order, start, limit, want_count, view,
                    )
                })
                .await?;
            let env = ListEnvelope {
                data: users,
                count: count.map(|c| c as u64),
                next: more.then(|| link(start.saturating_add(limit))),
                prev: (start > 0).then(|| link((start - limit).max(0))),
                status: SUCCESS.into(),
                skipped: 0,
            };
            Ok(Json(env).into_response())
        }
    }
}

#[cfg(test)]
type UsersPage = (Vec<crate::domain::User>, bool, Option<i64>);

fn where_clause(where_sql: &[String]) -> String {
    if where_sql.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", where_sql.join(" AND "))
    }
}

fn listing_count(
    conn: &Connection,
    where_sql: &[String],
    params: &[SqlValue],
) -> Result<i64, ApiErr> {
    let clauses: Vec<&str> = where_sql.iter().map(String::as_str).collect();
    let from = page::users_from(&clauses);
    let sql = format!("SELECT count(*) FROM {from} {}", where_clause(where_sql));
    let mut stmt = conn.prepare_cached(&sql).map_err(ApiErr::db)?;
    stmt.query_row(params_from_iter(params.iter()), |r| r.get::<_, i64>(0))
        .map_err(ApiErr::db)
}

/// Pages of at most this many rows do not queue with listings' pages
/// (`Shared::page_reads`).
const SMALL_PAGE: i64 = 100;

/// A page read from the nearest cursor (skipping only the accounts between
/// it and `start`), the cursor of the next page remembered, and the rows
/// copied out for writing after the lock (`page::read_users`).
#[allow(clippy::too_many_arguments)]
fn keyset_page(
    conn: &mut Connection,
    cursors: &Cursors,
    where_sql: &[String],
    params: &[SqlValue],
    order: &str,
    start: i64,
    limit: i64,
    want_count: bool,
    view: View,
) -> Result<(page::PageData, Option<i64>), ApiErr> {
    let column = keyset_column(order);
    let changes = conn.total_changes();
    let listing = format!("{}|{params:?}|{order}", where_sql.join(" AND "));
    let resume = column.and_then(|_| cursors.nearest(&listing, changes, start));
    let mut conditions = where_sql.to_vec();
    let mut page_params = params.to_vec();
    let skip = match (&resume, column) {
        (Some((at, key)), Some(column)) => {
            conditions.push(format!("{column} > ?"));
            page_params.push(key.clone());
            start - at
        }
        _ => start,
    };
    let page = page::read_users(
        conn,
        &where_clause(&conditions),
        &page_params,
        order,
        limit,
        skip,
        view,
    )
    .map_err(ApiErr::db)?;
    if let (Some(column), Some((id, user_name))) = (column, page.last.clone()) {
        let key = match column {
            "u.id" => SqlValue::Integer(id),
            _ => SqlValue::Text(user_name),
        };
        cursors.remember(&listing, changes, start + page.written as i64, key);
    }
    let count = if want_count {
        Some(listing_count(conn, where_sql, params)?)
    } else {
        None
    };
    Ok((page, count))
}

/// The page as it was read before cursors: `OFFSET` and copies. The test
/// that proves the answers unchanged compares against it.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
fn reference_page(
    conn: &mut Connection,
    where_sql: &[String],
    params: &[SqlValue],
    order: &str,
    start: i64,
    limit: i64,
    want_count: bool,
    view: View,
) -> Result<UsersPage, ApiErr> {
    let where_clause = where_clause(where_sql);
    let sql = format!(
        "SELECT {} FROM {} {where_clause} ORDER BY {order} LIMIT ? OFFSET ?",
        db::USER_COLS,
        db::USER_FROM
    );
    let mut page_params = params.to_vec();
    page_params.push(SqlValue::Integer(limit + 1));
    page_params.push(SqlValue::Integer(start));
    let mut stmt = conn.prepare_cached(&sql).map_err(ApiErr::db)?;
    let mut rows: Vec<UserRow> = stmt
        .query_map(params_from_iter(page_params.iter()), UserRow::from_row)
        .map_err(ApiErr::db)?
        .collect::<Result<_, _>>()
        .map_err(ApiErr::db)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let count = if want_count {
        let sql = format!("SELECT count(*) FROM {} {where_clause}", db::USER_FROM);
        Some(
            conn.query_row(&sql, params_from_iter(params.iter()), |r| {
                r.get::<_, i64>(0)
            })
            .map_err(ApiErr::db)?,
        )
    } else {
        None
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let extras = PageExtras::fetch(conn, &ids, view).map_err(ApiErr::db)?;
    let users: Vec<_> = rows.iter().map(|r| db::to_wire(r, &extras, view)).collect();
    Ok((users, more, count))
}

fn parse_id(text: &str) -> Result<i64, ApiErr> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ApiErr::bad(format!("user id must be an integer, not {text:?}")))
}

fn load_target(conn: &Connection, id: i64) -> Result<UserRow, ApiErr> {
    db::load_user(conn, id)
        .map_err(ApiErr::db)?
        .ok_or_else(|| ApiErr::not_found(format!("no user with id {id}")))
}

fn target_of(row: &UserRow) -> Target<'_> {
    Target {
        id: Some(row.id),
        user_name: &row.user_name,
        system_role: SystemRole::parse(&row.system_role),
        org: &row.org_name,
    }
}

/// What `actor` sees with `fields`, less what this sandbox leaves out.
fn view_for(s: &Shared, actor: &Actor, fields: &[String]) -> View {
    let mut view = View::for_actor(actor, fields);
    view.omit_last_login = s.omit_last_login;
    view
}

/// Rule 4: Custom TQL Timeout and Terms of Service Acceptance Required are
/// for Administrators and Operations Administrators only. Judged by the
/// same edit form the console and the CLI use, so the refusal has the same
/// words ("Custom TQL Timeout (ms) is not offered to ...").
fn check_reserved_fields(
    conn: &Connection,
    actor: &Actor,
    settings: &InstanceSettings,
    row: &UserRow,
    body: &Map<String, Value>,
) -> Result<(), ApiErr> {
    use crate::domain::form::AccountForm;
    const RESERVED: &[(&str, Field)] = &[
        ("customTqlTimeout", Field::CustomTqlTimeout),
        ("tqlTimeout", Field::CustomTqlTimeout),
        ("termsAccepted", Field::TermsRequired),
    ];
    let present: Vec<Field> = RESERVED
        .iter()
        .filter(|(key, _)| body.contains_key(*key))
        .map(|(_, field)| *field)
        .collect();
    if present.is_empty() {
        return Ok(());
    }
    let user = render(conn, row, View::for_actor(actor, &[]))?;
    let form = AccountForm::edit(actor, settings, &user);
    for field in present {
        form.check_settable(field).map_err(ApiErr::unauthorized)?;
    }
    Ok(())
}

fn render(conn: &Connection, row: &UserRow, view: View) -> Result<crate::domain::User, ApiErr> {
    let mut extras = PageExtras::fetch(conn, &[row.id], view).map_err(ApiErr::db)?;
    Ok(db::into_wire(row.clone(), &mut extras, view))
}

async fn get_user(
    State(s): St,
    Extension(Caller(me)): Who,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = parse_id(&id)?;
    let pairs = query_pairs(&raw);
    let fields = requested_fields(&s, &pairs)?;
    let settings = s.settings.clone();
    let shared = Arc::clone(&s);
    let user = s
        .db(move |conn| {
            let actor = me.actor();
            let row = load_target(conn, id)?;
            may(&actor, &settings, Action::View, &target_of(&row)).map_err(ApiErr::refused)?;
            render(conn, &row, view_for(&shared, &actor, &fields))
        })
        .await?;
    one(user, None)
}

/// Reads an optional typed field from a JSON body.
fn opt_bool(body: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiErr> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiErr::bad(format!("{key} must be true or false"))),
    }
}

fn opt_str<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiErr> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ApiErr::bad(format!("{key} must be a string"))),
    }
}

fn opt_int(body: &Map<String, Value>, key: &str) -> Result<Option<i64>, ApiErr> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiErr::bad(format!("{key} must be an integer"))),
    }
}

fn owner_roles_map(body: &Map<String, Value>) -> Result<Option<Vec<(String, String)>>, ApiErr> {
    match body.get("ownerRoles") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(ApiErr::bad(format!(
                    "ownerRoles[{k:?}] must be a role name"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiErr::bad(
            "ownerRoles must be an object of owner name to role name",
        )),
    }
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiErr> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiErr::bad("the request body must be a JSON object")),
        Err(e) => Err(ApiErr::bad(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}

/// The instance's password policy, as the form checks it.
fn check_password(settings: &policy::InstanceSettings, password: &str) -> Result<(), ApiErr> {
    settings.password_policy.check(password).map_err(|missing| {
        ApiErr::bad(format!(
            "the password does not meet the password policy: it needs {missing}"
        ))
    })
}

/// The web-UI-only settings (extensions) and the ranged fields of a body,
/// checked with the form's own rules for an account of type `kind`.
fn check_settings(
    settings: &policy::InstanceSettings,
    body: &Map<String, Value>,
    kind: AccountType,
    creating: bool,
) -> Result<(), ApiErr> {
    let ui = matches!(kind, AccountType::User | AccountType::ReadOnly);
    let only_for = |key: &str, allowed: bool, who: &str| -> Result<(), ApiErr> {
        if body.contains_key(key) && !allowed {
            return Err(ApiErr::bad(format!(
                "{key} is a setting of {who} only, not of {}",
                crate::domain::roles::article(kind.name())
            )));
        }
        Ok(())
    };
    only_for(ext::TIME_ZONE_FIELD, ui, "User accounts")?;
    only_for(ext::SUMMARY_EMAIL_TIME_FIELD, ui, "User accounts")?;
    only_for(
        ext::TOKEN_EXPIRATION_FIELD,
        kind == AccountType::Api,
        "API users",
    )?;
    only_for(
        ext::INCLUDE_IN_OBSERVATIONS_FIELD,
        kind == AccountType::Api,
        "API users",
    )?;
    only_for(
        ext::ALLOW_EXCEED_API_LINK_LIMIT_FIELD,
        kind == AccountType::Api,
        "API users",
    )?;
    if body.contains_key(ext::SEND_ACCOUNT_INFO_EMAIL) {
        if !creating {
            return Err(ApiErr::bad(format!(
                "{} applies only when creating an account",
                ext::SEND_ACCOUNT_INFO_EMAIL
            )));
        }
        if opt_bool(body, ext::SEND_ACCOUNT_INFO_EMAIL)? == Some(true) && !ui {
            return Err(ApiErr::bad(format!(
                "{} needs an e-mail address, and {} has none",
                ext::SEND_ACCOUNT_INFO_EMAIL,
                crate::domain::roles::article(kind.name())
            )));
        }
    }
    if let Some(zone) = opt_str(body, ext::TIME_ZONE_FIELD)? {
        if !form::TIME_ZONES.contains(&zone) {
            return Err(ApiErr::bad(format!(
                "{} {zone:?} is not one the form offers (IANA names such as UTC, Europe/Berlin)",
                ext::TIME_ZONE_FIELD
            )));
        }
    }
    if let Some(time) = opt_str(body, ext::SUMMARY_EMAIL_TIME_FIELD)? {
        if !form::summary_email_times().iter().any(|t| t == time) {
            return Err(ApiErr::bad(format!(
                "{} must be a whole hour from 00:00 to 23:00, not {time:?}",
                ext::SUMMARY_EMAIL_TIME_FIELD
            )));
        }
    }
    let in_range = |key: &str, range: &std::ops::RangeInclusive<i64>| -> Result<(), ApiErr> {
        match opt_int(body, key)? {
            Some(n) if !range.contains(&n) => Err(ApiErr::bad(format!(
                "{key} must be between {} and {}",
                range.start(),
                range.end()
            ))),
            _ => Ok(()),
        }
    };
    in_range(ext::TOKEN_EXPIRATION_FIELD, &form::TOKEN_EXPIRATION_DAYS)?;
    in_range("tqlTimeout", &form::TQL_TIMEOUT_MS)?;
    opt_bool(body, ext::INCLUDE_IN_OBSERVATIONS_FIELD)?;
    opt_bool(body, ext::ALLOW_EXCEED_API_LINK_LIMIT_FIELD)?;
    if let Some(minutes) = opt_int(body, "logoutIntervalMinutes")? {
        if settings.saml_enabled {
            return Err(ApiErr::bad(
                "logoutIntervalMinutes cannot be set on a SAML-enabled instance: the identity provider sets the logout interval",
            ));
        }
        if minutes != form::NEVER_LOG_OUT && !form::LOG_OUT_AFTER_MINUTES.contains(&minutes) {
            return Err(ApiErr::bad(format!(
                "logoutIntervalMinutes must be 0 (never) or one of {:?}, not {minutes}",
                form::LOG_OUT_AFTER_MINUTES
            )));
        }
    }
    Ok(())
}

/// Extension settings a PUT may change: (key, column, type); `null`
/// clears the optional ones.
const UPDATABLE_SETTINGS: &[(&str, &str, char)] = &[
    (ext::TIME_ZONE_FIELD, "time_zone", 's'),
    (ext::SUMMARY_EMAIL_TIME_FIELD, "summary_email_time", 's'),
    (ext::TOKEN_EXPIRATION_FIELD, "token_expiration_days", 'i'),
    (
        ext::INCLUDE_IN_OBSERVATIONS_FIELD,
        "include_in_observations",
        'b',
    ),
    (
        ext::ALLOW_EXCEED_API_LINK_LIMIT_FIELD,
        "allow_exceed_api_link_limit",
        'b',
    ),
];

fn check_name(key: &str, value: &str) -> Result<(), ApiErr> {
    if value.chars().any(char::is_control) {
        return Err(ApiErr::bad(format!(
            "{key} must not contain control characters"
        )));
    }
    Ok(())
}

/// Fields a PUT may change, to their column and type.
const UPDATABLE: &[(&str, &str, char)] = &[
    ("firstName", "first_name", 's'),
    ("lastName", "last_name", 's'),
    ("pseudonym", "pseudonym", 's'),
    ("disabled", "disabled", 'b'),
    ("locked", "locked", 'b'),
    ("passwordResetRequired", "password_reset_required", 'b'),
    ("twoFactorResetRequired", "two_factor_reset_required", 'b'),
    ("termsAccepted", "terms_accepted", 'b'),
    ("logoutIntervalMinutes", "logout_interval_minutes", 'i'),
    ("customTqlTimeout", "custom_tql_timeout", 'i'),
    ("tqlTimeout", "tql_timeout", 'i'),
    ("uiTheme", "ui_theme", 's'),
    ("jobFunction", "job_function", 's'),
    ("jobRole", "job_role", 's'),
];
/// Fields a PUT may carry but that are the server's to set.
const READ_ONLY: &[&str] = &[
    "id",
    "userName",
    "owner",
    "lastLogin",
    "lastPasswordChange",
    "termsAcceptedDate",
    "userGroups",
    "mfaEnabled",
];

/// What a plain instance reads from a PUT body: the documented fields. The
/// docs' own update example sends the not-updatable `owner`, so fields that
/// are not updated are accepted, not refused; anything else (rollcall's
/// extension fields, unknown names) is ignored the same way. A client learns
/// what was applied from the account in the answer, never from a 200 alone.
fn plain_update_body(body: &mut Map<String, Value>) {
    body.retain(|key, _| {
        UPDATABLE.iter().any(|(k, ..)| k == key)
            || matches!(
                key.as_str(),
                "id" | "userName"
                    | "owner"
                    | "lastLogin"
                    | "lastPasswordChange"
                    | "termsAcceptedDate"
                    | "ownerRoles"
                    | "password"
            )
    });
}

/// The documented fields of a POST body (the users "fields" page).
const DOCUMENTED_CREATE: &[&str] = &[
    "userName",
    "password",
    "firstName",
    "lastName",
    "pseudonym",
    "owner",
    "ownerRoles",
    "systemRole",
    "disabled",
    "locked",
    "passwordResetRequired",
    "twoFactorResetRequired",
    "termsAccepted",
    "logoutIntervalMinutes",
    "customTqlTimeout",
    "tqlTimeout",
    "uiTheme",
    "jobFunction",
    "jobRole",
];

/// The fields the docs mark "Required for Creation": `userName`,
/// `password` (not on SAML instances), `firstName`, `lastName`, `owner`,
/// `ownerRoles`, `systemRole`, for every kind of account. `generated` is
/// the `generatedUserNames` extension: API and TAXII accounts may then
/// leave out `userName` and `password`.
fn check_required(
    settings: &policy::InstanceSettings,
    body: &Map<String, Value>,
    kind: AccountType,
    generated: bool,
) -> Result<(), ApiErr> {
    let generated = generated && matches!(kind, AccountType::Api | AccountType::Taxii);
    let missing = |key: &str| match body.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Object(m)) => m.is_empty(),
        Some(_) => false,
    };
    let mut required = vec!["firstName", "lastName", "owner", "ownerRoles"];
    if !generated {
        required.insert(0, "userName");
        if !settings.saml_enabled {
            required.insert(1, "password");
        }
    }
    match required.into_iter().find(|k| missing(k)) {
        Some(key) => Err(ApiErr::bad(format!("{key} is required to create a user"))),
        None => Ok(()),
    }
}

/// Role changes (System role, Organization role, Community roles) are
/// administration even on one's own account.
fn check_administers(
    actor: &Actor,
    s: &policy::InstanceSettings,
    row: &UserRow,
) -> Result<(), ApiErr> {
    may_create(actor, s, &row.org_name, row.kind()).map_err(ApiErr::refused)
}

async fn update_user(
    State(s): St,
    Extension(Caller(me)): Who,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    let mut body = body_object(&body)?;
    let fields = requested_fields(&s, &query_pairs(&raw))?;
    let settings = s.settings.clone();
    let shared = Arc::clone(&s);
    if !s.extensions() {
        plain_update_body(&mut body);
    }
    // Without the systemRoleUpdate extension a System role is not
    // updatable (docs 7.11.2+, Updatable FALSE): accepted, not applied, like
    // `owner` in the docs' example; the answer shows the role unchanged.
    if !s.extensions() {
        body.remove("systemRole");
    }
    let user = s
        .db(move |conn| {
            let actor = me.actor();
            let row = load_target(conn, id)?;
            let target = target_of(&row);
            may(&actor, &settings, Action::View, &target).map_err(ApiErr::refused)?;
            for key in body.keys() {
                let known = UPDATABLE.iter().any(|(k, ..)| k == key)
                    || UPDATABLE_SETTINGS.iter().any(|(k, ..)| k == key)
                    || key == ext::SEND_ACCOUNT_INFO_EMAIL
                    || READ_ONLY.contains(&key.as_str())
                    || matches!(key.as_str(), "systemRole" | "ownerRoles" | "password");
                if !known {
                    return Err(ApiErr::bad(format!("unknown field '{key}'")));
                }
            }
            if let Some(owner) = opt_str(&body, "owner")? {
                if owner != row.org_name {
                    return Err(ApiErr::bad("owner is not updatable: an account stays in its home Organization"));
                }
            }
            if let Some(name) = opt_str(&body, "userName")? {
                if name != row.user_name {
                    return Err(ApiErr::bad("userName is not updatable: the account name cannot be changed"));
                }
            }
            if let Some(body_id) = opt_int(&body, "id")? {
                if body_id != row.id {
                    return Err(ApiErr::bad("id in the body does not match the URL"));
                }
            }
            // A flag that is not a boolean is refused before the policy is asked.
            for flag in policy::FLAG_KEYS {
                opt_bool(&body, flag)?;
            }
            // Read-only fields are not edits: those that must match are
            // checked above, the rest are ignored.
            let judged: Map<String, Value> = body
                .iter()
                .filter(|(key, _)| !READ_ONLY.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            for action in policy::implied_actions(&judged) {
                may(&actor, &settings, action, &target).map_err(ApiErr::refused)?;
            }
            check_reserved_fields(conn, &actor, &settings, &row, &body)?;

            // System role.
            let old_role = row.role();
            let new_role = match opt_str(&body, "systemRole")? {
                None => old_role,
                Some(text) => SystemRole::parse(text)
                    .ok_or_else(|| ApiErr::bad(format!("unknown System role {text:?}")))?,
            };
            let role_changed = new_role != old_role;
            if role_changed {
                check_administers(&actor, &settings, &row)?;
                // Read Only Users are edited on the User form.
                let kind = match row.kind() {
                    AccountType::ReadOnly => AccountType::User,
                    k => k,
                };
                if !kind.system_roles().contains(&new_role) {
                    return Err(ApiErr::bad(format!(
                        "{} cannot have the System role {new_role}",
                        crate::domain::roles::article(kind.name())
                    )));
                }
                may_assign_system_role(&actor, kind, new_role).map_err(ApiErr::refused)?;
                if AccountType::of(new_role) == AccountType::User && row.kind() == AccountType::ReadOnly {
                    let limits = db::org_limits(conn, row.org_id).map_err(ApiErr::db)?;
                    limits
                        .check_create(AccountType::User)
                        .map_err(|r| ApiErr::bad(r.0))?;
                }
            }
            let new_kind = AccountType::of(new_role);
            check_settings(&settings, &body, new_kind, false)?;

            // Organization and Community roles.
            let owner_roles = owner_roles_map(&body)?;
            let mut community_updates = Vec::new();
            let mut explicit_org_role = None;
            for (owner, role) in owner_roles.iter().flatten() {
                if *owner == row.org_name {
                    explicit_org_role = Some(
                        OrgRole::parse(role)
                            .ok_or_else(|| ApiErr::bad(format!("unknown Organization role {role:?}")))?,
                    );
                    continue;
                }
                let (owner_id, kind) = db::owner_id(conn, owner)
                    .map_err(ApiErr::db)?
                    .ok_or_else(|| ApiErr::bad(format!("no owner named {owner:?}")))?;
                if kind == "Organization" {
                    return Err(ApiErr::bad(format!(
                        "{owner} is another Organization; an account has a role only in its home Organization"
                    )));
                }
                let role = CommunityRole::parse(role)
                    .ok_or_else(|| ApiErr::bad(format!("unknown Community role {role:?}")))?;
                community_updates.push((owner_id, role));
            }
            let current_org_role = OrgRole::parse(&row.org_role);
            let org_role = match (explicit_org_role, forced_org_role(new_kind, new_role)) {
                (Some(r), _) => r,
                (None, Some(forced)) => forced,
                (None, None) => match current_org_role {
                    Some(r) if check_org_role(new_kind, new_role, r).is_ok() => r,
                    // The old role is not allowed for the new System role:
                    // take the first the new type allows.
                    _ => new_kind.org_roles()[0],
                },
            };
            check_org_role(new_kind, new_role, org_role).map_err(|r| ApiErr::bad(r.0))?;
            if (Some(org_role) != current_org_role && explicit_org_role.is_some())
                || !community_updates.is_empty()
            {
                check_administers(&actor, &settings, &row)?;
            }

            // Password.
            let password = opt_str(&body, "password")?;
            if let Some(pw) = password {
                if settings.saml_enabled {
                    return Err(ApiErr::bad("passwords are managed by SAML on this instance"));
                }
                check_password(&settings, pw)?;
            }

            // Apply.
            let mut sets = Vec::new();
            let mut values: Vec<SqlValue> = Vec::new();
            for (key, column, kind) in UPDATABLE {
                let value = match kind {
                    's' => opt_str(&body, key)?.map(|v| {
                        check_name(key, v)?;
                        Ok::<_, ApiErr>(SqlValue::Text(v.to_string()))
                    }).transpose()?,
                    'b' => opt_bool(&body, key)?.map(|b| SqlValue::Integer(b as i64)),
                    _ => opt_int(&body, key)?.map(SqlValue::Integer),
                };
                if let Some(v) = value {
                    sets.push(format!("{column} = ?"));
                    values.push(v);
                }
            }
            for (key, column, kind) in UPDATABLE_SETTINGS {
                let value = match (body.get(*key), kind) {
                    (None, _) => continue,
                    (Some(Value::Null), 'b') => {
                        return Err(ApiErr::bad(format!("{key} must be true or false")))
                    }
                    (Some(Value::Null), _) => SqlValue::Null,
                    (Some(_), 's') => SqlValue::Text(opt_str(&body, key)?.unwrap_or_default().to_string()),
                    (Some(_), 'b') => SqlValue::Integer(opt_bool(&body, key)?.unwrap_or_default() as i64),
                    (Some(_), _) => SqlValue::Integer(opt_int(&body, key)?.unwrap_or_default()),
                };
                sets.push(format!("{column} = ?"));
                values.push(value);
            }
            if opt_bool(&body, "termsAccepted")? == Some(true) && !row.terms_accepted {
                sets.push("terms_accepted_date = ?".into());
                values.push(SqlValue::Text(db::fmt_time(Utc::now())));
            }
            if let Some(pw) = password {
                sets.push("password_hash = ?".into());
                values.push(SqlValue::Text(db::password_hash(&row.user_name, pw)));
                sets.push("last_password_change = ?".into());
                values.push(SqlValue::Text(db::fmt_time(Utc::now())));
            }
            sets.push("system_role = ?".into());
            values.push(SqlValue::Text(new_role.name().into()));
            sets.push("org_role = ?".into());
            values.push(SqlValue::Text(org_role.name().into()));
            values.push(SqlValue::Integer(row.id));
            let tx = conn.transaction().map_err(ApiErr::db)?;
            tx.execute(
                &format!("UPDATE users SET {} WHERE id = ?", sets.join(", ")),
                params_from_iter(values.iter()),
            )
            .map_err(ApiErr::db)?;
            if role_changed {
                db::reset_community_roles(&tx, row.id, row.org_id, new_role).map_err(ApiErr::db)?;
            }
            for (owner_id, role) in community_updates {
                tx.execute(
                    "INSERT INTO owner_roles(user_id, owner_id, role) VALUES (?1, ?2, ?3)
                     ON CONFLICT(user_id, owner_id) DO UPDATE SET role = excluded.role",
                    params![row.id, owner_id, role.name()],
                )
                .map_err(ApiErr::db)?;
            }
            tx.commit().map_err(ApiErr::db)?;
            let row = load_target(conn, id)?;
            render(conn, &row, view_for(&shared, &actor, &fields))
        })
        .await?;
    one(user, Some("Updated"))
}

fn generated_user_name(conn: &Connection) -> Result<String, ApiErr> {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    for _ in 0..20 {
        let name = format!(
            "{:020}",
            rng.gen_range(10_000_000_000_000_000_000u64..=u64::MAX)
        );
        if db::load_user_by_name(conn, &name)
            .map_err(ApiErr::db)?
            .is_none()
        {
            return Ok(name);
        }
    }
    Err(ApiErr::internal("could not generate a free user name"))
}

async fn create_user(
    State(s): St,
    Extension(Caller(me)): Who,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> ApiResult {
    let mut body = body_object(&body)?;
    let fields = requested_fields(&s, &query_pairs(&raw))?;
    let settings = s.settings.clone();
    let shared = Arc::clone(&s);
    let extensions = s.extensions();
    if !extensions {
        // Extension fields (sendAccountInfoEmail, timeZone, ...) are not part
        // of the documented body: ignored, as in a PUT (see plain_update_body).
        body.retain(|key, _| DOCUMENTED_CREATE.contains(&key.as_str()));
    }
    let user = s
        .db(move |conn| {
            let actor = me.actor();
            let role = match opt_str(&body, "systemRole")? {
                None => return Err(ApiErr::bad("systemRole is required to create a user")),
                Some(text) => SystemRole::parse(text)
                    .ok_or_else(|| ApiErr::bad(format!("unknown System role {text:?}")))?,
            };
            let kind = AccountType::of(role);
            check_required(&settings, &body, kind, extensions)?;
            let org = opt_str(&body, "owner")?.unwrap_or(&actor.home_org).to_string();
            let org_id = match db::owner_id(conn, &org).map_err(ApiErr::db)? {
                Some((id, kind)) if kind == "Organization" => id,
                _ => return Err(ApiErr::bad(format!("no Organization named {org:?}"))),
            };
            may_create(&actor, &settings, &org, kind).map_err(ApiErr::refused)?;
            may_assign_system_role(&actor, kind, role).map_err(ApiErr::refused)?;
            let limits = db::org_limits(conn, org_id).map_err(ApiErr::db)?;
            limits.check_create(kind).map_err(|r| ApiErr::bad(r.0))?;
            let user_name = match (opt_str(&body, "userName")?.map(str::trim), kind) {
                (Some(n), _) if !n.is_empty() => n.to_string(),
                // check_required let this through only with generatedUserNames.
                (_, AccountType::Api | AccountType::Taxii) => generated_user_name(conn)?,
                _ => return Err(ApiErr::bad("userName is required for a User account")),
            };
            check_name("userName", &user_name)?;
            if matches!(kind, AccountType::User | AccountType::ReadOnly) {
                form::check_email(&user_name)
                    .map_err(|e| ApiErr::bad(format!("userName is the account's e-mail address: {e}")))?;
            }
            check_settings(&settings, &body, kind, true)?;
            if db::load_user_by_name(conn, &user_name).map_err(ApiErr::db)?.is_some() {
                return Err(ApiErr::bad(format!("a user named {user_name:?} already exists")));
            }
            let password = opt_str(&body, "password")?;
            let ui = matches!(kind, AccountType::User | AccountType::ReadOnly);
            match password {
                Some(_) if settings.saml_enabled => {
                    return Err(ApiErr::bad("passwords are managed by SAML on this instance"))
                }
                Some(pw) => check_password(&settings, pw)?,
                None if ui && !settings.saml_enabled => {
                    return Err(ApiErr::bad("password is required for a User account on this instance"))
                }
                None => {}
            }
            let explicit = owner_roles_map(&body)?
                .into_iter()
                .flatten()
                .find(|(owner, _)| *owner == org)
                .map(|(_, r)| OrgRole::parse(&r).ok_or_else(|| ApiErr::bad(format!("unknown Organization role {r:?}"))))
                .transpose()?;
            let org_role = explicit
                .or_else(|| forced_org_role(kind, role))
                .unwrap_or(if kind == AccountType::ReadOnly {
                    OrgRole::ReadOnlyUser
                } else {
                    OrgRole::StandardUser
                });
            check_org_role(kind, role, org_role).map_err(|r| ApiErr::bad(r.0))?;
            let text = |key: &str| -> Result<Option<String>, ApiErr> {
                let v = opt_str(&body, key)?;
                if let Some(v) = v {
                    check_name(key, v)?;
                }
                Ok(v.map(str::to_string))
            };
            let (first_name, last_name, pseudonym) = (text("firstName")?, text("lastName")?, text("pseudonym")?);
            let (ui_theme, job_function, job_role) = (text("uiTheme")?, text("jobFunction")?, text("jobRole")?);
            let now = db::fmt_time(Utc::now());
            let tx = conn.transaction().map_err(ApiErr::db)?;
            tx.execute(
                "INSERT INTO users(user_name, first_name, last_name, pseudonym, org_id, system_role,
                   org_role, disabled, locked, password_reset_required, two_factor_reset_required,
                   terms_accepted, logout_interval_minutes, custom_tql_timeout, tql_timeout, ui_theme,
                   job_function, job_role, last_password_change, mfa_enabled, password_hash,
                   time_zone, summary_email_time, token_expiration_days, include_in_observations,
                   allow_exceed_api_link_limit)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12, ?13, ?14, ?15, ?16, ?17, ?18, 0, ?19,
                   ?20, ?21, ?22, ?23, ?24)",
                params![
                    user_name,
                    first_name,
                    last_name,
                    pseudonym,
                    org_id,
                    role.name(),
                    org_role.name(),
                    opt_bool(&body, "disabled")?.unwrap_or(false),
                    opt_bool(&body, "locked")?.unwrap_or(false),
                    opt_bool(&body, "passwordResetRequired")?.unwrap_or(ui),
                    opt_bool(&body, "twoFactorResetRequired")?.unwrap_or(ui),
                    opt_int(&body, "logoutIntervalMinutes")?.unwrap_or(0),
                    opt_int(&body, "customTqlTimeout")?.unwrap_or(0),
                    opt_int(&body, "tqlTimeout")?,
                    ui_theme.unwrap_or_else(|| "Light".into()),
                    job_function,
                    job_role,
                    now,
                    password.map(|pw| db::password_hash(&user_name, pw)),
                    opt_str(&body, ext::TIME_ZONE_FIELD)?,
                    opt_str(&body, ext::SUMMARY_EMAIL_TIME_FIELD)?,
                    opt_int(&body, ext::TOKEN_EXPIRATION_FIELD)?,
                    opt_bool(&body, ext::INCLUDE_IN_OBSERVATIONS_FIELD)?.unwrap_or(false),
                    opt_bool(&body, ext::ALLOW_EXCEED_API_LINK_LIMIT_FIELD)?.unwrap_or(false),
                ],
            )
            .map_err(ApiErr::db)?;
            let id = tx.last_insert_rowid();
            if opt_bool(&body, ext::SEND_ACCOUNT_INFO_EMAIL)? == Some(true) {
                db::queue_account_info_email(&tx, id, &user_name, &org, Utc::now())
                    .map_err(ApiErr::db)?;
            }
            if kind != AccountType::Taxii {
                db::reset_community_roles(&tx, id, org_id, role).map_err(ApiErr::db)?;
            }
            // Extension apiSecretKey: a new API account gets its secret key,
            // answered once (the web UI shows it once too).
            let secret_key = if kind == AccountType::Api && extensions {
                let key = db::random_secret_key();
                tx.execute(
                    "UPDATE users SET api_secret = ?1 WHERE id = ?2",
                    params![key, id],
                )
                .map_err(ApiErr::db)?;
                Some(key)
            } else {
                None
            };
            tx.commit().map_err(ApiErr::db)?;
            let row = load_target(conn, id)?;
            let user = render(conn, &row, view_for(&shared, &actor, &fields))?;
            let mut answer = serde_json::to_value(&user).map_err(|e| ApiErr::bad(e.to_string()))?;
            if let (Some(key), Some(map)) = (secret_key, answer.as_object_mut()) {
                map.insert("secretKey".into(), json!(key));
            }
            Ok(answer)
        })
        .await?;
    let mut resp = one(user, Some("Created"))?;
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

fn run_as_of(conn: &Connection, user_id: i64) -> Result<RunAs, ApiErr> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, name, kind, active FROM run_as WHERE user_id = ?1 ORDER BY name",
        )
        .map_err(ApiErr::db)?;
    let rows = stmt
        .query_map([user_id], |r| {
            Ok((
                RunAsItem {
                    id: r.get(0)?,
                    name: r.get(1)?,
                },
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })
        .map_err(ApiErr::db)?;
    let mut run_as = RunAs::default();
    for row in rows {
        let (item, kind, active) = row.map_err(ApiErr::db)?;
        match (kind.as_str(), active) {
            ("job", _) => run_as.job_apps.push(item),
            (_, true) => run_as.active_playbooks.push(item),
            (_, false) => run_as.inactive_playbooks.push(item),
        }
    }
    Ok(run_as)
}

/// What rule 8 reads of an account row.
fn party(row: &UserRow) -> Party<'_> {
    Party {
        id: row.id,
        user_name: &row.user_name,
        org: Some(&row.org_name),
        kind: Some(row.kind()),
        disabled: Some(row.disabled),
        locked: Some(row.locked),
    }
}

async fn delete_user(
    State(s): St,
    Extension(Caller(me)): Who,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = parse_id(&id)?;
    let pairs = query_pairs(&raw);
    // reassignOnDelete is an extension: a plain instance ignores the
    // parameters, as unknown query parameters are.
    let extensions = s.extensions();
    let (playbooks_to, jobs_to) = if extensions {
        (
            int_param(&pairs, "reassignPlaybooksTo")?,
            int_param(&pairs, "reassignJobsTo")?,
        )
    } else {
        (None, None)
    };
    // How a caller names an heir: the extension's parameters, or else (a
    // plain instance) the web UI.
    let how = move |what: Inheritance| match (extensions, what) {
        (true, Inheritance::Playbooks) => "with reassignPlaybooksTo".to_string(),
        (true, Inheritance::JobApps) => "with reassignJobsTo".to_string(),
        (false, _) => "and reassign them in the web UI first".to_string(),
    };
    let settings = s.settings.clone();
    s.db(move |conn| {
        let actor = me.actor();
        let row = load_target(conn, id)?;
        may(&actor, &settings, Action::Delete, &target_of(&row)).map_err(ApiErr::refused)?;
        let run_as = run_as_of(conn, id)?;
        let heir = |heir_id: Option<i64>, param: &str| -> Result<Option<UserRow>, ApiErr> {
            let Some(heir_id) = heir_id else { return Ok(None) };
            db::load_user(conn, heir_id)
                .map_err(ApiErr::db)?
                .map(Some)
                .ok_or_else(|| ApiErr::bad(format!("{param}: no user with id {heir_id}")))
        };
        let playbook_heir = heir(playbooks_to, "reassignPlaybooksTo")?;
        let job_heir = heir(jobs_to, "reassignJobsTo")?;
        let checked = run_as::check_reassignment(
            &party(&row),
            &run_as,
            playbook_heir.as_ref().map(party).as_ref(),
            job_heir.as_ref().map(party).as_ref(),
        );
        if let Err(problems) = checked {
            // The first problem, as an instance answers one refusal.
            let first = problems.first().map(|p| p.explain(how)).unwrap_or_default();
            return Err(ApiErr::bad(first));
        }
        let tx = conn.transaction().map_err(ApiErr::db)?;
        if let Some(h) = &playbook_heir {
            tx.execute(
                "UPDATE run_as SET user_id = ?1 WHERE user_id = ?2 AND kind = 'playbook' AND active = 1",
                params![h.id, id],
            )
            .map_err(ApiErr::db)?;
        }
        if let Some(h) = &job_heir {
            tx.execute("UPDATE run_as SET user_id = ?1 WHERE user_id = ?2 AND kind = 'job'", params![h.id, id])
                .map_err(ApiErr::db)?;
        }
        if !run_as.inactive_playbooks.is_empty() {
            // Rule 8: inactive playbooks move to the first listed account.
            let first: i64 = tx
                .query_row(
                    "SELECT id FROM users WHERE org_id = ?1 AND id != ?2 ORDER BY user_name LIMIT 1",
                    params![row.org_id, id],
                    |r| r.get(0),
                )
                .map_err(ApiErr::db)?;
            tx.execute(
                "UPDATE run_as SET user_id = ?1 WHERE user_id = ?2 AND kind = 'playbook' AND active = 0",
                params![first, id],
            )
            .map_err(ApiErr::db)?;
        }
        for sql in [
            "DELETE FROM user_groups WHERE user_id = ?1",
            "DELETE FROM owner_roles WHERE user_id = ?1",
            "DELETE FROM tokens WHERE user_id = ?1",
            "DELETE FROM users WHERE id = ?1",
        ] {
            tx.execute(sql, [id]).map_err(ApiErr::db)?;
        }
        tx.commit().map_err(ApiErr::db)
    })
    .await?;
    ok_json(json!({"message": "Deleted", "status": SUCCESS}))
}

// ---------------------------------------------------------------- groups, owners, roles

fn all_groups(conn: &Connection) -> Result<Vec<UserGroup>, ApiErr> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name, description FROM groups ORDER BY id")
        .map_err(ApiErr::db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(UserGroup {
                id: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
            })
        })
        .map_err(ApiErr::db)?;
    rows.collect::<Result<_, _>>().map_err(ApiErr::db)
}

/// `fields=users` on user groups: the one additional field they have here
/// (tcex `user_group_model.py`), listed by `OPTIONS .../userGroups/fields`.
fn group_fields(pairs: &[(String, String)]) -> Result<bool, ApiErr> {
    let mut users = false;
    for (k, v) in pairs {
        if k != "fields" {
            continue;
        }
        if v.trim() != GROUP_USERS_FIELD {
            return Err(ApiErr::bad(format!(
                "Invalid field '{}'; see OPTIONS {USER_GROUPS_PATH}/fields",
                v.trim()
            )));
        }
        users = true;
    }
    Ok(users)
}

/// The groups, each with its members (`fields=users`) as tcex's
/// `UsersModel` (`{"data":[user, ...]}`): the basic user fields, and only
/// members the caller may see.
fn groups_with_users(
    conn: &Connection,
    actor: &Actor,
    with_users: bool,
) -> Result<Vec<UserGroupWithUsers>, ApiErr> {
    let groups = all_groups(conn)?;
    let mut members: std::collections::BTreeMap<i64, Vec<GroupMember>> = Default::default();
    if with_users {
        let mut stmt = conn
            .prepare_cached(
                "SELECT ug.group_id, u.id, u.user_name, o.name FROM user_groups ug
                 JOIN users u ON u.id = ug.user_id JOIN owners o ON o.id = u.org_id
                 ORDER BY ug.group_id, u.id",
            )
            .map_err(ApiErr::db)?;
        let rows: Vec<(i64, i64, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(ApiErr::db)?
            .collect::<Result<_, _>>()
            .map_err(ApiErr::db)?;
        for (group, id, user_name, org) in rows {
            if actor.id == Some(id) || actor.may_list_org(&org) {
                members.entry(group).or_default().push(GroupMember {
                    id,
                    user_name: Some(user_name),
                });
            }
        }
    }
    Ok(groups
        .into_iter()
        .map(|g| UserGroupWithUsers {
            users: with_users.then(|| GroupUsers::Wrapped {
                data: members.remove(&g.id).unwrap_or_default(),
            }),
            id: g.id,
            name: g.name,
            description: g.description,
        })
        .collect())
}

async fn list_groups(
    State(s): St,
    Extension(Caller(me)): Who,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let with_users = group_fields(&query_pairs(&raw))?;
    let groups = s
        .db(move |conn| groups_with_users(conn, &me.actor(), with_users))
        .await?;
    list(groups, &raw)
}

async fn get_group(
    State(s): St,
    Extension(Caller(me)): Who,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = id
        .trim()
        .parse::<i64>()
        .map_err(|_| ApiErr::bad(format!("group id must be an integer, not {id:?}")))?;
    let with_users = group_fields(&query_pairs(&raw))?;
    let groups = s
        .db(move |conn| groups_with_users(conn, &me.actor(), with_users))
        .await?;
    match groups.into_iter().find(|g| g.id == id) {
        Some(g) => one(g, None),
        None => Err(ApiErr::not_found(format!("no user group with id {id}"))),
    }
}

/// ThreatConnect's other `perm*` keys, kept so owners have the documented shape.
const OTHER_PERMS: &[&str] = &[
    "permIndicator",
    "permGroup",
    "permPost",
    "permVictim",
    "permAttribute",
    "permApps",
    "permSecurityLabel",
    "permTag",
    "permAttributeType",
    "permSettings",
    "permCopyData",
    "permInvite",
    "permTask",
    "permCaseTag",
    "permArtifact",
    "permComment",
    "permTimeline",
    "permWorkflowTemplate",
    "permPublish",
    "permPlaybooksExecute",
    "permPlaybooks",
];

async fn owners(State(s): St, Extension(Caller(me)): Who, RawQuery(raw): RawQuery) -> ApiResult {
    let settings = s.settings.clone();
    let owners = s
        .db(move |conn| {
            let actor = me.actor();
            let mut stmt = conn
                .prepare_cached("SELECT id, name, kind FROM owners ORDER BY id")
                .map_err(ApiErr::db)?;
            let rows: Vec<(i64, String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(ApiErr::db)?
                .collect::<Result<_, _>>()
                .map_err(ApiErr::db)?;
            let community_roles: Vec<(i64, String)> = conn
                .prepare_cached("SELECT owner_id, role FROM owner_roles WHERE user_id = ?1")
                .and_then(|mut st| {
                    st.query_map([me.id], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<Result<_, _>>()
                })
                .map_err(ApiErr::db)?;
            let mut out = Vec::new();
            for (id, name, kind) in rows {
                let (owner_role, perm_users) = if kind == "Organization" {
                    if !(name == actor.home_org || actor.may_list_org(&name)) {
                        continue;
                    }
                    // An Accounts Administrator creates accounts but may not
                    // administer every one (rule 4): tcex's CREATE level.
                    let partial = actor.system_role == Some(SystemRole::AccountsAdministrator)
                        && actor.org_role != Some(OrgRole::OrganizationAdministrator)
                        && settings.deployment != policy::Deployment::SharedCloud;
                    let perm = if may_create(&actor, &settings, &name, AccountType::User).is_ok() {
                        if partial {
                            "CREATE"
                        } else {
                            "FULL"
                        }
                    } else if actor.may_list_org(&name) {
                        "READ"
                    } else {
                        "NONE"
                    };
                    let role = (name == actor.home_org).then(|| me.org_role.clone());
                    (role, perm)
                } else {
                    let Some((_, role)) = community_roles.iter().find(|(o, _)| *o == id) else {
                        continue;
                    };
                    (Some(role.clone()), "NONE")
                };
                let perm_members = if kind == "Organization" {
                    perm_users
                } else if owner_role.as_deref() == Some(CommunityRole::Director.name()) {
                    "FULL"
                } else {
                    "READ"
                };
                let mut other = Map::new();
                for p in OTHER_PERMS {
                    other.insert((*p).to_string(), json!("READ"));
                }
                out.push(Owner {
                    id,
                    name,
                    kind,
                    owner_role,
                    perm_users: Some(perm_users.into()),
                    perm_members: Some(perm_members.into()),
                    other,
                });
            }
            Ok(out)
        })
        .await?;
    list(owners, &raw)
}

async fn system_roles(Extension(Caller(me)): Who, RawQuery(raw): RawQuery) -> ApiResult {
    let actor = me.actor();
    let roles: Vec<SystemRoleInfo> = SystemRole::ALL
        .iter()
        .enumerate()
        .map(|(i, r)| SystemRoleInfo {
            id: i as i64 + 1,
            name: r.name().into(),
            active: Some(true),
            assignable: Some(
                actor.chooses_system_roles()
                    && actor.system_role.is_some_and(|own| !r.outranks(own)),
            ),
            displayed: Some(true),
        })
        .collect();
    list(roles, &raw)
}

async fn owner_roles(RawQuery(raw): RawQuery) -> ApiResult {
    let describe_comm = |r: CommunityRole| match r {
        CommunityRole::Director => "Full control of the Community or Source",
        CommunityRole::Editor => "Create and edit all data",
        CommunityRole::Contributor => "Indicator, Group, and Tag creation",
        CommunityRole::Commenter => "Post creation",
        CommunityRole::User => "Read only access to all data",
        CommunityRole::Subscriber => "Read only access to published data",
        CommunityRole::Banned => "No access",
    };
    let mut roles: Vec<OwnerRoleInfo> = CommunityRole::ALL
        .iter()
        .enumerate()
        .map(|(i, r)| OwnerRoleInfo {
            id: i as i64 + 1,
            name: r.name().into(),
            description_comm: Some(describe_comm(*r).into()),
            description_admin: Some(describe_comm(*r).into()),
            org_role: Some(false),
            comm_role: Some(true),
            version: Some(1),
            available: Some(true),
        })
        .collect();
    let base = roles.len() as i64;
    roles.extend(OrgRole::ALL.iter().enumerate().map(|(i, r)| OwnerRoleInfo {
        id: base + i as i64 + 1,
        name: r.name().into(),
        description_comm: Some(format!("Organization role {r}")),
        description_admin: Some(format!("Organization role {r}")),
        org_role: Some(true),
        comm_role: Some(false),
        version: Some(1),
        available: Some(true),
    }));
    list(roles, &raw)
}

async fn whoami(Extension(Caller(me)): Who) -> ApiResult {
    let data = WhoAmIData {
        user: WhoAmI {
            user_name: me.user_name.clone(),
            first_name: me.first_name.clone(),
            last_name: me.last_name.clone(),
            pseudonym: me.pseudonym.clone(),
            role: me.system_role.clone(),
        },
    };
    one(data, None)
}

// ---------------------------------------------------------------- discovery

/// (name, type, description, read only)
const FIELD_DOCS: &[(&str, &str, &str, bool)] = &[
    ("id", "Integer", "The user's ID", true),
    (
        "userName",
        "String",
        "The user name (the access ID of an API user)",
        false,
    ),
    ("firstName", "String", "The user's first name", false),
    ("lastName", "String", "The user's last name", false),
    ("pseudonym", "String", "The user's pseudonym", false),
    (
        "owner",
        "String",
        "The home Organization (not updatable)",
        false,
    ),
    ("systemRole", "String", "The System role", false),
    (
        "ownerRoles",
        "Object",
        "Organization, Community or Source name to role name",
        false,
    ),
    (
        "disabled",
        "Boolean",
        "Whether the account is disabled",
        false,
    ),
    ("locked", "Boolean", "Whether the account is locked", false),
    (
        "passwordResetRequired",
        "Boolean",
        "Require a new password at next login",
        false,
    ),
    (
        "twoFactorResetRequired",
        "Boolean",
        "Require a new MFA setup at next login",
        false,
    ),
    (
        "termsAccepted",
        "Boolean",
        "Whether the Terms of Service were accepted",
        false,
    ),
    (
        "termsAcceptedDate",
        "Date",
        "When the Terms of Service were accepted",
        true,
    ),
    (
        "logoutIntervalMinutes",
        "Integer",
        "Log out after this many idle minutes",
        false,
    ),
    (
        "customTqlTimeout",
        "Boolean",
        "Whether a custom TQL timeout applies",
        false,
    ),
    (
        "tqlTimeout",
        "Integer",
        "The custom TQL timeout (ms)",
        false,
    ),
    ("uiTheme", "String", "Light or Dark", false),
    ("jobFunction", "String", "The user's job function", false),
    ("jobRole", "String", "The user's job role", false),
    ("lastLogin", "Date", "The last login", true),
    (
        "lastPasswordChange",
        "Date",
        "The last password change",
        true,
    ),
    ("password", "String", "The password (write only)", false),
];

/// Required for creation, per the docs' users "fields" page.
const REQUIRED_TO_CREATE: &[&str] = &[
    "userName",
    "password",
    "firstName",
    "lastName",
    "owner",
    "ownerRoles",
    "systemRole",
];

/// A bare map field name -> descriptor, as tcex's `_options_data_object.py`
/// reads it: `type`, `description`, `required` (for creation), `readOnly`
/// and `updatable` (the docs' "Updatable" column). `systemRole` is not
/// updatable (docs 7.11.2+) unless the `systemRoleUpdate` extension is served.
async fn options_users(State(s): St, RawQuery(raw): RawQuery) -> ApiResult {
    let show_readonly = query_pairs(&raw)
        .iter()
        .any(|(k, v)| k == "show" && v.eq_ignore_ascii_case("readonly"));
    let mut out = Map::new();
    for (name, kind, description, read_only) in FIELD_DOCS {
        if *read_only && !show_readonly {
            continue;
        }
        if s.omit_last_login && *name == "lastLogin" {
            continue;
        }
        let updatable = !*read_only
            && !matches!(*name, "userName" | "owner")
            && (*name != "systemRole" || s.extensions());
        let doc = json!({
            "type": kind,
            "description": description,
            "required": REQUIRED_TO_CREATE.contains(name),
            "readOnly": *read_only,
            "updatable": updatable,
        });
        out.insert((*name).to_string(), doc);
    }
    if s.extensions() {
        out.insert(EXTENSIONS_KEY.to_string(), json!(wire::ext::ALL.to_vec()));
    }
    ok_json(Value::Object(out))
}

/// `{"data":[{"name","description","includedByDefault"}]}`: the documented
/// fields (returned by default, to the callers who may see them), then the
/// extension fields when served (only when asked for).
async fn options_fields(State(s): St) -> ApiResult {
    let mut data: Vec<Value> = FIELD_DOCS
        .iter()
        .filter(|(name, ..)| listed_user_fields(&s).contains(name))
        .map(|(name, _, description, _)| {
            json!({"name": name, "description": description, "includedByDefault": true})
        })
        .collect();
    if !s.extensions() {
        return list_counted(data);
    }
    let fields = vec![
        FieldInfo {
            name: ext::USER_GROUPS_FIELD.into(),
            description: Some("rollcall extension: the user groups the account belongs to".into()),
            extension: true,
        },
        FieldInfo {
            name: ext::MFA_FIELD.into(),
            description: Some("rollcall extension: whether the account has MFA configured".into()),
            extension: true,
        },
        FieldInfo {
            name: ext::TIME_ZONE_FIELD.into(),
            description: Some("rollcall extension: the User's time zone (IANA name)".into()),
            extension: true,
        },
        FieldInfo {
            name: ext::SUMMARY_EMAIL_TIME_FIELD.into(),
            description: Some(
                "rollcall extension: the hour (HH:00) the User's daily summary e-mail is sent"
                    .into(),
            ),
            extension: true,
        },
        FieldInfo {
            name: ext::TOKEN_EXPIRATION_FIELD.into(),
            description: Some("rollcall extension: days an API user's token lives".into()),
            extension: true,
        },
        FieldInfo {
            name: ext::INCLUDE_IN_OBSERVATIONS_FIELD.into(),
            description: Some(
                "rollcall extension: the API user's data counts in observations and false positives"
                    .into(),
            ),
            extension: true,
        },
        FieldInfo {
            name: ext::ALLOW_EXCEED_API_LINK_LIMIT_FIELD.into(),
            description: Some(
                "rollcall extension: the API user may exceed the API link limit".into(),
            ),
            extension: true,
        },
    ];
    data.extend(fields.into_iter().map(|f| {
        let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
        v["includedByDefault"] = json!(false);
        v
    }));
    list_counted(data)
}

/// `OPTIONS /v3/security/userGroups/fields`: `users` (tcex's user-group model).
async fn options_group_fields() -> ApiResult {
    let data = vec![json!({
        "name": GROUP_USERS_FIELD,
        "description": "The users of the group",
        "includedByDefault": false,
    })];
    list_counted(data)
}

/// Exactly the keywords `compile` accepts here.
async fn options_tql(State(s): St) -> ApiResult {
    let keywords: Vec<Value> = tql::keywords(s.extensions())
        .map(|k| {
            let mut v = serde_json::to_value(TqlKeyword {
                keyword: k.keyword.into(),
                name: k.name.into(),
                kind: k.kind.name().into(),
            })
            .unwrap_or(Value::Null);
            if k.extension {
                v["extension"] = json!(true);
            }
            v
        })
        .collect();
    list_counted(keywords)
}

// ---------------------------------------------------------------- extensions

async fn ext_instance(State(s): St) -> ApiResult {
    one(s.settings.clone(), None)
}

async fn ext_limits(State(s): St, Extension(Caller(me)): Who) -> ApiResult {
    let limits = s
        .db(move |conn| {
            let actor = me.actor();
            let orgs: Vec<(i64, String)> = conn
                .prepare_cached(
                    "SELECT id, name FROM owners WHERE kind = 'Organization' ORDER BY id",
                )
                .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .map_err(ApiErr::db)?;
            orgs.into_iter()
                .filter(|(_, name)| actor.may_list_org(name))
                .map(|(id, _)| db::org_limits(conn, id).map_err(ApiErr::db))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    list_counted(limits)
}

async fn ext_set_groups(
    State(s): St,
    Extension(Caller(me)): Who,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    let membership: GroupMembership = serde_json::from_slice(&body)
        .map_err(|e| ApiErr::bad(format!("expected {{\"groupIds\":[...]}}: {e}")))?;
    let settings = s.settings.clone();
    let user = s
        .db(move |conn| {
            let actor = me.actor();
            let row = load_target(conn, id)?;
            may(&actor, &settings, Action::Edit, &target_of(&row)).map_err(ApiErr::refused)?;
            if actor.id == Some(row.id) {
                check_administers(&actor, &settings, &row)?;
            }
            let known: Vec<i64> = all_groups(conn)?.iter().map(|g| g.id).collect();
            if let Some(bad) = membership.group_ids.iter().find(|g| !known.contains(g)) {
                return Err(ApiErr::bad(format!("no user group with id {bad}")));
            }
            let tx = conn.transaction().map_err(ApiErr::db)?;
            tx.execute("DELETE FROM user_groups WHERE user_id = ?1", [id])
                .map_err(ApiErr::db)?;
            for g in &membership.group_ids {
                tx.execute(
                    "INSERT OR IGNORE INTO user_groups(user_id, group_id) VALUES (?1, ?2)",
                    params![id, g],
                )
                .map_err(ApiErr::db)?;
            }
            tx.commit().map_err(ApiErr::db)?;
            let fields = vec![ext::USER_GROUPS_FIELD.to_string()];
            render(conn, &row, View::for_actor(&actor, &fields))
        })
        .await?;
    one(user, Some("Updated"))
}

async fn ext_run_as(State(s): St, Extension(Caller(me)): Who, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let settings = s.settings.clone();
    let run_as = s
        .db(move |conn| {
            let actor = me.actor();
            let row = load_target(conn, id)?;
            may(&actor, &settings, Action::View, &target_of(&row)).map_err(ApiErr::refused)?;
            run_as_of(conn, id)
        })
        .await?;
    one(run_as, None)
}

/// `PUT …/users/{id}/runAs` (extension `moveRunAs`): the Playbook
/// Designer's Run As setting, for every active playbook (to
/// `playbooksTo`) and job app (to `jobsTo`) of the account at once. Each
/// heir must be able to take over (rule 8); answers what still runs as it.
async fn ext_move_run_as(
    State(s): St,
    Extension(Caller(me)): Who,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    let to: RunAsMove = serde_json::from_slice(&body).map_err(|e| {
        ApiErr::bad(format!(
            "expected {{\"playbooksTo\":ID,\"jobsTo\":ID}}: {e}"
        ))
    })?;
    if to.playbooks_to.is_none() && to.jobs_to.is_none() {
        return Err(ApiErr::bad("name playbooksTo or jobsTo"));
    }
    let settings = s.settings.clone();
    let run_as = s
        .db(move |conn| {
            let actor = me.actor();
            let row = load_target(conn, id)?;
            may(&actor, &settings, Action::Edit, &target_of(&row)).map_err(ApiErr::refused)?;
            let tx = conn.transaction().map_err(ApiErr::db)?;
            for (what, heir_id, param) in [
                (Inheritance::Playbooks, to.playbooks_to, "playbooksTo"),
                (Inheritance::JobApps, to.jobs_to, "jobsTo"),
            ] {
                let Some(heir_id) = heir_id else { continue };
                let heir = db::load_user(&tx, heir_id)
                    .map_err(ApiErr::db)?
                    .ok_or_else(|| ApiErr::bad(format!("{param}: no user with id {heir_id}")))?;
                run_as::may_inherit(what, &party(&row), &party(&heir))
                    .map_err(|r| ApiErr::bad(r.to_string()))?;
                let sql = match what {
                    Inheritance::Playbooks => "UPDATE run_as SET user_id = ?1 WHERE user_id = ?2 AND kind = 'playbook' AND active = 1",
                    Inheritance::JobApps => "UPDATE run_as SET user_id = ?1 WHERE user_id = ?2 AND kind = 'job'",
                };
                tx.execute(sql, params![heir.id, id]).map_err(ApiErr::db)?;
            }
            tx.commit().map_err(ApiErr::db)?;
            run_as_of(conn, id)
        })
        .await?;
    one(run_as, Some("Updated"))
}

async fn ext_token(
    State(s): St,
    Extension(Caller(me)): Who,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    let request: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiErr::bad(format!("expected {{\"expirationDays\":N}}: {e}")))?
    };
    if request
        .expiration_days
        .is_some_and(|d| !(1..=3650).contains(&d))
    {
        return Err(ApiErr::bad("expirationDays must be between 1 and 3650"));
    }
    let settings = s.settings.clone();
    let token = s
        .db(move |conn| {
            let actor = me.actor();
            let row = load_target(conn, id)?;
            may(&actor, &settings, Action::Edit, &target_of(&row)).map_err(ApiErr::refused)?;
            if row.kind() != AccountType::Api {
                return Err(ApiErr::bad(format!(
                    "API tokens are for API users only; {} is {}",
                    row.user_name,
                    crate::domain::roles::article(row.kind().name())
                )));
            }
            let token =
                auth::store_new_token(conn, id, request.expiration_days).map_err(ApiErr::db)?;
            let expires = request
                .expiration_days
                .map(|d| Utc::now() + chrono::Duration::days(d));
            Ok(ApiToken { token, expires })
        })
        .await?;
    let mut resp = one(token, Some("Created"))?;
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

#[cfg(test)]
mod paging_tests {
    use super::*;
    use crate::{Sandbox, SandboxConfig};

    async fn answer(s: &Arc<Shared>, me: &UserRow, query: &str, paging: Paging) -> Vec<u8> {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:9".parse().unwrap());
        let response = users_page(
            Arc::clone(s),
            me.clone(),
            headers,
            Some(query.to_string()),
            paging,
        )
        .await
        .unwrap_or_else(IntoResponse::into_response);
        let status = response.status().as_u16().to_string().into_bytes();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        [status, body.to_vec()].concat()
    }

    /// Every page of `query` in turn, then some out of order (a parallel
    /// client's), each answered by both paths: the same bytes.
    async fn same_answers(s: &Arc<Shared>, me: &UserRow, query: &str, limit: i64) -> usize {
        let mut starts: Vec<i64> = (0..8).map(|i| i * limit).collect();
        starts.extend([5 * limit, 2 * limit, 7 * limit + 3, 1, 0, 3 * limit]);
        for start in &starts {
            let query = format!("{query}&resultLimit={limit}&resultStart={start}&count=true");
            let fast = answer(s, me, &query, Paging::Keyset).await;
            let reference = answer(s, me, &query, Paging::Reference).await;
            assert!(
                fast == reference,
                "{query}: {}\nvs\n{}",
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&reference)
            );
        }
        starts.len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keyset_pages_answer_byte_for_byte_what_offset_pages_did() {
        for (plain, omit_last_login) in [(false, false), (true, false), (false, true)] {
            let mut cfg = SandboxConfig::loopback(900, "k");
            cfg.plain = plain;
            cfg.omit_last_login = omit_last_login;
            let sb = Sandbox::start(cfg).await.unwrap();
            let s = Arc::clone(&sb.shared);
            let mut compared = 0;
            for actor in ["administrator", "organization-administrator", "read-only"] {
                let me = s
                    .db(move |c| {
                        db::load_user_by_name(c, actor)
                            .map_err(ApiErr::db)?
                            .ok_or_else(|| ApiErr::internal("no actor"))
                    })
                    .await
                    .unwrap();
                for (query, limit) in [
                    ("", 100),
                    ("sorting=id+asc", 130),
                    ("sorting=userName+asc", 120),
                    ("sorting=userName+desc", 150),
                    ("sorting=lastName+asc,firstName+desc", 110),
                    (
                        "fields=userGroups&fields=mfaEnabled&sorting=userName+asc",
                        125,
                    ),
                    ("fields=timeZone&sorting=userName+asc", 200),
                    (
                        "fields=summaryEmailTime&fields=tokenExpirationDays&fields=includeInObservations&fields=allowExceedApiLinkLimit",
                        300,
                    ),
                    ("tql=disabled+%3D+true&sorting=userName+asc", 40),
                    ("tql=userName+startsWith+%22a%22", 20),
                    ("owner=Demo+Organization&sorting=userName+asc", 90),
                    ("sorting=nope+asc", 10),
                ] {
                    compared += same_answers(&s, &me, query, limit).await;
                }
            }
            // A write between pages: cursors learnt before it are not used.
            let me = s
                .db(|c| Ok(db::load_user_by_name(c, "administrator").unwrap().unwrap()))
                .await
                .unwrap();
            let query = "sorting=userName+asc";
            same_answers(&s, &me, query, 100).await;
            s.db(|c| {
                c.execute(
                    "UPDATE users SET user_name = 'aaa-' || user_name WHERE id % 7 = 0",
                    [],
                )
                .map_err(ApiErr::db)
            })
            .await
            .unwrap();
            same_answers(&s, &me, query, 100).await;
            // Times stored in other forms than serializing gives (offsets,
            // fractions, text that is no time): the same answers still.
            s.db(|c| {
                c.execute_batch(
                    "UPDATE users SET last_login = '2024-03-01T10:00:00.5+02:00' WHERE id % 5 = 0;
                     UPDATE users SET terms_accepted_date = 'not a time' WHERE id % 6 = 0;
                     UPDATE users SET last_password_change = '2024-03-01T10:00:00+00:00' WHERE id % 4 = 0;
                     UPDATE users SET last_login = '2024-03-01T10:00:00.000Z' WHERE id % 9 = 0;",
                )
                .map_err(ApiErr::db)
            })
            .await
            .unwrap();
            same_answers(&s, &me, query, 100).await;
            assert!(compared > 300, "{compared}");
            // and the fast path did resume from cursors
            assert!(!s.cursors.by_listing.lock().unwrap().is_empty());
            sb.shutdown().await;
        }
    }

    /// Roles and groups are read from what each user's row keeps of them:
    /// after every kind of write to their tables, the pages still answer
    /// what reading the tables themselves answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn roles_and_groups_kept_on_the_row_follow_every_write() {
        let sb = Sandbox::start(SandboxConfig::loopback(400, "k"))
            .await
            .unwrap();
        let s = Arc::clone(&sb.shared);
        let me = s
            .db(|c| Ok(db::load_user_by_name(c, "administrator").unwrap().unwrap()))
            .await
            .unwrap();
        let query = "fields=userGroups&fields=mfaEnabled&sorting=userName+asc";
        let writes = [
            "UPDATE owner_roles SET role = 'Editor' WHERE user_id % 3 = 0",
            "DELETE FROM owner_roles WHERE user_id % 5 = 0 AND owner_id = 11",
            "DELETE FROM owner_roles WHERE user_id % 7 = 0",
            "UPDATE owner_roles SET user_id = user_id + 1 WHERE user_id % 11 = 0
               AND NOT EXISTS (SELECT 1 FROM owner_roles o
                 WHERE o.user_id = owner_roles.user_id + 1 AND o.owner_id = owner_roles.owner_id)",
            "INSERT OR IGNORE INTO user_groups(user_id, group_id)
               SELECT id, 1 + id % 3 FROM users WHERE id % 4 = 0",
            "DELETE FROM user_groups WHERE user_id % 6 = 0",
            "UPDATE OR IGNORE user_groups SET group_id = 2 WHERE user_id % 9 = 0",
            "DELETE FROM users WHERE id % 13 = 0",
            "INSERT INTO users(id, user_name, org_id, system_role, org_role, disabled, locked,
               password_reset_required, two_factor_reset_required, terms_accepted, mfa_enabled)
             VALUES (100000, 'zz-new', 1, 'Standard User', 'Standard User', 0, 0, 0, 0, 0, 0)",
            "INSERT INTO owner_roles(user_id, owner_id, role) VALUES (100000, 10, 'Commenter')",
            "INSERT INTO user_groups(user_id, group_id) VALUES (100000, 3)",
        ];
        let mut changed = 0;
        for write in writes {
            changed += s
                .db(move |c| c.execute(write, []).map_err(ApiErr::db))
                .await
                .unwrap();
            same_answers(&s, &me, query, 60).await;
            same_answers(&s, &me, "", 60).await;
        }
        assert!(changed > 100, "{changed}");
        sb.shutdown().await;
    }
}

//! `users list`: every account the caller may see, filtered, as a table,
//! CSV or JSON.

use crate::api::wire::ext;
use crate::api::{ApiError, UserQuery};
use crate::domain::filter::{Filter, MatchContext, Undecided};
use crate::domain::text::sanitize;
use crate::domain::{LastLoginReported, PasswordExpiry, User};
use crate::ops::ahead::ListingAhead;
pub use crate::ops::export::{
    csv_header, write_csv_rows, write_csv_with, write_json, JsonArray, RenderedPage, CSV_HEADER,
};
use crate::ops::session::Session;
use anyhow::{anyhow, bail};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;
use unicode_width::UnicodeWidthStr;

#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Json,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct ListArgs {
    /// Only the accounts of this Organization.
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
    /// Filter, e.g. 'status:locked,disabled login>3m -type:api' (see --help).
    #[arg(long, value_name = "EXPR", long_help = crate::domain::filter::HELP)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Fetches (TQL where the instance supports it) and filters (always
/// locally, so the answer is the same either way). A refused TQL
/// pre-filter is said in one line on stderr.
pub async fn fetch_filtered(
    session: &Session,
    org: Option<&str>,
    filter: &Filter,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<User>> {
    fetch_filtered_noting(session, org, filter, now, &mut |note| {
        eprintln!("note: {note}")
    })
    .await
}

/// The line said when an instance refuses the TQL pre-filter.
pub fn tql_refused_note(error: &ApiError) -> String {
    let reason = error.server_message().unwrap_or("400 Bad Request");
    format!("the instance refused the TQL pre-filter ({reason}); listed without it and filtered locally")
}

/// As `fetch_filtered`, telling `note` what the reader should know.
pub async fn fetch_filtered_noting(
    session: &Session,
    org: Option<&str>,
    filter: &Filter,
    now: DateTime<Utc>,
    note: &mut (dyn FnMut(String) + Send),
) -> anyhow::Result<Vec<User>> {
    Ok(fetch_listing(session, org, filter, now, note).await?.users)
}

/// Filtered accounts, and what the answer showed about last logins.
pub struct Listing {
    pub users: Vec<User>,
    pub last_login: LastLoginReported,
    /// What the filter could not decide (also said through `note`).
    pub undecided: Vec<Undecided>,
}

/// As [`fetch_filtered_noting`], keeping the last-login evidence of the
/// whole answer (a filtered subset alone could not show it). Fields the
/// instance sent in a form rollcall cannot read are noted, once each.
/// Sorted locally, case-insensitively by account name.
pub async fn fetch_listing(
    session: &Session,
    org: Option<&str>,
    filter: &Filter,
    now: DateTime<Utc>,
    note: &mut (dyn FnMut(String) + Send),
) -> anyhow::Result<Listing> {
    let mut users = Vec::new();
    let summary = stream_listing(
        session,
        org,
        filter,
        now,
        Paging::default(),
        note,
        &mut |page| {
            users.extend(page);
            Ok(())
        },
    )
    .await?;
    users.sort_by_cached_key(|u| (u.user_name.to_lowercase(), u.id));
    Ok(Listing {
        users,
        last_login: summary.last_login,
        undecided: summary.undecided,
    })
}

/// What a whole streamed listing showed, beyond its accounts.
pub struct StreamSummary {
    /// Whether an absent last login means "never" (see [`LastLoginReported`]).
    pub last_login: LastLoginReported,
    /// What the filter could not decide, counted over every page (also said
    /// through `note`).
    pub undecided: Vec<Undecided>,
}

/// The order `users list --format csv|json` asks the server for: output
/// streams in the server's order, so it cannot be sorted locally.
pub const STREAM_SORTING: &str = "userName asc";

/// Bytes of streamed output gathered per write: a listing of 100,000
/// accounts is 17 MB of CSV or 94 MB of JSON, thousands of writes at the
/// default 8 KB.
const STREAM_BUFFER: usize = 1 << 20;

/// Rendered CSV pages that may wait for their turn: a page of 10,000
/// accounts is about 2 MB, so all of a listing's pages in flight may.
const CSV_PAGES_HELD: usize = 10;

/// How `users list --format csv|json` pages: the largest pages, in the
/// order output streams in.
const STREAM_PAGING: Paging<'static> = Paging {
    sorting: Some(STREAM_SORTING),
    page_size: 0,
};

/// How a streamed listing is paged and ordered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paging<'a> {
    /// The server's order; `None`: the client's default (by id).
    pub sorting: Option<&'a str>,
    /// `resultLimit`; 0: the client's default (the largest page).
    pub page_size: u32,
}

/// Where a streamed listing's accounts go, a page at a time; an error
/// (a closed pipe) stops the output.
pub trait PageSink: FnMut(Vec<User>) -> anyhow::Result<()> {}
impl<F: FnMut(Vec<User>) -> anyhow::Result<()> + ?Sized> PageSink for F {}

/// The listing's rules, applied one page at a time: group membership
/// filled, the filter applied locally, the last-login evidence gathered.
struct PageRules<'a> {
    filter: &'a Filter,
    membership: Option<&'a crate::api::Membership>,
    ctx: MatchContext,
    /// Pages held until the evidence is in: a last-login term reads an
    /// absent last login as "never" only once some account shows one.
    held: Vec<Vec<User>>,
    /// Accounts received (before the filter).
    received: usize,
    /// Whether any page came at all (then a refusal is not retried).
    any_page: bool,
    failed: Option<anyhow::Error>,
    /// What the filter could not decide so far, summed over the pages.
    undecided: Vec<Undecided>,
}

impl PageRules<'_> {
    fn holding(&self) -> bool {
        self.filter.needs_last_login() && !self.ctx.last_login.is_returned()
    }

    fn page<S: PageSink + ?Sized>(&mut self, mut users: Vec<User>, sink: &mut S) {
        self.any_page = true;
        self.received += users.len();
        if let Some(m) = self.membership {
            m.fill(&mut users);
        }
        self.ctx.last_login = self.ctx.last_login.or(LastLoginReported::seen_in(&users));
        self.held.push(users);
        if !self.holding() {
            self.flush(sink);
        }
    }

    /// Filters and hands over every held page, in order.
    fn flush<S: PageSink + ?Sized>(&mut self, sink: &mut S) {
        for mut users in std::mem::take(&mut self.held) {
            if self.failed.is_some() {
                return;
            }
            for unknown in self.filter.undecided(&users, &self.ctx) {
                match self
                    .undecided
                    .iter_mut()
                    .find(|u| u.key == unknown.key && u.cause == unknown.cause)
                {
                    Some(seen) => seen.accounts += unknown.accounts,
                    None => self.undecided.push(unknown),
                }
            }
            users.retain(|u| self.filter.matches(u, &self.ctx));
            if let Err(e) = sink(users) {
                self.failed = Some(e);
            }
        }
    }
}

/// Every account, each page written as output by `render` on its own task
/// as soon as it is decoded (pages arrive in any order), then handed to
/// `write` in the order asked for (`paging`) with the ids written so far:
/// `write` leaves out what an earlier page already gave (`RenderedPage::
/// fresh`), as the accounts path drops repeated accounts. Group membership
/// is filled in first where the listing does not carry it. At most `held`
/// rendered pages wait for their turn: memory holds those, not the
/// instance.
#[allow(clippy::too_many_arguments)]
pub async fn stream_rendered<R>(
    session: &Session,
    org: Option<&str>,
    paging: Paging<'_>,
    note: &mut (dyn FnMut(String) + Send),
    render: R,
    held: usize,
    write: &mut dyn FnMut(&RenderedPage, &mut HashSet<i64>) -> anyhow::Result<()>,
) -> anyhow::Result<()>
where
    R: Fn(&[User]) -> anyhow::Result<RenderedPage> + Send + Sync + 'static,
{
    let fields = session.extension_fields();
    let membership = session.membership(&fields).await?;
    let query = UserQuery {
        fields,
        tql: None,
        owner: org.map(String::from),
        sorting: paging.sorting.map(String::from),
        page_size: paging.page_size,
    };
    let map = std::sync::Arc::new(move |mut users: Vec<User>| {
        if let Some(membership) = &membership {
            membership.fill(&mut users);
        }
        render(&users)
    });
    let mut seen = HashSet::new();
    // A failed write (a closed pipe) stops the output; the listing ends.
    let mut failed = None;
    session
        .client
        .list_users_mapped(&query, (map, held), &mut |page| {
            if failed.is_none() {
                if let Err(e) = page.value.and_then(|rendered| write(&rendered, &mut seen)) {
                    failed = Some(e);
                }
            }
        })
        .await?;
    if let Some(e) = failed {
        return Err(e);
    }
    for odd in crate::domain::lenient::take_odd_fields() {
        note(odd.to_string());
    }
    Ok(())
}

/// Lists page by page, handing each page's matching accounts to `sink` as
/// it arrives, in the order asked for (`paging`), so memory does not grow with the instance. Fetches
/// with a TQL pre-filter where the instance supports it and filters
/// locally always, so the answer is the same either way; a refused
/// pre-filter is noted and the listing asked again without it (only
/// before any page came, so nothing is handed over twice). Returns the
/// last-login evidence of the whole answer.
pub async fn stream_listing<S: PageSink + ?Sized>(
    session: &Session,
    org: Option<&str>,
    filter: &Filter,
    now: DateTime<Utc>,
    paging: Paging<'_>,
    note: &mut (dyn FnMut(String) + Send),
    sink: &mut S,
) -> anyhow::Result<StreamSummary> {
    let fields = session.extension_fields();
    // Groups come with the accounts (extension) or from the user groups.
    let membership = session.membership(&fields).await?;
    let groups_known = fields.iter().any(|f| f == ext::USER_GROUPS_FIELD) || membership.is_some();
    let mfa_known = fields.iter().any(|f| f == ext::MFA_FIELD);
    if let Some(why) = filter.unanswerable(mfa_known, groups_known) {
        bail!("{why}");
    }
    let ctx = MatchContext {
        now,
        last_login: session.capabilities.last_login_advertised(),
        password_max_age_days: session.settings.password_max_age_days,
    };
    // `group:` takes a name's start when no group has the exact name; the
    // groups are known before the first page, so every page is judged alike.
    let groups = match &membership {
        _ if !filter.needs_groups() => Vec::new(),
        Some(m) => m.groups().to_vec(),
        None => session.client.user_groups().await?,
    };
    let mut resolved = filter.clone();
    for said in resolved.resolve_groups(groups.iter().map(|g| g.name.as_str())) {
        note(said);
    }
    let filter = &resolved;
    let query = UserQuery {
        fields,
        tql: filter.to_tql(&session.tql_support(&groups), &ctx),
        owner: org.map(String::from),
        sorting: paging.sorting.map(String::from),
        page_size: paging.page_size,
    };
    let mut rules = PageRules {
        filter,
        membership: membership.as_ref(),
        ctx,
        held: Vec::new(),
        received: 0,
        any_page: false,
        failed: None,
        undecided: Vec::new(),
    };
    let listed = session
        .client
        .list_users_with(&query, &mut |page| rules.page(page.items, sink))
        .await;
    match listed {
        // The filter is applied locally anyway: a pre-filter the instance
        // does not accept costs a full listing, not the answer.
        Err(e) if query.tql.is_some() && e.status() == Some(400) && !rules.any_page => {
            note(tql_refused_note(&e));
            let plain = UserQuery { tql: None, ..query };
            session
                .client
                .list_users_with(&plain, &mut |page| rules.page(page.items, sink))
                .await?;
        }
        listed => {
            listed?;
        }
    }
    // No account showed a last login: the held pages are judged without it.
    rules.flush(sink);
    if let Some(e) = rules.failed {
        return Err(e);
    }
    for odd in crate::domain::lenient::take_odd_fields() {
        note(odd.to_string());
    }
    for unknown in &rules.undecided {
        note(unknown.to_string());
    }
    Ok(StreamSummary {
        last_login: rules.ctx.last_login,
        undecided: rules.undecided,
    })
}

/// The listing `users list` asks for right after connecting, when its
/// pages can go out ahead (see `ops::ahead`): streamed output without a
/// filter (a filter's TQL needs the instance's answers first).
pub fn listing_ahead(args: &ListArgs) -> Option<ListingAhead> {
    let streamed = matches!(args.format, Format::Csv | Format::Json);
    let unfiltered = args.filter.as_deref().is_none_or(|f| f.trim().is_empty());
    (streamed && unfiltered).then(|| ListingAhead {
        owner: args.org.clone(),
        sorting: STREAM_PAGING.sorting.map(String::from),
        page_size: STREAM_PAGING.page_size,
        ..Default::default()
    })
}

pub async fn list(session: &Session, args: &ListArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    list_streamed(session, args, out).await?;
    // What this listing learnt lets the next one's pages go out at once.
    if let Some(ahead) = listing_ahead(args) {
        session.remember_listing(&ahead);
    }
    Ok(())
}

async fn list_streamed(
    session: &Session,
    args: &ListArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let filter = Filter::parse(args.filter.as_deref().unwrap_or(""))
        .map_err(|e| anyhow!("--filter: {e}"))?;
    let now = Utc::now();
    let mut note = |note: String| eprintln!("note: {note}");
    let org = args.org.as_deref();
    match args.format {
        // Aligned columns need every row first: the table buffers.
        Format::Table => {
            let Listing {
                users, last_login, ..
            } = fetch_listing(session, org, &filter, now, &mut note).await?;
            write_table(&users, session, now, last_login, out)?;
        }
        // Without a filter, each page is written as CSV on its own task as
        // it arrives; with one, the filter's rules need the pages in order
        // (the last-login evidence, what it cannot decide). JSON is not:
        // a page of it is half again the size of its accounts, and three
        // held ahead put the peak past 100 MB.
        Format::Csv if filter.is_empty() => {
            let max_age = session.settings.password_max_age_days;
            let mut out = std::io::BufWriter::with_capacity(STREAM_BUFFER, &mut *out);
            // The header goes out with the first page, as below.
            let mut header = false;
            let mut write_header = |out: &mut dyn Write| -> anyhow::Result<()> {
                if !std::mem::replace(&mut header, true) {
                    out.write_all(&csv_header()?)?;
                }
                Ok(())
            };
            stream_rendered(
                session,
                org,
                STREAM_PAGING,
                &mut note,
                move |users| RenderedPage::csv(users, max_age, now),
                CSV_PAGES_HELD,
                &mut |page, seen| {
                    write_header(&mut out)?;
                    for row in page.fresh(seen) {
                        out.write_all(row)?;
                    }
                    Ok(())
                },
            )
            .await?;
            write_header(&mut out)?;
            out.flush()?;
        }
        Format::Csv => {
            let mut csv_out = csv::Writer::from_writer(std::io::BufWriter::with_capacity(
                STREAM_BUFFER,
                &mut *out,
            ));
            // The header goes out with the first page, so a listing refused
            // before any page writes nothing.
            let mut header = false;
            let mut write_header = |csv_out: &mut csv::Writer<_>| -> anyhow::Result<()> {
                if !std::mem::replace(&mut header, true) {
                    csv_out.write_record(CSV_HEADER)?;
                }
                Ok(())
            };
            stream_listing(
                session,
                org,
                &filter,
                now,
                STREAM_PAGING,
                &mut note,
                &mut |page| {
                    write_header(&mut csv_out)?;
                    write_csv_rows(
                        &mut csv_out,
                        &page,
                        session.settings.password_max_age_days,
                        now,
                    )
                },
            )
            .await?;
            write_header(&mut csv_out)?;
            csv_out.flush()?;
        }
        Format::Json => {
            // Elements are small writes: buffered, not a syscall each.
            let mut json =
                JsonArray::new(std::io::BufWriter::with_capacity(STREAM_BUFFER, &mut *out));
            stream_listing(
                session,
                org,
                &filter,
                now,
                STREAM_PAGING,
                &mut note,
                &mut |page| json.write_all(&page),
            )
            .await?;
            json.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}
fn status_text(user: &User) -> &'static str {
    user.status().map_or("?", |s| s.name())
}

fn last_login_text(user: &User, now: DateTime<Utc>, reported: LastLoginReported) -> String {
    match (user.last_login, user.days_since_login(now, reported)) {
        (Some(at), _) => at.format("%Y-%m-%d").to_string(),
        (None, Some(None)) => "never".to_string(),
        _ => "?".to_string(),
    }
}

fn password_text(user: &User, session: &Session, now: DateTime<Utc>) -> String {
    match user.password_expiry(session.settings.password_max_age_days, now) {
        PasswordExpiry::DaysLeft(0) => "today".to_string(),
        PasswordExpiry::DaysLeft(1) => "in 1 day".to_string(),
        PasswordExpiry::DaysLeft(n) => format!("in {n} days"),
        PasswordExpiry::Expired => "expired".to_string(),
        PasswordExpiry::Unknown => "?".to_string(),
    }
}

fn groups_text(user: &User) -> String {
    match user.group_names() {
        Some(names) => names.join(", "),
        None => "?".to_string(),
    }
}
/// CSV with a header; unknown values are empty cells.
pub fn write_csv(
    users: &[User],
    session: &Session,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    write_csv_with(users, session.settings.password_max_age_days, now, out)
}
/// The widest a table cell gets, in terminal columns: one long value (a
/// 5,000-character name once made 10.8 MB of table) cannot widen every line.
pub const MAX_CELL_WIDTH: usize = 60;

/// `text` cut to `max` columns, the last one an ellipsis; whether it was cut.
fn cap_cell(text: String, max: usize) -> (String, bool) {
    if text.width() <= max {
        return (text, false);
    }
    (crate::domain::text::fit(&text, max).into_owned(), true)
}

/// Aligned columns, each at most [`MAX_CELL_WIDTH`] wide (a note at the end
/// says when a value was cut); unknown values show as `?`.
pub fn write_table(
    users: &[User],
    session: &Session,
    now: DateTime<Utc>,
    last_login: LastLoginReported,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let show_system_role = session.actor.sees_system_roles();
    let mut header = vec!["Account", "Name"];
    if show_system_role {
        header.push("System Role");
    }
    header.extend([
        "Org Role",
        "Status",
        "Last Login",
        "Password Expires",
        "Groups",
    ]);

    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|user| {
            let mut row = vec![
                sanitize(&user.user_name).into_owned(),
                sanitize(&user.full_name()).into_owned(),
            ];
            if show_system_role {
                row.push(
                    user.system_role
                        .as_deref()
                        .map_or(Cow::Borrowed("?"), sanitize)
                        .into_owned(),
                );
            }
            row.push(
                user.org_role_name()
                    .map_or(Cow::Borrowed("?"), sanitize)
                    .into_owned(),
            );
            row.push(status_text(user).to_string());
            row.push(last_login_text(user, now, last_login));
            row.push(password_text(user, session, now));
            row.push(sanitize(&groups_text(user)).into_owned());
            row
        })
        .collect();
    let mut cut = false;
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| {
                    let (cell, was_cut) = cap_cell(cell, MAX_CELL_WIDTH);
                    cut |= was_cut;
                    cell
                })
                .collect()
        })
        .collect();

    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }
    let write_row = |out: &mut dyn Write, cells: &[&str]| -> std::io::Result<()> {
        let last = cells.len() - 1;
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            line.push_str(cell);
            if i < last {
                line.extend(std::iter::repeat_n(' ', widths[i] - cell.width() + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())
    };
    write_row(out, &header)?;
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        write_row(out, &cells)?;
    }
    writeln!(
        out,
        "{} account{}",
        users.len(),
        if users.len() == 1 { "" } else { "s" }
    )?;
    if cut {
        writeln!(
            out,
            "Values longer than {MAX_CELL_WIDTH} characters end in …; --format json shows them whole."
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Capabilities, Client, Connection, Credentials, Secret};
    use crate::domain::{Actor, GroupRef, InstanceSettings, OrgRole, SystemRole};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn session(role: SystemRole) -> Session {
        let client = Client::new(Connection {
            api_path: "http://127.0.0.1:9/api".into(),
            credentials: Credentials::Token(Secret::new("t")),
            read_only: true,
            concurrency: 1,
        })
        .unwrap();
        Session {
            client,
            actor: Actor {
                id: Some(1),
                user_name: "me".into(),
                system_role: Some(role),
                org_role: Some(OrgRole::OrganizationAdministrator),
                home_org: "Demo Organization".into(),
                ..Default::default()
            },
            capabilities: Capabilities::default(),
            settings: InstanceSettings {
                password_max_age_days: Some(90),
                ..Default::default()
            },
            instance: "http://127.0.0.1:9/api".into(),
            read_only: true,
            concurrency: None,
        }
    }

    fn users() -> Vec<User> {
        vec![
            User {
                id: 11,
                user_name: "jeffersond@companyabc.com".into(),
                first_name: Some("Donald".into()),
                last_name: Some("Jefferson".into()),
                owner: Some("Demo Organization".into()),
                system_role: Some("User".into()),
                owner_roles: Some(
                    [("Demo Organization".to_string(), "Standard User".to_string())]
                        .into_iter()
                        .collect(),
                ),
                disabled: Some(false),
                locked: Some(true),
                last_login: Some(now() - chrono::Duration::days(3)),
                last_password_change: Some(now() - chrono::Duration::days(80)),
                user_groups: Some(vec![GroupRef {
                    id: 1,
                    name: "SOC Team".into(),
                }]),
                mfa_enabled: Some(true),
                ..Default::default()
            },
            User {
                id: 12,
                user_name: "evil\u{1b}[2J\u{9b}31m".into(),
                first_name: Some("Bad\u{7}".into()),
                pseudonym: Some("rtl\u{202e}txt\u{7f}\u{200b}ö".into()),
                owner: Some("Demo Organization".into()),
                ..Default::default()
            },
        ]
    }

    fn table(role: SystemRole) -> String {
        let mut out = Vec::new();
        write_table(
            &users(),
            &session(role),
            now(),
            LastLoginReported::Returned,
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_aligns_columns_and_shows_unknown_as_question_marks() {
        let text = table(SystemRole::Administrator);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("Account "));
        assert!(lines[0].contains("System Role"));
        let status_column = lines[0].find("Status").unwrap();
        assert_eq!(&lines[1][status_column..status_column + 6], "Locked");
        assert_eq!(&lines[2][status_column..status_column + 1], "?");
        assert!(lines[1].contains("Donald Jefferson"));
        assert!(lines[1].contains("2026-11-22"));
        assert!(lines[1].contains("in 10 days"));
        assert!(lines[1].ends_with("SOC Team"));
        assert_eq!(lines[3], "2 accounts");
    }

    #[test]
    fn long_values_are_cut_to_the_column_cap_and_the_table_says_how_to_see_them() {
        let mut long = users();
        long[0].first_name = Some("N".repeat(5_000));
        long[0].user_name = "界".repeat(100);
        let mut out = Vec::new();
        let session = session(SystemRole::Administrator);
        write_table(
            &long,
            &session,
            now(),
            LastLoginReported::Returned,
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.len() < 2_000, "{} bytes", text.len());
        for line in text.lines().take(3) {
            assert!(line.width() < 8 * (MAX_CELL_WIDTH + 2), "{line}");
        }
        let row = text.lines().nth(1).unwrap();
        let name: &str = row.split("  ").nth(1).unwrap().trim();
        assert!(
            name.ends_with('…') && name.width() == MAX_CELL_WIDTH,
            "{name:?}"
        );
        // A wide character is never split: the cell stays within the cap.
        let account = row.split(' ').next().unwrap();
        assert!(account.ends_with('…') && account.width() <= MAX_CELL_WIDTH);
        assert_eq!(
            text.lines().last(),
            Some("Values longer than 60 characters end in …; --format json shows them whole.")
        );
        // Short values: no note.
        assert!(!table(SystemRole::Administrator).contains("--format json"));
    }

    #[test]
    fn system_role_column_only_for_those_who_see_it() {
        assert!(!table(SystemRole::AccountsAdministrator).contains("System Role"));
        assert!(table(SystemRole::OperationsAdministrator).contains("System Role"));
    }

    #[test]
    fn no_output_format_emits_control_characters() {
        let session = session(SystemRole::Administrator);
        let text = table(SystemRole::Administrator);
        assert!(text.contains("evil\\e[2J\\x9b31m"));
        let mut csv_out = Vec::new();
        write_csv(&users(), &session, now(), &mut csv_out).unwrap();
        let mut json_out = Vec::new();
        write_json(&users(), &mut json_out).unwrap();
        for out in [text.into_bytes(), csv_out, json_out] {
            let out = String::from_utf8(out).unwrap();
            assert!(
                !out.chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\r'),
                "{out:?}"
            );
        }
    }

    #[test]
    fn csv_has_a_header_and_empty_cells_for_unknown() {
        let mut out = Vec::new();
        write_csv(
            &users(),
            &session(SystemRole::Administrator),
            now(),
            &mut out,
        )
        .unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let header = reader.headers().unwrap().clone();
        assert_eq!(&header[1], "userName");
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(&rows[0][column("status")], "Locked");
        assert_eq!(&rows[0][column("orgRole")], "Standard User");
        assert_eq!(&rows[0][column("passwordExpiresInDays")], "10");
        assert_eq!(&rows[0][column("userGroups")], "SOC Team");
        assert_eq!(&rows[1][column("status")], "");
        assert_eq!(&rows[1][column("disabled")], "");
    }

    #[test]
    fn streamed_json_is_byte_for_byte_the_whole_array_export() {
        use crate::domain::text::json_export;
        let all = users();
        for n in 0..=all.len() {
            let mut streamed = Vec::new();
            let mut json = JsonArray::new(&mut streamed);
            // one page at a time, the way a listing hands them over
            for page in all[..n].chunks(1) {
                json.write_all(page).unwrap();
            }
            json.write_all(&[]).unwrap();
            json.finish().unwrap();
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                json_export(&all[..n]).unwrap(),
                "{n} accounts"
            );
        }
    }

    #[test]
    fn json_keeps_threatconnect_field_names_and_round_trips() {
        let mut out = Vec::new();
        write_json(&users(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"userName\": \"jeffersond@companyabc.com\""));
        assert!(text.contains("\"ownerRoles\""));
        assert!(text.contains("\"userGroups\""));
        assert!(!text.contains("\"disabled\": null"));
        let back: Vec<User> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, users());
    }
}

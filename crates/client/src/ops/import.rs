//! CSV import of new and changed accounts (issue 14, item 1): the
//! template, the plan (every row checked with the form's own rules and the
//! policy before anything is sent), and the run, journaled like every run.
//! Rows are matched by user name: an absent account is created, a present
//! one gets only the fields that differ, an identical one is left alone.

use crate::api::{ApiError, Client};
use crate::bulk::{self, AccountWrite, Cancel, RowOutcome, RunMeta};
use crate::domain::form::{field_for_key, field_key, AccountForm, FieldValue, Password};
use crate::domain::policy::{may, may_create, may_update, Action, Actor, InstanceSettings};
use crate::domain::preflight::target_of;
use crate::domain::text::sanitize;
use crate::domain::{AccountType, Field, SystemRole, User};
use crate::journal::{Journal, OutcomeState, Phase, RunHeader};
use crate::ops::account::{self, Created, Step};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The column naming a new account's type (user, api, readonly, taxii).
pub const TYPE_COLUMN: &str = "type";
/// The journal's name for an import run.
pub const IMPORT_ACTION: &str = "import";
/// The journal's name for the run that undoes an import.
pub const UNDO_IMPORT_ACTION: &str = "undo-import";
/// Journal actions of an import's rows.
pub const CREATE_ACTION: &str = "create";
pub const UPDATE_ACTION: &str = "update";

/// Columns an import reads but never sends to an existing account: they act
/// when an account is created (a password cannot be read back to compare).
const CREATE_ONLY: &[Field] = &[Field::Password, Field::SendAccountInfoEmail];

/// Who imports, where: what the form and the policy need.
#[derive(Debug, Clone)]
pub struct ImportContext {
    pub actor: Actor,
    pub settings: InstanceSettings,
    /// The instance's rollcall extensions.
    pub extensions: BTreeSet<String>,
    /// User fields the instance marks as not updatable.
    pub not_updatable: BTreeSet<String>,
    /// The Organization new accounts are created in.
    pub org: String,
    /// Generate an API token for each API account created.
    pub generate_tokens: bool,
}

/// An import template: the header and one example row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub header: Vec<String>,
    pub example: Vec<String>,
    /// What the file cannot do on this instance (said beside the template,
    /// not in it): new accounts of a type whose names the instance makes
    /// up cannot be created by an import.
    pub note: Option<String>,
}

/// The template for `kind`: the type column, then the `--set` keys of the
/// create form this actor gets on this instance, in its order; the
/// example row holds the form's defaults and a made-up person.
pub fn template(context: &ImportContext, kind: AccountType) -> Template {
    let form = AccountForm::create(&context.actor, &context.settings, kind, &context.org)
        .with_extensions(&context.extensions);
    let mut header = vec![TYPE_COLUMN.to_string()];
    let mut example = vec![kind.key().to_string()];
    for (field, _) in form.layout() {
        // Memberships are not imported (see `plan`).
        if field == Field::Groups {
            continue;
        }
        header.push(field_key(field).to_string());
        example.push(match field {
            Field::Email if matches!(kind, AccountType::User | AccountType::ReadOnly) => {
                "pat.doe@example.com".to_string()
            }
            Field::Email => "svc-feed-01".to_string(),
            Field::FirstName => "Pat".to_string(),
            Field::LastName => "Doe".to_string(),
            other => form.value_text(other),
        });
    }
    // Rows are matched by userName, so the column is always there; where
    // the instance makes up the names of new accounts of this type, the
    // file can only update existing ones, and the note says so.
    let mut note = None;
    if !header.iter().any(|h| h == field_key(Field::Email)) {
        header.insert(1, field_key(Field::Email).to_string());
        example.insert(1, "svc-feed-01".to_string());
        note = Some(format!(
            "this instance makes up the names of new {} accounts: an import updates existing ones (matched by userName) but cannot create them; `rollcall users create --type {}` does",
            kind.name(),
            kind.key()
        ));
    }
    Template {
        header,
        example,
        note,
    }
}

/// The template as CSV: the header, then the example commented out with
/// `#` (the importer skips such lines).
pub fn write_template(template: &Template, out: &mut dyn Write) -> anyhow::Result<()> {
    let line = |cells: &[String]| -> anyhow::Result<Vec<u8>> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(cells)?;
        writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    };
    out.write_all(&line(&template.header)?)?;
    out.write_all(b"# ")?;
    out.write_all(&line(&template.example)?)?;
    out.flush()?;
    Ok(())
}

/// What one row of the file comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum RowPlan {
    Create(CreateRow),
    Update(Box<UpdateRow>),
    /// The account already has every value the row gives.
    Unchanged {
        line: u64,
        user_name: String,
        id: i64,
    },
    /// Problems by column; never sent.
    Invalid {
        line: u64,
        problems: Vec<(String, String)>,
    },
    /// The policy refuses it for this actor; never sent.
    NotAllowed {
        line: u64,
        user_name: String,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateRow {
    pub line: u64,
    pub user_name: String,
    pub kind: AccountType,
    /// The create body; holds the password, so never journaled as is.
    pub body: account::RequestBody,
    /// The password was made up here: known to nobody.
    pub password_made_up: bool,
    /// Generate an API token after the create.
    pub token: Option<crate::api::wire::TokenRequest>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRow {
    pub line: u64,
    /// The account as it was read before the run.
    pub user: User,
    /// Only the fields that differ.
    pub change: serde_json::Value,
    /// Their values before: the update that puts them back.
    pub before: serde_json::Value,
}

/// Every row of a file, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportPlan {
    pub rows: Vec<RowPlan>,
}

impl ImportPlan {
    fn count(&self, wanted: fn(&RowPlan) -> bool) -> usize {
        self.rows.iter().filter(|r| wanted(r)).count()
    }
    pub fn creates(&self) -> usize {
        self.count(|r| matches!(r, RowPlan::Create(_)))
    }
    pub fn updates(&self) -> usize {
        self.count(|r| matches!(r, RowPlan::Update(_)))
    }
    pub fn unchanged(&self) -> usize {
        self.count(|r| matches!(r, RowPlan::Unchanged { .. }))
    }
    pub fn invalid(&self) -> usize {
        self.count(|r| matches!(r, RowPlan::Invalid { .. }))
    }
    pub fn not_allowed(&self) -> usize {
        self.count(|r| matches!(r, RowPlan::NotAllowed { .. }))
    }
    /// The rows that will be sent.
    pub fn to_send(&self) -> usize {
        self.creates() + self.updates()
    }
}

/// A file that cannot be imported at all (as opposed to a row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileProblem(pub String);

/// One column of the file: its header text and what it names.
struct Column {
    header: String,
    field: Option<Field>,
}

/// Plans every row of `csv_text` against `existing` (the accounts the
/// actor sees, read with the edit form's fields). Lines starting with `#`
/// are skipped. Nothing is sent.
pub fn plan(
    context: &ImportContext,
    csv_text: &str,
    existing: &[User],
) -> Result<ImportPlan, FileProblem> {
    if csv_text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(FileProblem(
            "the file is empty; `rollcall users template --type TYPE` writes a header to start from"
                .to_string(),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FileProblem(format!("cannot read the header line: {e}")))?
        .clone();
    let columns = columns_of(&headers)?;
    let by_name: HashMap<String, &User> = existing
        .iter()
        .map(|u| (u.user_name.trim().to_lowercase(), u))
        .collect();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut plan = ImportPlan::default();
    for record in reader.records() {
        let record = record.map_err(|e| FileProblem(format!("cannot read the file: {e}")))?;
        // The reader's own line count skips comment lines; a person
        // counts every line of the file.
        let line = record.position().map_or(0, |p| line_at(csv_text, p.byte()));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if record.len() != columns.len() {
            plan.rows.push(RowPlan::Invalid {
                line,
                problems: vec![(
                    "(row)".to_string(),
                    format!(
                        "{} cells, but the header has {} columns",
                        record.len(),
                        columns.len()
                    ),
                )],
            });
            continue;
        }
        let cells: Vec<(&Column, &str)> = columns.iter().zip(record.iter()).collect();
        plan.rows
            .push(plan_row(context, line, &cells, &by_name, &mut seen));
    }
    Ok(plan)
}

/// The 1-based line of the record the reader places at byte `offset`: it
/// places a record where it began reading, before the comment and blank
/// lines it skipped, so those are stepped over first.
fn line_at(text: &str, offset: u64) -> u64 {
    let mut end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    while let Some(rest) = text.get(end..) {
        let skipped = rest.starts_with('#') || rest.starts_with('\n') || rest.starts_with("\r\n");
        match rest.find('\n') {
            Some(newline) if skipped => end += newline + 1,
            _ => break,
        }
    }
    let newlines = text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u64::try_from(newlines)
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

fn columns_of(headers: &csv::StringRecord) -> Result<Vec<Column>, FileProblem> {
    let mut columns = Vec::new();
    let mut fields_seen = BTreeSet::new();
    for (index, header) in headers.iter().enumerate() {
        let name = header.trim();
        let field = if name.eq_ignore_ascii_case(TYPE_COLUMN) {
            None
        } else {
            let field = field_for_key(name).ok_or_else(|| {
                FileProblem(format!(
                    "column {} ({:?}) is not a field; `rollcall users template --type TYPE` writes the columns",
                    index + 1,
                    sanitize(name)
                ))
            })?;
            if field == Field::Groups {
                return Err(FileProblem(format!(
                    "column {} ({}): an import does not set group memberships; use `rollcall users edit ACCOUNT --set groups=...`",
                    index + 1,
                    sanitize(name)
                )));
            }
            Some(field)
        };
        let key = field.map_or(TYPE_COLUMN, field_key);
        if !fields_seen.insert(key) {
            return Err(FileProblem(format!(
                "column {} ({}) names {key} a second time",
                index + 1,
                sanitize(name)
            )));
        }
        columns.push(Column {
            header: name.to_string(),
            field,
        });
    }
    if !columns.iter().any(|c| c.field == Some(Field::Email)) {
        return Err(FileProblem(
            "the file has no userName column: rows are matched by userName".to_string(),
        ));
    }
    Ok(columns)
}

fn plan_row(
    context: &ImportContext,
    line: u64,
    cells: &[(&Column, &str)],
    by_name: &HashMap<String, &User>,
    seen: &mut HashMap<String, u64>,
) -> RowPlan {
    let invalid = |column: &str, why: String| RowPlan::Invalid {
        line,
        problems: vec![(column.to_string(), why)],
    };
    let cell = |field: Option<Field>| {
        cells
            .iter()
            .find(|(c, _)| c.field == field)
            .map(|(c, text)| (c.header.as_str(), text.trim()))
    };
    let (name_column, user_name) = cell(Some(Field::Email)).unwrap_or(("userName", ""));
    if user_name.is_empty() {
        return invalid(
            name_column,
            "required: rows are matched by userName".to_string(),
        );
    }
    if let Some(first) = seen.insert(user_name.to_lowercase(), line) {
        return invalid(name_column, format!("{user_name} is also on line {first}"));
    }
    let kind = match cell(None).filter(|(_, text)| !text.is_empty()) {
        Some((column, text)) => match AccountType::from_key(text) {
            Some(kind) => Some(kind),
            None => {
                return invalid(
                    column,
                    format!("unknown account type {text:?}; use user, api, readonly or taxii"),
                )
            }
        },
        None => None,
    };
    match by_name.get(&user_name.to_lowercase()) {
        Some(user) => plan_update(context, line, cells, user, kind),
        None => plan_create(context, line, cells, user_name, kind),
    }
}

fn plan_update(
    context: &ImportContext,
    line: u64,
    cells: &[(&Column, &str)],
    user: &User,
    kind: Option<AccountType>,
) -> RowPlan {
    let actor = &context.actor;
    let target = target_of(user, actor);
    let not_allowed = |reason: String| RowPlan::NotAllowed {
        line,
        user_name: user.user_name.clone(),
        reason,
    };
    if let Err(refusal) = may(actor, &context.settings, Action::Edit, &target) {
        return not_allowed(refusal.0);
    }
    let original = AccountForm::edit(actor, &context.settings, user)
        .with_extensions(&context.extensions)
        .with_not_updatable(&context.not_updatable);
    let mut problems = Vec::new();
    if let (Some(wanted), Some(is)) = (kind, user.account_type()) {
        if wanted != is {
            let column = cells
                .iter()
                .find(|(c, _)| c.field.is_none())
                .map_or(TYPE_COLUMN, |(c, _)| c.header.as_str());
            problems.push((
                column.to_string(),
                format!(
                    "{} is {}, not {}",
                    user.user_name,
                    article(is.name()),
                    article(wanted.name())
                ),
            ));
        }
    }
    let mut form = original.clone();
    for (column, text) in cells {
        let Some(field) = column.field else { continue };
        let text = *text;
        if field == Field::Email || CREATE_ONLY.contains(&field) || text.trim().is_empty() {
            continue;
        }
        if form.text_matches(&column.header, text) {
            continue;
        }
        if let Err(why) = form.set_from_text(&column.header, text) {
            problems.push((column.header.clone(), why));
        }
    }
    if problems.is_empty() {
        problems.extend(form_problems(&form, cells));
    }
    if !problems.is_empty() {
        return RowPlan::Invalid { line, problems };
    }
    let change = form.update_body(user);
    if change.as_object().is_none_or(|m| m.is_empty()) {
        return RowPlan::Unchanged {
            line,
            user_name: user.user_name.clone(),
            id: user.id,
        };
    }
    if let Err(refusal) = may_update(actor, &context.settings, &target, form.kind(), &change) {
        return not_allowed(refusal.0);
    }
    RowPlan::Update(Box::new(UpdateRow {
        line,
        user: user.clone(),
        before: original.values_under(&change),
        change,
    }))
}

fn plan_create(
    context: &ImportContext,
    line: u64,
    cells: &[(&Column, &str)],
    user_name: &str,
    kind: Option<AccountType>,
) -> RowPlan {
    let column_of = |field: Option<Field>| {
        cells
            .iter()
            .find(|(c, _)| c.field == field)
            .map(|(c, text)| (c.header.clone(), text.trim()))
    };
    // Without a type, the System role tells (an API User role is an API account).
    let kind = kind.or_else(|| {
        column_of(Some(Field::SystemRole))
            .and_then(|(_, text)| SystemRole::parse(&text.replace(['-', '_'], " ")))
            .map(AccountType::of)
    });
    let Some(kind) = kind else {
        let column = column_of(None).map_or(TYPE_COLUMN.to_string(), |(c, _)| c);
        return RowPlan::Invalid {
            line,
            problems: vec![(
                column,
                format!("{user_name} does not exist, and creating it needs its type: user, api, readonly or taxii"),
            )],
        };
    };
    let actor = &context.actor;
    if let Err(refusal) = may_create(actor, &context.settings, &context.org, kind) {
        return RowPlan::NotAllowed {
            line,
            user_name: user_name.to_string(),
            reason: refusal.0,
        };
    }
    let mut form = AccountForm::create(actor, &context.settings, kind, &context.org)
        .with_extensions(&context.extensions);
    let mut problems = Vec::new();
    for (column, text) in cells {
        let Some(field) = column.field else { continue };
        if text.trim().is_empty() {
            continue;
        }
        if field == Field::Email && form.check_settable(Field::Email).is_err() {
            problems.push((
                column.header.clone(),
                format!("this instance makes up the names of new {} accounts, so an import could not find this one again; create it with `rollcall users create --type {}`", kind.name(), kind.key()),
            ));
            continue;
        }
        if let Err(why) = form.set_from_text(&column.header, text) {
            problems.push((column.header.clone(), why));
        }
    }
    // No password given: a random one nobody is told, and the person sets
    // their own at first login (and is e-mailed where the instance can).
    let password_given = column_of(Some(Field::Password)).is_some_and(|(_, t)| !t.is_empty());
    let password_made_up = !password_given && form.check_settable(Field::Password).is_ok();
    if password_made_up {
        let password = account::random_password(&context.settings.password_policy);
        let set = form.set(
            Field::Password,
            FieldValue::Password(Password::new(password)),
        );
        problems.extend(set.err().map(|why| ("password".to_string(), why)));
        if form.check_settable(Field::PasswordResetRequired).is_ok() {
            let reset_column = column_of(Some(Field::PasswordResetRequired));
            if form.value(Field::PasswordResetRequired) == FieldValue::Checkbox(false)
                && reset_column.as_ref().is_some_and(|(_, t)| !t.is_empty())
            {
                problems.push((
                    reset_column.map_or_else(String::new, |(c, _)| c),
                    "must be true when no password is given: the made-up password is known to nobody".to_string(),
                ));
            }
            let set = form.set(Field::PasswordResetRequired, FieldValue::Checkbox(true));
            problems.extend(
                set.err()
                    .map(|why| ("passwordResetRequired".to_string(), why)),
            );
        }
        let email_given =
            column_of(Some(Field::SendAccountInfoEmail)).is_some_and(|(_, t)| !t.is_empty());
        if !email_given && form.check_settable(Field::SendAccountInfoEmail).is_ok() {
            let set = form.set(Field::SendAccountInfoEmail, FieldValue::Checkbox(true));
            problems.extend(
                set.err()
                    .map(|why| ("sendAccountInfoEmail".to_string(), why)),
            );
        }
    }
    if problems.is_empty() {
        problems.extend(form_problems(&form, cells));
    }
    if !problems.is_empty() {
        return RowPlan::Invalid { line, problems };
    }
    let token = (context.generate_tokens && form.account_type() == AccountType::Api).then(|| {
        crate::api::wire::TokenRequest {
            expiration_days: form.token_expiration_days(),
        }
    });
    RowPlan::Create(CreateRow {
        line,
        user_name: user_name.to_string(),
        kind: form.account_type(),
        body: account::RequestBody(form.create_body()),
        password_made_up,
        token,
    })
}

/// The form's own validation, each problem under the file's column for its
/// field (or the field's key when the file has no such column).
fn form_problems(form: &AccountForm, cells: &[(&Column, &str)]) -> Vec<(String, String)> {
    form.validate()
        .into_iter()
        .map(|(field, why)| {
            let column = cells
                .iter()
                .find(|(c, _)| c.field == Some(field))
                .map_or_else(|| field_key(field).to_string(), |(c, _)| c.header.clone());
            (column, why)
        })
        .collect()
}

fn article(name: &str) -> String {
    let vowel = name
        .chars()
        .next()
        .is_some_and(|c| "AEIOUaeiou".contains(c));
    format!("{} {name}", if vowel { "an" } else { "a" })
}

/// Who imports where, from a session: the form's and the policy's inputs.
pub fn context(
    session: &crate::ops::session::Session,
    org: Option<&str>,
    generate_tokens: bool,
) -> ImportContext {
    ImportContext {
        actor: session.actor.clone(),
        settings: session.settings.clone(),
        extensions: session.capabilities.extensions.clone(),
        not_updatable: session.capabilities.not_updatable.clone(),
        org: org.map_or_else(|| session.actor.home_org.clone(), str::to_string),
        generate_tokens,
    }
}

/// Reads the file at `path` and plans every row against the accounts on
/// the server now (read with the edit form's fields). Nothing is sent.
pub async fn plan_file(
    session: &crate::ops::session::Session,
    path: &Path,
    org: Option<&str>,
    generate_tokens: bool,
) -> anyhow::Result<ImportPlan> {
    use anyhow::Context as _;
    let file = path.to_path_buf();
    let text = tokio::task::spawn_blocking(move || std::fs::read_to_string(file))
        .await
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?
        .with_context(|| format!("cannot read {}", path.display()))?;
    let context = context(session, org, generate_tokens);
    let query = crate::api::UserQuery {
        fields: account::edit_fields(&session.capabilities),
        ..Default::default()
    };
    let existing = session
        .client
        .list_users(&query)
        .await
        .context("reading the accounts to match the rows against")?;
    plan(&context, &text, &existing).map_err(|problem| {
        anyhow::anyhow!(
            "{}: {}",
            sanitize(&path.display().to_string()),
            sanitize(&problem.0)
        )
    })
}

/// The preview, the same for both faces: the counts, then each invalid and
/// refused row by line and column, then what will be created and updated.
pub fn preview_lines(plan: &ImportPlan, file: &str) -> Vec<String> {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut out = vec![
        format!(
            "Import of {}: {} row{}",
            sanitize(file),
            plan.rows.len(),
            plural(plan.rows.len())
        ),
        format!("  create: {}", plan.creates()),
        format!("  update: {}", plan.updates()),
        format!("  unchanged: {}", plan.unchanged()),
        format!("  invalid: {}", plan.invalid()),
        format!("  not allowed: {}", plan.not_allowed()),
    ];
    let mut invalid = Vec::new();
    let mut refused = Vec::new();
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for row in &plan.rows {
        match row {
            RowPlan::Invalid { line, problems } => {
                for (column, why) in problems {
                    invalid.push(format!(
                        "line {line}, {}: {}",
                        sanitize(column),
                        sanitize(why)
                    ));
                }
            }
            RowPlan::NotAllowed {
                line,
                user_name,
                reason,
            } => refused.push(format!(
                "line {line}, {}: {}",
                sanitize(user_name),
                sanitize(reason)
            )),
            RowPlan::Create(create) => {
                let password = if create.password_made_up {
                    "; no password given: a random one nobody is told, reset required at first login"
                } else {
                    ""
                };
                creates.push(format!(
                    "line {}, {} ({}){password}",
                    create.line,
                    sanitize(&create.user_name),
                    create.kind.name()
                ))
            }
            RowPlan::Update(update) => {
                let fields: Vec<&str> = update
                    .change
                    .as_object()
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                updates.push(format!(
                    "line {}, {} (id {}): {}",
                    update.line,
                    sanitize(&update.user.user_name),
                    update.user.id,
                    fields.join(", ")
                ))
            }
            RowPlan::Unchanged { .. } => {}
        }
    }
    for (title, lines) in [
        ("Invalid (not sent)", invalid),
        ("Not allowed (not sent)", refused),
        ("Will create", creates),
        ("Will update", updates),
    ] {
        if !lines.is_empty() {
            out.push(format!("{title}:"));
            out.extend(lines.into_iter().map(|l| format!("  {l}")));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

/// What an import row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    Create,
    Update,
}

impl RowAction {
    pub fn name(self) -> &'static str {
        match self {
            RowAction::Create => CREATE_ACTION,
            RowAction::Update => UPDATE_ACTION,
        }
    }
}

/// One sent row's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRowResult {
    pub line: u64,
    pub user_name: String,
    pub action: RowAction,
    /// The account's id: the updated one, or the created one when known.
    pub account_id: Option<i64>,
    pub outcome: RowOutcome,
}

impl ImportRowResult {
    /// The row as a run's result ("line 14, create pat@example.com"), for
    /// the tallies and the console's progress and results.
    pub fn as_row(&self) -> bulk::RowResult {
        bulk::RowResult {
            id: self
                .account_id
                .unwrap_or_else(|| create_stand_in(self.line)),
            user_name: format!(
                "line {}, {} {}",
                self.line,
                self.action.name(),
                self.user_name
            ),
            outcome: self.outcome.clone(),
        }
    }
}

/// Where generated API tokens go: a CSV file readable by its owner only.
/// Never the journal, the log or the terminal.
pub struct TokenFile {
    writer: csv::Writer<std::fs::File>,
}

impl TokenFile {
    /// Creates (or empties) `path` with mode 0600 and writes the header.
    pub fn create(path: &Path) -> std::io::Result<TokenFile> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        // An existing file keeps its mode on open: narrow it too.
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        TokenFile::on(file)
    }

    fn on(file: std::fs::File) -> std::io::Result<TokenFile> {
        let mut writer = csv::Writer::from_writer(file);
        writer.write_record(["userName", "accountId", "token", "expires"])?;
        writer.flush()?;
        Ok(TokenFile { writer })
    }

    fn write(
        &mut self,
        user: &User,
        token: &str,
        expires: Option<DateTime<Utc>>,
    ) -> std::io::Result<()> {
        let expires = expires.map(|t| t.to_rfc3339()).unwrap_or_default();
        self.writer.write_record([
            user.user_name.as_str(),
            &user.id.to_string(),
            token,
            &expires,
        ])?;
        self.writer.flush()
    }
}

/// Everything an import run is.
pub struct ImportRun {
    pub meta: RunMeta,
    pub org: String,
    pub plan: ImportPlan,
    pub concurrency: usize,
    pub tokens: Option<Mutex<TokenFile>>,
}

impl ImportRun {
    /// The journal's first line: planned = rows to send, already = the
    /// unchanged, not allowed = refused by the policy.
    pub fn header(&self, activity_log: bool) -> RunHeader {
        crate::ops::run::header(
            &self.meta,
            IMPORT_ACTION,
            crate::ops::run::Counts {
                planned: self.plan.to_send(),
                already: self.plan.unchanged(),
                not_allowed: self.plan.not_allowed(),
            },
            crate::ops::run::Chosen {
                org: Some(self.org.clone()),
                ..Default::default()
            },
            activity_log,
        )
    }
}

/// Sends the plan's creates and updates, `concurrency` at a time, each
/// journaled intent then outcome in `journal` (opened with the run's
/// header by `ops::run::begin_with`). Creates never go twice blindly
/// (`ops::account::create_once`); updates are read back before any resend
/// (`bulk::send_journaled`). Cancelling sends nothing new.
pub async fn execute(
    client: &Client,
    journal: Journal,
    run: &ImportRun,
    cancel: &Cancel,
    on_result: &mut (dyn FnMut(&ImportRowResult) + Send),
) -> Vec<ImportRowResult> {
    let journal = Arc::new(Mutex::new(journal));
    let sent: Vec<Sendable> = run
        .plan
        .rows
        .iter()
        .filter_map(|row| match row {
            RowPlan::Create(create) => Some(Sendable::Create(create)),
            RowPlan::Update(update) => Some(Sendable::Update(update)),
            _ => None,
        })
        .collect();
    tracing::info!(run_id = %run.meta.run_id, rows = sent.len(), "import run started");
    let mut results: Vec<Option<ImportRowResult>> = vec![None; sent.len()];
    let mut stream = futures::stream::iter(sent.into_iter().enumerate())
        .map(|(index, row)| {
            let journal = &journal;
            async move { (index, run_row(client, journal, run, row, cancel).await) }
        })
        .buffer_unordered(run.concurrency.max(1));
    while let Some((index, result)) = stream.next().await {
        on_result(&result);
        results[index] = Some(result);
    }
    results.into_iter().flatten().collect()
}

/// A row that is sent.
#[derive(Clone, Copy)]
enum Sendable<'a> {
    Create(&'a CreateRow),
    Update(&'a UpdateRow),
}

async fn run_row(
    client: &Client,
    journal: &Arc<Mutex<Journal>>,
    run: &ImportRun,
    row: Sendable<'_>,
    cancel: &Cancel,
) -> ImportRowResult {
    match row {
        Sendable::Update(update) => {
            let outcome = if cancel.is_cancelled() {
                RowOutcome::NotSent
            } else {
                let entry = bulk::intent(
                    &run.meta,
                    UPDATE_ACTION,
                    update.user.id,
                    &update.user.user_name,
                    update.change.clone(),
                    update.before.clone(),
                );
                let write = AccountWrite::Update {
                    id: update.user.id,
                    change: update.change.clone(),
                };
                bulk::send_journaled(client, Some(journal), entry, &write, cancel).await
            };
            ImportRowResult {
                line: update.line,
                user_name: update.user.user_name.clone(),
                action: RowAction::Update,
                account_id: Some(update.user.id),
                outcome,
            }
        }
        Sendable::Create(create) => {
            let (outcome, account_id) = if cancel.is_cancelled() {
                (RowOutcome::NotSent, None)
            } else {
                create_journaled(client, journal, run, create).await
            };
            ImportRowResult {
                line: create.line,
                user_name: create.user_name.clone(),
                action: RowAction::Create,
                account_id,
                outcome,
            }
        }
    }
}

/// The journal's stand-in id of a create (no id exists before it): minus
/// the file's line number, unique within the run.
pub fn create_stand_in(line: u64) -> i64 {
    -i64::try_from(line).unwrap_or(i64::MAX)
}

/// One create, journaled: the intent (the body without its password) on
/// disk before the request leaves, the outcome with the new id after.
async fn create_journaled(
    client: &Client,
    journal: &Arc<Mutex<Journal>>,
    run: &ImportRun,
    create: &CreateRow,
) -> (RowOutcome, Option<i64>) {
    let mut change = create.body.0.clone();
    if let Some(fields) = change.as_object_mut() {
        fields.remove("password");
    }
    let mut line = bulk::intent(
        &run.meta,
        CREATE_ACTION,
        create_stand_in(create.line),
        &create.user_name,
        change,
        serde_json::json!({}),
    );
    if let Err(e) = bulk::write_entry(journal, line.clone()).await {
        return (
            RowOutcome::Failed(format!("not sent: cannot write the journal: {e}")),
            None,
        );
    }
    let created = account::create_once(client, &create.body.0).await;
    let (mut outcome, user) = match created {
        Ok(Created::Answered(user, _)) => (RowOutcome::Ok, Some((user, None))),
        Ok(Created::FoundByName(user, why)) => (RowOutcome::Ok, Some((user, Some(why)))),
        Err(failure) if failure.step == Step::ConfirmCreate => {
            (RowOutcome::Unknown(failure.to_string()), None)
        }
        Err(failure) => (RowOutcome::Failed(failure.to_string()), None),
    };
    line.time = Utc::now();
    line.phase = Phase::Outcome;
    match (&outcome, &user) {
        (RowOutcome::Ok, Some((user, note))) => {
            line.ok = Some(true);
            line.message = note.clone();
            line.created_id = Some(user.id);
        }
        (RowOutcome::Unknown(why), _) => {
            line.state = Some(OutcomeState::Unknown);
            line.message = Some(why.clone());
        }
        (RowOutcome::Failed(why), _) => {
            line.ok = Some(false);
            line.message = Some(why.clone());
        }
        _ => {}
    }
    if let Err(e) = bulk::write_entry(journal, line).await {
        outcome = RowOutcome::Unjournaled(format!(
            "outcome not journaled ({}); cannot write the journal: {e}",
            match &outcome {
                RowOutcome::Ok => "the account was created".to_string(),
                other => other.kind().to_string(),
            }
        ));
    }
    let Some((user, _)) = user else {
        return (outcome, None);
    };
    if let (Some(token), Some(file), RowOutcome::Ok) = (&create.token, &run.tokens, &outcome) {
        if let Err(why) = generate_token(client, &user, token, file).await {
            outcome = RowOutcome::Failed(format!(
                "created (id {}), but no API token was generated: {why}",
                user.id
            ));
        }
    }
    (outcome, Some(user.id))
}

async fn generate_token(
    client: &Client,
    user: &User,
    request: &crate::api::wire::TokenRequest,
    file: &Mutex<TokenFile>,
) -> Result<(), String> {
    let token = client
        .generate_token(user.id, request.expiration_days)
        .await
        .map_err(|e: ApiError| e.to_string())?;
    let mut file = file
        .lock()
        .map_err(|_| "the token file's lock was poisoned".to_string())?;
    file.write(user, &token.token, token.expires)
        .map_err(|e| format!("the token could not be written to the token file: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrgRole;

    fn context() -> ImportContext {
        ImportContext {
            actor: Actor {
                id: Some(1),
                user_name: "admin".into(),
                system_role: Some(SystemRole::Administrator),
                org_role: Some(OrgRole::OrganizationAdministrator),
                home_org: "Demo Organization".into(),
                ..Default::default()
            },
            settings: InstanceSettings {
                terms_of_service_required: true,
                ..Default::default()
            },
            extensions: crate::domain::ext::ALL
                .iter()
                .map(|e| e.to_string())
                .collect(),
            not_updatable: BTreeSet::new(),
            org: "Demo Organization".into(),
            generate_tokens: false,
        }
    }

    #[test]
    fn a_template_plans_as_one_valid_create_once_uncommented() {
        let template = template(&context(), AccountType::User);
        let mut text = Vec::new();
        write_template(&template, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let example = lines.next().unwrap();
        assert!(header.starts_with("type,userName,password,firstName,lastName"));
        assert!(
            example.starts_with("# user,pat.doe@example.com,"),
            "{example}"
        );
        // As written, the example is a comment: nothing to import.
        assert!(plan(&context(), &text, &[]).unwrap().rows.is_empty());
        let uncommented = format!("{header}\n{}\n", &example[2..]);
        let planned = plan(&context(), &uncommented, &[]).unwrap();
        assert_eq!(planned.creates(), 1, "{planned:?}");
    }

    #[test]
    fn rows_are_named_by_the_line_a_person_counts() {
        let text = "userName,firstName\n# a comment\n\nbad name,\"Two\nLines\"\nalso bad,X\n";
        let lines: Vec<u64> = plan(&context(), text, &[])
            .unwrap()
            .rows
            .iter()
            .map(|row| match row {
                RowPlan::Invalid { line, .. } => *line,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(lines, vec![4, 6]);
    }

    #[test]
    fn the_file_must_name_fields_and_the_user_name() {
        let problem = |text: &str| plan(&context(), text, &[]).unwrap_err().0;
        assert!(problem("firstName\nPat\n").contains("no userName column"));
        assert!(problem("").contains("the file is empty"));
        assert!(problem("\u{feff}\r\n").contains("the file is empty"));
        assert!(problem("userName,colour\na@example.com,red\n").contains("column 2"));
        assert!(problem("userName,groups\na@example.com,SOC\n").contains("group memberships"));
        assert!(problem("userName,email\na@example.com,b@example.com\n").contains("second time"));
    }
}

//! `users create`, `users edit`, `users delete`: the User and API User
//! Administration windows from a script. Each fills an [`AccountForm`] from
//! `--set FIELD=VALUE`, so the fields, defaults, messages and rules are the
//! form's; the instance then has the last word, and its refusals are shown
//! as it worded them.

use crate::api::wire::{ext, RunAsItem, TokenRequest};
use crate::bulk::Reassign;
use crate::domain::form::{field_for_key, AccountForm, FieldValue, FormErrors, Password};
use crate::domain::policy::{may, may_create, may_update, Action};
use crate::domain::preflight::target_of;
use crate::domain::run_as::{self, Inheritance, Party, RunAs};
use crate::domain::text::sanitize;
use crate::domain::{AccountType, Field, GroupRef, User};
use crate::ops::account::{self, RequestBody, SaveRequest, Saved};
use crate::ops::session::Session;
use anyhow::{anyhow, bail, Context};
use std::io::{BufRead, IsTerminal, Write};

fn parse_kind(text: &str) -> Result<AccountType, String> {
    AccountType::from_key(text).ok_or_else(|| {
        format!(
            "unknown account type {text:?}; use one of: {}",
            AccountType::ALL
                .iter()
                .map(|t| t.key())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

#[derive(clap::Args, Debug, Clone)]
pub struct CreateArgs {
    /// The kind of account, as the Membership tab's buttons: user, api, readonly, taxii.
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_kind)]
    pub kind: AccountType,
    /// The Organization to create it in (default: your home Organization).
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
    /// A form field, e.g. email=pat@example.com, first-name=Pat, orgRole="Sharing User",
    /// groups="SOC Team,IR Team", disabled=true. Repeat for each field.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Read the password from the first line of standard input (keeps it
    /// out of the process list and the shell history).
    #[arg(long)]
    pub password_stdin: bool,
    /// API users: "save and generate token". The token is printed once and
    /// stored nowhere.
    #[arg(long)]
    pub generate_token: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct EditArgs {
    /// The account: its id or its user name.
    #[arg(value_name = "ACCOUNT")]
    pub id: AccountArg,
    /// A form field to change, as for `users create`. Repeat for each field.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Read a new password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DeleteArgs {
    /// The account: its id or its user name (or --filter for many).
    #[arg(value_name = "ACCOUNT", required_unless_present = "filter")]
    pub id: Option<AccountArg>,
    /// Delete every account this filter selects (preflight, the count typed
    /// to confirm, journal), as the console's `:delete` does.
    #[arg(long, value_name = "EXPR", conflicts_with = "id", long_help = crate::domain::filter::HELP)]
    pub filter: Option<String>,
    /// With --filter: only the accounts of this Organization.
    #[arg(long, value_name = "NAME", requires = "filter")]
    pub org: Option<String>,
    /// With --filter: show what would be deleted, send nothing.
    #[arg(long, requires = "filter")]
    pub dry_run: bool,
    /// With --filter: requests in flight at once.
    #[arg(long, value_name = "N", requires = "filter")]
    pub concurrency: Option<usize>,
    /// With --filter: the journal file [default: journal.jsonl in rollcall's data directory].
    #[arg(long, value_name = "PATH", env = crate::ops::run::JOURNAL_ENV)]
    pub journal: Option<std::path::PathBuf>,
    /// The account that takes over its active playbooks (required when it
    /// runs any): its id or its user name.
    #[arg(long, value_name = "ACCOUNT")]
    pub reassign_playbooks_to: Option<AccountArg>,
    /// The API user that takes over its job apps (required when it runs
    /// any): its id or its user name.
    #[arg(long, value_name = "API_ACCOUNT")]
    pub reassign_jobs_to: Option<AccountArg>,
    /// Delete without asking. Without it, you type the account's name to confirm.
    #[arg(long)]
    pub yes: bool,
}

/// An account named on the command line: by id, or by user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountArg {
    Id(i64),
    Name(String),
}

impl std::str::FromStr for AccountArg {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an account id or user name".into());
        }
        Ok(text
            .parse()
            .map_or_else(|_| AccountArg::Name(text.to_string()), AccountArg::Id))
    }
}

impl From<i64> for AccountArg {
    fn from(id: i64) -> Self {
        AccountArg::Id(id)
    }
}

impl std::fmt::Display for AccountArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountArg::Id(id) => write!(f, "{id}"),
            AccountArg::Name(name) => f.write_str(&sanitize(name)),
        }
    }
}

/// The account an argument names, with `fields`. A number is an id first;
/// when no account has that id it is tried as a user name (API users'
/// names are digits).
async fn resolve_account(
    session: &Session,
    account: &AccountArg,
    fields: &[String],
) -> anyhow::Result<User> {
    let by_name = |name: String| async move {
        let found = session
            .client
            .find_user_by_name(&name)
            .await
            .with_context(|| format!("looking up {}", sanitize(&name)))?;
        match found {
            Some(user) => Ok(session.client.get_user(user.id, fields).await?),
            None => bail!("no account named {} that you may see", sanitize(&name)),
        }
    };
    match account {
        AccountArg::Id(id) => match session.client.get_user(*id, fields).await {
            Ok(user) => Ok(user),
            Err(e) if e.status() == Some(404) => by_name(id.to_string())
                .await
                .with_context(|| format!("reading account {id}: no such id")),
            Err(e) => Err(anyhow::Error::new(e).context(format!("reading account {id}"))),
        },
        AccountArg::Name(name) => by_name(name.clone()).await,
    }
}

/// `--set FIELD=VALUE` split at the first `=`.
fn split_set(text: &str) -> Result<(&str, &str), String> {
    text.split_once('=')
        .filter(|(key, _)| !key.trim().is_empty())
        .ok_or_else(|| format!("--set expects FIELD=VALUE, not {text:?}"))
}

/// The user groups, when a `--set` names them and the instance lists them.
async fn load_groups(session: &Session, sets: &[String]) -> anyhow::Result<Option<Vec<GroupRef>>> {
    let names_groups = sets
        .iter()
        .any(|s| split_set(s).ok().and_then(|(k, _)| field_for_key(k)) == Some(Field::Groups));
    if !names_groups || !session.capabilities.has(ext::GROUP_MEMBERSHIP) {
        return Ok(None);
    }
    let groups = account::group_options(&session.client)
        .await
        .context("reading the user groups")?;
    Ok(Some(groups))
}

/// Applies every `--set` (and the password from stdin), then validates;
/// all problems at once, one per line.
fn fill(form: &mut AccountForm, sets: &[String], password: Option<String>) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for text in sets {
        match split_set(text) {
            Ok((key, value)) => {
                if field_for_key(key) == Some(Field::Password) {
                    eprintln!("warning: --set password=... shows the password to anyone who lists processes (ps) and keeps it in shell history; use --password-stdin");
                }
                if let Err(e) = form.set_from_text(key, value) {
                    problems.push(e);
                }
            }
            Err(e) => problems.push(e),
        }
    }
    if let Some(pw) = password {
        if let Err(e) = form.set(Field::Password, FieldValue::Password(Password::new(pw))) {
            problems.push(e);
        }
    }
    if problems.is_empty() {
        problems.extend(form.validate().into_iter().map(|(_, m)| m));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(FormErrors(problems).into())
    }
}

fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn refuse_read_only(session: &Session, what: &str) -> anyhow::Result<()> {
    if session.read_only {
        bail!("read-only session: nothing was {what}");
    }
    Ok(())
}

/// `users create`.
pub async fn create(
    session: &Session,
    args: &CreateArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    refuse_read_only(session, "created")?;
    let actor = &session.actor;
    let org = args.org.clone().unwrap_or_else(|| actor.home_org.clone());
    may_create(actor, &session.settings, &org, args.kind).map_err(|r| anyhow!("{r}"))?;
    if args.generate_token {
        if args.kind != AccountType::Api {
            bail!("--generate-token is for API users only (--type api)");
        }
        if !session.capabilities.has(ext::API_TOKENS) {
            bail!(
                "this instance does not support generating API tokens (rollcall extension {})",
                ext::API_TOKENS
            );
        }
    }
    let mut form = AccountForm::create(actor, &session.settings, args.kind, &org)
        .with_extensions(&session.capabilities.extensions);
    if let Some(groups) = load_groups(session, &args.set).await? {
        form.set_group_options(groups);
    }
    let password = args.password_stdin.then(read_password_line).transpose()?;
    // Where the instance does not make up API and TAXII names and passwords,
    // what the admin did not give is made up here and shown once.
    let made_up = made_up_credentials(session, &form, &args.set, password.is_some());
    if let Some(made_up) = &made_up {
        made_up.apply(&mut form)?;
    }
    fill(&mut form, &args.set, password)?;

    let kind = form.account_type();
    if session.capabilities.has(ext::LIMITS) {
        let limits = session
            .client
            .org_limits()
            .await
            .context("reading the Organization's limits")?;
        if let Some(limits) = limits.iter().find(|l| l.organization == org) {
            if let Err(refusal) = limits.check_create(kind) {
                bail!("{}", sanitize(&refusal.0));
            }
        }
    }

    let request = SaveRequest {
        account: None,
        body: RequestBody(form.create_body()),
        groups: form.group_ids(),
        token: args.generate_token.then(|| TokenRequest {
            expiration_days: form.token_expiration_days(),
        }),
    };
    let saved = account::save(&session.client, &request).await?;
    let created = &saved.user;
    writeln!(
        out,
        "Created {} {} (id {}) in {}",
        kind.name(),
        sanitize(&created.user_name),
        created.id,
        sanitize(&org)
    )?;
    if form.sends_account_info_email() {
        writeln!(
            out,
            "Account information e-mail queued to {}",
            sanitize(&created.user_name)
        )?;
    }
    if let Some(ids) = &saved.groups_set {
        writeln!(out, "Groups set: {}", group_names(&form, ids))?;
    }
    match kind {
        // As the web UI does: the API credentials, once.
        AccountType::Api if !args.generate_token => {
            writeln!(out, "Access ID: {}", sanitize(&created.user_name))?;
            match &saved.secret_key {
                Some(key) => {
                    writeln!(out, "Secret Key: {}", sanitize(key.expose()))?;
                    writeln!(
                        out,
                        "The Secret Key is shown once and is not stored anywhere; copy it now."
                    )?;
                }
                None => writeln!(
                    out,
                    "Secret Key: this instance does not return it through the API; \
                     find it on the API user's page in the web UI"
                )?,
            }
        }
        AccountType::Taxii => writeln!(out, "User name: {}", sanitize(&created.user_name))?,
        _ => {}
    }
    if let Some(made_up) = &made_up {
        made_up.show_once(out)?;
    }
    if let Some(token) = &saved.token {
        writeln!(out, "API token: {}", token.token.expose())?;
        match token.expires {
            Some(t) => writeln!(out, "Expires: {}", t.to_rfc3339())?,
            None => writeln!(out, "Expires: never")?,
        }
        writeln!(
            out,
            "This token is shown once and is not stored anywhere; copy it now."
        )?;
    }
    out.flush()?;
    fail_on_problem(&saved)
}

/// A save whose account was written but not all of whose steps happened
/// fails, after what did happen was shown.
fn fail_on_problem(saved: &Saved) -> anyhow::Result<()> {
    match saved.problem() {
        Some(problem) => bail!(
            "{}",
            account::saved_text(&saved.user, saved.created, Some(&problem))
        ),
        None => Ok(()),
    }
}

/// The name and password of a new API or TAXII account that the admin did
/// not give, made up here.
struct MadeUpCredentials {
    user_name: Option<String>,
    /// `None` when given, or on SAML-enabled instances (no password).
    password: Option<String>,
}

/// The docs require `userName` and `password` to create every kind of
/// account; only an instance with rollcall's `generatedUserNames` extension
/// makes them up for API and TAXII accounts (the form then does not ask).
/// Elsewhere what the admin did not give (`--set userName=`, a password) is
/// made up and shown once, as the web UI shows an API user's Access ID: a
/// 20-digit name (the docs' API user names look so) and a password that
/// meets the password policy.
fn made_up_credentials(
    session: &Session,
    form: &AccountForm,
    sets: &[String],
    password_given: bool,
) -> Option<MadeUpCredentials> {
    use rand::Rng;
    if !form.asks_credentials() {
        return None;
    }
    let given = |field: Field| {
        sets.iter()
            .any(|text| split_set(text).ok().and_then(|(key, _)| field_for_key(key)) == Some(field))
    };
    let mut rng = rand::thread_rng();
    let user_name = (!given(Field::Email)).then(|| {
        format!(
            "{:020}",
            rng.gen_range(10_000_000_000_000_000_000u64..=u64::MAX)
        )
    });
    let password = (!session.settings.saml_enabled && !password_given && !given(Field::Password))
        .then(|| account::random_password(&session.settings.password_policy));
    (user_name.is_some() || password.is_some()).then_some(MadeUpCredentials {
        user_name,
        password,
    })
}

impl MadeUpCredentials {
    fn apply(&self, form: &mut AccountForm) -> anyhow::Result<()> {
        if let Some(name) = &self.user_name {
            form.set(Field::Email, FieldValue::Text(name.clone()))
                .map_err(|e| anyhow!("{e}"))?;
        }
        if let Some(password) = &self.password {
            form.set(
                Field::Password,
                FieldValue::Password(Password::new(password.clone())),
            )
            .map_err(|e| anyhow!("{e}"))?;
        }
        Ok(())
    }

    /// Printed once after the account was created; never stored. The
    /// name was printed with the account (Access ID or User name).
    fn show_once(&self, out: &mut dyn Write) -> anyhow::Result<()> {
        // Whether an instance also uses the password as the API Secret Key
        // is not documented, so it is not called one.
        if let Some(password) = &self.password {
            writeln!(out, "Password: {password}")?;
            writeln!(
                out,
                "The password is shown once and is not stored anywhere; copy it now."
            )?;
        }
        Ok(())
    }
}

fn group_names(form: &AccountForm, ids: &[i64]) -> String {
    if ids.is_empty() {
        return "(none)".to_string();
    }
    let options = form.options(Field::Groups);
    ids.iter()
        .map(|id| {
            options
                .iter()
                .find(|o| o.value == id.to_string())
                .map(|o| sanitize(&o.label).into_owned())
                .unwrap_or_else(|| id.to_string())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `users edit`.
pub async fn edit(session: &Session, args: &EditArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    refuse_read_only(session, "changed")?;
    let actor = &session.actor;
    let user = resolve_account(
        session,
        &args.id,
        &account::edit_fields(&session.capabilities),
    )
    .await?;
    let target = target_of(&user, actor);
    may(actor, &session.settings, Action::Edit, &target).map_err(|r| anyhow!("{r}"))?;
    let mut form = AccountForm::edit(actor, &session.settings, &user)
        .with_extensions(&session.capabilities.extensions)
        .with_not_updatable(&session.capabilities.not_updatable);
    if let Some(groups) = load_groups(session, &args.set).await? {
        form.set_group_options(groups);
    }
    let password = args.password_stdin.then(read_password_line).transpose()?;
    fill(&mut form, &args.set, password)?;

    let request = SaveRequest {
        account: Some(user.id),
        body: RequestBody(form.update_body(&user)),
        groups: form.group_ids(),
        token: None,
    };
    let name = sanitize(&user.user_name).into_owned();
    if request.body.is_empty() && request.groups.is_none() {
        writeln!(out, "Nothing to change for {name} (id {})", user.id)?;
        return Ok(());
    }
    may_update(
        actor,
        &session.settings,
        &target,
        form.kind(),
        &request.body.0,
    )
    .map_err(|r| anyhow!("{}", sanitize(&r.0)))?;
    if let Some(warning) = form.system_role_change_warning() {
        eprintln!("warning: {warning}");
    }
    let saved = account::save(&session.client, &request).await?;
    let applied: Vec<&str> = request
        .body
        .0
        .as_object()
        .map(|m| {
            m.keys()
                .map(String::as_str)
                .filter(|k| !saved.not_applied.iter().any(|n| n == k))
                .collect()
        })
        .unwrap_or_default();
    if !applied.is_empty() {
        writeln!(
            out,
            "Updated {name} (id {}): {}",
            user.id,
            applied.join(", ")
        )?;
    }
    if let Some(ids) = &saved.groups_set {
        writeln!(out, "Groups of {name} set: {}", group_names(&form, ids))?;
    }
    out.flush()?;
    fail_on_problem(&saved)
}

/// Asks a person to confirm a deletion; `None` when nobody can be asked
/// (standard input is not a terminal).
pub trait Confirm {
    fn ask(&mut self, prompt: &str) -> Option<String>;
}

/// Asks on the terminal: the prompt on standard error, the answer from
/// standard input.
pub struct TerminalConfirm;

impl Confirm for TerminalConfirm {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

fn names(items: &[RunAsItem]) -> String {
    items
        .iter()
        .map(|i| sanitize(&i.name).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `users delete`, confirming on the terminal.
pub async fn delete(
    session: &Session,
    args: &DeleteArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    delete_confirmed_by(session, args, out, &mut TerminalConfirm).await
}

/// An heir named with `--reassign-…-to`, read with what rule 8 looks at.
async fn resolve_heir(
    session: &Session,
    heir: Option<&AccountArg>,
    flag: &str,
) -> anyhow::Result<Option<User>> {
    match heir {
        None => Ok(None),
        Some(heir) => resolve_account(session, heir, &[])
            .await
            .with_context(|| format!("{flag} {heir}"))
            .map(Some),
    }
}

fn refuse_reassign_without_extension(session: &Session, args: &DeleteArgs) -> anyhow::Result<()> {
    refuse_reassign_without(
        session,
        args.reassign_playbooks_to.is_some() || args.reassign_jobs_to.is_some(),
    )
}

/// Reassigning needs the instance's extension: said before anything is sent.
fn refuse_reassign_without(session: &Session, reassigning: bool) -> anyhow::Result<()> {
    if reassigning && !session.capabilities.has(ext::REASSIGN_ON_DELETE) {
        bail!(
            "this instance does not support reassigning playbooks or job apps on delete (rollcall extension {})",
            ext::REASSIGN_ON_DELETE
        );
    }
    Ok(())
}

/// The heirs of a bulk delete (`--filter`), given by id or user name, as
/// ids. Each must be able to take over from any account (rule 8); whether
/// it may from a given one (not itself, same Organization) is the
/// instance's to say per account.
pub async fn resolve_heirs(session: &Session, args: &DeleteArgs) -> anyhow::Result<Reassign> {
    resolve_heirs_of(
        session,
        args.reassign_playbooks_to.as_ref(),
        args.reassign_jobs_to.as_ref(),
    )
    .await
}

/// As [`resolve_heirs`], from the two flags' values (a review's deletes
/// take the same flags).
pub async fn resolve_heirs_of(
    session: &Session,
    playbooks_to: Option<&AccountArg>,
    jobs_to: Option<&AccountArg>,
) -> anyhow::Result<Reassign> {
    refuse_reassign_without(session, playbooks_to.is_some() || jobs_to.is_some())?;
    let mut reassign = Reassign::default();
    let heirs = [
        (Inheritance::Playbooks, playbooks_to, PLAYBOOKS_FLAG),
        (Inheritance::JobApps, jobs_to, JOBS_FLAG),
    ];
    for (what, heir, flag) in heirs {
        let Some(heir) = resolve_heir(session, heir, flag).await? else {
            continue;
        };
        run_as::heir_qualifies(what, &Party::from(&heir)).map_err(|r| anyhow!("{r}"))?;
        match what {
            Inheritance::Playbooks => reassign.playbooks_to = Some(heir.id),
            Inheritance::JobApps => reassign.jobs_to = Some(heir.id),
        }
    }
    Ok(reassign)
}

const PLAYBOOKS_FLAG: &str = "--reassign-playbooks-to";
const JOBS_FLAG: &str = "--reassign-jobs-to";

/// How a person names an heir here, completing rule 8's sentence.
fn name_an_heir(what: Inheritance) -> String {
    match what {
        Inheritance::Playbooks => format!("with {PLAYBOOKS_FLAG} ID"),
        Inheritance::JobApps => format!("with {JOBS_FLAG} ID"),
    }
}

/// `users delete` with the confirmation asked through `confirm`.
pub async fn delete_confirmed_by(
    session: &Session,
    args: &DeleteArgs,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    refuse_read_only(session, "deleted")?;
    let actor = &session.actor;
    let Some(account_arg) = &args.id else {
        bail!("name the account to delete (an id or a user name), or use --filter");
    };
    // Options of a bulk delete are never silently ignored on a single one.
    if args.dry_run || args.org.is_some() || args.concurrency.is_some() {
        bail!("--dry-run, --org and --concurrency go with --filter (a bulk delete)");
    }
    let user = resolve_account(session, account_arg, &[]).await?;
    let name = sanitize(&user.user_name).into_owned();
    let target = target_of(&user, actor);
    may(actor, &session.settings, Action::Delete, &target).map_err(|r| anyhow!("{r}"))?;
    refuse_reassign_without_extension(session, args)?;

    // Rule 8: what runs as this account must move first.
    let run_as = if session.capabilities.has(ext::RUN_AS) {
        Some(
            session
                .client
                .run_as(user.id)
                .await
                .context("reading what runs as this account")?,
        )
    } else {
        writeln!(
            out,
            "note: this instance does not report playbooks or job apps (rollcall extension {}); it will refuse the delete if any must move",
            ext::RUN_AS
        )?;
        None
    };
    let playbook_heir =
        resolve_heir(session, args.reassign_playbooks_to.as_ref(), PLAYBOOKS_FLAG).await?;
    let job_heir = resolve_heir(session, args.reassign_jobs_to.as_ref(), JOBS_FLAG).await?;
    // Without the report, only the heirs named can be judged.
    let unreported = RunAs::default();
    let checked = run_as::check_reassignment(
        &Party::from(&user),
        run_as.as_ref().unwrap_or(&unreported),
        playbook_heir.as_ref().map(Party::from).as_ref(),
        job_heir.as_ref().map(Party::from).as_ref(),
    );
    if let Err(problems) = checked {
        let problems = problems.iter().map(|p| p.explain(name_an_heir)).collect();
        return Err(FormErrors(problems).into());
    }

    if !args.yes {
        let prompt = format!(
            "{}\nType the account name to confirm: ",
            account::delete_question(&user)
        );
        match confirm.ask(&prompt) {
            None => bail!(
                "not deleted: standard input is not a terminal, so nobody can confirm; pass --yes to delete {name} (id {})",
                user.id
            ),
            Some(answer) if answer.trim() == user.user_name => {}
            Some(_) => bail!("not deleted: the name typed does not match {name}"),
        }
    }

    let reassign = Reassign {
        playbooks_to: playbook_heir.as_ref().map(|h| h.id),
        jobs_to: job_heir.as_ref().map(|h| h.id),
    };
    account::delete(&session.client, user.id, reassign).await?;
    writeln!(out, "Deleted {name} (id {})", user.id)?;
    if let Some(run_as) = &run_as {
        if let (Some(to), false) = (reassign.playbooks_to, run_as.active_playbooks.is_empty()) {
            writeln!(
                out,
                "Active playbooks ({}) now run as account {to}",
                names(&run_as.active_playbooks)
            )?;
        }
        if let (Some(to), false) = (reassign.jobs_to, run_as.job_apps.is_empty()) {
            writeln!(
                out,
                "Job apps ({}) now run as API user {to}",
                names(&run_as.job_apps)
            )?;
        }
        if !run_as.inactive_playbooks.is_empty() {
            writeln!(
                out,
                "Inactive playbooks ({}) moved to the first account listed in {}",
                names(&run_as.inactive_playbooks),
                sanitize(target.org)
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser, Subcommand};

    /// The variants the integrator adds under `rollcall users`.
    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        command: Users,
    }

    #[derive(Subcommand, Debug)]
    enum Users {
        Create(CreateArgs),
        Edit(EditArgs),
        Delete(DeleteArgs),
    }

    #[test]
    fn the_arguments_parse_as_documented() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "users",
            "create",
            "--type",
            "api",
            "--org",
            "Northwind Security",
            "--set",
            "firstName=Feed",
            "--set",
            "groups=SOC Team,IR Team",
            "--generate-token",
        ])
        .unwrap();
        let Users::Create(args) = cli.command else {
            panic!("create")
        };
        assert_eq!(args.kind, AccountType::Api);
        assert_eq!(args.org.as_deref(), Some("Northwind Security"));
        assert_eq!(args.set, vec!["firstName=Feed", "groups=SOC Team,IR Team"]);
        assert!(args.generate_token && !args.password_stdin);

        let err = Cli::try_parse_from(["users", "create", "--type", "robot"]).unwrap_err();
        assert!(err
            .to_string()
            .contains("unknown account type \"robot\"; use one of: user, api, taxii, readonly"));

        let Users::Edit(args) =
            Cli::try_parse_from(["users", "edit", "42", "--set", "disabled=true"])
                .unwrap()
                .command
        else {
            panic!("edit")
        };
        assert_eq!((args.id, args.set.len()), (AccountArg::Id(42), 1));

        let Users::Delete(args) = Cli::try_parse_from([
            "users",
            "delete",
            "26",
            "--reassign-playbooks-to",
            "30",
            "--reassign-jobs-to",
            "31",
            "--yes",
        ])
        .unwrap()
        .command
        else {
            panic!("delete")
        };
        assert_eq!(
            (
                args.id,
                args.reassign_playbooks_to,
                args.reassign_jobs_to,
                args.yes
            ),
            (
                Some(AccountArg::Id(26)),
                Some(AccountArg::Id(30)),
                Some(AccountArg::Id(31)),
                true
            )
        );

        // Many by a filter, or one by name; not both, not neither.
        let Users::Delete(args) = Cli::try_parse_from([
            "users",
            "delete",
            "--filter",
            "type:taxii status:disabled",
            "--dry-run",
        ])
        .unwrap()
        .command
        else {
            panic!("delete")
        };
        assert_eq!(
            (args.id, args.filter.as_deref(), args.dry_run),
            (None, Some("type:taxii status:disabled"), true)
        );
        let Users::Delete(args) = Cli::try_parse_from(["users", "delete", "pat@example.com"])
            .unwrap()
            .command
        else {
            panic!("delete")
        };
        assert_eq!(args.id, Some(AccountArg::Name("pat@example.com".into())));
        // Heirs by user name too.
        let Users::Delete(args) = Cli::try_parse_from([
            "users",
            "delete",
            "pat@example.com",
            "--reassign-playbooks-to",
            "lee@example.com",
            "--reassign-jobs-to",
            "feed-api",
        ])
        .unwrap()
        .command
        else {
            panic!("delete")
        };
        assert_eq!(
            (args.reassign_playbooks_to, args.reassign_jobs_to),
            (
                Some(AccountArg::Name("lee@example.com".into())),
                Some(AccountArg::Name("feed-api".into()))
            )
        );
        assert!(Cli::try_parse_from(["users", "delete"]).is_err());
        assert!(Cli::try_parse_from(["users", "delete", "26", "--filter", "x"]).is_err());
    }

    #[test]
    fn set_needs_a_field_and_an_equals_sign() {
        assert_eq!(split_set("a=b=c"), Ok(("a", "b=c")));
        assert_eq!(split_set("groups="), Ok(("groups", "")));
        assert!(split_set("=x").is_err());
        assert!(split_set("plain").is_err());
    }
}

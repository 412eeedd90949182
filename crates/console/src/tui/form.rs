//! Creating, editing and deleting accounts from the console, and the
//! one-key actions on one account. The form itself is
//! [`AccountForm`](crate::domain::form::AccountForm): this file only moves
//! the cursor, turns keys into `set` calls, and talks to the worker. The
//! App lends the rest through a [`Context`] and the loaded accounts through
//! [`Accounts`]; changes to the table go back as [`Followup`]s.

use super::component::{Accounts, Context, Followup};
use super::keymap::Mode;
use super::line::{LineEditor, MAX_INPUT};
use super::list::{ListCursor, TypeAheadList, PICKER_QUERY_MAX};
use super::registry::Cmd;
use crate::api::wire::{ext, RunAs};
use crate::api::{ApiError, Secret};
use crate::domain::form::{AccountForm, Choice, FieldValue, Password};
use crate::domain::policy::{may, may_create, may_update, Action as PolicyAction};
use crate::domain::preflight::{target_of, BulkAction};
use crate::domain::run_as::{self, Inheritance, Party};
use crate::domain::{AccountType, Field, GroupRef, User};
use crate::ops::account;
use crate::worker::{Command, Event, RequestBody, RequestId};
use base64::Engine;
use chrono::{DateTime, Utc};

/// One entry of the Create chooser: the type, and either the seats left
/// (`None`: no limit) or why it cannot be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Offer {
    pub kind: AccountType,
    pub verdict: Result<Option<i64>, String>,
}

/// The form being filled in.
#[derive(Debug, Clone)]
pub(crate) struct FormState {
    pub form: AccountForm,
    /// Editing: the account as the instance returned it.
    pub original: Option<User>,
    /// Index into `form.fields()`.
    pub focus: usize,
    /// The cursor in the focused text field, in characters; `None` is the
    /// end (where a field is entered).
    pub cursor: Option<usize>,
    /// First line on screen; kept by the view.
    pub scroll: u16,
    /// `validate` problems and refused `set`s, shown beside their fields.
    pub errors: Vec<(Field, String)>,
    /// The server's refusal of the last save, as it worded it.
    pub server_error: Option<String>,
    pub saving: bool,
    /// The last save asked for an API token too.
    pub token_requested: bool,
}

impl FormState {
    fn new(form: AccountForm, original: Option<User>) -> FormState {
        FormState {
            form,
            original,
            focus: 0,
            cursor: None,
            scroll: 0,
            errors: Vec::new(),
            server_error: None,
            saving: false,
            token_requested: false,
        }
    }

    pub fn focused(&self) -> Option<crate::domain::form::FormField> {
        self.form.fields().into_iter().nth(self.focus)
    }
}

/// What a pick list chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PickFor {
    Field(Field),
    /// Delete: the account that takes over the active playbooks.
    PlaybookHeir,
    /// Delete: the API user that takes over the job apps.
    JobHeir,
}

#[derive(Debug, Clone)]
pub(crate) struct Pick {
    pub purpose: PickFor,
    pub title: String,
    pub options: Vec<Choice>,
    /// The options listed (typed ahead: those whose label holds the text).
    pub list: TypeAheadList,
    /// Several may be chosen (Groups); `chosen` holds their values.
    pub multi: bool,
    pub chosen: Vec<String>,
}

impl Pick {
    fn new(purpose: PickFor, title: String, options: Vec<Choice>, selected: usize) -> Pick {
        let labels = options.iter().map(|o| o.label.as_str());
        let list = TypeAheadList::new(labels, selected, PICKER_QUERY_MAX);
        Pick {
            purpose,
            title,
            options,
            list,
            multi: false,
            chosen: Vec::new(),
        }
    }

    /// The indexes of the options listed.
    pub fn visible(&self) -> &[usize] {
        self.list.shown()
    }

    /// The highlighted option's index; `None` when nothing is listed.
    pub fn selected(&self) -> Option<usize> {
        self.list.selected_item()
    }

    /// Lists what matches the typed text now.
    fn settle(&mut self) {
        self.list
            .narrow(self.options.iter().map(|o| o.label.as_str()), None);
    }
}

/// What a confirmation, once given, goes on to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfirmFor {
    /// Leave the form, dropping the changes.
    Discard,
    /// Save despite the rule-7 warning.
    Save { token: bool },
    /// Delete; the account name must be typed.
    Delete,
}

#[derive(Debug, Clone)]
pub(crate) struct Confirm {
    pub purpose: ConfirmFor,
    pub title: String,
    pub message: String,
    /// What the user typed (delete only).
    pub input: LineEditor,
}

/// The delete flow: the account, what runs as it, the chosen heirs.
#[derive(Debug, Clone)]
pub(crate) struct DeleteFlow {
    pub user: User,
    pub run_as: Option<RunAs>,
    pub playbooks_to: Option<(i64, String)>,
    pub jobs_to: Option<(i64, String)>,
}

/// Credentials shown once and stored nowhere: an API token, a new API
/// account's Access ID and Secret Key, a new TAXII account's credentials.
pub(crate) struct TokenPopup {
    /// The popup's title, e.g. " API token ".
    pub title: &'static str,
    /// Lines before the secret (unsanitized; the view sanitizes).
    pub lines: Vec<String>,
    /// Shown in full and copied with `c`; `None` when there is none.
    pub secret: Option<Secret>,
    /// Lines after the secret.
    pub after: Vec<String>,
    pub copied: bool,
}

impl TokenPopup {
    fn token(user_name: &str, token: Secret, expires: Option<DateTime<Utc>>) -> TokenPopup {
        TokenPopup {
            title: " API token ",
            lines: vec![format!("API token of {user_name}:")],
            secret: Some(token),
            after: vec![match expires {
                Some(t) => format!("Expires {}", super::text::absolute(t)),
                None => "Does not expire".to_string(),
            }],
            copied: false,
        }
    }

    /// What the web UI shows once after creating an API account.
    fn api_account(access_id: &str, secret_key: Option<Secret>) -> TokenPopup {
        let after = match secret_key {
            Some(_) => Vec::new(),
            None => vec![
                "Secret Key: this instance does not return it through the API; find it on the API user's page in the web UI.".to_string(),
            ],
        };
        let mut lines = vec![format!("Access ID: {access_id}")];
        if secret_key.is_some() {
            lines.push("Secret Key:".to_string());
        }
        TokenPopup {
            title: " API account created ",
            lines,
            secret: secret_key,
            after,
            copied: false,
        }
    }

    /// A new TAXII account's user name and the password just typed.
    fn taxii_account(user_name: &str, password: Option<Secret>) -> TokenPopup {
        let mut lines = vec![format!("User Name: {user_name}")];
        if password.is_some() {
            lines.push("Password:".to_string());
        }
        TokenPopup {
            title: " TAXII account created ",
            lines,
            secret: password,
            after: Vec::new(),
            copied: false,
        }
    }
}

/// Everything of this file the App holds.
#[derive(Default)]
pub(crate) struct Forms {
    pub offers: Vec<Offer>,
    pub chooser: ListCursor,
    pub form: Option<FormState>,
    pub pick: Option<Pick>,
    pub confirm: Option<Confirm>,
    pub delete: Option<DeleteFlow>,
    pub token: Option<TokenPopup>,
    /// The user groups, once loaded.
    groups: Option<Vec<GroupRef>>,
    /// Bytes for the terminal itself (OSC 52); the event loop writes them.
    pub(crate) terminal_output: Option<String>,
    account_request: Option<RequestId>,
    groups_request: Option<RequestId>,
    save_request: Option<RequestId>,
    run_as_request: Option<RequestId>,
    delete_request: Option<RequestId>,
}

impl Forms {
    /// Whether request `id` is one of this file's.
    pub fn owns(&self, id: RequestId) -> bool {
        [
            self.account_request,
            self.groups_request,
            self.save_request,
            self.run_as_request,
            self.delete_request,
        ]
        .contains(&Some(id))
    }

    /// The escape sequences waiting to go to the terminal (the clipboard).
    pub fn take_terminal_output(&mut self) -> Option<String> {
        self.terminal_output.take()
    }

    /// Whether the API token popup is open (the token lives only there).
    pub fn token_shown(&self) -> bool {
        self.token.is_some()
    }

    /// The form on screen, if any.
    pub fn account_form(&self) -> Option<&AccountForm> {
        self.form.as_ref().map(|f| &f.form)
    }

    /// The open pick list's entries and the highlighted one.
    pub fn pick_list(&self) -> Option<(Vec<Choice>, usize)> {
        let pick = self.pick.as_ref()?;
        Some((pick.options.clone(), pick.selected().unwrap_or(0)))
    }

    /// The field the form's cursor is on.
    pub fn focused_field(&self) -> Option<Field> {
        self.form.as_ref()?.focused().map(|f| f.field)
    }

    /// The problems shown beside the fields, and the server's refusal.
    pub fn form_errors(&self) -> (Vec<(Field, String)>, Option<String>) {
        match &self.form {
            Some(f) => (f.errors.clone(), f.server_error.clone()),
            None => (Vec::new(), None),
        }
    }
}

impl std::fmt::Debug for TokenPopup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPopup")
            .field("title", &self.title)
            .field("lines", &self.lines)
            .field("secret", &self.secret)
            .finish()
    }
}

/// "Ines Müller · 10000000000012000915 · API · OK": the name a person
/// knows, the account, its type and status, so 200 look-alike access ids
/// are told apart.
fn heir_label(user: &User) -> String {
    let name = user.full_name();
    let name = if name.trim().is_empty() {
        "(no name)".to_string()
    } else {
        name
    };
    format!(
        "{} · {} · {} · {}",
        super::text::sanitize(&name),
        super::text::sanitize(&user.user_name),
        super::columns::type_label(user.account_type()),
        user.status().map_or("?", |s| s.name())
    )
}

/// OSC 52: asks the terminal (also over SSH) to put `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x07")
}

const TYPES: [AccountType; 4] = [
    AccountType::User,
    AccountType::Api,
    AccountType::ReadOnly,
    AccountType::Taxii,
];

/// What the Create chooser offers this actor in the current Organization.
fn create_offers(ctx: &Context) -> Vec<Offer> {
    let limits = ctx.current_limits();
    TYPES
        .iter()
        .map(|&kind| {
            let verdict = match may_create(&ctx.session.actor, &ctx.session.settings, ctx.org, kind)
            {
                Err(refusal) => Err(refusal.to_string()),
                Ok(()) => match limits {
                    Some(l) if !l.allows_create(kind) => {
                        Err(format!("{} has no {} seats left", ctx.org, kind.name()))
                    }
                    Some(l) => Ok(l.remaining(kind)),
                    None => Ok(None),
                },
            };
            Offer { kind, verdict }
        })
        .collect()
}

fn refuse_if_read_only(ctx: &mut Context, what: &str) -> bool {
    if ctx.read_only() {
        ctx.set_error(format!("read-only console: {what} is not possible"));
        true
    } else {
        false
    }
}

/// The selected account, if the policy allows `action` on it.
fn allowed_target(
    ctx: &mut Context,
    accounts: &dyn Accounts,
    action: PolicyAction,
) -> Option<User> {
    let Some(user) = accounts.selected().cloned() else {
        ctx.set_error("no account selected");
        return None;
    };
    let verdict = may(
        &ctx.session.actor,
        &ctx.session.settings,
        action,
        &target_of(&user, &ctx.session.actor),
    );
    match verdict {
        Ok(()) => Some(user),
        Err(refusal) => {
            ctx.set_error(format!("{refusal}"));
            None
        }
    }
}

impl Forms {
    /// The keys of this file's modes and the table keys that start its work;
    /// `None` leaves the key to the App.
    pub fn perform(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        cmd: Cmd,
    ) -> Option<Vec<Command>> {
        let commands = match (ctx.mode(), cmd) {
            (_, Cmd::Quit | Cmd::Help) => return None,
            (Mode::Table, Cmd::New) => {
                self.open_chooser(ctx);
                Vec::new()
            }
            (Mode::Table | Mode::Detail, Cmd::Edit) => self.start_edit(ctx, accounts),
            (Mode::Table | Mode::Detail, Cmd::DeleteAccount) => self.start_delete(ctx, accounts),
            (Mode::Table, Cmd::RequirePasswordReset) => {
                ctx.then(Followup::PreflightSelected(BulkAction::ResetPassword));
                Vec::new()
            }
            (Mode::Table, Cmd::RequireMfaReset) => {
                ctx.then(Followup::PreflightSelected(BulkAction::ResetMfa));
                Vec::new()
            }
            (Mode::Chooser, _) => self.chooser_key(ctx, cmd),
            (Mode::Form, _) => self.form_key(ctx, cmd),
            (Mode::Pick, _) => self.pick_key(ctx, accounts, cmd),
            (Mode::Confirm, _) => self.confirm_key(ctx, cmd),
            (Mode::Token, _) => {
                self.token_key(ctx, cmd);
                Vec::new()
            }
            _ => return None,
        };
        Some(commands)
    }

    fn open_chooser(&mut self, ctx: &mut Context) {
        if refuse_if_read_only(ctx, "creating accounts") {
            return;
        }
        self.offers = create_offers(ctx);
        if self.offers.iter().all(|o| o.verdict.is_err()) {
            let why = self
                .offers
                .first()
                .and_then(|o| o.verdict.clone().err())
                .unwrap_or_default();
            ctx.set_error(format!("no account can be created here: {why}"));
            return;
        }
        self.chooser = ListCursor::default();
        self.chooser.set_len(self.offers.len());
        let first_allowed = self.offers.iter().position(|o| o.verdict.is_ok());
        self.chooser.select(first_allowed.unwrap_or(0));
        ctx.layers.push(Mode::Chooser);
    }

    fn chooser_key(&mut self, ctx: &mut Context, cmd: Cmd) -> Vec<Command> {
        self.chooser.navigate(cmd);
        match cmd {
            Cmd::Close => ctx.layers.pop(),
            Cmd::Accept => {
                if let Some(offer) = self.offers.get(self.chooser.selected).cloned() {
                    return self.open_create(ctx, offer.kind);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// `:new user|api|readonly|taxii`.
    pub fn new_command(&mut self, ctx: &mut Context, args: &str) -> Vec<Command> {
        let Some(kind) = AccountType::from_key(args.trim()) else {
            ctx.set_error(format!(
                ":new needs one of: {}",
                TYPES.iter().map(|t| t.key()).collect::<Vec<_>>().join(", ")
            ));
            return Vec::new();
        };
        if refuse_if_read_only(ctx, "creating accounts") {
            return Vec::new();
        }
        self.open_create(ctx, kind)
    }

    fn open_create(&mut self, ctx: &mut Context, kind: AccountType) -> Vec<Command> {
        let offer = create_offers(ctx).into_iter().find(|o| o.kind == kind);
        if let Some(Offer {
            verdict: Err(why), ..
        }) = offer
        {
            ctx.set_error(format!("cannot create {}: {why}", article_name(kind)));
            ctx.layers.close_all();
            return Vec::new();
        }
        let mut form =
            AccountForm::create(&ctx.session.actor, &ctx.session.settings, kind, ctx.org)
                .with_extensions(&ctx.session.capabilities.extensions);
        if let Some(groups) = &self.groups {
            form.set_group_options(groups.clone());
        }
        self.form = Some(FormState::new(form, None));
        // In the chooser's place (or over the table, from `:new`).
        ctx.layers.over_table(Mode::Form);
        self.load_groups(ctx).into_iter().collect()
    }

    fn load_groups(&mut self, ctx: &mut Context) -> Option<Command> {
        if self.groups.is_some() || !ctx.session.capabilities.has(ext::GROUP_MEMBERSHIP) {
            return None;
        }
        let id = ctx.requests.next();
        self.groups_request = Some(id);
        Some(Command::LoadUserGroups { id })
    }

    fn start_edit(&mut self, ctx: &mut Context, accounts: &dyn Accounts) -> Vec<Command> {
        if refuse_if_read_only(ctx, "editing") {
            return Vec::new();
        }
        let Some(user) = allowed_target(ctx, accounts, PolicyAction::Edit) else {
            return Vec::new();
        };
        let fields = account::edit_fields(&ctx.session.capabilities);
        let id = ctx.requests.next();
        self.account_request = Some(id);
        ctx.set_info(format!(
            "reading {} ...",
            super::text::sanitize(&user.user_name)
        ));
        let mut commands = vec![Command::LoadAccount {
            id,
            account_id: user.id,
            fields,
        }];
        commands.extend(self.load_groups(ctx));
        commands
    }

    fn open_edit(&mut self, ctx: &mut Context, user: User) {
        let mut form = AccountForm::edit(&ctx.session.actor, &ctx.session.settings, &user)
            .with_extensions(&ctx.session.capabilities.extensions)
            .with_not_updatable(&ctx.session.capabilities.not_updatable);
        if let Some(groups) = &self.groups {
            form.set_group_options(groups.clone());
        }
        self.form = Some(FormState::new(form, Some(user)));
        *ctx.status = None;
        // The account arrived from the worker: the form replaces whatever
        // is in front (the details it was asked from, help).
        ctx.layers.over_table(Mode::Form);
    }

    // ---- the form ----

    fn form_key(&mut self, ctx: &mut Context, cmd: Cmd) -> Vec<Command> {
        let Some(state) = self.form.as_mut() else {
            ctx.layers.pop();
            return Vec::new();
        };
        let count = state.form.fields().len();
        match cmd {
            Cmd::NextField => {
                state.focus = (state.focus + 1) % count.max(1);
                state.cursor = None;
            }
            Cmd::PreviousField => {
                state.focus = (state.focus + count.max(1) - 1) % count.max(1);
                state.cursor = None;
            }
            Cmd::Save => return self.save(ctx, false),
            Cmd::SaveWithToken => return self.save(ctx, true),
            Cmd::Close => self.leave_form(ctx),
            Cmd::Accept | Cmd::Toggle => return self.activate_field(ctx, cmd == Cmd::Toggle),
            Cmd::DeleteChar
            | Cmd::DeleteNextChar
            | Cmd::DeleteWord
            | Cmd::ClearInput
            | Cmd::CursorLeft
            | Cmd::CursorRight
            | Cmd::CursorStart
            | Cmd::CursorEnd => self.edit_text(|line| {
                line.edit(cmd);
            }),
            _ => {}
        }
        Vec::new()
    }

    fn leave_form(&mut self, ctx: &mut Context) {
        let dirty = self.form.as_ref().is_some_and(|f| f.form.is_dirty());
        if dirty {
            self.ask(
                ctx,
                ConfirmFor::Discard,
                "Leave the form?",
                "The changes will be lost. Enter leaves, Esc goes back to the form.".into(),
            );
        } else {
            self.close_form(ctx);
        }
    }

    fn close_form(&mut self, ctx: &mut Context) {
        self.form = None;
        self.save_request = None;
        ctx.layers.remove(Mode::Form);
    }

    /// Opens a confirmation over what is in front (the form, the table).
    fn ask(&mut self, ctx: &mut Context, purpose: ConfirmFor, title: &str, message: String) {
        self.confirm = Some(Confirm {
            purpose,
            title: title.to_string(),
            message,
            input: LineEditor::default(),
        });
        ctx.layers.push(Mode::Confirm);
    }

    /// Sets the focused field; a refusal shows beside it.
    fn set_focused(&mut self, value: FieldValue) {
        let Some(state) = self.form.as_mut() else {
            return;
        };
        let Some(field) = state.focused().map(|f| f.field) else {
            return;
        };
        state.errors.retain(|(f, _)| *f != field);
        if let Err(problem) = state.form.set(field, value) {
            state.errors.push((field, problem));
        }
    }

    fn activate_field(&mut self, ctx: &mut Context, toggle: bool) -> Vec<Command> {
        let Some(state) = self.form.as_mut() else {
            return Vec::new();
        };
        let Some(field) = state.focused() else {
            return Vec::new();
        };
        match &field.value {
            FieldValue::Checkbox(on) => self.set_focused(FieldValue::Checkbox(!on)),
            FieldValue::Choice(_) | FieldValue::Multi(_) if !toggle => self.open_field_pick(ctx),
            FieldValue::Text(_) | FieldValue::Password(_) if toggle => {
                return self.type_char(ctx, ' ');
            }
            _ if !toggle => {
                let count = state.form.fields().len().max(1);
                state.focus = (state.focus + 1) % count;
                state.cursor = None;
            }
            _ => {}
        }
        Vec::new()
    }

    fn open_field_pick(&mut self, ctx: &mut Context) {
        let Some(state) = self.form.as_mut() else {
            return;
        };
        let Some(field) = state.focused() else {
            return;
        };
        if let Err(why) = state.form.check_settable(field.field) {
            state.errors.retain(|(f, _)| *f != field.field);
            state.errors.push((field.field, why));
            return;
        }
        let (multi, chosen): (bool, Vec<String>) = match &field.value {
            FieldValue::Multi(ids) => (true, ids.iter().map(i64::to_string).collect()),
            FieldValue::Choice(c) => (false, c.iter().cloned().collect()),
            _ => return,
        };
        if field.options.is_empty() {
            let why = if field.field == Field::Groups && self.groups.is_none() {
                "the user groups have not arrived yet"
            } else {
                "nothing to choose from"
            };
            state.errors.retain(|(f, _)| *f != field.field);
            state.errors.push((field.field, why.to_string()));
            return;
        }
        let selected = field
            .options
            .iter()
            .position(|o| chosen.contains(&o.value))
            .unwrap_or(0);
        self.pick = Some(Pick {
            multi,
            chosen,
            ..Pick::new(
                PickFor::Field(field.field),
                field.label.to_string(),
                field.options,
                selected,
            )
        });
        ctx.layers.push(Mode::Pick);
    }

    /// A typed character for the focused text or number field, or the
    /// delete confirmation.
    pub fn type_char(&mut self, ctx: &mut Context, c: char) -> Vec<Command> {
        if ctx.mode() == Mode::Confirm {
            if let Some(confirm) = self.confirm.as_mut() {
                if confirm.purpose == ConfirmFor::Delete
                    && !c.is_control()
                    && confirm.input.insert_char(c)
                {
                    // A "does not match" from an earlier Enter is stale now.
                    *ctx.status = None;
                }
            }
            return Vec::new();
        }
        let Some(field) = self.form.as_ref().and_then(|s| s.focused()) else {
            return Vec::new();
        };
        if c.is_control() {
            return Vec::new();
        }
        if let FieldValue::Number(_) = field.value {
            if !c.is_ascii_digit() {
                self.note_field_error(field.field, "type digits only".into());
                return Vec::new();
            }
        }
        // Each key copies the field's text: a bound keeps a long paste cheap.
        let length = match &field.value {
            FieldValue::Text(text) => text.chars().count(),
            FieldValue::Password(p) => p.expose().chars().count(),
            _ => 0,
        };
        if length >= MAX_INPUT {
            let limit = super::text::thousands(MAX_INPUT as u64);
            self.note_field_error(field.field, format!("at most {limit} characters"));
            return Vec::new();
        }
        self.edit_text(|line| {
            line.insert_char(c);
        });
        Vec::new()
    }

    fn note_field_error(&mut self, field: Field, text: String) {
        if let Some(state) = self.form.as_mut() {
            state.errors.retain(|(f, _)| *f != field);
            state.errors.push((field, text));
        }
    }

    /// Edits the focused text, password or number field with the prompts'
    /// line editor (insert at the cursor, delete, move), then stores the
    /// value and the cursor back: the form keeps the value, not the editor.
    fn edit_text(&mut self, edit: impl FnOnce(&mut LineEditor)) {
        let Some(state) = self.form.as_ref() else {
            return;
        };
        let Some(field) = state.focused() else {
            return;
        };
        let text = match &field.value {
            FieldValue::Text(text) => text.clone(),
            FieldValue::Password(p) => p.expose().to_string(),
            FieldValue::Number(n) => n.map(|v| v.to_string()).unwrap_or_default(),
            _ => return,
        };
        let mut input = LineEditor::with_text(&text, state.cursor, MAX_INPUT);
        edit(&mut input);
        let value = match field.value {
            FieldValue::Text(_) => FieldValue::Text(input.to_string()),
            FieldValue::Password(_) => FieldValue::Password(Password::new(input.to_string())),
            FieldValue::Number(_) if input.is_empty() => FieldValue::Number(None),
            FieldValue::Number(_) => match input.parse() {
                Ok(v) => FieldValue::Number(Some(v)),
                // Too many digits for a number: keep what was there.
                Err(_) => return,
            },
            _ => return,
        };
        let cursor = input.cursor();
        self.set_focused(value);
        if let Some(state) = self.form.as_mut() {
            state.cursor = Some(cursor);
        }
    }

    fn save(&mut self, ctx: &mut Context, token: bool) -> Vec<Command> {
        let caps_tokens = ctx.session.capabilities.has(ext::API_TOKENS);
        let Some(state) = self.form.as_mut() else {
            return Vec::new();
        };
        if state.saving {
            return Vec::new();
        }
        if token && state.form.kind() != AccountType::Api {
            ctx.set_error("save and generate token is for API users only");
            return Vec::new();
        }
        if token && !caps_tokens {
            ctx.set_error(format!(
                "this instance does not generate API tokens (rollcall extension {})",
                ext::API_TOKENS
            ));
            return Vec::new();
        }
        state.errors = state.form.validate();
        state.server_error = None;
        if !state.errors.is_empty() {
            let n = state.errors.len();
            ctx.set_error(format!(
                "{n} problem{} in the form; see beside the fields",
                if n == 1 { "" } else { "s" }
            ));
            return Vec::new();
        }
        if let Some(warning) = state.form.system_role_change_warning() {
            self.ask(
                ctx,
                ConfirmFor::Save { token },
                "Change the System role?",
                format!("{warning}. Enter saves, Esc goes back to the form."),
            );
            return Vec::new();
        }
        self.send_save(ctx, token)
    }

    fn send_save(&mut self, ctx: &mut Context, token: bool) -> Vec<Command> {
        let limits = ctx.current_limits();
        let session = ctx.session;
        let Some(state) = self.form.as_mut() else {
            return Vec::new();
        };
        let form = &state.form;
        let generate_token = token.then(|| form.token_expiration_days());
        let (account_id, body, groups) = match &state.original {
            None => {
                let kind = form.account_type();
                if let Some(Err(refusal)) = limits.map(|l| l.check_create(kind)) {
                    let why = refusal.0;
                    state.server_error = Some(why.clone());
                    ctx.set_error(why);
                    return Vec::new();
                }
                (None, form.create_body(), form.group_ids())
            }
            Some(original) => {
                let body = form.update_body(original);
                let groups = form.group_ids();
                let empty = body.as_object().is_none_or(|m| m.is_empty());
                if empty && groups.is_none() && !token {
                    ctx.set_info("nothing to change");
                    return Vec::new();
                }
                let target = target_of(original, &session.actor);
                let checked = may_update(
                    &session.actor,
                    &session.settings,
                    &target,
                    form.kind(),
                    &body,
                );
                if let Err(refusal) = checked {
                    state.server_error = Some(refusal.to_string());
                    return Vec::new();
                }
                (Some(original.id), body, groups)
            }
        };
        state.saving = true;
        state.token_requested = token;
        let id = ctx.requests.next();
        self.save_request = Some(id);
        ctx.set_info("saving ...");
        vec![Command::SaveAccount {
            id,
            account_id,
            body: RequestBody(body),
            groups,
            generate_token,
        }]
    }

    // ---- pick lists ----

    fn pick_key(&mut self, ctx: &mut Context, accounts: &dyn Accounts, cmd: Cmd) -> Vec<Command> {
        let Some(pick) = self.pick.as_mut() else {
            ctx.layers.pop();
            return Vec::new();
        };
        pick.list.cursor.navigate(cmd);
        let nothing_listed = pick.visible().is_empty();
        match cmd {
            Cmd::DeleteChar => {
                pick.list.query.edit(cmd);
                pick.settle();
            }
            Cmd::Toggle if !pick.multi => {
                pick.list.query.insert(" ");
            }
            Cmd::Close if !pick.list.query.is_empty() => {
                pick.list.query.clear();
                pick.settle();
            }
            Cmd::Accept | Cmd::Toggle if nothing_listed => {}
            Cmd::Toggle if pick.multi => {
                if let Some(option) = pick.selected().and_then(|at| pick.options.get(at)) {
                    let value = option.value.clone();
                    if let Some(at) = pick.chosen.iter().position(|c| *c == value) {
                        pick.chosen.remove(at);
                    } else {
                        pick.chosen.push(value);
                    }
                }
            }
            Cmd::Close => {
                let purpose = pick.purpose;
                self.pick = None;
                ctx.layers.pop();
                // A new owner not chosen: the delete it was for is off.
                if !matches!(purpose, PickFor::Field(_)) {
                    self.delete = None;
                    ctx.set_info("not deleted");
                }
            }
            Cmd::Accept => {
                let Some(pick) = self.pick.take() else {
                    return Vec::new();
                };
                ctx.layers.pop();
                return self.picked(ctx, accounts, pick);
            }
            _ => {}
        }
        Vec::new()
    }

    /// A typed character narrows the open pick list.
    pub fn pick_type(&mut self, c: char) {
        if let Some(pick) = self.pick.as_mut() {
            if !c.is_control() && pick.list.query.insert_char(c) {
                pick.settle();
            }
        }
    }

    fn picked(&mut self, ctx: &mut Context, accounts: &dyn Accounts, pick: Pick) -> Vec<Command> {
        let option = pick.selected().and_then(|at| pick.options.get(at)).cloned();
        match pick.purpose {
            PickFor::Field(_) => {
                let value = if pick.multi {
                    FieldValue::Multi(pick.chosen.iter().filter_map(|c| c.parse().ok()).collect())
                } else {
                    FieldValue::Choice(option.map(|o| o.value))
                };
                self.set_focused(value);
                Vec::new()
            }
            PickFor::PlaybookHeir | PickFor::JobHeir => {
                let Some(flow) = self.delete.as_mut() else {
                    return Vec::new();
                };
                let heir = option.and_then(|o| Some((o.value.parse::<i64>().ok()?, o.label)));
                if pick.purpose == PickFor::PlaybookHeir {
                    flow.playbooks_to = heir;
                } else {
                    flow.jobs_to = heir;
                }
                self.next_delete_step(ctx, accounts);
                Vec::new()
            }
        }
    }

    // ---- delete ----

    fn start_delete(&mut self, ctx: &mut Context, accounts: &dyn Accounts) -> Vec<Command> {
        if refuse_if_read_only(ctx, "deleting") {
            return Vec::new();
        }
        let Some(user) = allowed_target(ctx, accounts, PolicyAction::Delete) else {
            return Vec::new();
        };
        // From the details too: the delete's steps open over the table.
        ctx.layers.close_all();
        let account_id = user.id;
        self.delete = Some(DeleteFlow {
            user,
            run_as: None,
            playbooks_to: None,
            jobs_to: None,
        });
        if ctx.session.capabilities.has(ext::RUN_AS) {
            let id = ctx.requests.next();
            self.run_as_request = Some(id);
            ctx.set_info("checking what runs as this account ...");
            return vec![Command::LoadRunAs { id, account_id }];
        }
        self.next_delete_step(ctx, accounts);
        Vec::new()
    }

    /// Asks for what is still missing: the playbooks' new owner, the job
    /// apps' new owner, then the typed confirmation.
    fn next_delete_step(&mut self, ctx: &mut Context, accounts: &dyn Accounts) {
        let Some(flow) = self.delete.clone() else {
            return;
        };
        let run_as = flow.run_as.clone().unwrap_or_default();
        let needs_playbooks = !run_as.active_playbooks.is_empty() && flow.playbooks_to.is_none();
        let needs_jobs = !run_as.job_apps.is_empty() && flow.jobs_to.is_none();
        if (needs_playbooks || needs_jobs) && !ctx.session.capabilities.has(ext::REASSIGN_ON_DELETE)
        {
            self.delete = None;
            ctx.layers.close_all();
            ctx.set_error(format!(
                "not deleted: it runs playbooks or job apps and this instance cannot reassign them (rollcall extension {})",
                ext::REASSIGN_ON_DELETE
            ));
            return;
        }
        let heirs = |what: Inheritance| -> Vec<Choice> {
            accounts
                .loaded()
                .filter(|u| {
                    run_as::worth_offering(what, &Party::from(&flow.user), &Party::from(*u))
                })
                .map(|u| Choice {
                    value: u.id.to_string(),
                    label: heir_label(u),
                })
                .collect::<Vec<Choice>>()
        };
        let (purpose, title, mut options) = if needs_playbooks {
            (
                PickFor::PlaybookHeir,
                format!(
                    "New Run As user of {} active playbook(s)",
                    run_as.active_playbooks.len()
                ),
                heirs(Inheritance::Playbooks),
            )
        } else if needs_jobs {
            (
                PickFor::JobHeir,
                format!(
                    "New Run As API user of {} job app(s)",
                    run_as.job_apps.len()
                ),
                heirs(Inheritance::JobApps),
            )
        } else {
            let mut message = account::delete_question(&flow.user);
            if let Some((_, heir)) = &flow.playbooks_to {
                message.push_str(&format!(" Active playbooks move to {heir}."));
            }
            if let Some((_, heir)) = &flow.jobs_to {
                message.push_str(&format!(" Job apps move to {heir}."));
            }
            message.push_str(" Type the account name and press Enter.");
            ctx.layers.close_all();
            self.ask(ctx, ConfirmFor::Delete, "Delete account", message);
            return;
        };
        options.sort_by_key(|o| o.label.to_lowercase());
        if options.is_empty() {
            self.delete = None;
            ctx.layers.close_all();
            ctx.set_error(format!("not deleted: no account can take over ({title})"));
            return;
        }
        self.pick = Some(Pick::new(purpose, title, options, 0));
        // Also reached from the worker's answer (what runs as the account).
        ctx.layers.over_table(Mode::Pick);
    }

    // ---- confirmations ----

    fn confirm_key(&mut self, ctx: &mut Context, cmd: Cmd) -> Vec<Command> {
        let Some(confirm) = self.confirm.as_mut() else {
            ctx.layers.pop();
            return Vec::new();
        };
        if confirm.input.edit(cmd) {
            return Vec::new();
        }
        match cmd {
            Cmd::Close => {
                let purpose = confirm.purpose.clone();
                self.confirm = None;
                ctx.layers.pop();
                if purpose == ConfirmFor::Delete {
                    self.delete = None;
                    ctx.set_info("not deleted");
                }
            }
            Cmd::Accept => {
                let purpose = confirm.purpose.clone();
                if purpose == ConfirmFor::Delete {
                    let expected = self
                        .delete
                        .as_ref()
                        .map(|d| d.user.user_name.clone())
                        .unwrap_or_default();
                    if confirm.input.trim() != expected {
                        ctx.set_error("the name typed does not match the account's");
                        return Vec::new();
                    }
                }
                self.confirm = None;
                ctx.layers.pop();
                match purpose {
                    ConfirmFor::Discard => self.close_form(ctx),
                    ConfirmFor::Save { token } => return self.send_save(ctx, token),
                    ConfirmFor::Delete => return self.send_delete(ctx),
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn send_delete(&mut self, ctx: &mut Context) -> Vec<Command> {
        let Some(flow) = self.delete.as_ref() else {
            return Vec::new();
        };
        let (account_id, playbooks, jobs) = (
            flow.user.id,
            flow.playbooks_to.as_ref().map(|h| h.0),
            flow.jobs_to.as_ref().map(|h| h.0),
        );
        let id = ctx.requests.next();
        self.delete_request = Some(id);
        ctx.layers.close_all();
        ctx.set_info("deleting ...");
        vec![Command::DeleteUser {
            id,
            account_id,
            reassign_playbooks_to: playbooks,
            reassign_jobs_to: jobs,
        }]
    }

    // ---- the token ----

    fn token_key(&mut self, ctx: &mut Context, cmd: Cmd) {
        match cmd {
            Cmd::CopyToken => {
                if let Some(popup) = self.token.as_mut() {
                    if let Some(secret) = &popup.secret {
                        self.terminal_output = Some(osc52(secret.expose()));
                        popup.copied = true;
                    }
                }
            }
            Cmd::Close => {
                // The only copy goes here (a pending OSC 52 has been written
                // by the event loop before the next key is read).
                self.token = None;
                self.terminal_output = None;
                ctx.layers.pop();
            }
            _ => {}
        }
    }

    // ---- worker events ----

    pub fn handle_event(&mut self, ctx: &mut Context, accounts: &dyn Accounts, event: Event) {
        let owned = self.owns(event.id());
        if !owned {
            return;
        }
        match event {
            Event::Account { id, user } if Some(id) == self.account_request => {
                self.account_request = None;
                self.open_edit(ctx, *user);
            }
            Event::UserGroups { id, groups } if Some(id) == self.groups_request => {
                self.groups_request = None;
                if let Some(state) = self.form.as_mut() {
                    state.form.set_group_options(groups.clone());
                }
                self.groups = Some(groups);
            }
            Event::AccountSaved {
                user,
                created,
                problem,
                secret_key,
                ..
            } => {
                // The credentials of a new API or TAXII account, once, as
                // the web UI shows them (a requested token follows instead).
                let credentials = self.form.as_ref().and_then(|state| {
                    if !created {
                        return None;
                    }
                    match state.form.kind() {
                        AccountType::Api if !state.token_requested => {
                            Some(TokenPopup::api_account(&user.user_name, secret_key.clone()))
                        }
                        AccountType::Taxii => {
                            let typed = match state.form.value(Field::Password) {
                                FieldValue::Password(p) if !p.is_empty() => {
                                    Some(Secret::new(p.expose()))
                                }
                                _ => None,
                            };
                            Some(TokenPopup::taxii_account(&user.user_name, typed))
                        }
                        _ => None,
                    }
                });
                if let (true, Some(kind)) = (created, user.account_type()) {
                    ctx.then(Followup::CountSeats { kind, delta: 1 });
                }
                let text = account::saved_text(&user, created, problem.as_deref());
                ctx.then(Followup::ReplaceUser(user));
                self.form = None;
                // Also under help or a confirmation: they close onto the table.
                ctx.layers.remove(Mode::Form);
                if problem.is_some() {
                    ctx.set_error(text);
                } else {
                    ctx.set_info(text);
                }
                if let Some(popup) = credentials {
                    self.token = Some(popup);
                    ctx.layers.over_table(Mode::Token);
                }
            }
            Event::TokenGenerated {
                account_id,
                token,
                expires,
                ..
            } => {
                self.save_request = None;
                let user_name = accounts
                    .loaded()
                    .find(|u| u.id == account_id)
                    .map(|u| u.user_name.clone())
                    .unwrap_or_else(|| format!("account {account_id}"));
                self.token = Some(TokenPopup::token(&user_name, token, expires));
                ctx.layers.over_table(Mode::Token);
            }
            Event::RunAs {
                account_id, run_as, ..
            } => {
                self.run_as_request = None;
                match self.delete.as_mut() {
                    Some(flow) if flow.user.id == account_id => {
                        flow.run_as = Some(run_as);
                        *ctx.status = None;
                        self.next_delete_step(ctx, accounts);
                    }
                    _ => {}
                }
            }
            Event::UserDeleted { account_id, .. } => {
                self.delete_request = None;
                let name = self
                    .delete
                    .take()
                    .map(|d| super::text::sanitize(&d.user.user_name).into_owned())
                    .unwrap_or_else(|| format!("account {account_id}"));
                let kind = accounts
                    .loaded()
                    .find(|u| u.id == account_id)
                    .and_then(|u| u.account_type());
                if let Some(kind) = kind {
                    ctx.then(Followup::CountSeats { kind, delta: -1 });
                }
                ctx.then(Followup::RemoveUser(account_id));
                ctx.set_info(format!("{name} (id {account_id}) deleted"));
            }
            _ => {}
        }
    }

    /// A failure of one of this file's requests: a refused save keeps
    /// the form and everything typed, with the server's message.
    pub fn failed(
        &mut self,
        ctx: &mut Context,
        id: RequestId,
        what: &'static str,
        error: ApiError,
    ) {
        let message = format!("{what} failed: {error}");
        if Some(id) == self.save_request {
            self.save_request = None;
            if let Some(state) = self.form.as_mut() {
                state.saving = false;
                state.server_error = Some(error.to_string());
            }
        } else if Some(id) == self.account_request {
            self.account_request = None;
        } else if Some(id) == self.groups_request {
            self.groups_request = None;
        } else if Some(id) == self.run_as_request || Some(id) == self.delete_request {
            self.run_as_request = None;
            self.delete_request = None;
            self.delete = None;
        }
        ctx.set_error(message);
    }
}

fn article_name(kind: AccountType) -> String {
    crate::domain::roles::article(kind.name())
}

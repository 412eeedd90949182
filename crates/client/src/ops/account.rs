//! Saving and deleting one account: the requests, their order and the
//! wording of what failed, once for the console's worker and the scripted
//! `users create|edit|delete`. The policy and the form are checked by the
//! caller before; the instance has the last word.

use crate::api::wire::{ext, TokenRequest};
use crate::api::{ApiError, Capabilities, Client, Secret};
use crate::bulk::Reassign;
use crate::domain::text::sanitize;
use crate::domain::{GroupRef, User};
use chrono::{DateTime, Utc};
use std::fmt;

/// A request body that may hold a password: `Debug` shows only its keys.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestBody(pub serde_json::Value);

impl RequestBody {
    /// Whether it asks to change no field.
    pub fn is_empty(&self) -> bool {
        self.0.as_object().is_none_or(|m| m.is_empty())
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self
            .0
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        write!(f, "RequestBody({keys:?})")
    }
}

/// One account to save: create or update it, then set its groups, then
/// (API users) generate a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveRequest {
    /// `None` creates an account; `Some(id)` updates that one.
    pub account: Option<i64>,
    /// The create body, or the update's changed fields (empty when only the
    /// groups change).
    pub body: RequestBody,
    /// The groups the account ends up in, when they change.
    pub groups: Option<Vec<i64>>,
    /// Generate an API token afterwards, with this lifetime.
    pub token: Option<TokenRequest>,
}

/// A step of saving or deleting an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    /// Looking a create up by its user name after its answer was lost (or
    /// finding it had no user name to look up).
    ConfirmCreate,
    Update,
    Groups,
    Token,
    Delete,
    /// Reading an account back after its delete's answer was lost.
    ConfirmDelete,
}

impl Step {
    /// The step as a request the console's status line names
    /// ("… failed: reason").
    pub fn doing(self) -> &'static str {
        match self {
            Step::Create => "creating the account",
            Step::ConfirmCreate => {
                "creating the account (it may exist now: the answer was lost and it could not be looked up)"
            }
            Step::Update => "saving the account",
            Step::Groups => "setting the groups",
            Step::Token => "generating the API token",
            Step::Delete => "deleting the account",
            Step::ConfirmDelete => {
                "deleting the account (it may be gone now: the answer was lost and it could not be read back)"
            }
        }
    }

    /// What did not happen when the step failed.
    pub fn not_done(self) -> &'static str {
        match self {
            Step::Create => "the account was not created",
            Step::ConfirmCreate => {
                "the account may have been created (its answer was lost, and looking it up by its user name was not possible): look for it before creating it again"
            }
            Step::Update => "the account was not changed",
            Step::Groups => "the groups were not set",
            Step::Token => "no API token was generated",
            Step::Delete => "the account was not deleted",
            Step::ConfirmDelete => {
                "the account may have been deleted (the answer was lost and reading it back failed): look before deleting it again"
            }
        }
    }
}

/// A step that failed, and the instance's reason.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFailure {
    pub step: Step,
    pub error: ApiError,
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step.not_done(), self.error)
    }
}

impl std::error::Error for StepFailure {}

fn failed(step: Step) -> impl FnOnce(ApiError) -> StepFailure {
    move |error| StepFailure { step, error }
}

/// An API token: shown once, never stored, logged or journalled.
#[derive(Debug, Clone)]
pub struct GeneratedToken {
    pub token: Secret,
    pub expires: Option<DateTime<Utc>>,
}

/// A saved account and how the steps after the save went.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The account as the instance returned it.
    pub user: User,
    pub created: bool,
    /// Fields of an update the instance accepted but did not apply.
    pub not_applied: Vec<String>,
    /// The groups set, when asked and set.
    pub groups_set: Option<Vec<i64>>,
    /// A new API account's Secret Key, when the instance returns it
    /// (extension `apiSecretKey`): shown once, never stored.
    pub secret_key: Option<Secret>,
    pub token: Option<GeneratedToken>,
    /// The steps after the save that failed, in order.
    pub failures: Vec<StepFailure>,
    /// Set when the create's answer was lost and the account was found by
    /// its user name: what was lost with it.
    pub answer_lost: Option<String>,
}

impl Saved {
    /// What of the request did not happen, one clause each; `None` when
    /// everything did.
    pub fn problem(&self) -> Option<String> {
        let not_applied = (!self.not_applied.is_empty()).then(|| {
            format!(
                "not applied by the instance: {}",
                self.not_applied.join(", ")
            )
        });
        let clauses: Vec<String> = self
            .answer_lost
            .clone()
            .into_iter()
            .chain(not_applied)
            .chain(self.failures.iter().map(ToString::to_string))
            .collect();
        (!clauses.is_empty()).then(|| clauses.join("; "))
    }
}

/// "pat (id 7) created", or "pat (id 7) saved, but the groups were not
/// set: …": how both faces report a save.
pub fn saved_text(user: &User, created: bool, problem: Option<&str>) -> String {
    let verb = if created { "created" } else { "saved" };
    let text = format!("{} (id {}) {verb}", sanitize(&user.user_name), user.id);
    match problem {
        Some(problem) => format!("{text}, but {problem}"),
        None => text,
    }
}

/// Saves an account as `request` asks. Only the create or update itself
/// fails the save; the groups and the token are tried after it either way,
/// and what failed of them is in [`Saved::failures`].
pub async fn save(client: &Client, request: &SaveRequest) -> Result<Saved, StepFailure> {
    let body = &request.body.0;
    let mut answer_lost = None;
    let (user, secret_key) = match request.account {
        None => match create_once(client, body).await? {
            Created::Answered(user, secret_key) => (user, secret_key),
            Created::FoundByName(user, why) => {
                answer_lost = Some(why);
                (user, None)
            }
        },
        Some(id) if !request.body.is_empty() => (
            client
                .update_user(id, body)
                .await
                .map_err(failed(Step::Update))?,
            None,
        ),
        // Only the groups (or a token) change: the account as it is.
        Some(id) => (
            client
                .get_user(id, &[])
                .await
                .map_err(failed(Step::Update))?,
            None,
        ),
    };
    let mut saved = Saved {
        not_applied: match request.account {
            Some(_) => user.not_applied(body),
            None => Vec::new(),
        },
        user,
        created: request.account.is_none(),
        groups_set: None,
        secret_key,
        token: None,
        failures: Vec::new(),
        answer_lost,
    };
    if let Some(ids) = &request.groups {
        match client.set_groups(saved.user.id, ids).await {
            Ok(()) => saved.groups_set = Some(ids.clone()),
            Err(error) => saved.failures.push(failed(Step::Groups)(error)),
        }
    }
    if let Some(token) = &request.token {
        match client
            .generate_token(saved.user.id, token.expiration_days)
            .await
        {
            Ok(token) => {
                saved.token = Some(GeneratedToken {
                    token: Secret::new(token.token),
                    expires: token.expires,
                })
            }
            Err(error) => saved.failures.push(failed(Step::Token)(error)),
        }
    }
    Ok(saved)
}

/// A password nobody is told: 36 random letters and digits (or the
/// policy's minimum length), plus one character of every class a policy may
/// ask for. Used where the admin gave none.
pub fn random_password(policy: &crate::domain::policy::PasswordPolicy) -> String {
    use rand::distributions::{Alphanumeric, DistString};
    let mut secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 36.max(policy.min_length));
    // Every character class a policy may ask for, whatever was drawn.
    secret.push_str("Aa1");
    if policy.require_special {
        secret.push('-');
    }
    secret
}

/// Sends of a create at most, when each answer is lost and the user name
/// is then not found (so the account was not created).
pub const MAX_CREATE_SENDS: u32 = 3;
/// Wait before a create is sent again; doubled for each further send.
const CREATE_RESEND_DELAY: std::time::Duration = std::time::Duration::from_millis(200);

/// How a create ended.
#[derive(Debug, Clone)]
pub enum Created {
    /// The instance's answer: the account and, for an API account, its
    /// Secret Key when the instance returns one.
    Answered(User, Option<Secret>),
    /// The answer was lost and the account found by its user name (why, for
    /// the person: what only the answer held is gone).
    FoundByName(User, String),
}

/// Creates an account without ever creating it twice: a create whose
/// answer leaves it open (a 5xx, a dropped connection, no answer in time)
/// is looked up by its user name before it is sent again. A 429 is sent
/// again by the client itself (nothing was done). The caller has made sure
/// no account of that name existed before (the form and the policy do), so
/// one found after is this create's.
pub async fn create_once(
    client: &Client,
    body: &serde_json::Value,
) -> Result<Created, StepFailure> {
    let user_name = body.get("userName").and_then(|v| v.as_str());
    let mut sends = 1;
    loop {
        let error = match client.create_account(body).await {
            Ok((user, secret_key)) => return Ok(Created::Answered(user, secret_key)),
            Err(error) => error,
        };
        if !error.may_have_applied() {
            return Err(failed(Step::Create)(error));
        }
        // A name the instance generates cannot be looked up.
        let Some(user_name) = user_name else {
            return Err(failed(Step::ConfirmCreate)(error));
        };
        match client.find_user_by_name(user_name).await {
            Ok(Some(user)) => {
                let answer = match error.status() {
                    Some(_) => "the create was answered with an error",
                    None => "the answer to the create was lost",
                };
                let why = format!(
                    "{answer} ({error}) and the account was found by its user name: anything only that answer held (an API account's Secret Key) is not known"
                );
                tracing::info!(
                    account_id = user.id,
                    "created; the answer was lost or an error, found by its user name"
                );
                return Ok(Created::FoundByName(user, why));
            }
            Ok(None) if sends < MAX_CREATE_SENDS => {
                tracing::info!(
                    send = sends + 1,
                    of = MAX_CREATE_SENDS,
                    "a create's answer was lost and its user name is not found: sending it again"
                );
                tokio::time::sleep(CREATE_RESEND_DELAY * 2u32.pow(sends - 1)).await;
                sends += 1;
            }
            // Looked up and absent: not created.
            Ok(None) => return Err(failed(Step::Create)(error)),
            Err(lookup) => {
                tracing::info!(error = %sanitize(&lookup.to_string()), "looking up a create whose answer was lost failed");
                return Err(failed(Step::ConfirmCreate)(error));
            }
        }
    }
}

/// Deletes an account, moving what runs as it to the heirs in `reassign`
/// (rule 8, checked before with `domain::run_as`). A delete whose answer
/// leaves it open is confirmed by reading the account back: gone is deleted.
pub async fn delete(client: &Client, account: i64, reassign: Reassign) -> Result<(), StepFailure> {
    let error = match client
        .delete_user(account, reassign.playbooks_to, reassign.jobs_to)
        .await
    {
        Ok(()) => return Ok(()),
        Err(error) if error.may_have_applied() => error,
        Err(error) => return Err(failed(Step::Delete)(error)),
    };
    match client.get_user(account, &[]).await {
        Err(e) if e.status() == Some(404) => {
            tracing::info!(account_id = account, "deleted; the answer was lost");
            Ok(())
        }
        Ok(_) => Err(failed(Step::Delete)(error)),
        Err(_) => Err(failed(Step::ConfirmDelete)(error)),
    }
}

/// The question before a delete, the same in the console and on the
/// command line; each adds how to answer.
pub fn delete_question(user: &User) -> String {
    format!(
        "Delete {} (id {}) permanently? This cannot be undone; disabling keeps the log integrity.",
        sanitize(&user.user_name),
        user.id
    )
}

/// The extra fields an edit form needs, as far as the instance offers them.
pub fn edit_fields(capabilities: &Capabilities) -> Vec<String> {
    std::iter::once(ext::USER_GROUPS_FIELD)
        .chain(ext::SETTINGS_FIELDS.iter().copied())
        .filter(|f| capabilities.has(f) || capabilities.extra_fields.contains(*f))
        .map(String::from)
        .collect()
}

/// The user groups, as the form's Groups field offers them.
pub async fn group_options(client: &Client) -> Result<Vec<GroupRef>, ApiError> {
    Ok(client
        .user_groups()
        .await?
        .into_iter()
        .map(|g| GroupRef {
            id: g.id,
            name: g.name,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: 7,
            user_name: "pat@example.com".into(),
            ..Default::default()
        }
    }

    fn refused(message: &str) -> ApiError {
        ApiError::Http {
            status: 400,
            message: message.into(),
            err_code: None,
        }
    }

    #[test]
    fn every_step_that_did_not_happen_is_told_once() {
        let mut saved = Saved {
            user: user(),
            created: false,
            not_applied: vec!["timeZone".into()],
            groups_set: None,
            secret_key: None,
            token: None,
            answer_lost: None,
            failures: vec![
                StepFailure {
                    step: Step::Groups,
                    error: refused("no such group"),
                },
                StepFailure {
                    step: Step::Token,
                    error: refused("tokens are off"),
                },
            ],
        };
        let problem = saved.problem().expect("problems");
        assert!(
            problem.starts_with(
                "not applied by the instance: timeZone; the groups were not set: no such group"
            ),
            "{problem}"
        );
        assert!(problem.contains("; no API token was generated: tokens are off"));
        assert_eq!(
            saved_text(&saved.user, saved.created, Some(&problem)),
            format!("pat@example.com (id 7) saved, but {problem}")
        );
        saved.not_applied.clear();
        saved.failures.clear();
        assert_eq!(saved.problem(), None);
        assert_eq!(
            saved_text(&saved.user, true, None),
            "pat@example.com (id 7) created"
        );
    }

    #[test]
    fn a_body_debugs_as_its_keys_only() {
        let body = RequestBody(serde_json::json!({"password": "Sw0rdf1sh!", "firstName": "Pat"}));
        let shown = format!("{body:?}");
        assert!(!shown.contains("Sw0rdf1sh"), "{shown}");
        assert!(shown.contains("password") && shown.contains("firstName"));
        assert!(!body.is_empty());
        assert!(RequestBody(serde_json::json!({})).is_empty());
    }

    #[test]
    fn the_delete_question() {
        let user = User { id: 26, ..user() };
        assert_eq!(
            delete_question(&user),
            "Delete pat@example.com (id 26) permanently? This cannot be undone; disabling keeps the log integrity."
        );
    }
}

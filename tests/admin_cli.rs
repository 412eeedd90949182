//! `users create|edit|delete` driven directly (not through the binary),
//! with a Session over real HTTP against a sandbox started in each test.

use rollcall::api::auth::Credentials;
use rollcall::api::{Client, Connection, Secret};
use rollcall::commands::admin::{
    create, delete_confirmed_by, edit, AccountArg, Confirm, CreateArgs, DeleteArgs, EditArgs,
};
use rollcall::domain::{AccountType, User};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Sandbox, SandboxConfig};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SECRET: &str = "secret";
const DEMO: &str = "Demo Organization";

/// One temporary HOME (and XDG directories) for the whole test binary, so
/// anything rollcall might write lands where the token test can search it.
fn home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        for (var, sub) in [
            ("HOME", ""),
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_STATE_HOME", ".local/state"),
            ("XDG_CACHE_HOME", ".cache"),
        ] {
            let path = dir.path().join(sub);
            std::fs::create_dir_all(&path).expect("xdg dir");
            std::env::set_var(var, &path);
        }
        dir
    })
    .path()
}

async fn sandbox_at(db: Option<PathBuf>) -> Sandbox {
    home();
    let mut config = SandboxConfig::loopback(300, SECRET);
    config.db = db;
    Sandbox::start(config).await.expect("sandbox starts")
}

async fn sandbox() -> Sandbox {
    sandbox_at(None).await
}

fn connection(sb: &Sandbox, credentials: Credentials) -> Connection {
    Connection {
        api_path: sb.base_url(),
        credentials,
        read_only: false,
        concurrency: 4,
    }
}

fn hmac(access_id: &str) -> Credentials {
    Credentials::Hmac {
        access_id: access_id.into(),
        secret_key: Secret::new(SECRET),
    }
}

async fn session(sb: &Sandbox, access_id: &str) -> Session {
    session_for(connection(sb, hmac(access_id)))
        .await
        .expect("session opens")
}

fn sets(pairs: &[&str]) -> Vec<String> {
    pairs.iter().map(|s| s.to_string()).collect()
}

fn create_args(kind: AccountType, pairs: &[&str]) -> CreateArgs {
    CreateArgs {
        kind,
        org: None,
        set: sets(pairs),
        password_stdin: false,
        generate_token: false,
    }
}

fn edit_args(id: i64, pairs: &[&str]) -> EditArgs {
    EditArgs {
        id: id.into(),
        set: sets(pairs),
        password_stdin: false,
    }
}

fn delete_args(id: i64, playbooks: Option<i64>, jobs: Option<i64>, yes: bool) -> DeleteArgs {
    DeleteArgs {
        id: Some(id.into()),
        filter: None,
        org: None,
        dry_run: false,
        concurrency: None,
        journal: None,
        reassign_playbooks_to: playbooks.map(AccountArg::Id),
        reassign_jobs_to: jobs.map(AccountArg::Id),
        yes,
    }
}

/// Runs a command, returning its output or its error (all causes).
async fn run_create(s: &Session, args: &CreateArgs) -> Result<String, String> {
    let mut out = Vec::new();
    let result = create(s, args, &mut out).await;
    finish(result, out)
}

async fn run_edit(s: &Session, args: &EditArgs) -> Result<String, String> {
    let mut out = Vec::new();
    let result = edit(s, args, &mut out).await;
    finish(result, out)
}

/// Answers a confirmation prompt as scripted; `None` = not a terminal.
struct Scripted(Option<String>, usize);

impl Confirm for Scripted {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        assert!(prompt.contains("Type the account name to confirm"));
        self.1 += 1;
        self.0.clone()
    }
}

async fn run_delete(
    s: &Session,
    args: &DeleteArgs,
    answer: Option<&str>,
) -> (Result<String, String>, usize) {
    let mut out = Vec::new();
    let mut confirm = Scripted(answer.map(String::from), 0);
    let result = delete_confirmed_by(s, args, &mut out, &mut confirm).await;
    (finish(result, out), confirm.1)
}

fn finish(result: anyhow::Result<()>, out: Vec<u8>) -> Result<String, String> {
    let text = String::from_utf8(out).expect("utf-8 output");
    match result {
        Ok(()) => Ok(text),
        Err(e) => Err(format!("{e:#}")),
    }
}

fn created_id(output: &str) -> i64 {
    let start = output.find("(id ").expect("an id in the output") + 4;
    output[start..]
        .split(')')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a numeric id")
}

fn all_fields() -> Vec<String> {
    [
        "userGroups",
        "timeZone",
        "summaryEmailTime",
        "tokenExpirationDays",
        "includeInObservations",
        "allowExceedApiLinkLimit",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

async fn fetch(s: &Session, id: i64) -> User {
    s.client.get_user(id, &all_fields()).await.expect("user")
}

#[tokio::test]
async fn create_each_type() {
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;

    let out = run_create(
        &admin,
        &create_args(
            AccountType::User,
            &[
                "email=pat.jones@example.com",
                "password=Secr3tpass",
                "first-name=Pat",
                "last-name=Jones",
                "orgRole=Sharing User",
                "groups=SOC Team,IR Team",
                "time-zone=Europe/Berlin",
                "summary-email-time=7",
                "log-out-after=1 hour",
                "tqlTimeout=60000",
            ],
        ),
    )
    .await
    .expect("user created");
    assert!(
        out.starts_with("Created User pat.jones@example.com (id "),
        "{out}"
    );
    assert!(out.contains("in Demo Organization"));
    assert!(out.contains("Account information e-mail queued to pat.jones@example.com"));
    assert!(out.contains("Groups set: SOC Team, IR Team"), "{out}");
    let user = fetch(&admin, created_id(&out)).await;
    assert_eq!(user.system_role.as_deref(), Some("User"));
    assert_eq!(user.org_role_name(), Some("Sharing User"));
    assert_eq!(user.password_reset_required, Some(true));
    assert_eq!(user.terms_accepted, Some(false));
    assert_eq!(user.logout_interval_minutes, Some(60));
    // The docs' Integer of milliseconds.
    assert_eq!(
        user.custom_tql_timeout,
        Some(rollcall::domain::TqlTimeoutWire::Millis(60000))
    );
    assert_eq!(user.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(user.summary_email_time.as_deref(), Some("07:00"));
    assert_eq!(
        user.group_names().unwrap_or_default(),
        vec!["IR Team", "SOC Team"]
    );
    let outbox = sb.outbox().expect("outbox");
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].recipient, "pat.jones@example.com");
    assert!(outbox[0].body.contains("pat.jones@example.com"));
    assert!(!outbox[0].body.contains("Secr3tpass"));

    // Read Only User: the preset System role, and its Organization role range.
    let out = run_create(
        &admin,
        &create_args(
            AccountType::ReadOnly,
            &[
                "email=ro.viewer@example.com",
                "password=Secr3tpass",
                "firstName=Ro",
                "lastName=Viewer",
                "orgRole=read-only-commenter",
                "sendAccountInfoEmail=false",
            ],
        ),
    )
    .await
    .expect("read only user created");
    assert!(out.starts_with("Created Read Only User ro.viewer@example.com"));
    assert!(!out.contains("e-mail queued"));
    let user = fetch(&admin, created_id(&out)).await;
    assert_eq!(user.system_role.as_deref(), Some("Read Only User"));
    assert_eq!(user.org_role_name(), Some("Read Only Commenter"));
    assert_eq!(sb.outbox().expect("outbox").len(), 1);

    // API user: the API form's own settings.
    let out = run_create(
        &admin,
        &create_args(
            AccountType::Api,
            &[
                "firstName=Feed",
                "lastName=Importer",
                "systemRole=Exchange Admin",
                "token-expiration=30",
                "include-in-observations=true",
                "allow-exceed-api-link-limit=true",
            ],
        ),
    )
    .await
    .expect("api user created");
    assert!(out.starts_with("Created API User "), "{out}");
    assert!(!out.contains("API token"));
    let user = fetch(&admin, created_id(&out)).await;
    assert_eq!(user.system_role.as_deref(), Some("Exchange Admin"));
    assert_eq!(user.token_expiration_days, Some(30));
    assert_eq!(user.include_in_observations, Some(true));
    assert_eq!(user.allow_exceed_api_link_limit, Some(true));
    assert_eq!(user.time_zone, None);

    // TAXII user: names, locked Standard User, Disabled.
    let out = run_create(
        &admin,
        &create_args(
            AccountType::Taxii,
            &["firstName=Taxii", "lastName=Feed", "disabled=true"],
        ),
    )
    .await
    .expect("taxii user created");
    let user = fetch(&admin, created_id(&out)).await;
    assert_eq!(user.system_role.as_deref(), Some("Taxii User"));
    assert_eq!(user.org_role_name(), Some("Standard User"));
    assert_eq!(user.disabled, Some(true));
    sb.shutdown().await;
}

#[tokio::test]
async fn an_org_admin_api_user_creates_with_the_default_system_role() {
    let sb = sandbox().await;
    let org_admin = session(&sb, "organization-administrator").await;
    let err = run_create(
        &org_admin,
        &create_args(
            AccountType::User,
            &[
                "email=x@example.com",
                "password=Secr3tpass",
                "firstName=X",
                "lastName=Y",
                "systemRole=Administrator",
            ],
        ),
    )
    .await
    .expect_err("System Role is not offered");
    assert_eq!(
        err,
        "System Role is not offered to an API user with Organization role Organization Administrator"
    );
    let out = run_create(
        &org_admin,
        &create_args(
            AccountType::User,
            &[
                "email=x@example.com",
                "password=Secr3tpass",
                "firstName=X",
                "lastName=Y",
            ],
        ),
    )
    .await
    .expect("created");
    let user = fetch(&session(&sb, "administrator").await, created_id(&out)).await;
    assert_eq!(user.system_role.as_deref(), Some("User"));
    sb.shutdown().await;
}

#[tokio::test]
async fn validation_failures_list_every_problem_and_send_nothing() {
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;
    let posts = sb.requests().post;
    let err = run_create(&admin, &create_args(AccountType::User, &[]))
        .await
        .expect_err("invalid");
    assert_eq!(
        err,
        "E-Mail is required\nPassword is required\nFirst Name is required\nLast Name is required"
    );
    let err = run_create(
        &admin,
        &create_args(
            AccountType::User,
            &[
                "email=not-an-address",
                "password=short",
                "firstName=A",
                "lastName=B",
                "tqlTimeout=0",
            ],
        ),
    )
    .await
    .expect_err("invalid");
    assert_eq!(
        err,
        "E-Mail must look like name@example.com\nPassword must have at least 8 characters and a digit\nCustom TQL Timeout (ms) must be between 1 and 3600000"
    );
    let err = run_create(
        &admin,
        &create_args(
            AccountType::ReadOnly,
            &["nickname=x", "orgRole=Standard User", "bogus"],
        ),
    )
    .await
    .expect_err("invalid");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("unknown field \"nickname\"; this form offers: userName, password, firstName, lastName, systemRole, orgRole"), "{err}");
    assert_eq!(
        lines[1],
        "a Read Only User cannot have the Organization role Standard User"
    );
    assert_eq!(lines[2], "--set expects FIELD=VALUE, not \"bogus\"");
    let err = run_create(
        &admin,
        &CreateArgs {
            generate_token: true,
            ..create_args(AccountType::User, &[])
        },
    )
    .await
    .expect_err("token for a user");
    assert_eq!(err, "--generate-token is for API users only (--type api)");
    assert_eq!(sb.requests().post, posts, "nothing was sent");
    sb.shutdown().await;
}

#[tokio::test]
async fn refusals_before_and_from_the_server() {
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;
    let user = [
        "email=dup@example.com",
        "password=Secr3tpass",
        "firstName=D",
        "lastName=Up",
    ];
    run_create(&admin, &create_args(AccountType::User, &user))
        .await
        .expect("first");
    // The server's own words, verbatim.
    let err = run_create(&admin, &create_args(AccountType::User, &user))
        .await
        .expect_err("duplicate");
    assert!(
        err.contains("a user named \"dup@example.com\" already exists"),
        "{err}"
    );
    assert!(err.starts_with("the account was not created: "), "{err}");

    // Contoso Intel has used up its User Limit: refused before sending.
    let posts = sb.requests().post;
    let mut args = create_args(
        AccountType::User,
        &[
            "email=one.more@example.com",
            "password=Secr3tpass",
            "firstName=One",
            "lastName=More",
        ],
    );
    args.org = Some("Contoso Intel".into());
    let err = run_create(&admin, &args).await.expect_err("limit");
    assert!(
        err.starts_with("Contoso Intel has reached its User Limit ("),
        "{err}"
    );
    assert!(err.ends_with("no User can be created"), "{err}");
    assert_eq!(sb.requests().post, posts);
    // A Read Only User does not count against it.
    args.kind = AccountType::ReadOnly;
    args.set[0] = "email=ro.more@example.com".into();
    run_create(&admin, &args).await.expect("read only fits");

    // Policy refusals come from the domain rules.
    let ro = session(&sb, "read-only").await;
    let err = run_create(&ro, &create_args(AccountType::User, &user))
        .await
        .expect_err("read only");
    assert_eq!(err, "a Read Only User cannot administer user accounts");
    let accounts = session(&sb, "accounts-administrator").await;
    let mut other_org = create_args(AccountType::User, &user);
    other_org.org = Some("Northwind Security".into());
    let err = run_create(&accounts, &other_org)
        .await
        .expect_err("home only");
    assert_eq!(err, "an Accounts Administrator administers accounts only in its home Organization (Demo Organization), not in Northwind Security");
    sb.shutdown().await;
}

/// The first seeded Demo Organization account with this System role.
async fn first_with_role(s: &Session, role: &str) -> User {
    let query = rollcall::api::UserQuery {
        // TQL has no owner keyword (tcex's user filter): `owner=` narrows.
        tql: Some(format!("systemRole = \"{role}\" and disabled = false")),
        owner: Some(DEMO.to_string()),
        ..Default::default()
    };
    let users = s.client.list_users(&query).await.expect("list");
    users
        .into_iter()
        .find(|u| u.id > 6)
        .expect("a seeded account")
}

#[tokio::test]
async fn edit_changes_only_what_was_set() {
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;
    let target = first_with_role(&admin, "User").await;
    let id = target.id;

    let out = run_edit(
        &admin,
        &edit_args(id, &["lastName=Renamed", "time-zone=UTC"]),
    )
    .await
    .expect("edited");
    assert_eq!(
        out,
        format!(
            "Updated {} (id {id}): lastName, timeZone\n",
            target.user_name
        )
    );
    let after = fetch(&admin, id).await;
    assert_eq!(after.last_name.as_deref(), Some("Renamed"));
    assert_eq!(after.time_zone.as_deref(), Some("UTC"));
    assert_eq!(after.first_name, target.first_name);

    // Nothing to change: nothing sent.
    let puts = sb.requests().put;
    let out = run_edit(&admin, &edit_args(id, &["lastName=Renamed"]))
        .await
        .expect("no-op");
    assert!(out.starts_with("Nothing to change for "));
    assert_eq!(sb.requests().put, puts);

    // System role change: Community roles reset to the Organization's defaults.
    let out = run_edit(&admin, &edit_args(id, &["systemRole=Super User"]))
        .await
        .expect("role changed");
    assert!(out.contains("systemRole"), "{out}");
    let after = fetch(&admin, id).await;
    assert_eq!(after.system_role.as_deref(), Some("Super User"));
    assert_eq!(after.org_role_name(), Some("Organization Administrator"));
    let roles = after.owner_roles.clone().unwrap_or_default();
    assert_eq!(roles.get("Demo Community"), Some("Director"));
    let out = run_edit(&admin, &edit_args(id, &["systemRole=Read Only User"]))
        .await
        .expect("role changed");
    assert!(out.contains("systemRole"), "{out}");
    let after = fetch(&admin, id).await;
    assert_eq!(after.org_role_name(), Some("Read Only User"));
    // Demo Organization's default in Demo Community is Contributor: at most Commenter.
    let roles = after.owner_roles.clone().unwrap_or_default();
    assert_eq!(roles.get("Demo Community"), Some("Commenter"));

    // Groups are their own call.
    let out = run_edit(&admin, &edit_args(id, &["groups=Auditors"]))
        .await
        .expect("groups");
    assert!(out.ends_with("set: Auditors\n"), "{out}");
    assert_eq!(
        fetch(&admin, id).await.group_names().unwrap_or_default(),
        vec!["Auditors"]
    );

    // Form messages, unchanged.
    let err = run_edit(
        &admin,
        &edit_args(id, &["email=new@example.com", "firstName="]),
    )
    .await
    .expect_err("invalid");
    assert_eq!(err, "E-Mail is locked: the account name cannot be changed");
    let err = run_edit(&admin, &edit_args(id, &["firstName="]))
        .await
        .expect_err("invalid");
    assert_eq!(err, "First Name is required");
    let err = run_edit(&admin, &edit_args(id, &["sendAccountInfoEmail=true"]))
        .await
        .expect_err("create only");
    assert_eq!(
        err,
        "Send Account Info E-mail is offered only when creating an account"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn disable_via_edit_and_its_refusals() {
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;
    let target = first_with_role(&admin, "User").await;
    run_edit(&admin, &edit_args(target.id, &["disabled=true"]))
        .await
        .expect("disabled");
    assert_eq!(fetch(&admin, target.id).await.disabled, Some(true));
    run_edit(&admin, &edit_args(target.id, &["disabled=false"]))
        .await
        .expect("enabled");
    assert_eq!(fetch(&admin, target.id).await.disabled, Some(false));

    // Not oneself, and not above one's own rank.
    let me = admin.actor.id.expect("own id");
    let err = run_edit(&admin, &edit_args(me, &["disabled=true"]))
        .await
        .expect_err("self");
    assert_eq!(err, "you cannot disable your own account");
    let accounts = session(&sb, "accounts-administrator").await;
    let boss = first_with_role(&admin, "Administrator").await;
    let err = run_edit(&accounts, &edit_args(boss.id, &["disabled=true"]))
        .await
        .expect_err("rank");
    // It cannot see System roles, so the instance decides, in its own words.
    assert_eq!(
        err,
        "the account was not changed: an Accounts Administrator cannot disable an Administrator (HTTP 401 not authorized)"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn delete_requires_reassignment_and_confirmation() {
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;
    // Seeded: id 26 runs two active playbooks (and one inactive); id 19 is
    // an API user running two job apps.
    let runs = admin.client.run_as(26).await.expect("run as");
    assert_eq!(runs.active_playbooks.len(), 2);
    let jobs = admin.client.run_as(19).await.expect("run as");
    assert_eq!(jobs.job_apps.len(), 2);
    let api19 = fetch(&admin, 19).await;
    assert_eq!(api19.account_type(), Some(AccountType::Api));
    let heir = first_with_role(&admin, "User").await;
    assert_ne!(heir.id, 26);

    let deletes = sb.requests().delete;
    let (result, asked) = run_delete(&admin, &delete_args(26, None, None, true), None).await;
    let err = result.expect_err("playbooks must move");
    assert!(
        err.contains("is the Run As user of 2 active playbooks (Malware Enrichment, Phishing Triage): choose another account with --reassign-playbooks-to ID"),
        "{err}"
    );
    assert_eq!(asked, 0);

    // Not a terminal and no --yes: refused, nothing sent.
    let (result, asked) =
        run_delete(&admin, &delete_args(26, Some(heir.id), None, false), None).await;
    let err = result.expect_err("no confirmation possible");
    assert!(
        err.starts_with("not deleted: standard input is not a terminal"),
        "{err}"
    );
    let name = fetch(&admin, 26).await.user_name;
    assert!(
        err.ends_with(&format!("pass --yes to delete {name} (id 26)")),
        "{err}"
    );
    assert_eq!(asked, 1);
    let (result, _) = run_delete(
        &admin,
        &delete_args(26, Some(heir.id), None, false),
        Some("somebody else"),
    )
    .await;
    assert!(result.expect_err("mismatch").contains("does not match"));
    assert_eq!(sb.requests().delete, deletes);

    // Typed the name: deleted, playbooks moved.
    let (result, _) = run_delete(
        &admin,
        &delete_args(26, Some(heir.id), None, false),
        Some(&name),
    )
    .await;
    let out = result.expect("deleted");
    assert!(out.starts_with(&format!("Deleted {name} (id 26)")), "{out}");
    assert!(out.contains(&format!(
        "Active playbooks (Malware Enrichment, Phishing Triage) now run as account {}",
        heir.id
    )));
    assert!(out.contains("Inactive playbooks (Old Feed Import) moved to the first account listed in Demo Organization"), "{out}");
    assert!(admin.client.get_user(26, &[]).await.is_err());
    let moved = admin.client.run_as(heir.id).await.expect("run as");
    assert_eq!(moved.active_playbooks.len(), 2);

    // Job apps need an API user.
    let (result, _) = run_delete(&admin, &delete_args(19, None, None, true), None).await;
    assert!(result
        .expect_err("job apps must move")
        .contains("is the Run As user of 2 job apps (Feed Sync, Indicator Export): choose an API user with --reassign-jobs-to ID"));
    let (result, _) = run_delete(&admin, &delete_args(19, None, Some(heir.id), true), None).await;
    let err = result.expect_err("not an API user");
    assert!(
        err.starts_with("job apps must run as an API user; "),
        "{err}"
    );
    assert!(err.ends_with("is a User"), "{err}");
    let api_heir = first_with_role(&admin, "Api User").await;
    let api_heir = if api_heir.id == 19 {
        let query = rollcall::api::UserQuery {
            tql: Some("systemRole = \"Api User\"".to_string()),
            owner: Some(DEMO.to_string()),
            ..Default::default()
        };
        admin
            .client
            .list_users(&query)
            .await
            .expect("list")
            .into_iter()
            .find(|u| u.id != 19)
            .expect("another API user")
    } else {
        api_heir
    };
    let (result, _) = run_delete(
        &admin,
        &delete_args(19, None, Some(api_heir.id), true),
        None,
    )
    .await;
    let out = result.expect("deleted");
    assert!(out.contains(&format!(
        "Job apps (Feed Sync, Indicator Export) now run as API user {}",
        api_heir.id
    )));
    assert_eq!(
        admin
            .client
            .run_as(api_heir.id)
            .await
            .expect("run as")
            .job_apps
            .len(),
        2
    );

    // The policy first: a Read Only User deletes nothing.
    let ro = session(&sb, "read-only").await;
    let (result, _) = run_delete(&ro, &delete_args(heir.id, None, None, true), None).await;
    assert!(result.is_err());
    sb.shutdown().await;
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn a_generated_token_is_shown_once_and_stored_nowhere() {
    let data = home().join(format!("sandbox-{}", std::process::id()));
    std::fs::create_dir_all(&data).expect("data dir");
    let db = data.join("sandbox.db");
    let sb = sandbox_at(Some(db.clone())).await;
    let admin = session(&sb, "administrator").await;
    let args = CreateArgs {
        generate_token: true,
        ..create_args(
            AccountType::Api,
            &["firstName=Token", "lastName=Holder", "token-expiration=7"],
        )
    };
    let out = run_create(&admin, &args)
        .await
        .expect("created with a token");
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("API token: "))
        .expect("the token line")
        .to_string();
    assert!(token.len() >= 32, "{token}");
    assert_eq!(out.matches(token.as_str()).count(), 1, "{out}");
    assert!(out.contains("This token is shown once and is not stored anywhere"));
    assert!(out.contains("Expires: "));

    // The token works.
    let as_token = Client::new(connection(
        &sb,
        Credentials::Token(Secret::new(token.clone())),
    ))
    .expect("client");
    let me = as_token.whoami().await.expect("token authenticates");
    assert!(me.user_name.chars().all(|c| c.is_ascii_digit()));

    sb.shutdown().await;
    // Not in the sandbox database (it keeps a hash), nor anywhere under HOME.
    assert!(db.exists());
    let hits = files_containing(home(), token.as_bytes());
    assert!(hits.is_empty(), "token found in {hits:?}");
    // The search does read the database: it finds the hash kept there.
    let hash = rollcall::sandbox::db::sha256_hex(&token);
    assert!(!files_containing(&data, hash.as_bytes()).is_empty());
}

#[tokio::test]
async fn read_only_sessions_write_nothing() {
    let sb = sandbox().await;
    let mut conn = connection(&sb, hmac("administrator"));
    conn.read_only = true;
    let s = session_for(conn).await.expect("session");
    let err = run_create(
        &s,
        &create_args(AccountType::Api, &["firstName=A", "lastName=B"]),
    )
    .await
    .expect_err("read only");
    assert_eq!(err, "read-only session: nothing was created");
    let err = run_edit(&s, &edit_args(30, &["disabled=true"]))
        .await
        .expect_err("read only");
    assert_eq!(err, "read-only session: nothing was changed");
    let (result, _) = run_delete(&s, &delete_args(30, None, None, true), None).await;
    assert_eq!(
        result.expect_err("read only"),
        "read-only session: nothing was deleted"
    );
    let c = sb.requests();
    assert_eq!((c.post, c.put, c.delete), (0, 0, 0));
    sb.shutdown().await;
}

#[tokio::test]
async fn the_sandbox_checks_bodies_with_the_form_rules() {
    home();
    let mut config = SandboxConfig::loopback(50, SECRET);
    config.settings.password_policy = rollcall::domain::PasswordPolicy {
        min_length: 10,
        require_special: true,
        ..Default::default()
    };
    let sb = Sandbox::start(config).await.expect("sandbox starts");
    let admin = session(&sb, "administrator").await;
    // The session learns the instance's policy, so the form says it first...
    let err = run_create(
        &admin,
        &create_args(
            AccountType::User,
            &[
                "email=a@example.com",
                "password=abcdefg1",
                "firstName=A",
                "lastName=B",
            ],
        ),
    )
    .await
    .expect_err("weak");
    assert_eq!(
        err,
        "Password must have at least 10 characters and a special character"
    );
    // ...and the instance says the same when asked directly.
    let refused = |body: serde_json::Value| {
        let client = admin.client.clone();
        async move {
            match client.create_user(&body).await {
                Ok(u) => panic!("created {}", u.user_name),
                Err(e) => e.server_message().unwrap_or_default().to_string(),
            }
        }
    };
    let user = |extra: serde_json::Value| {
        let mut body = serde_json::json!({
            "userName": "b@example.com", "password": "abcdefgh1!", "firstName": "B", "lastName": "C",
            "owner": DEMO, "systemRole": "User", "ownerRoles": {DEMO: "Standard User"}
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    assert_eq!(
        refused(user(serde_json::json!({"password": "abcdefg1"}))).await,
        "the password does not meet the password policy: it needs at least 10 characters and a special character"
    );
    assert_eq!(
        refused(user(serde_json::json!({"userName": "no-at-sign"}))).await,
        "userName is the account's e-mail address: E-Mail must look like name@example.com"
    );
    assert_eq!(
        refused(user(serde_json::json!({"tokenExpirationDays": 30}))).await,
        "tokenExpirationDays is a setting of API users only, not of a User"
    );
    assert_eq!(
        refused(user(serde_json::json!({"timeZone": "Mars/Olympus_Mons"}))).await,
        "timeZone \"Mars/Olympus_Mons\" is not one the form offers (IANA names such as UTC, Europe/Berlin)"
    );
    assert_eq!(
        refused(user(
            serde_json::json!({"tqlTimeout": 0, "customTqlTimeout": true})
        ))
        .await,
        "tqlTimeout must be between 1 and 3600000"
    );
    assert_eq!(
        refused(user(serde_json::json!({"logoutIntervalMinutes": 7}))).await,
        "logoutIntervalMinutes must be 0 (never) or one of [15, 30, 60, 120, 240, 480, 1440], not 7"
    );
    assert_eq!(
        refused(serde_json::json!({"systemRole": "Api User", "firstName": "A", "lastName": "B", "owner": DEMO, "ownerRoles": {DEMO: "Standard User"}, "sendAccountInfoEmail": true})).await,
        "sendAccountInfoEmail needs an e-mail address, and an API User has none"
    );
    assert_eq!(
        refused(serde_json::json!({"systemRole": "Api User", "firstName": "A", "lastName": "B", "owner": DEMO, "ownerRoles": {DEMO: "Standard User"}, "tokenExpirationDays": 3651})).await,
        "tokenExpirationDays must be between 1 and 3650"
    );
    let someone = first_with_role(&admin, "User").await;
    let err = admin
        .client
        .update_user(
            someone.id,
            &serde_json::json!({"sendAccountInfoEmail": true}),
        )
        .await
        .expect_err("create only");
    assert_eq!(
        err.server_message(),
        Some("sendAccountInfoEmail applies only when creating an account")
    );
    // A cleared time zone is stored as none.
    admin
        .client
        .update_user(someone.id, &serde_json::json!({"timeZone": "UTC"}))
        .await
        .expect("set");
    admin
        .client
        .update_user(someone.id, &serde_json::json!({"timeZone": null}))
        .await
        .expect("cleared");
    assert_eq!(fetch(&admin, someone.id).await.time_zone, None);
    assert!(sb.outbox().expect("outbox").is_empty());
    sb.shutdown().await;
}

/// As the web UI does, a new API account's Access ID and Secret Key are
/// shown once; the key really signs requests, and rollcall keeps no copy.
/// On a plain instance the docs' userName and password are asked for, and
/// the output says plainly that the key is not returned.
#[tokio::test]
async fn a_new_api_account_shows_its_credentials_once_in_both_worlds() {
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;
    let out = run_create(
        &admin,
        &create_args(AccountType::Api, &["firstName=Key", "lastName=Holder"]),
    )
    .await
    .expect("created");
    let access_id = out
        .lines()
        .find_map(|l| l.strip_prefix("Access ID: "))
        .expect("the Access ID line")
        .to_string();
    let secret_key = out
        .lines()
        .find_map(|l| l.strip_prefix("Secret Key: "))
        .expect("the Secret Key line")
        .to_string();
    assert_eq!(out.matches(secret_key.as_str()).count(), 1, "{out}");
    assert!(
        out.contains("shown once and is not stored anywhere"),
        "{out}"
    );
    let as_new = Client::new(connection(
        &sb,
        Credentials::Hmac {
            access_id: access_id.clone(),
            secret_key: Secret::new(secret_key.clone()),
        },
    ))
    .expect("client");
    let me = as_new.whoami().await.expect("the new key signs requests");
    assert_eq!(me.user_name, access_id);
    sb.shutdown().await;

    let mut config = SandboxConfig::loopback(20, SECRET).plain();
    config.db = None;
    let plain = Sandbox::start(config).await.expect("plain sandbox");
    let admin = session(&plain, "administrator").await;
    // Not given: a name and a password are made up, sent, shown once.
    let made_up = run_create(
        &admin,
        &create_args(AccountType::Api, &["firstName=Key", "lastName=Holder"]),
    )
    .await
    .expect("created with made-up credentials");
    let name = made_up
        .lines()
        .find_map(|l| l.strip_prefix("Access ID: "))
        .expect("the Access ID line");
    assert!(
        name.len() == 20 && name.chars().all(|c| c.is_ascii_digit()),
        "{made_up}"
    );
    assert_eq!(made_up.matches("Password: ").count(), 1, "{made_up}");
    let out = run_create(
        &admin,
        &create_args(
            AccountType::Api,
            &[
                "userName=key-holder",
                "password=Secr3tpassword",
                "firstName=Key",
                "lastName=Holder",
            ],
        ),
    )
    .await
    .expect("created on a plain instance");
    assert!(out.contains("Access ID: key-holder"), "{out}");
    assert!(
        out.contains("Secret Key: this instance does not return it through the API"),
        "{out}"
    );
    plain.shutdown().await;
}

/// Editing one's own account does not let one change one's own roles: the
/// CLI refuses before sending, as the console and the sandbox do.
#[tokio::test]
async fn a_self_edit_of_ones_own_roles_is_refused_before_sending() {
    let sb = sandbox().await;
    let me = session(&sb, "read-only").await;
    let own = me.actor.id.expect("own id");
    let before = sb.requests();
    let err = run_edit(&me, &edit_args(own, &["orgRole=Read Only Commenter"]))
        .await
        .expect_err("refused");
    assert!(err.contains("cannot administer user accounts"), "{err}");
    assert_eq!(sb.requests().put, before.put, "nothing was sent");
    // Its own name it may change.
    run_edit(&me, &edit_args(own, &["firstName=Renamed"]))
        .await
        .expect("a self-edit of the name");
    assert_eq!(sb.requests().put, before.put + 1);
    sb.shutdown().await;
}

/// `users edit` and `users delete` take a user name as well as an id; a
/// name no account has is one clear line.
#[tokio::test]
async fn edit_and_delete_take_a_user_name() {
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;
    run_create(
        &admin,
        &create_args(
            AccountType::User,
            &[
                "userName=named.person@example.com",
                "password=Secr3tpassword",
                "firstName=Named",
                "lastName=Person",
            ],
        ),
    )
    .await
    .expect("created");
    let by_name = EditArgs {
        id: "named.person@example.com".parse().unwrap(),
        ..edit_args(0, &["lastName=Renamed"])
    };
    let out = run_edit(&admin, &by_name).await.expect("edited by name");
    assert!(out.contains("lastName"), "{out}");
    let missing = EditArgs {
        id: "nobody@example.com".parse().unwrap(),
        ..edit_args(0, &["lastName=X"])
    };
    let err = run_edit(&admin, &missing)
        .await
        .expect_err("no such account");
    assert!(err.contains("no account named nobody@example.com"), "{err}");
    let gone = DeleteArgs {
        id: Some("named.person@example.com".parse().unwrap()),
        ..delete_args(0, None, None, true)
    };
    let (result, _) = run_delete(&admin, &gone, None).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(admin
        .client
        .find_user_by_name("named.person@example.com")
        .await
        .unwrap()
        .is_none());
    sb.shutdown().await;
}

/// An API user of the Demo Organization other than `not`.
async fn another_api_user(s: &Session, not: i64) -> User {
    let query = rollcall::api::UserQuery {
        tql: Some("systemRole = \"Api User\" and disabled = false".to_string()),
        owner: Some(DEMO.to_string()),
        ..Default::default()
    };
    s.client
        .list_users(&query)
        .await
        .expect("list")
        .into_iter()
        .find(|u| u.id != not)
        .expect("another API user")
}

fn named(user: &User) -> Option<AccountArg> {
    Some(AccountArg::Name(user.user_name.clone()))
}

#[tokio::test]
async fn delete_by_user_name_with_heirs_named_by_user_name() {
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;
    // Seeded: 26 runs two active playbooks, 19 (an API user) two job apps.
    let runner = fetch(&admin, 26).await;
    let job_runner = fetch(&admin, 19).await;
    let heir = first_with_role(&admin, "User").await;
    let api_heir = another_api_user(&admin, job_runner.id).await;
    let by_name = |account: &User| DeleteArgs {
        id: named(account),
        ..delete_args(0, None, None, true)
    };

    // Active playbooks to a User named by user name.
    let args = DeleteArgs {
        reassign_playbooks_to: named(&heir),
        ..by_name(&runner)
    };
    let (result, _) = run_delete(&admin, &args, None).await;
    let out = result.expect("deleted");
    assert!(
        out.starts_with(&format!("Deleted {} (id 26)", runner.user_name)),
        "{out}"
    );
    assert!(out.contains(&format!(
        "Active playbooks (Malware Enrichment, Phishing Triage) now run as account {}",
        heir.id
    )));
    let moved = admin.client.run_as(heir.id).await.expect("run as");
    assert!(moved.active_playbooks.len() >= 2, "{moved:?}");

    // Job apps: a User named as their heir is refused by rule 8 before
    // anything is sent; an API user named by user name takes them over.
    let deletes = sb.requests().delete;
    let args = DeleteArgs {
        reassign_jobs_to: named(&heir),
        ..by_name(&job_runner)
    };
    let (result, _) = run_delete(&admin, &args, None).await;
    assert_eq!(
        result.expect_err("not an API user"),
        format!(
            "job apps must run as an API user; {} is a User",
            heir.user_name
        )
    );
    assert_eq!(sb.requests().delete, deletes);
    let args = DeleteArgs {
        reassign_jobs_to: named(&api_heir),
        ..by_name(&job_runner)
    };
    let (result, _) = run_delete(&admin, &args, None).await;
    let out = result.expect("deleted");
    assert!(out.contains(&format!(
        "Job apps (Feed Sync, Indicator Export) now run as API user {}",
        api_heir.id
    )));
    assert_eq!(
        admin
            .client
            .run_as(api_heir.id)
            .await
            .expect("run as")
            .job_apps
            .len(),
        2
    );

    // An heir nobody has: said, nothing sent.
    let deletes = sb.requests().delete;
    let args = DeleteArgs {
        reassign_playbooks_to: Some(AccountArg::Name("nobody@example.com".into())),
        ..by_name(&heir)
    };
    let (result, _) = run_delete(&admin, &args, None).await;
    let err = result.expect_err("no such heir");
    assert!(
        err.starts_with(
            "--reassign-playbooks-to nobody@example.com: no account named nobody@example.com"
        ),
        "{err}"
    );
    assert_eq!(sb.requests().delete, deletes);
    sb.shutdown().await;
}

/// `users delete --filter … --reassign-jobs-to NAME`: the bulk delete takes
/// heirs by user name too, and refuses one that cannot take over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_delete_takes_heirs_by_user_name() {
    use rollcall::commands::offboard::{run_bulk_delete_with, LinePrompt};
    let sb = sandbox().await;
    let admin = session(&sb, "administrator").await;
    let job_runner = fetch(&admin, 19).await;
    let heir = first_with_role(&admin, "User").await;
    let api_heir = another_api_user(&admin, job_runner.id).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let bulk = |jobs_to: &User| DeleteArgs {
        id: None,
        filter: Some("id:19".into()),
        journal: Some(dir.path().join("journal.jsonl")),
        reassign_jobs_to: named(jobs_to),
        ..delete_args(0, None, None, true)
    };
    let mut no_prompt = LinePrompt {
        input: &b""[..],
        interactive: false,
    };

    let deletes = sb.requests().delete;
    let mut out = Vec::new();
    let err = run_bulk_delete_with(&admin, &bulk(&heir), &mut out, &mut no_prompt)
        .await
        .expect_err("a User cannot run job apps");
    assert_eq!(
        format!("{err:#}"),
        format!(
            "job apps must run as an API user; {} is a User",
            heir.user_name
        )
    );
    assert_eq!(sb.requests().delete, deletes);

    let mut out = Vec::new();
    run_bulk_delete_with(&admin, &bulk(&api_heir), &mut out, &mut no_prompt)
        .await
        .expect("deleted");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("1 ok"), "{text}");
    assert!(admin.client.get_user(19, &[]).await.is_err(), "deleted");
    let moved = admin.client.run_as(api_heir.id).await.expect("run as");
    assert_eq!(moved.job_apps.len(), 2, "{moved:?}");
    sb.shutdown().await;
}

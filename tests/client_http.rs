//! The client, the filter and `users list` over real HTTP against the
//! embedded sandbox.

use rollcall::api::auth::Credentials;
use rollcall::api::wire::ext;
use rollcall::api::{ApiError, Client, Connection, Secret, UserQuery};
use rollcall::commands::users::{fetch_filtered, list, Format, ListArgs};
use rollcall::domain::filter::{Filter, MatchContext};
use rollcall::domain::{LastLoginReported, OrgRole, SystemRole, User};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Sandbox, SandboxConfig};
use serde_json::json;
use std::collections::{BTreeSet, HashSet};

const SECRET: &str = "secret";

async fn sandbox(n_users: usize) -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(n_users, SECRET))
        .await
        .expect("sandbox starts")
}

fn connection(sb: &Sandbox, access_id: &str, secret: &str, read_only: bool) -> Connection {
    Connection {
        api_path: sb.base_url(),
        credentials: Credentials::Hmac {
            access_id: access_id.into(),
            secret_key: Secret::new(secret),
        },
        read_only,
        concurrency: 4,
    }
}

fn client(sb: &Sandbox, access_id: &str) -> Client {
    Client::new(connection(sb, access_id, SECRET, false)).unwrap()
}

async fn session(sb: &Sandbox, access_id: &str) -> Session {
    session_for(connection(sb, access_id, SECRET, false))
        .await
        .expect("session opens")
}

#[tokio::test]
async fn session_identifies_the_actor_and_the_instance() {
    let sb = sandbox(50).await;
    let admin = session(&sb, "administrator").await;
    assert_eq!(admin.actor.user_name, "administrator");
    assert_eq!(admin.actor.system_role, Some(SystemRole::Administrator));
    assert_eq!(admin.actor.home_org, "Demo Organization");
    assert_eq!(admin.actor.org_role, Some(OrgRole::StandardUser));
    assert!(admin.actor.id.is_some());
    assert_eq!(admin.instance, sb.base_url());
    for name in ext::ALL {
        assert!(admin.capabilities.has(name), "{name} advertised");
    }
    assert!(admin.capabilities.user_fields.contains("userName"));
    assert!(admin
        .capabilities
        .extra_fields
        .contains(ext::USER_GROUPS_FIELD));
    assert!(admin.capabilities.tql_keywords.contains("systemRole"));
    assert_eq!(admin.settings.password_max_age_days, Some(90));

    let read_only = session(&sb, "read-only").await;
    assert_eq!(read_only.actor.system_role, Some(SystemRole::ReadOnlyUser));
    assert_eq!(read_only.actor.home_org, "Demo Organization");
    assert_eq!(read_only.actor.org_role, Some(OrgRole::ReadOnlyUser));

    let org_admin = session(&sb, "organization-administrator").await;
    assert_eq!(org_admin.actor.system_role, Some(SystemRole::ApiUser));
    assert_eq!(
        org_admin.actor.org_role,
        Some(OrgRole::OrganizationAdministrator)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn every_client_call_works_against_the_sandbox() {
    let sb = sandbox(40).await;
    let admin = client(&sb, "administrator");
    let me = admin.whoami().await.unwrap();
    assert_eq!(me.role, "Administrator");

    let own = admin
        .find_user_by_name("administrator")
        .await
        .unwrap()
        .unwrap();
    let fetched = admin
        .get_user(own.id, &[ext::USER_GROUPS_FIELD.to_string()])
        .await
        .unwrap();
    assert_eq!(fetched.user_name, "administrator");
    assert!(fetched.user_groups.is_some());
    assert_eq!(
        admin
            .find_user_by_name("nobody \"at\" all\\")
            .await
            .unwrap(),
        None
    );

    let groups = admin.user_groups().await.unwrap();
    assert!(groups.iter().any(|g| g.name == "SOC Team"));
    let owners = admin.owners().await.unwrap();
    assert!(owners
        .iter()
        .any(|o| o.name == "Demo Organization" && o.kind == "Organization"));
    assert!(!admin.system_roles().await.unwrap().is_empty());
    assert!(!admin.owner_roles().await.unwrap().is_empty());
    let limits = admin.org_limits().await.unwrap();
    assert!(limits.iter().any(|l| l.organization == "Demo Organization"));
    let settings = admin.instance_settings().await.unwrap();
    assert_eq!(settings.password_max_age_days, Some(90));

    let created = admin
        .create_user(&json!({
            "userName": "client.test@example.com",
            "password": "abcdefg1",
            "firstName": "Client",
            "lastName": "Test",
            "owner": "Demo Organization",
            "ownerRoles": {"Demo Organization": "Standard User"},
            "systemRole": "User"
        }))
        .await
        .unwrap();
    assert_eq!(created.user_name, "client.test@example.com");
    let updated = admin
        .update_user(created.id, &json!({"disabled": true}))
        .await
        .unwrap();
    assert_eq!(updated.disabled, Some(true));
    let group_ids: Vec<i64> = groups.iter().take(2).map(|g| g.id).collect();
    admin.set_groups(created.id, &group_ids).await.unwrap();
    let regrouped = admin
        .get_user(created.id, &[ext::USER_GROUPS_FIELD.to_string()])
        .await
        .unwrap();
    let now_in: BTreeSet<i64> = regrouped
        .user_groups
        .unwrap()
        .iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(now_in, group_ids.iter().copied().collect());
    let run_as = admin.run_as(created.id).await.unwrap();
    assert!(run_as.active_playbooks.is_empty());
    admin.delete_user(created.id, None, None).await.unwrap();
    let gone = admin.get_user(created.id, &[]).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));

    // an API user gets a token, shown once, and the token authenticates
    let api = admin
        // generatedUserNames (an advertised extension): no userName or password.
        .create_user(&json!({
            "systemRole": "Api User",
            "firstName": "Token",
            "lastName": "User",
            "owner": "Demo Organization",
            "ownerRoles": {"Demo Organization": "Standard User"}
        }))
        .await
        .unwrap();
    let token = admin.generate_token(api.id, Some(30)).await.unwrap();
    assert!(!format!("{token:?}").contains(&token.token));
    let with_token = Client::new(Connection {
        api_path: sb.base_url(),
        credentials: Credentials::Token(Secret::new(token.token.clone())),
        read_only: true,
        concurrency: 1,
    })
    .unwrap();
    assert_eq!(with_token.whoami().await.unwrap().user_name, api.user_name);
    sb.shutdown().await;
}

#[tokio::test]
async fn auth_failures_are_http_401_with_the_server_message() {
    let sb = sandbox(5).await;
    let wrong = Client::new(connection(&sb, "administrator", "not-the-secret", false)).unwrap();
    let err = wrong.whoami().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(err.server_message().is_some());

    let skewed = client(&sb, "administrator");
    skewed.set_clock_offset(-3600);
    assert_eq!(skewed.whoami().await.unwrap_err().status(), Some(401));
    skewed.set_clock_offset(0);
    assert!(skewed.whoami().await.is_ok());

    let bad_token = Client::new(Connection {
        api_path: sb.base_url(),
        credentials: Credentials::Token(Secret::new("no-such-token")),
        read_only: false,
        concurrency: 1,
    })
    .unwrap();
    assert_eq!(bad_token.whoami().await.unwrap_err().status(), Some(401));

    let issued = sb.issue_token("read-only").unwrap();
    let good_token = Client::new(Connection {
        api_path: sb.base_url(),
        credentials: Credentials::Token(Secret::new(issued)),
        read_only: false,
        concurrency: 1,
    })
    .unwrap();
    assert_eq!(good_token.whoami().await.unwrap().user_name, "read-only");
    sb.shutdown().await;
}

#[tokio::test]
async fn listing_25000_accounts_returns_each_exactly_once() {
    let sb = sandbox(25_000).await;
    let admin = client(&sb, "administrator");
    let before = sb.requests().get;
    let query = UserQuery {
        page_size: 2_000,
        fields: vec![ext::USER_GROUPS_FIELD.to_string()],
        ..Default::default()
    };
    let mut pages = 0;
    let mut total = None;
    let mut ids = HashSet::new();
    let mut count = 0usize;
    admin
        .list_users_with(&query, &mut |page| {
            pages += 1;
            total = page.total;
            count += page.items.len();
            ids.extend(page.items.iter().map(|u| u.id));
        })
        .await
        .unwrap();
    let expected = 25_000 + rollcall::sandbox::SEEDED_ACCESS_IDS.len();
    assert_eq!(total, Some(expected as u64));
    assert_eq!(count, expected);
    assert_eq!(ids.len(), expected);
    assert_eq!(pages, expected.div_ceil(2_000));
    assert_eq!(sb.requests().get - before, pages as u64);

    let in_order = admin.list_users(&query).await.unwrap();
    assert_eq!(in_order.len(), expected);
    let unique: HashSet<i64> = in_order.iter().map(|u| u.id).collect();
    assert_eq!(unique.len(), expected);

    // one Organization only
    let demo = admin
        .list_users(&UserQuery {
            owner: Some("Northwind Security".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!demo.is_empty() && demo.len() < expected);
    assert!(demo
        .iter()
        .all(|u| u.owner.as_deref() == Some("Northwind Security")));
    sb.shutdown().await;
}

fn names(users: &[User]) -> Vec<String> {
    let mut names: Vec<String> = users.iter().map(|u| u.user_name.clone()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn filters_give_the_same_accounts_through_tql_and_locally() {
    let sb = sandbox(3_000).await;
    let admin = session(&sb, "administrator").await;
    let everyone = admin
        .client
        .list_users(&UserQuery {
            fields: admin.extension_fields(),
            ..Default::default()
        })
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let ctx = MatchContext {
        now,
        last_login: LastLoginReported::seen_in(&everyone),
        password_max_age_days: admin.settings.password_max_age_days,
    };
    assert!(ctx.password_max_age_days.is_some(), "expires is tested");
    let ids = format!("id:{},{}", everyone[3].id, everyone[10].id);
    let not_id = format!("-id:{} status:ok", everyone[3].id);
    let filters = [
        "status:ok",
        "status:locked",
        "status:disabled",
        "role:\"read only user\"",
        "type:api",
        "type:user status:ok",
        "type:taxii",
        "orgrole:\"organization administrator\"",
        "group:\"SOC Team\"",
        "group:\"ir team\" status:ok",
        "login<30d",
        "login>90d",
        "login:never",
        "mfa:off type:user",
        "smith",
        "a status:ok login<365d",
        // the whole language: lists, negation, or, abbreviations, expiry,
        // durations, ids and group prefixes
        "status:locked,disabled",
        "-status:ok",
        "not type:api",
        "-type:user -status:disabled",
        "type:api,taxii",
        "role:Admin,\"super user\"",
        "-role:admin type:user",
        "orgrole:Sharing",
        "orgrole:\"Org Admin\" or orgrole:standard status:locked",
        "-orgrole:standard",
        "type:api or status:locked",
        "status:locked or smith",
        "-group:\"SOC Team\" type:user",
        "group:so",
        "-mfa:on",
        "login>3m",
        "login<2w or login:never",
        "-login<1y",
        "expires<14d",
        "expires>30d type:user",
        "expires:expired or expires<1w",
        &ids,
        &not_id,
    ];
    let mut nonempty = 0;
    let mut translated = 0;
    for text in filters {
        let mut filter = Filter::parse(text).unwrap();
        let groups = admin.client.user_groups().await.unwrap();
        if filter.to_tql(&admin.tql_support(&groups), &ctx).is_some() {
            translated += 1;
        }
        // group: resolved as the listing resolves it, from the same names
        let group_names = groups.iter().map(|g| g.name.as_str()).chain(
            everyone
                .iter()
                .flat_map(|u| u.user_groups.iter().flatten().map(|g| g.name.as_str())),
        );
        filter.resolve_groups(group_names);
        let local: Vec<User> = everyone
            .iter()
            .filter(|u| filter.matches(u, &ctx))
            .cloned()
            .collect();
        let through_tql = fetch_filtered(&admin, None, &Filter::parse(text).unwrap(), now)
            .await
            .unwrap();
        let (tql_names, local_names) = (names(&through_tql), names(&local));
        if tql_names != local_names {
            let only_tql: Vec<_> = tql_names
                .iter()
                .filter(|n| !local_names.contains(n))
                .take(5)
                .collect();
            let only_local: Vec<_> = local_names
                .iter()
                .filter(|n| !tql_names.contains(n))
                .take(5)
                .collect();
            panic!(
                "filter {text}: {} through TQL, {} locally; only through TQL: {only_tql:?}; only locally: {only_local:?}",
                tql_names.len(),
                local_names.len()
            );
        }
        if !local.is_empty() {
            nonempty += 1;
        }
    }
    assert!(
        nonempty >= filters.len() - 2,
        "the seed is varied enough to test"
    );
    assert!(
        translated >= 25,
        "most filters went through TQL ({translated})"
    );
    // never-logged-in accounts exist, so login>90d really is tested for
    // leaving them out (a new hire is not stale)
    assert!(everyone
        .iter()
        .any(|u| u.days_since_login(now, ctx.last_login) == Some(None)));
    sb.shutdown().await;
}

#[tokio::test]
async fn read_only_mode_sends_no_write_at_all() {
    let sb = sandbox(10).await;
    let read_only = Client::new(connection(&sb, "administrator", SECRET, true)).unwrap();
    let own = read_only
        .find_user_by_name("administrator")
        .await
        .unwrap()
        .unwrap();
    let before = sb.requests();
    let body = json!({"userName": "x@example.com", "password": "abcdefg1"});
    let results = [
        read_only.create_user(&body).await.map(|_| ()),
        read_only
            .update_user(own.id, &json!({"disabled": true}))
            .await
            .map(|_| ()),
        read_only.delete_user(own.id, Some(1), Some(2)).await,
        read_only.set_groups(own.id, &[1]).await,
        read_only.generate_token(own.id, None).await.map(|_| ()),
    ];
    for result in results {
        assert!(
            matches!(result, Err(ApiError::ReadOnly { .. })),
            "{result:?}"
        );
    }
    let after = sb.requests();
    assert_eq!(after, before, "nothing reached the sandbox");
    // reads still work
    assert!(read_only.capabilities().await.unwrap().has(ext::INSTANCE));
    let later = sb.requests();
    assert_eq!((later.post, later.put, later.delete), (0, 0, 0));
    sb.shutdown().await;
}

async fn run_list(session: &Session, args: ListArgs) -> String {
    let mut out = Vec::new();
    list(session, &args, &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn users_list_writes_json_csv_and_table() {
    let sb = sandbox(200).await;
    let admin = session(&sb, "administrator").await;
    let json_text = run_list(
        &admin,
        ListArgs {
            org: Some("Demo Organization".into()),
            filter: Some("status:disabled".into()),
            format: Format::Json,
        },
    )
    .await;
    let users: Vec<User> = serde_json::from_str(&json_text).unwrap();
    assert!(!users.is_empty());
    assert!(users.iter().all(|u| u.disabled == Some(true)));
    assert!(users
        .iter()
        .all(|u| u.owner.as_deref() == Some("Demo Organization")));
    let raw: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    assert!(raw[0].get("userName").is_some() && raw[0].get("systemRole").is_some());

    let csv_text = run_list(
        &admin,
        ListArgs {
            org: Some("Demo Organization".into()),
            filter: Some("status:disabled".into()),
            format: Format::Csv,
        },
    )
    .await;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(&reader.headers().unwrap()[1], "userName");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), users.len());
    assert!(rows.iter().all(|r| &r[8] == "Disabled"));

    let table = run_list(&admin, ListArgs::default()).await;
    assert!(table.lines().next().unwrap().contains("System Role"));
    assert!(table.trim_end().ends_with(&format!("{} accounts", 200 + 6)));

    // an Accounts Administrator does not see the System role column
    let accounts_admin = session(&sb, "accounts-administrator").await;
    let table = run_list(&accounts_admin, ListArgs::default()).await;
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("Account") && !header.contains("System Role"),
        "{header}"
    );

    // a filter error is one clear line
    let mut out = Vec::new();
    let err = list(
        &admin,
        &ListArgs {
            filter: Some("colour:red".into()),
            ..Default::default()
        },
        &mut out,
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "--filter: unknown filter key 'colour'; known keys: status, role, orgrole, type, group, login, expires, mfa, id"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn listing_survives_injected_faults() {
    let sb = sandbox(5_000).await;
    let admin = client(&sb, "administrator");
    sb.set_faults(rollcall::sandbox::Faults {
        error_rate: 0.15,
        rate_limit_rate: 0.1,
        seed: 7,
        ..Default::default()
    });
    let users = admin
        .list_users(&UserQuery {
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: HashSet<i64> = users.iter().map(|u| u.id).collect();
    assert_eq!(users.len(), 5_006);
    assert_eq!(ids.len(), 5_006);
    sb.set_faults(rollcall::sandbox::Faults::default());
    sb.shutdown().await;
}

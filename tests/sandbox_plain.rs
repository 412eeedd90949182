//! The sandbox as a plain ThreatConnect instance (`SandboxConfig::plain`)
//! over real HTTP, the documented rules both modes share, and the client
//! on a plain instance: groups through `userGroups?fields=users`, the TQL
//! date form, and the fallback when an instance refuses a TQL pre-filter.

#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::{fixture, keys};
use rollcall::api::auth::{Credentials, Secret};
use rollcall::api::wire::{ext, UserGroupWithUsers};
use rollcall::api::{ApiError, Client, Membership};
use rollcall::commands::users::{fetch_filtered_noting, list, Format, ListArgs};
use rollcall::domain::filter::Filter;
use rollcall::domain::User;
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Sandbox, SandboxConfig};
use rollcall::worker::{Command, Event, Worker};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const KEY: &str = "plain-secret";

async fn start(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start(cfg).await.expect("sandbox starts")
}

async fn plain(n: usize) -> Sandbox {
    start(SandboxConfig::loopback(n, KEY).plain()).await
}

async fn extended(n: usize) -> Sandbox {
    start(SandboxConfig::loopback(n, KEY)).await
}

/// A raw signed caller (the client is tested separately below).
struct Caller {
    http: reqwest::Client,
    base: String,
    creds: Credentials,
}

impl Caller {
    fn new(sb: &Sandbox, access_id: &str) -> Caller {
        Caller::with_key(sb, access_id, KEY)
    }

    fn with_key(sb: &Sandbox, access_id: &str, key: &str) -> Caller {
        Caller {
            http: reqwest::Client::new(),
            base: sb.base_url(),
            creds: Credentials::Hmac {
                access_id: access_id.into(),
                secret_key: Secret::new(key),
            },
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        };
        let parsed = url::Url::parse(&url).expect("valid url");
        let target = match parsed.query() {
            Some(q) => format!("{}?{}", parsed.path(), q),
            None => parsed.path().to_string(),
        };
        let ts = chrono::Utc::now().timestamp();
        let mut req = self
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                parsed,
            )
            .header(
                "Authorization",
                self.creds.authorization(&target, method, ts),
            )
            .header("Timestamp", ts.to_string());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None).await
    }
}

fn enc(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The user names matching `tql` (one page of up to 10000).
async fn tql_names(c: &Caller, tql: &str) -> Result<BTreeSet<String>, (u16, Value)> {
    let (status, body) = c
        .get(&format!(
            "/v3/security/users?resultLimit=10000&tql={}",
            enc(tql)
        ))
        .await;
    if status != 200 {
        return Err((status, body));
    }
    Ok(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect())
}

async fn all_users(c: &Caller) -> Vec<Value> {
    let (status, body) = c.get("/v3/security/users?resultLimit=10000").await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

fn assert_v3_error(body: &Value, code: &str) {
    assert_eq!(body["status"], "Error", "{body}");
    assert_eq!(body["errCode"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

fn create_body(user_name: &str, system_role: &str) -> Value {
    json!({
        "userName": user_name,
        "password": "abcdefg1",
        "firstName": "New",
        "lastName": "Account",
        "owner": "Demo Organization",
        "ownerRoles": {"Demo Organization": "Standard User"},
        "systemRole": system_role,
    })
}

// ------------------------------------------------------------ the sandbox

#[tokio::test]
async fn errors_are_v3_envelopes_in_both_modes() {
    for sb in [plain(20).await, extended(20).await] {
        let wrong = Caller::with_key(&sb, "administrator", "wrong");
        let (status, body) = wrong.get("/v3/security/users").await;
        assert_eq!(status, 401);
        assert_v3_error(&body, "0x1002");
        assert_eq!(
            body["message"],
            "Signature data did not match expected result"
        );
        let admin = Caller::new(&sb, "administrator");
        let (status, body) = admin.get("/v3/security/users/999999").await;
        assert_eq!(status, 404);
        assert_v3_error(&body, "0x1004");
        let (status, body) = admin.get("/v3/security/users?resultLimit=0").await;
        assert_eq!(status, 400);
        assert_v3_error(&body, "0x1001");
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn a_plain_instance_serves_no_extensions() {
    let sb = plain(30).await;
    let admin = Caller::new(&sb, "administrator");
    // no paths
    for path in [
        "/v3/ext/rollcall/instance",
        "/v3/ext/rollcall/limits",
        "/v3/ext/rollcall/users/1/runAs",
    ] {
        let (status, body) = admin.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_v3_error(&body, "0x1004");
    }
    let (status, _) = admin
        .send(
            "PUT",
            "/v3/ext/rollcall/users/1/groups",
            Some(json!({"groupIds": [1]})),
        )
        .await;
    assert_eq!(status, 404);
    // no advertisement, and systemRole is not updatable
    let (status, options) = admin
        .send("OPTIONS", "/v3/security/users?show=readonly", None)
        .await;
    assert_eq!(status, 200);
    assert!(options.get("rollcallExtensions").is_none(), "{options}");
    assert_eq!(options["systemRole"]["updatable"], false);
    assert_eq!(options["systemRole"]["required"], true);
    assert_eq!(options["firstName"]["updatable"], true);
    assert_eq!(options["owner"]["updatable"], false);
    assert_eq!(options["lastLogin"]["readOnly"], true);
    // no extension fields
    let (_, fields) = admin
        .send("OPTIONS", "/v3/security/users/fields", None)
        .await;
    let names: BTreeSet<&str> = fields["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains("lastLogin") && names.contains("ownerRoles"));
    for extension in [ext::USER_GROUPS_FIELD, ext::MFA_FIELD, ext::TIME_ZONE_FIELD] {
        assert!(!names.contains(extension), "{extension}");
        let (status, body) = admin
            .get(&format!("/v3/security/users?fields={extension}"))
            .await;
        assert_eq!(status, 400, "{extension}: {body}");
        assert_v3_error(&body, "0x1001");
    }
    // the extended sandbox keeps them, advertised
    let ext_sb = extended(10).await;
    let (_, options) = Caller::new(&ext_sb, "administrator")
        .send("OPTIONS", "/v3/security/users?show=readonly", None)
        .await;
    assert!(options["rollcallExtensions"]
        .as_array()
        .unwrap()
        .contains(&json!(ext::SYSTEM_ROLE_UPDATE)));
    assert_eq!(options["systemRole"]["updatable"], true);
    ext_sb.shutdown().await;
    sb.shutdown().await;
}

#[tokio::test]
async fn creation_requires_the_documented_fields() {
    let sb = plain(10).await;
    let admin = Caller::new(&sb, "administrator");
    for (i, missing) in [
        "userName",
        "password",
        "firstName",
        "lastName",
        "owner",
        "ownerRoles",
        "systemRole",
    ]
    .iter()
    .enumerate()
    {
        for role in ["User", "Api User"] {
            let mut body = create_body(&format!("n{i}@example.com"), role);
            body.as_object_mut().unwrap().remove(*missing);
            let (status, answer) = admin.send("POST", "/v3/security/users", Some(body)).await;
            assert_eq!(status, 400, "{role} without {missing}: {answer}");
            assert_v3_error(&answer, "0x1001");
            assert!(
                answer["message"].as_str().unwrap().contains(missing),
                "{answer}"
            );
        }
    }
    // An API user needs its name and password too: no generated names.
    let (status, body) = admin
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body("12345678901234567890", "Api User")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["userName"], "12345678901234567890");
    // Extension body fields are not part of the documented body: ignored.
    let mut body = create_body("mailed@example.com", "User");
    body["sendAccountInfoEmail"] = json!(true);
    body["timeZone"] = json!("UTC");
    let (status, created) = admin.send("POST", "/v3/security/users", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["data"].get("timeZone").is_none());
    assert!(
        sb.outbox().unwrap().is_empty(),
        "no e-mail on a plain instance"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_system_role_change_is_not_applied_on_a_plain_instance() {
    let sb = plain(30).await;
    let admin = Caller::new(&sb, "administrator");
    let (status, created) = admin
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body("role.change@example.com", "User")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_i64().unwrap();
    // Accepted, like the docs' example PUT with the not-updatable owner,
    // and not applied: the answer shows what the account is.
    let (status, body) = admin
        .send(
            "PUT",
            &format!("/v3/security/users/{id}"),
            Some(
                json!({"systemRole": "Read Only User", "firstName": "Renamed", "timeZone": "UTC"}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["systemRole"], "User");
    assert_eq!(body["data"]["firstName"], "Renamed");
    // The extended sandbox applies it (systemRoleUpdate, advertised).
    let ext_sb = extended(10).await;
    let admin = Caller::new(&ext_sb, "administrator");
    let (_, created) = admin
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body("role.change@example.com", "User")),
        )
        .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let (status, body) = admin
        .send(
            "PUT",
            &format!("/v3/security/users/{id}"),
            Some(json!({"systemRole": "Read Only User"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["systemRole"], "Read Only User");
    ext_sb.shutdown().await;
    sb.shutdown().await;
}

#[tokio::test]
async fn fields_count_and_links_follow_the_docs_in_both_modes() {
    for sb in [plain(60).await, extended(60).await] {
        let admin = Caller::new(&sb, "administrator");
        // repeated names, not comma lists
        let (status, _) = admin
            .get("/v3/security/users?fields=lastLogin&fields=ownerRoles")
            .await;
        assert_eq!(status, 200);
        let (status, body) = admin
            .get("/v3/security/users?fields=lastLogin,ownerRoles")
            .await;
        assert_eq!(status, 400, "{body}");
        assert_v3_error(&body, "0x1001");
        let (status, _) = admin.get("/v3/security/users?fields=nonsense").await;
        assert_eq!(status, 400);
        // count only when asked, and only on the first page
        let (_, first) = admin
            .get("/v3/security/users?resultLimit=10&count=true")
            .await;
        let total = first["count"].as_u64().expect("count on page 0");
        assert!(total > 20);
        let (_, uncounted) = admin.get("/v3/security/users?resultLimit=10").await;
        assert!(uncounted.get("count").is_none());
        let (_, later) = admin
            .get("/v3/security/users?resultStart=10&resultLimit=10&count=true")
            .await;
        assert!(later.get("count").is_none(), "{later}");
        // absolute links, on the request's own origin
        let next = first["next"].as_str().expect("a next link");
        let origin = format!("http://{}/api/v3/security/users?", sb.addr());
        assert!(next.starts_with(&origin), "{next}");
        assert!(next.contains("resultStart=10"));
        let prev = later["prev"].as_str().expect("a prev link");
        assert!(prev.starts_with(&origin) && prev.contains("resultStart=0"));
        let (status, page) = admin.get(next).await;
        assert_eq!(status, 200);
        assert!(page.get("count").is_none());
        // the small listings follow the same count rule
        let (_, groups) = admin.get("/v3/security/userGroups").await;
        assert!(groups.get("count").is_none());
        let (_, groups) = admin.get("/v3/security/userGroups?count=true").await;
        assert_eq!(
            groups["count"].as_u64(),
            Some(groups["data"].as_array().unwrap().len() as u64)
        );
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn tql_has_tcex_keywords_operators_or_and_parentheses() {
    let sb = plain(120).await;
    let admin = Caller::new(&sb, "administrator");
    let users = all_users(&admin).await;
    let names = |pred: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
        users
            .iter()
            .filter(|u| pred(u))
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect()
    };
    let is = |u: &Value, k: &str, v: Value| u[k] == v;
    // the vocabulary is exactly tcex's user filter
    let (_, tql) = admin.send("OPTIONS", "/v3/security/users/tql", None).await;
    let listed: BTreeSet<&str> = tql["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keyword"].as_str().unwrap())
        .collect();
    let tcex: BTreeSet<&str> = [
        "disabled",
        "firstName",
        "groupId",
        "id",
        "jobFunction",
        "jobRole",
        "lastLogin",
        "lastName",
        "lastPasswordChange",
        "locked",
        "passwordResetRequired",
        "pseudonym",
        "systemRole",
        "termsAccepted",
        "termsAcceptedDate",
        "tqlTimeout",
        "userName",
    ]
    .into();
    assert_eq!(listed, tcex);
    for keyword in &tcex {
        // every listed keyword is served (`is null` needs no typed value)
        let result = tql_names(&admin, &format!("{keyword} is not null")).await;
        assert!(result.is_ok(), "{keyword}: {result:?}");
    }
    // unknown keywords: 400, and no owner keyword
    for bad in [
        "owner = \"Demo Organization\"",
        "orgRole = \"Standard User\"",
        "mfaEnabled = true",
        "nonsense = 1",
    ] {
        let (status, body) = tql_names(&admin, bad).await.unwrap_err();
        assert_eq!(status, 400, "{bad}");
        assert_v3_error(&body, "0x1001");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid TQL: unknown TQL keyword"),
            "{body}"
        );
    }
    // or, parentheses, word operators
    let got = tql_names(
        &admin,
        r#"(systemRole EQ "Api User" or systemRole = "Read Only User") and disabled NE true"#,
    )
    .await
    .unwrap();
    let want = names(&|u| {
        (is(u, "systemRole", json!("Api User")) || is(u, "systemRole", json!("Read Only User")))
            && !is(u, "disabled", json!(true))
    });
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // NOT IN
    let got = tql_names(&admin, r#"systemRole NOT IN ("User", "Api User")"#)
        .await
        .unwrap();
    let want =
        names(&|u| !is(u, "systemRole", json!("User")) && !is(u, "systemRole", json!("Api User")));
    assert_eq!(got, want);
    // ENDSWITH / NOT ENDSWITH / STARTSWITH / CONTAINS / LIKE
    let got = tql_names(&admin, r#"userName ENDSWITH "@example.com""#)
        .await
        .unwrap();
    let want = names(&|u| u["userName"].as_str().unwrap().ends_with("@example.com"));
    assert!(!want.is_empty());
    assert_eq!(got, want);
    let not = tql_names(&admin, r#"userName NOT ENDSWITH "@example.com""#)
        .await
        .unwrap();
    assert_eq!(not.len() + got.len(), users.len());
    assert!(not.is_disjoint(&got));
    let like = tql_names(&admin, r#"userName LIKE "%@example.com""#)
        .await
        .unwrap();
    assert_eq!(like, got);
    // integers with word operators; id GEQ / LT split everything
    let low = tql_names(&admin, "id LT 50").await.unwrap();
    let high = tql_names(&admin, "id GEQ 50").await.unwrap();
    assert_eq!(low.len() + high.len(), users.len());
    // dates in tcex's form, as a day, and RFC 3339 agree
    let cut = chrono::Utc::now() - chrono::Duration::days(30);
    let day = cut.format("%Y-%m-%d").to_string();
    let a = tql_names(&admin, &format!("lastLogin > \"{day} 00:00:00\""))
        .await
        .unwrap();
    let b = tql_names(&admin, &format!("lastLogin GT \"{day}\""))
        .await
        .unwrap();
    let c = tql_names(&admin, &format!("lastLogin > \"{day}T00:00:00Z\""))
        .await
        .unwrap();
    assert!(!a.is_empty());
    assert_eq!((&a, &a), (&b, &c));
    // the extended sandbox adds its two advertised keywords
    let ext_sb = extended(10).await;
    let ext_admin = Caller::new(&ext_sb, "administrator");
    assert!(tql_names(&ext_admin, "orgRole = \"Standard User\"")
        .await
        .is_ok());
    assert!(tql_names(&ext_admin, "mfaEnabled = true").await.is_ok());
    let (status, _) = tql_names(&ext_admin, "owner = \"Demo Organization\"")
        .await
        .unwrap_err();
    assert_eq!(status, 400);
    ext_sb.shutdown().await;
    sb.shutdown().await;
}

#[tokio::test]
async fn last_login_can_be_left_out() {
    let sb = start(SandboxConfig::loopback(40, KEY).plain().omit_last_login()).await;
    let admin = Caller::new(&sb, "administrator");
    let users = all_users(&admin).await;
    assert!(users.iter().all(|u| u.get("lastLogin").is_none()));
    assert!(users.iter().any(|u| u.get("lastPasswordChange").is_some()));
    let (_, fields) = admin
        .send("OPTIONS", "/v3/security/users/fields", None)
        .await;
    assert!(!fields["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "lastLogin"));
    let (status, _) = admin.get("/v3/security/users?fields=lastLogin").await;
    assert_eq!(status, 400);
    let id = users[0]["id"].as_i64().unwrap();
    let (_, one) = admin.get(&format!("/v3/security/users/{id}")).await;
    assert!(one["data"].get("lastLogin").is_none());
    sb.shutdown().await;
}

#[tokio::test]
async fn groups_list_their_users_and_group_id_filters() {
    for sb in [plain(80).await, extended(80).await] {
        let admin = Caller::new(&sb, "administrator");
        let (_, fields) = admin
            .send("OPTIONS", "/v3/security/userGroups/fields", None)
            .await;
        assert_eq!(fields["data"][0]["name"], "users");
        let (status, body) = admin.get("/v3/security/userGroups?fields=users").await;
        assert_eq!(status, 200, "{body}");
        // tcex's UsersModel shape: {"data": [user, ...]}
        let groups: Vec<UserGroupWithUsers> = serde_json::from_value(body["data"].clone()).unwrap();
        assert!(groups.len() >= 2);
        assert!(body["data"][0]["users"]["data"].is_array());
        assert!(groups
            .iter()
            .any(|g| !g.users.as_ref().unwrap().members().is_empty()));
        let (status, _) = admin.get("/v3/security/userGroups?fields=members").await;
        assert_eq!(status, 400);
        let (_, bare) = admin.get("/v3/security/userGroups").await;
        assert!(bare["data"][0].get("users").is_none());
        for group in &groups {
            let members: BTreeSet<i64> = group
                .users
                .as_ref()
                .unwrap()
                .members()
                .iter()
                .map(|m| m.id)
                .collect();
            let (_, by_tql) = admin
                .get(&format!(
                    "/v3/security/users?resultLimit=10000&tql={}",
                    enc(&format!("groupId = {}", group.id))
                ))
                .await;
            let ids: BTreeSet<i64> = by_tql["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_i64().unwrap())
                .collect();
            assert_eq!(ids, members, "{}", group.name);
            let (_, one) = admin
                .get(&format!(
                    "/v3/security/userGroups/{}?fields=users",
                    group.id
                ))
                .await;
            assert_eq!(
                one["data"]["users"]["data"].as_array().unwrap().len(),
                members.len()
            );
        }
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn owners_may_answer_create_for_users() {
    let sb = plain(10).await;
    let (_, owners) = Caller::new(&sb, "accounts-administrator")
        .get("/v3/security/owners")
        .await;
    let demo = owners["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Demo Organization")
        .cloned()
        .unwrap();
    assert_eq!(demo["permUsers"], "CREATE");
    let (_, owners) = Caller::new(&sb, "administrator")
        .get("/v3/security/owners")
        .await;
    assert!(owners["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["permUsers"] == "FULL"));
    sb.shutdown().await;
}

/// The fixture's envelope and first item have exactly our key sets (items
/// may carry more documented fields than the docs' short examples).
fn same_shape(name: &str, ours: &Value, exact_items: bool) {
    let theirs = fixture(name);
    assert_eq!(keys(&theirs), keys(ours), "{name}: envelope");
    let (t, o) = (&theirs["data"][0], &ours["data"][0]);
    if exact_items {
        assert_eq!(keys(t), keys(o), "{name}: item");
    } else {
        assert!(
            keys(t).is_subset(&keys(o)),
            "{name}: item {:?} vs {:?}",
            keys(t),
            keys(o)
        );
    }
}

#[tokio::test]
async fn plain_answers_have_the_documented_shapes() {
    let sb = plain(20).await;
    let admin = Caller::new(&sb, "administrator");
    same_shape(
        "owner_roles-retrieve-0.json",
        &admin.get("/v3/security/ownerRoles").await.1,
        true,
    );
    same_shape(
        "owners-retrieve-0.json",
        &admin.get("/v3/security/owners").await.1,
        true,
    );
    same_shape(
        "system_roles-retrieve-0.json",
        &admin.get("/v3/security/systemRoles").await.1,
        true,
    );
    let groups = admin.get("/v3/security/userGroups").await.1;
    same_shape("user_groups-retrieve-0.json", &groups, true);
    let ro = Caller::new(&sb, "read-only");
    same_shape(
        "users-retrieve-0.json",
        &ro.get("/v3/security/users").await.1,
        true,
    );
    let users = admin.get("/v3/security/users").await.1;
    same_shape("users-retrieve-0.json", &users, false);
    // a documented user object has no extension key
    let documented: BTreeSet<String> = keys(&fixture("users-update-0.json")["data"])
        .into_iter()
        .chain(
            [
                "lastLogin",
                "termsAcceptedDate",
                "customTqlTimeout",
                "tqlTimeout",
            ]
            .map(String::from),
        )
        .collect();
    for user in users["data"].as_array().unwrap() {
        let extra: Vec<String> = keys(user).difference(&documented).cloned().collect();
        assert!(extra.is_empty(), "undocumented keys {extra:?}");
    }
    sb.shutdown().await;
}

// ------------------------------------------------------------ the client

/// The sandbox's own connection: its seeded actors use `KEY`.
fn connection(sb: &Sandbox, access_id: &str) -> rollcall::api::Connection {
    sb.connection(access_id)
}

async fn session(sb: &Sandbox, access_id: &str) -> Session {
    session_for(connection(sb, access_id))
        .await
        .expect("session opens")
}

#[tokio::test]
async fn the_client_reads_v3_errors() {
    let sb = plain(5).await;
    let client = Client::new(connection(&sb, "administrator")).unwrap();
    let err = client.get_user(999_999, &[]).await.unwrap_err();
    match &err {
        ApiError::Http {
            status,
            message,
            err_code,
        } => {
            assert_eq!(*status, 404);
            assert_eq!(message, "no user with id 999999");
            assert_eq!(err_code.as_deref(), Some("0x1004"));
        }
        other => panic!("{other:?}"),
    }
    let mut wrong = connection(&sb, "administrator");
    wrong.credentials = Credentials::Hmac {
        access_id: "administrator".into(),
        secret_key: Secret::new("wrong"),
    };
    let err = Client::new(wrong).unwrap().whoami().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(
        err.server_message(),
        Some("Signature data did not match expected result")
    );
    sb.shutdown().await;
}

/// Every account name `users list --filter` prints as JSON.
async fn listed(session: &Session, filter: &str) -> BTreeSet<String> {
    let mut out = Vec::new();
    let args = ListArgs {
        filter: Some(filter.to_string()),
        format: Format::Json,
        ..Default::default()
    };
    list(session, &args, &mut out).await.expect("users list");
    let users: Vec<User> = serde_json::from_slice(&out).unwrap();
    users.into_iter().map(|u| u.user_name).collect()
}

#[tokio::test]
async fn group_filters_and_columns_work_on_a_plain_instance() {
    let sb = plain(120).await;
    let admin = session(&sb, "administrator").await;
    assert!(admin.capabilities.extensions.is_empty());
    assert!(admin.capabilities.group_fields.contains("users"));
    assert!(admin.capabilities.tql_keywords.contains("groupId"));
    // the truth, from the groups themselves
    let groups = admin.client.user_groups_with_users().await.unwrap();
    let members: BTreeMap<String, BTreeSet<i64>> = groups
        .iter()
        .map(|g| {
            let ids = g
                .users
                .as_ref()
                .unwrap()
                .members()
                .iter()
                .map(|m| m.id)
                .collect();
            (g.name.clone(), ids)
        })
        .collect();
    let everyone = admin.client.list_users(&Default::default()).await.unwrap();
    for (name, ids) in &members {
        let want: BTreeSet<String> = everyone
            .iter()
            .filter(|u| ids.contains(&u.id))
            .map(|u| u.user_name.clone())
            .collect();
        assert!(!want.is_empty());
        assert_eq!(
            listed(&admin, &format!("group:\"{name}\"")).await,
            want,
            "{name}"
        );
        let lower = name.to_lowercase();
        assert_eq!(listed(&admin, &format!("group:\"{lower}\"")).await, want);
    }
    // the Groups column (CSV) is known for everyone: a name list or empty
    let mut out = Vec::new();
    let args = ListArgs {
        format: Format::Csv,
        ..Default::default()
    };
    list(&admin, &args, &mut out).await.unwrap();
    let csv = String::from_utf8(out).unwrap();
    assert!(csv.contains("SOC Team"), "groups column filled");
    // the console's worker fills groups the same way
    let client = admin.client.clone();
    let (worker, mut events) = Worker::spawn(client);
    worker.send(Command::LoadUsers {
        id: 1,
        org: None,
        query: Default::default(),
        groups_from_user_groups: true,
    });
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(20), events.recv())
            .await
            .expect("an event")
            .expect("the worker runs")
        {
            Event::UsersPage { users, .. } => seen.extend(users),
            Event::UsersDone { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(seen.iter().all(|u| u.user_groups.is_some()));
    let soc: BTreeSet<i64> = seen
        .iter()
        .filter(|u| u.group_names().is_some_and(|g| g.contains(&"SOC Team")))
        .map(|u| u.id)
        .collect();
    assert_eq!(&soc, &members["SOC Team"]);
    worker.send(Command::Shutdown);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_refused_tql_prefilter_is_retried_without_tql() {
    let sb = start(
        SandboxConfig::loopback(80, KEY)
            .plain()
            .refusing_tql_keyword("systemRole"),
    )
    .await;
    let admin = session(&sb, "administrator").await;
    let filter = Filter::parse("type:api").unwrap();
    let mut notes = Vec::new();
    let users = fetch_filtered_noting(&admin, None, &filter, chrono::Utc::now(), &mut |n| {
        notes.push(n)
    })
    .await
    .expect("listed without TQL");
    assert!(!users.is_empty());
    assert!(users
        .iter()
        .all(|u| u.account_type() == Some(rollcall::domain::AccountType::Api)));
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("the instance refused the TQL pre-filter (Invalid TQL:"),
        "{}",
        notes[0]
    );
    assert!(!notes[0].contains('\n'));
    // the same answer as an instance that accepts it, and no note there
    let ok = plain(80).await;
    let accepting = session(&ok, "administrator").await;
    let mut quiet = Vec::new();
    let same = fetch_filtered_noting(&accepting, None, &filter, chrono::Utc::now(), &mut |n| {
        quiet.push(n)
    })
    .await
    .unwrap();
    assert!(quiet.is_empty());
    let names = |u: &[User]| u.iter().map(|u| u.user_name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&users), names(&same));
    ok.shutdown().await;
    sb.shutdown().await;
}

#[test]
fn every_documented_user_group_example_parses_with_members_unknown() {
    let groups: Vec<UserGroupWithUsers> =
        serde_json::from_value(fixture("user_groups-retrieve-0.json")["data"].clone()).unwrap();
    assert_eq!(groups.len(), 2);
    assert!(groups.iter().all(|g| g.users.is_none()));
    // without members for every group, membership stays unknown
    assert!(Membership::from_groups(groups).is_none());
}

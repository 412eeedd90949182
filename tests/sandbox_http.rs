//! The sandbox over real HTTP, signed with `api::auth` (the client is
//! written separately, so these tests sign requests themselves).

#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::{fixture, keys};
use rollcall::api::auth::{Credentials, Secret};
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig, SEEDED_ACCESS_IDS};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};

const KEY: &str = "test-secret-key";

struct Caller {
    http: reqwest::Client,
    base: String,
    creds: Credentials,
    /// Added to the clock, to test skew.
    skew: i64,
}

fn hmac(access_id: &str, key: &str) -> Credentials {
    Credentials::Hmac {
        access_id: access_id.into(),
        secret_key: Secret::new(key),
    }
}

impl Caller {
    fn new(sb: &Sandbox, creds: Credentials) -> Caller {
        Caller {
            http: reqwest::Client::new(),
            base: sb.base_url(),
            creds,
            skew: 0,
        }
    }

    fn as_id(sb: &Sandbox, access_id: &str) -> Caller {
        Caller::new(sb, hmac(access_id, KEY))
    }

    /// `path` is relative to the base URL (`/v3/...?...`) or a full URL (next links).
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        };
        let parsed = url::Url::parse(&url).expect("valid url");
        let path_and_query = match parsed.query() {
            Some(q) => format!("{}?{}", parsed.path(), q),
            None => parsed.path().to_string(),
        };
        let ts = chrono::Utc::now().timestamp() + self.skew;
        let auth = self.creds.authorization(&path_and_query, method, ts);
        let mut req = self
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                parsed,
            )
            .header("Authorization", auth)
            .header("Timestamp", ts.to_string());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None).await
    }
}

async fn sandbox(n: usize) -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(n, KEY))
        .await
        .expect("sandbox starts")
}

/// A create body with every field the docs mark required (a User in Demo
/// Organization), changed by `extra`; a `null` in `extra` drops that key.
fn create_body(user_name: &str, extra: Value) -> Value {
    let mut body = json!({
        "userName": user_name,
        "password": "abcdefg1",
        "firstName": "New",
        "lastName": "User",
        "owner": "Demo Organization",
        "systemRole": "User",
    });
    let map = body.as_object_mut().unwrap();
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            map.remove(&k);
        } else {
            map.insert(k, v);
        }
    }
    if !map.contains_key("ownerRoles") {
        let org = map["owner"].as_str().unwrap_or_default().to_string();
        let role = if map["systemRole"] == "Read Only User" {
            "Read Only User"
        } else {
            "Standard User"
        };
        map.insert("ownerRoles".into(), json!({ org: role }));
    }
    body
}

fn message(v: &Value) -> &str {
    v["message"].as_str().unwrap_or_default()
}

/// All accounts matching `query`, following next links (each signed afresh).
async fn list_all(c: &Caller, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut url = format!("/v3/security/users?{query}");
    loop {
        let (status, body) = c.get(&url).await;
        assert_eq!(status, 200, "{body}");
        out.extend(body["data"].as_array().cloned().unwrap_or_default());
        match body["next"].as_str() {
            Some(next) => url = next.to_string(),
            None => return out,
        }
    }
}

/// As `find_user`, in Demo Organization (TQL has no owner keyword: the
/// listing's `owner=` parameter narrows instead).
async fn find_demo_user(c: &Caller, tql: &str) -> Value {
    find_user_in(c, tql, "&owner=Demo%20Organization").await
}

async fn find_user_in(c: &Caller, tql: &str, extra: &str) -> Value {
    let q = format!(
        "tql={}&resultLimit=1{extra}",
        percent_encoding::utf8_percent_encode(tql, percent_encoding::NON_ALPHANUMERIC)
    );
    let (status, body) = c.get(&format!("/v3/security/users?{q}")).await;
    assert_eq!(status, 200, "{body}");
    body["data"][0].clone()
}

fn tql_url(tql: &str) -> String {
    format!(
        "/v3/security/users?resultLimit=10000&tql={}",
        percent_encoding::utf8_percent_encode(tql, percent_encoding::NON_ALPHANUMERIC)
    )
}

#[tokio::test]
async fn hmac_ok_and_auth_failures_answer_401_with_threatconnect_messages() {
    let sb = sandbox(50).await;
    let admin = Caller::as_id(&sb, "administrator");
    let (status, body) = admin.get("/v2/whoami").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["user"]["userName"], "administrator");
    assert_eq!(body["data"]["user"]["role"], "Administrator");

    for id in SEEDED_ACCESS_IDS {
        let (status, _) = Caller::as_id(&sb, id).get("/v2/whoami").await;
        assert_eq!(status, 200, "{id}");
    }

    let wrong = Caller::new(&sb, hmac("administrator", "not-the-key"));
    let (status, body) = wrong.get("/v3/security/users").await;
    assert_eq!(status, 401);
    assert_eq!(
        message(&body),
        "Signature data did not match expected result"
    );
    // v3's error envelope: status Error and a hex errCode.
    assert_eq!(body["status"], "Error");
    assert_eq!(body["errCode"], "0x1002");

    let mut skewed = Caller::as_id(&sb, "administrator");
    skewed.skew = -301;
    let (status, body) = skewed.get("/v3/security/users").await;
    assert_eq!(status, 401);
    assert_eq!(message(&body), "Timestamp out of acceptable time range");

    let (status, body) = Caller::as_id(&sb, "nobody").get("/v2/whoami").await;
    assert_eq!((status, message(&body)), (401, "Access Denied"));

    let bad_token = Caller::new(&sb, Credentials::Token(Secret::new("bogus")));
    let (status, body) = bad_token.get("/v2/whoami").await;
    assert_eq!((status, message(&body)), (401, "Unauthorized"));

    let token = sb.issue_token("read-only").unwrap();
    let good_token = Caller::new(&sb, Credentials::Token(Secret::new(token)));
    let (status, body) = good_token.get("/v2/whoami").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["user"]["userName"], "read-only");

    // A signature over a differently encoded query does not match: the
    // server signs the query exactly as received.
    let (status, _) = admin
        .get("/v3/security/users?tql=userName%20%3D%20%22administrator%22")
        .await;
    assert_eq!(status, 200);
    // Signing a differently encoded form of the query fails.
    let ts = chrono::Utc::now().timestamp();
    let signed = hmac("administrator", KEY).authorization(
        "/api/v3/security/users?tql=userName = \"administrator\"",
        "GET",
        ts,
    );
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/v3/security/users?tql=userName%20%3D%20%22administrator%22",
            sb.base_url()
        ))
        .header("Authorization", signed)
        .header("Timestamp", ts.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let no_auth = reqwest::get(format!("{}/v2/whoami", sb.base_url()))
        .await
        .unwrap();
    assert_eq!(no_auth.status().as_u16(), 401);
    sb.shutdown().await;
}

#[tokio::test]
async fn paging_with_next_links_covers_25000_accounts_exactly_once() {
    let started = std::time::Instant::now();
    let sb = sandbox(25_000).await;
    let seeded = started.elapsed();
    let admin = Caller::as_id(&sb, "administrator");
    let (status, first) = admin
        .get("/v3/security/users?resultLimit=10000&count=true")
        .await;
    assert_eq!(status, 200);
    let total = first["count"].as_u64().unwrap();
    assert_eq!(total, 25_000 + SEEDED_ACCESS_IDS.len() as u64);
    let before = sb.requests().get;
    let listed = std::time::Instant::now();
    let all = list_all(&admin, "resultLimit=3000&count=true&fields=userGroups").await;
    let listing = listed.elapsed();
    let ids: HashSet<i64> = all.iter().map(|u| u["id"].as_i64().unwrap()).collect();
    assert_eq!(all.len() as u64, total);
    assert_eq!(ids.len() as u64, total);
    assert_eq!(sb.requests().get - before, 9, "ceil(25006 / 3000) pages");
    assert!(all.iter().all(|u| u["userGroups"].is_array()));
    // prev links while not on the first page
    let (_, page2) = admin
        .get("/v3/security/users?resultStart=3000&resultLimit=3000")
        .await;
    assert!(page2["prev"].as_str().unwrap().contains("resultStart=0"));
    let (status, body) = admin.get("/v3/security/users?resultLimit=10001").await;
    assert_eq!(status, 400, "{body}");
    eprintln!("seeded 25000 in {seeded:?}; listed all in {listing:?}");
    sb.shutdown().await;
}

#[tokio::test]
async fn tql_operators_filter_server_side() {
    let sb = sandbox(300).await;
    let admin = Caller::as_id(&sb, "administrator");
    let all = list_all(
        &admin,
        "resultLimit=10000&fields=mfaEnabled&fields=userGroups",
    )
    .await;
    let count = |pred: &dyn Fn(&Value) -> bool| all.iter().filter(|u| pred(u)).count();
    let check = |tql: &'static str, expected: usize| {
        let admin = &admin;
        async move {
            assert!(expected > 0, "{tql} matches nothing in the seed");
            let (status, body) = admin.get(&tql_url(tql)).await;
            assert_eq!(status, 200, "{tql}: {body}");
            assert_eq!(body["data"].as_array().unwrap().len(), expected, "{tql}");
        }
    };
    check("disabled = true", count(&|u| u["disabled"] == true)).await;
    check(
        "disabled != TRUE AND locked = true",
        count(&|u| u["disabled"] == false && u["locked"] == true),
    )
    .await;
    check(
        r#"systemRole IN ("Api User", "Taxii User")"#,
        count(&|u| u["systemRole"] == "Api User" || u["systemRole"] == "Taxii User"),
    )
    .await;
    check(
        r#"lastName = "O\'Brien""#,
        count(&|u| u["lastName"] == "O'Brien"),
    )
    .await;
    check(
        r#"firstName CONTAINS "bobby""#,
        count(&|u| {
            u["firstName"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains("bobby")
        }),
    )
    .await;
    check(
        r#"userName STARTSWITH "ZO.""#,
        count(&|u| u["userName"].as_str().unwrap().starts_with("zo.")),
    )
    .await;
    check(
        r#"orgRole = "Organization Administrator" and mfaEnabled = false"#,
        count(&|u| {
            u["ownerRoles"][u["owner"].as_str().unwrap()] == "Organization Administrator"
                && u["mfaEnabled"] == false
        }),
    )
    .await;
    let cutoff = chrono::Utc::now() - chrono::Duration::days(365);
    let n_old = count(&|u| {
        u["lastLogin"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t < cutoff)
    });
    assert!(n_old > 0);
    let (status, body) = admin
        .get(&tql_url(&format!(
            "lastLogin < \"{}\"",
            cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().unwrap().len(), n_old);
    let in_group_1 = count(&|u| {
        u["userGroups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == 1)
    });
    assert!(in_group_1 > 0);
    let (_, body) = admin.get(&tql_url("groupId = 1")).await;
    assert_eq!(body["data"].as_array().unwrap().len(), in_group_1);
    let (_, body) = admin.get(&tql_url("id >= 10 and id <= 19")).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 10);
    // sorting
    let (_, body) = admin
        .get("/v3/security/users?resultLimit=50&sorting=userName%20desc")
        .await;
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]));
    // bad TQL names the problem; injection attempts stay data
    let (status, body) = admin.get(&tql_url("favoriteColor = \"blue\"")).await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("favoriteColor"), "{body}");
    let (status, body) = admin.get(&tql_url(r#"userName = "x" OR 1=1"#)).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = admin
        .get(&tql_url(r#"userName = "x\" OR \"1\"=\"1""#))
        .await;
    assert_eq!((status, body["data"].as_array().unwrap().len()), (200, 0));
    sb.shutdown().await;
}

#[tokio::test]
async fn policy_refusals_read_the_same_as_the_domain() {
    let sb = sandbox(300).await;
    let acct = Caller::as_id(&sb, "accounts-administrator");
    let (status, body) = acct
        .send(
            "PUT",
            "/v3/security/users/1",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        message(&body),
        "an Accounts Administrator cannot disable an Administrator"
    );
    for (body, verb) in [
        (json!({"locked": false}), "unlock"),
        (
            json!({"twoFactorResetRequired": true}),
            "require an MFA reset for",
        ),
        (
            json!({"passwordResetRequired": true}),
            "require a password reset for",
        ),
        (json!({"firstName": "X"}), "edit"),
        (json!({}), "edit"),
    ] {
        let (status, answer) = acct.send("PUT", "/v3/security/users/1", Some(body)).await;
        assert_eq!(status, 401);
        assert_eq!(
            message(&answer),
            format!("an Accounts Administrator cannot {verb} an Administrator")
        );
    }
    let (status, body) = acct.send("DELETE", "/v3/security/users/1", None).await;
    assert_eq!(
        (status, message(&body)),
        (
            401,
            "an Accounts Administrator cannot delete an Administrator"
        )
    );
    let (status, body) = Caller::as_id(&sb, "administrator")
        .send(
            "PUT",
            "/v3/security/users/1",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(
        (status, message(&body)),
        (401, "you cannot disable your own account")
    );

    // The Organization Administrator (an API user) sees no System roles.
    let org_admin = Caller::as_id(&sb, "organization-administrator");
    let users = list_all(&org_admin, "resultLimit=500").await;
    assert!(!users.is_empty());
    assert!(users.iter().all(|u| u.get("systemRole").is_none()));
    assert!(users.iter().all(|u| u["owner"] == "Demo Organization"));
    assert!(users.iter().all(|u| u.get("disabled").is_some()));
    let (status, body) = org_admin
        .get("/v3/security/users?owner=Contoso%20Intel")
        .await;
    assert_eq!((status, message(&body)), (403, "owner not accessible"));

    // Read Only User: only itself, basic fields only.
    let ro = Caller::as_id(&sb, "read-only");
    let (status, body) = ro.get("/v3/security/users?count=true").await;
    assert_eq!(status, 200);
    assert_eq!(body["count"], 1);
    let me = &body["data"][0];
    assert_eq!(me["userName"], "read-only");
    let keys: BTreeSet<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(keys.is_subset(
        &[
            "id",
            "userName",
            "firstName",
            "lastName",
            "pseudonym",
            "owner"
        ]
        .into()
    ));
    let (status, _) = ro.get("/v3/security/users/1").await;
    assert_eq!(status, 401);

    // Writes and their messages.
    let admin = Caller::as_id(&sb, "administrator");
    let target = find_demo_user(&admin, r#"systemRole = "User" and disabled = false"#).await;
    let id = target["id"].as_i64().unwrap();
    let (status, body) = acct
        .send(
            "PUT",
            &format!("/v3/security/users/{id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (message(&body), &body["data"]["disabled"]),
        ("Updated", &json!(true))
    );
    let (status, body) = admin
        .send(
            "PUT",
            &format!("/v3/security/users/{id}"),
            Some(json!({"owner": "Contoso Intel"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // Changing to Super User forces Organization Administrator and Director roles.
    let (status, body) = admin
        .send(
            "PUT",
            &format!("/v3/security/users/{id}"),
            Some(json!({"systemRole": "Super User"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["ownerRoles"]["Demo Organization"],
        "Organization Administrator"
    );
    assert_eq!(body["data"]["ownerRoles"]["Demo Community"], "Director");
    // Accounts Administrators cannot choose System roles.
    let (status, body) = acct
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body(
                "new.admin@example.com",
                json!({"systemRole": "Administrator"}),
            )),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        message(&body).contains("cannot choose a System role"),
        "{body}"
    );
    let (status, body) = acct
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body(
                "new.user@example.com",
                json!({"password": "short"}),
            )),
        )
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("password policy"));
    let (status, body) = acct
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body("new.user@example.com", json!({}))),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(message(&body), "Created");
    assert_eq!(body["data"]["passwordResetRequired"], true);
    let (status, body) = acct
        .send(
            "POST",
            "/v3/security/users",
            // generatedUserNames: the extended sandbox names API users itself.
            Some(create_body(
                "",
                json!({"systemRole": "Api User", "userName": null, "password": null}),
            )),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let api_id = body["data"]["id"].as_i64().unwrap();
    let api_name = body["data"]["userName"].as_str().unwrap();
    assert!(api_name.len() == 20 && api_name.chars().all(|c| c.is_ascii_digit()));
    // apiTokens: API users only; the token authenticates.
    let (status, body) = admin
        .send(
            "POST",
            &format!("/v3/ext/rollcall/users/{api_id}/token"),
            Some(json!({"expirationDays": 30})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_string();
    let (status, body) = Caller::new(&sb, Credentials::Token(Secret::new(token)))
        .get("/v2/whoami")
        .await;
    assert_eq!(
        (status, body["data"]["user"]["role"].as_str()),
        (200, Some("Api User"))
    );
    let (status, _) = admin
        .send("POST", &format!("/v3/ext/rollcall/users/{id}/token"), None)
        .await;
    assert_eq!(status, 400);
    // group membership
    let (status, body) = admin
        .send(
            "PUT",
            &format!("/v3/ext/rollcall/users/{id}/groups"),
            Some(json!({"groupIds": [2, 5]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let gids: Vec<i64> = body["data"]["userGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_i64().unwrap())
        .collect();
    assert_eq!(gids.len(), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn create_refused_at_the_organization_limit() {
    let sb = sandbox(300).await;
    let admin = Caller::as_id(&sb, "administrator");
    let (status, body) = admin.get("/v3/ext/rollcall/limits").await;
    assert_eq!(status, 200);
    let contoso = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["organization"] == "Contoso Intel")
        .unwrap()
        .clone();
    assert_eq!(contoso["userLimit"], contoso["users"]);
    let (status, body) = admin
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body(
                "one.more@example.com",
                json!({"owner": "Contoso Intel"}),
            )),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        message(&body).contains("Contoso Intel has reached its User Limit"),
        "{body}"
    );
    // Read Only Users do not count against the User Limit.
    let (status, body) = admin
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body(
                "ro.more@example.com",
                json!({"owner": "Contoso Intel", "systemRole": "Read Only User"}),
            )),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["data"]["ownerRoles"]["Contoso Intel"],
        "Read Only User"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn delete_needs_reassignment_of_what_runs_as_the_account() {
    let sb = sandbox(300).await;
    let admin = Caller::as_id(&sb, "administrator");
    // Find the Run As user of active playbooks among Demo users.
    let users = list_all(&admin, "resultLimit=10000&owner=Demo%20Organization").await;
    let mut runner = None;
    let mut job_runner = None;
    for u in &users {
        let id = u["id"].as_i64().unwrap();
        let (_, ra) = admin
            .get(&format!("/v3/ext/rollcall/users/{id}/runAs"))
            .await;
        if !ra["data"]["activePlaybooks"].as_array().unwrap().is_empty() && runner.is_none() {
            runner = Some((id, ra["data"].clone()));
        }
        if !ra["data"]["jobApps"].as_array().unwrap().is_empty() && job_runner.is_none() {
            job_runner = Some(id);
        }
        if runner.is_some() && job_runner.is_some() {
            break;
        }
    }
    let (runner, run_as) = runner.expect("a seeded Run As user");
    let (status, body) = admin
        .send("DELETE", &format!("/v3/security/users/{runner}"), None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("Phishing Triage"), "{body}");
    let heir = find_demo_user(&admin, r#"systemRole = "User" and disabled = false"#).await;
    let heir_id = heir["id"].as_i64().unwrap();
    assert_ne!(heir_id, runner);
    let (status, body) = admin
        .send(
            "DELETE",
            &format!("/v3/security/users/{runner}?reassignPlaybooksTo={heir_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"message": "Deleted", "status": "Success"}));
    let (_, ra) = admin
        .get(&format!("/v3/ext/rollcall/users/{heir_id}/runAs"))
        .await;
    let active = ra["data"]["activePlaybooks"].as_array().unwrap().len();
    assert!(active >= run_as["activePlaybooks"].as_array().unwrap().len());
    let (status, _) = admin.get(&format!("/v3/security/users/{runner}")).await;
    assert_eq!(status, 404);

    // Job apps must move to an API user.
    let job_runner = job_runner.expect("a seeded job app runner");
    let (status, body) = admin
        .send(
            "DELETE",
            &format!("/v3/security/users/{job_runner}?reassignJobsTo={heir_id}"),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("API user"), "{body}");
    sb.shutdown().await;
}

#[tokio::test]
async fn requests_are_counted_by_method_and_faults_apply() {
    let sb = sandbox(20).await;
    let admin = Caller::as_id(&sb, "administrator");
    admin.get("/v2/whoami").await;
    admin.get("/v3/security/users").await;
    admin
        .send("OPTIONS", "/v3/security/users?show=readonly", None)
        .await;
    admin
        .send("PUT", "/v3/security/users/999999", Some(json!({})))
        .await;
    admin
        .send("DELETE", "/v3/security/users/999999", None)
        .await;
    Caller::new(&sb, hmac("administrator", "wrong"))
        .send("POST", "/v3/security/users", Some(json!({})))
        .await;
    let c = sb.requests();
    assert_eq!(
        (c.get, c.post, c.put, c.delete, c.options, c.other),
        (2, 1, 1, 1, 1, 0)
    );

    sb.set_faults(Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    assert_eq!(admin.get("/v2/whoami").await.0, 500);
    sb.set_faults(Faults {
        rate_limit_rate: 1.0,
        ..Default::default()
    });
    assert_eq!(admin.get("/v2/whoami").await.0, 429);
    sb.set_faults(Faults {
        drop_rate: 1.0,
        ..Default::default()
    });
    let url = format!("{}/v2/whoami", sb.base_url());
    assert!(
        reqwest::get(&url).await.is_err(),
        "dropped without an answer"
    );
    sb.set_faults(Faults {
        latency: std::time::Duration::from_millis(150),
        ..Default::default()
    });
    let t = std::time::Instant::now();
    assert_eq!(admin.get("/v2/whoami").await.0, 200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(150));
    // Deterministic: the same seed gives the same sequence.
    let mut runs = Vec::new();
    for _ in 0..2 {
        sb.set_faults(Faults {
            error_rate: 0.5,
            seed: 7,
            ..Default::default()
        });
        let mut seq = Vec::new();
        for _ in 0..12 {
            seq.push(admin.get("/v2/whoami").await.0);
        }
        runs.push(seq);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&500) && runs[0].contains(&200));
    assert_eq!(sb.requests().get, 2 + 3 + 1 + 24);
    sb.shutdown().await;
}

#[tokio::test]
async fn non_loopback_listen_is_refused() {
    let mut cfg = SandboxConfig::loopback(1, KEY);
    cfg.listen = "0.0.0.0:0".parse().unwrap();
    let err = Sandbox::start(cfg).await.err().expect("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
}

/// Every key of the fixture's envelope and items appears in ours.
fn assert_shape(name: &str, ours: &Value) {
    let theirs = fixture(name);
    let (tk, ok) = (keys(&theirs), keys(ours));
    assert!(tk.is_subset(&ok), "{name}: envelope {tk:?} vs {ok:?}");
    let item = |v: &Value| match &v["data"] {
        Value::Array(a) => a.first().cloned(),
        Value::Object(_) => Some(v["data"].clone()),
        _ => None,
    };
    if let (Some(t), Some(o)) = (item(&theirs), item(ours)) {
        let (tk, ok) = (keys(&t), keys(&o));
        assert!(
            tk.is_subset(&ok),
            "{name}: item {:?} missing",
            tk.difference(&ok).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn answers_have_the_fixtures_shapes() {
    let sb = sandbox(30).await;
    let admin = Caller::as_id(&sb, "administrator");
    assert_shape(
        "owner_roles-retrieve-0.json",
        &admin.get("/v3/security/ownerRoles").await.1,
    );
    assert_shape(
        "owners-retrieve-0.json",
        &admin.get("/v3/security/owners").await.1,
    );
    assert_shape(
        "system_roles-retrieve-0.json",
        &admin.get("/v3/security/systemRoles").await.1,
    );
    assert_shape(
        "user_groups-retrieve-0.json",
        &admin.get("/v3/security/userGroups").await.1,
    );
    // basic-field answers, as an Organization Administrator API user sees... the
    // documentation's users-retrieve examples carry basic fields only.
    let ro = Caller::as_id(&sb, "read-only");
    assert_shape(
        "users-retrieve-0.json",
        &ro.get("/v3/security/users").await.1,
    );
    let (_, me) = ro.get("/v2/whoami").await;
    assert_eq!(me["data"]["user"]["userName"], "read-only");
    let (_, list) = ro.get("/v3/security/users").await;
    let my_id = list["data"][0]["id"].as_i64().unwrap();
    assert_shape(
        "users-retrieve-1.json",
        &ro.get(&format!("/v3/security/users/{my_id}")).await.1,
    );
    let (status, created) = admin
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body(
                "hodgesh@companyabc.com",
                json!({"password": "Hodges123", "firstName": "Herschel", "lastName": "Hodges"}),
            )),
        )
        .await;
    assert_eq!(status, 201);
    assert_shape("users-create-0.json", &created);
    let id = created["data"]["id"].as_i64().unwrap();
    let (_, updated) = admin
        .send("PUT", &format!("/v3/security/users/{id}"), Some(json!({"pseudonym": "DonJ", "jobFunction": "Threat Intelligence", "jobRole": "Analyst", "disabled": true, "locked": true})))
        .await;
    assert_shape("users-update-0.json", &updated);
    assert_shape("users-update-1.json", &updated);
    let (_, deleted) = admin
        .send("DELETE", &format!("/v3/security/users/{id}"), None)
        .await;
    assert_shape("users-delete-0.json", &deleted);
    assert_eq!(keys(&deleted), keys(&fixture("users-delete-0.json")));

    // Discovery lists every extension.
    let (status, options) = admin
        .send("OPTIONS", "/v3/security/users?show=readonly", None)
        .await;
    assert_eq!(status, 200);
    let exts: BTreeSet<&str> = options["rollcallExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        exts,
        rollcall::api::wire::ext::ALL.iter().copied().collect()
    );
    assert!(options["lastLogin"].is_object());
    let (_, plain) = admin.send("OPTIONS", "/v3/security/users", None).await;
    assert!(plain["rollcallExtensions"].is_array() && plain.get("lastLogin").is_none());
    let (_, fields) = admin
        .send("OPTIONS", "/v3/security/users/fields", None)
        .await;
    let fields: Vec<rollcall::api::wire::FieldInfo> =
        serde_json::from_value(fields["data"].clone()).unwrap();
    assert!(fields.iter().any(|f| f.name == "userGroups" && f.extension));
    let (_, tql) = admin.send("OPTIONS", "/v3/security/users/tql", None).await;
    let tql: Vec<rollcall::api::wire::TqlKeyword> =
        serde_json::from_value(tql["data"].clone()).unwrap();
    for k in [
        "userName",
        "systemRole",
        "groupId",
        "orgRole",
        "mfaEnabled",
        "lastPasswordChange",
    ] {
        assert!(tql.iter().any(|t| t.keyword == k), "{k}");
    }
    let (_, instance) = admin.get("/v3/ext/rollcall/instance").await;
    let settings: rollcall::domain::InstanceSettings =
        serde_json::from_value(instance["data"].clone()).unwrap();
    assert_eq!(settings.password_max_age_days, Some(90));
    sb.shutdown().await;
}

/// Timing of the big cases; run with `cargo test --test sandbox_http -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn timing_100k() {
    let t = std::time::Instant::now();
    let sb = sandbox(100_000).await;
    eprintln!("seeded 100000 in {:?}", t.elapsed());
    let admin = Caller::as_id(&sb, "administrator");
    for (label, q) in [
        ("first page", "resultLimit=10000&count=true"),
        ("last page", "resultStart=90000&resultLimit=10000"),
        (
            "last page + groups + mfa",
            "resultStart=90000&resultLimit=10000&fields=userGroups&fields=mfaEnabled",
        ),
        (
            "sorted by lastName desc",
            "resultStart=50000&resultLimit=10000&sorting=lastName%20desc",
        ),
    ] {
        let t = std::time::Instant::now();
        let (status, body) = admin.get(&format!("/v3/security/users?{q}")).await;
        assert_eq!(status, 200);
        eprintln!(
            "{label}: {} users in {:?}",
            body["data"].as_array().unwrap().len(),
            t.elapsed()
        );
    }
    sb.shutdown().await;
}

fn tally<'a>(
    users: &'a [Value],
    f: impl Fn(&'a Value) -> String,
) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for u in users {
        *out.entry(f(u)).or_insert(0) += 1;
    }
    out
}

#[tokio::test]
async fn seeding_is_varied_and_deterministic() {
    let sb = sandbox(300).await;
    let admin = Caller::as_id(&sb, "administrator");
    let users = list_all(
        &admin,
        "resultLimit=10000&fields=mfaEnabled&fields=userGroups",
    )
    .await;
    assert_eq!(users.len(), 306);
    let roles = tally(&users, |u| u["systemRole"].as_str().unwrap().to_string());
    for r in rollcall::domain::SystemRole::ALL {
        assert!(roles.contains_key(r.name()), "no {r}");
    }
    let org_roles = tally(&users, |u| {
        u["ownerRoles"][u["owner"].as_str().unwrap()]
            .as_str()
            .unwrap()
            .to_string()
    });
    for r in rollcall::domain::OrgRole::ALL {
        assert!(org_roles.contains_key(r.name()), "no {r}");
    }
    let orgs = tally(&users, |u| u["owner"].as_str().unwrap().to_string());
    assert_eq!(orgs.len(), 3);
    let parsed: Vec<rollcall::domain::User> = users
        .iter()
        .map(|u| serde_json::from_value(u.clone()).unwrap())
        .collect();
    let now = chrono::Utc::now();
    let status = tally(&users, |u| {
        let user: rollcall::domain::User = serde_json::from_value(u.clone()).unwrap();
        user.status().unwrap().name().to_string()
    });
    assert_eq!(status.len(), 3, "{status:?}");
    let types = tally(&users, |u| {
        let user: rollcall::domain::User = serde_json::from_value(u.clone()).unwrap();
        user.account_type().unwrap().name().to_string()
    });
    assert_eq!(types.len(), 4, "{types:?}");
    let never = parsed.iter().filter(|u| u.last_login.is_none()).count();
    let today = parsed
        .iter()
        .filter(|u| u.last_login.is_some_and(|t| (now - t).num_hours() < 24))
        .count();
    let years = parsed
        .iter()
        .filter(|u| u.last_login.is_some_and(|t| (now - t).num_days() > 365))
        .count();
    let expired = parsed
        .iter()
        .filter(|u| u.password_expiry(Some(90), now) == rollcall::domain::PasswordExpiry::Expired)
        .count();
    let mfa = parsed
        .iter()
        .filter(|u| u.mfa_enabled == Some(true))
        .count();
    let grouped = parsed
        .iter()
        .filter(|u| !u.user_groups.as_ref().unwrap().is_empty())
        .count();
    assert!(never > 0 && today > 0 && years > 0 && expired > 0 && mfa > 0 && grouped > 0);
    assert!(parsed
        .iter()
        .any(|u| u.first_name.as_deref() == Some("\u{1b}[31mEvil")));
    assert!(parsed
        .iter()
        .any(|u| u.last_name.as_deref() == Some("O'Brien")));
    assert!(parsed
        .iter()
        .any(|u| u.first_name.as_deref() == Some("Zoë")));
    eprintln!("system roles {roles:?}\norg roles {org_roles:?}\norgs {orgs:?}\nstatus {status:?}\ntypes {types:?}");
    eprintln!("never logged in {never}, today {today}, over a year ago {years}, password expired {expired}, mfa {mfa}, in a group {grouped}");
    let (_, limits) = admin.get("/v3/ext/rollcall/limits").await;
    eprintln!("limits {}", limits["data"]);
    for id in 1..=20 {
        let u = &users[id - 1];
        eprintln!(
            "{} {:?} {} {} {}",
            u["id"],
            u["userName"].as_str().unwrap(),
            u["systemRole"],
            u["owner"],
            u["ownerRoles"][u["owner"].as_str().unwrap()]
        );
    }

    // Same seed, same accounts; another seed, other accounts.
    let key = |u: &Value| {
        format!(
            "{}|{}|{}|{}",
            u["userName"], u["systemRole"], u["owner"], u["disabled"]
        )
    };
    let again = sandbox(300).await;
    let users2 = list_all(&Caller::as_id(&again, "administrator"), "resultLimit=10000").await;
    assert_eq!(
        users.iter().map(key).collect::<Vec<_>>(),
        users2.iter().map(key).collect::<Vec<_>>()
    );
    let mut cfg = SandboxConfig::loopback(300, KEY);
    cfg.seed = 43;
    let other = Sandbox::start(cfg).await.unwrap();
    let users3 = list_all(&Caller::as_id(&other, "administrator"), "resultLimit=10000").await;
    assert_ne!(
        users.iter().map(key).collect::<Vec<_>>(),
        users3.iter().map(key).collect::<Vec<_>>()
    );
    for s in [sb, again, other] {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn a_database_file_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.sqlite");
    let mut cfg = SandboxConfig::loopback(40, KEY);
    cfg.db = Some(path.clone());
    let sb = Sandbox::start(cfg.clone()).await.unwrap();
    let (status, body) = Caller::as_id(&sb, "administrator")
        .send(
            "POST",
            "/v3/security/users",
            Some(create_body("kept@example.com", json!({}))),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    sb.shutdown().await;
    // Restarted with another key: the data stays, the actors take the new key.
    cfg.secret_key = "another-key".into();
    let sb = Sandbox::start(cfg).await.unwrap();
    let admin = Caller::new(&sb, hmac("administrator", "another-key"));
    let (status, body) = admin
        .get(&tql_url(r#"userName = "kept@example.com""#))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    let (_, body) = admin
        .get("/v3/security/users?count=true&resultLimit=1")
        .await;
    assert_eq!(body["count"], 40 + 6 + 1);
    sb.shutdown().await;
}

/// Rule 4 over raw HTTP: Custom TQL Timeout and Terms of Service Acceptance
/// Required are for Administrators and Operations Administrators only; the
/// sandbox refuses them with the same words the CLI and the console use.
#[tokio::test]
async fn fields_reserved_for_role_choosers_are_refused_with_the_domains_words() {
    let sb = sandbox(300).await;
    let admin = Caller::as_id(&sb, "administrator");
    let user = find_demo_user(&admin, "systemRole = \"User\"").await;
    let id = user["id"].as_i64().unwrap();
    let path = format!("/v3/security/users/{id}");
    for (access_id, who) in [
        ("accounts-administrator", "an Accounts Administrator"),
        ("super-user", "a Super User"),
        (
            "organization-administrator",
            "an API user with Organization role Organization Administrator",
        ),
    ] {
        let caller = Caller::as_id(&sb, access_id);
        let (status, body) = caller
            .send("PUT", &path, Some(json!({"customTqlTimeout": 1234567})))
            .await;
        assert_eq!(status, 401, "{access_id}: {body}");
        assert_eq!(
            message(&body),
            format!("Custom TQL Timeout (ms) is not offered to {who}"),
            "{access_id}"
        );
    }
    let (status, body) = Caller::as_id(&sb, "accounts-administrator")
        .send("PUT", &path, Some(json!({"termsAccepted": false})))
        .await;
    assert_eq!(status, 401, "{body}");
    // A Read Only User may edit its own name, not its TQL timeout.
    let read_only = Caller::as_id(&sb, "read-only");
    let me = find_user_in(&read_only, "userName = \"read-only\"", "").await;
    let own = format!("/v3/security/users/{}", me["id"].as_i64().unwrap());
    let (status, body) = read_only
        .send("PUT", &own, Some(json!({"customTqlTimeout": 999999})))
        .await;
    assert_eq!(status, 401, "{body}");
    // The role choosers may.
    let (status, body) = admin
        .send("PUT", &path, Some(json!({"customTqlTimeout": 300000})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["customTqlTimeout"], 300000);
    sb.shutdown().await;
}

/// A huge filter is a 400 the client does not retry, not a database 500;
/// tokens of locked accounts do not authenticate; a timestamp far in the
/// past cannot overflow the skew check into acceptance.
#[tokio::test]
async fn hostile_requests_get_clear_refusals() {
    let sb = sandbox(50).await;
    let admin = Caller::as_id(&sb, "administrator");
    let huge = vec!["userName = \"x\""; 1500].join(" and ");
    let (status, body) = admin.get(&tql_url(&huge)).await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("conditions"), "{body}");

    let api = find_demo_user(&admin, "systemRole = \"Api User\"").await;
    let api_id = api["id"].as_i64().unwrap();
    let (status, body) = admin
        .send(
            "POST",
            &format!("/v3/ext/rollcall/users/{api_id}/token"),
            Some(json!({"expirationDays": 30})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_string();
    let with_token = Caller::new(&sb, Credentials::Token(Secret::new(token)));
    assert_eq!(with_token.get("/v2/whoami").await.0, 200);
    let (status, body) = admin
        .send(
            "PUT",
            &format!("/v3/security/users/{api_id}"),
            Some(json!({"locked": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(with_token.get("/v2/whoami").await.0, 401, "locked: refused");

    let mut ancient = Caller::as_id(&sb, "administrator");
    ancient.skew = -(i64::MAX / 2) * 2;
    let (status, body) = ancient.get("/v2/whoami").await;
    assert_eq!(status, 401, "{body}");
    sb.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_beyond_n_per_second_without_acting() {
    let sb = sandbox(5).await;
    let admin = Caller::as_id(&sb, "administrator");
    sb.set_faults(Faults {
        rate_limit_per_second: 3,
        ..Default::default()
    });
    let url = format!("{}/v3/security/users/999999", sb.base_url());
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(admin.get("/v2/whoami").await.0);
    }
    let limited = reqwest::Client::new().get(&url).send().await.unwrap();
    assert!(statuses[..3].iter().all(|s| *s == 200), "{statuses:?}");
    // Within one second the rest are limited (a machine too slow to send
    // six requests in a second crosses into a new window).
    if started.elapsed() < std::time::Duration::from_millis(900) {
        assert_eq!(statuses[3..], [429, 429], "{statuses:?}");
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()["retry-after"], "1");
    }
    sb.set_faults(Faults::default());
    assert_eq!(admin.get("/v2/whoami").await.0, 200);
    sb.shutdown().await;
}

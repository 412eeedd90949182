//! One odd value in one account never fails a listing: against a small
//! HTTP server that answers what a real instance might (a newer field
//! type, a custom role, an account the client cannot read at all), the
//! listing arrives with just those values unknown, and each odd field is
//! noted once.

use axum::routing::get;
use axum::Router;
use rollcall::api::auth::Credentials;
use rollcall::api::{Client, Connection, Secret, UserQuery};
use rollcall::domain::lenient::take_odd_fields;
use rollcall::domain::TqlTimeoutWire;
use serde_json::json;

async fn serve(page: serde_json::Value) -> String {
    let app = Router::new().route(
        "/api/v3/security/users",
        get(move || {
            let page = page.clone();
            async move { axum::Json(page) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}/api")
}

#[tokio::test]
async fn odd_values_leave_fields_unknown_and_never_fail_the_page() {
    let page = json!({
        "status": "Success",
        "count": 4,
        "data": [
            {"id": 1, "userName": "plain@example.com", "firstName": "Pat",
             "disabled": false, "locked": false, "lastLogin": "2026-11-30T08:00:00Z",
             "customTqlTimeout": 300000,
             "owner": "Demo Organization",
             "ownerRoles": {"Demo Organization": "Example Org Custom Role"}},
            {"id": 2, "userName": "odd@example.com", "disabled": "sometimes",
             "locked": false, "lastLogin": 1764489600, "systemRole": "Galactic Overlord"},
            {"userName": "no-id@example.com", "disabled": false},
            {"id": "4", "userName": 11112222333344445555u64, "customTqlTimeout": true,
             "tqlTimeout": 60000}
        ]
    });
    let base = serve(page).await;
    let client = Client::new(Connection {
        api_path: base,
        credentials: Credentials::Token(Secret::new("t")),
        read_only: true,
        concurrency: 2,
    })
    .unwrap();
    let users = client.list_users(&UserQuery::default()).await.unwrap();
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    assert_eq!(ids, [1, 2, 4], "only the account without an id is left out");

    let plain = &users[0];
    assert_eq!(plain.disabled, Some(false));
    assert_eq!(
        plain.custom_tql_timeout,
        Some(TqlTimeoutWire::Millis(300_000))
    );
    // A custom Organization role is shown as the instance names it.
    assert_eq!(plain.org_role_name(), Some("Example Org Custom Role"));
    assert_eq!(plain.org_role(), None);

    let odd = &users[1];
    assert_eq!(odd.disabled, None, "an odd value is unknown, not false");
    assert_eq!(odd.status(), None);
    assert_eq!(odd.last_login, None);
    assert_eq!(odd.locked, Some(false), "the rest of the account is kept");
    assert_eq!(odd.system_role.as_deref(), Some("Galactic Overlord"));

    let access_id = &users[2];
    assert_eq!(access_id.user_name, "11112222333344445555");
    assert_eq!(
        access_id
            .custom_tql_timeout
            .and_then(|t| t.millis(access_id.tql_timeout)),
        Some(Some(60_000))
    );

    let noted: Vec<String> = take_odd_fields().iter().map(|o| o.to_string()).collect();
    for field in ["disabled", "lastLogin", "id"] {
        assert!(
            noted.iter().any(|n| n.starts_with(&format!("{field}: "))),
            "{field} noted once in {noted:?}"
        );
    }
    assert!(
        noted.iter().all(|n| n.lines().count() == 1),
        "one line each: {noted:?}"
    );
}

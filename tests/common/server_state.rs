//! Every account on a sandbox as its administrator sees it, by id: what
//! journals and runs are compared with, account by account.

use rollcall::api::{Client, UserQuery};
use rollcall::domain::User;
use rollcall::sandbox::Sandbox;
use std::collections::BTreeMap;

pub async fn server_state(sb: &Sandbox) -> BTreeMap<i64, User> {
    Client::new(sb.connection("administrator"))
        .unwrap()
        .list_users(&UserQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u))
        .collect()
}

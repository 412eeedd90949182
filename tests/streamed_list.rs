//! `users list --format csv|json` streams page by page: every account
//! exactly once, in the server's order, and the same accounts as the
//! buffered listing for every filter; pages fetched in parallel are handed
//! over in order.

use rollcall::api::{Connection, Credentials, Secret};
use rollcall::commands::users::{
    fetch_listing, stream_listing, stream_rendered, Paging, STREAM_SORTING,
};
use rollcall::domain::filter::Filter;
use rollcall::domain::User;
use rollcall::ops::export::{write_csv_with, RenderedPage};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig};
use std::collections::BTreeSet;

const SECRET: &str = "secret";

/// The seeded Administrator, read-only, four requests at once.
fn admin_connection(sb: &Sandbox) -> Connection {
    Connection {
        api_path: sb.base_url(),
        credentials: Credentials::Hmac {
            access_id: "administrator".into(),
            secret_key: Secret::new(SECRET),
        },
        read_only: true,
        concurrency: 4,
    }
}

async fn session(sb: &Sandbox) -> Session {
    session_for(admin_connection(sb))
        .await
        .expect("session opens")
}

/// The streamed pages, as handed over.
async fn streamed(session: &Session, filter: &str, page_size: u32) -> Vec<Vec<User>> {
    let filter = Filter::parse(filter).unwrap();
    let mut pages = Vec::new();
    stream_listing(
        session,
        None,
        &filter,
        chrono::Utc::now(),
        Paging {
            sorting: Some(STREAM_SORTING),
            page_size,
        },
        &mut |_| {},
        &mut |page: Vec<User>| {
            pages.push(page);
            Ok(())
        },
    )
    .await
    .expect("streamed listing");
    pages
}

/// A sandbox of 706 accounts (plain or extended) and an Administrator's
/// session. Latency jitter is not offered; a per-request delay still lets
/// parallel pages finish in any order on two threads.
async fn jittery_sandbox(plain: bool) -> (Sandbox, Session) {
    let mut cfg = SandboxConfig::loopback(700, SECRET);
    cfg.plain = plain;
    let sb = Sandbox::start(cfg).await.unwrap();
    let admin = session(&sb).await;
    sb.set_faults(Faults {
        latency: std::time::Duration::from_millis(2),
        ..Default::default()
    });
    (sb, admin)
}

/// The queries of the accounts' GETs a recording session sent.
fn accounts_queries(session: &Session) -> Vec<String> {
    session
        .client
        .recorded_requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/security/users"))
        .map(|r| r.query.unwrap_or_default())
        .collect()
}

/// The GETs a recording session sent.
fn recorded_gets(session: &Session) -> u64 {
    session
        .client
        .recorded_requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count() as u64
}

fn names(users: &[User]) -> BTreeSet<String> {
    users.iter().map(|u| u.user_name.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_pages_hold_every_account_once_in_server_order_for_every_filter() {
    for plain in [false, true] {
        let (sb, admin) = jittery_sandbox(plain).await;
        for filter in [
            "",
            "status:disabled",
            "status:locked login>90d",
            "type:api",
            "smith",
            "group:\"SOC Team\"",
            "login:never",
            "role:\"read only user\"",
        ] {
            let pages = streamed(&admin, filter, 50).await;
            let users: Vec<User> = pages.into_iter().flatten().collect();
            // the server's order (userName asc, byte order on the sandbox)
            assert!(
                users.windows(2).all(|w| w[0].user_name < w[1].user_name),
                "{filter}: in order, each once"
            );
            let buffered = fetch_listing(
                &admin,
                None,
                &Filter::parse(filter).unwrap(),
                chrono::Utc::now(),
                &mut |_| {},
            )
            .await
            .unwrap()
            .users;
            assert_eq!(users.len(), buffered.len(), "{filter} (plain: {plain})");
            assert_eq!(names(&users), names(&buffered), "{filter}");
            if filter.is_empty() {
                assert_eq!(users.len(), 706, "every account");
            }
            if filter.starts_with("group") {
                assert!(!users.is_empty());
            }
        }
        sb.shutdown().await;
    }
}

/// Without a filter, `users list --format csv` writes each page on its own
/// task as it arrives: the bytes are those the accounts path writes,
/// plain and extended (groups filled in from the user groups on a plain
/// instance), with pages finishing in any order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_csv_pages_write_what_the_accounts_path_writes() {
    for plain in [false, true] {
        let (sb, admin) = jittery_sandbox(plain).await;
        let now = chrono::Utc::now();
        let paging = Paging {
            sorting: Some(STREAM_SORTING),
            page_size: 50,
        };
        let users: Vec<User> = streamed(&admin, "", 50)
            .await
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(users.len(), 706);
        if plain {
            assert!(users
                .iter()
                .any(|u| u.user_groups.as_ref().is_some_and(|g| !g.is_empty())));
        }
        let max_age = admin.settings.password_max_age_days;
        let mut want_csv = Vec::new();
        write_csv_with(&users, max_age, now, &mut want_csv).unwrap();

        let mut csv = rollcall::ops::export::csv_header().unwrap();
        stream_rendered(
            &admin,
            None,
            paging,
            &mut |_| {},
            move |users| RenderedPage::csv(users, max_age, now),
            2,
            &mut |page, seen| {
                page.fresh(seen).for_each(|row| csv.extend_from_slice(row));
                Ok(())
            },
        )
        .await
        .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&csv),
            String::from_utf8_lossy(&want_csv),
            "csv (plain: {plain})"
        );

        sb.shutdown().await;
    }
}

/// `users list`'s listing opened with its pages sent ahead: first with no
/// hint (pages go out once the first round has answered), then with the
/// hint that run left (with the first requests), then with a hint that no
/// longer holds (another caller, other fields). Every time: the same
/// accounts as a listing that sent nothing ahead, no page asked for twice,
/// nothing sent ahead left waiting once the listing ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_sent_ahead_are_taken_once_and_give_the_same_listing() {
    use rollcall::ops::ahead::{ListingAhead, ListingHint};
    for plain in [false, true] {
        let (sb, admin) = jittery_sandbox(plain).await;
        let want = names(&streamed(&admin, "", 50).await.concat());
        assert_eq!(want.len(), 706);
        let hints = tempfile::tempdir().unwrap();
        let ahead = ListingAhead {
            owner: None,
            sorting: Some(STREAM_SORTING.to_string()),
            page_size: 50,
            hint_dir: Some(hints.path().to_path_buf()),
            ..Default::default()
        };
        let profile = rollcall::config::Profile {
            name: "test".into(),
            connection: admin_connection(&sb),
            password_max_age_days: None,
            concurrency: None,
            options: Default::default(),
        };
        let stale = ListingHint {
            fields: vec!["mfaEnabled".into()],
            pages: 3,
            user_name: "someone-else".into(),
            reports_settings: !plain,
            owner: None,
        };
        for round in ["no hint", "its own hint", "a stale hint"] {
            if round == "a stale hint" {
                let file = std::fs::read_dir(hints.path()).unwrap().next().unwrap();
                std::fs::write(file.unwrap().path(), serde_json::to_vec(&stale).unwrap()).unwrap();
            }
            let gets_before = sb.requests().get;
            let session = rollcall::ops::session::open_ahead(profile.clone(), true, Some(&ahead))
                .await
                .expect("session opens");
            let users = streamed(&session, "", 50).await.concat();
            assert_eq!(users.len(), 706, "{round} (plain: {plain})");
            assert_eq!(names(&users), want, "{round} (plain: {plain})");
            assert_eq!(session.client.prefetched_pages(), 0, "{round}");
            let asked = accounts_queries(&session);
            // The stale hint's pages (other fields) are never taken; a plain
            // instance refuses them outright (an unknown field).
            let (stale_pages, pages): (Vec<&String>, Vec<&String>) = asked
                .iter()
                .filter(|q| q.contains("resultLimit=50"))
                .partition(|q| q.starts_with("fields=mfaEnabled&"));
            let distinct: BTreeSet<&&String> = pages.iter().collect();
            assert_eq!(
                distinct.len(),
                pages.len(),
                "{round}: a page asked twice: {pages:?}"
            );
            // 706 accounts in pages of 50: each taken once.
            assert_eq!(pages.len(), 15, "{round} (plain: {plain}): {pages:?}");
            // What the server saw beyond what was taken: only the stale
            // hint's three pages (other fields), dropped unread.
            let recorded_gets = recorded_gets(&session);
            let unused = if round == "a stale hint" {
                3 - stale_pages.len() as u64
            } else {
                0
            };
            assert_eq!(
                sb.requests().get - gets_before,
                recorded_gets + unused,
                "{round} (plain: {plain})"
            );
            // Who the caller is: looked up once, even when a stale hint
            // looked up someone else first.
            let lookups = asked.iter().filter(|q| q.contains("tql=")).count();
            let expected = if round == "a stale hint" { 2 } else { 1 };
            assert_eq!(lookups, expected, "{round}: {asked:?}");
            session.remember_listing(&ahead);
            let kept: ListingHint = serde_json::from_slice(
                &std::fs::read(
                    std::fs::read_dir(hints.path())
                        .unwrap()
                        .next()
                        .unwrap()
                        .unwrap()
                        .path(),
                )
                .unwrap(),
            )
            .unwrap();
            assert_eq!(kept.pages, 15);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let file = std::fs::read_dir(hints.path())
                    .unwrap()
                    .next()
                    .unwrap()
                    .unwrap();
                let mode = file.metadata().unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "{mode:o}");
            }
            assert_eq!(kept.user_name, "administrator");
            assert_eq!(kept.fields, session.extension_fields());
        }
        sb.shutdown().await;
    }
}

/// The console's first listing, its home Organization's accounts, through
/// the real App and worker: what the App asks for first.
async fn consoles_first_listing(session: &Session) -> Vec<User> {
    use rollcall::tui::{App, ConsoleContext};
    use rollcall::worker::{Command, Event, Worker};
    let mut app = App::new(ConsoleContext::from_session(session));
    let load = app
        .start()
        .into_iter()
        .find(|c| matches!(c, Command::LoadUsers { .. }))
        .expect("the console lists accounts first");
    let (worker, mut events) = Worker::spawn(session.client.clone());
    worker.send(load);
    let mut users = Vec::new();
    loop {
        let event = tokio::time::timeout(std::time::Duration::from_secs(30), events.recv())
            .await
            .expect("an event in time")
            .expect("the worker runs");
        match event {
            Event::UsersPage { users: page, .. } => users.extend(page),
            Event::UsersDone { .. } => break,
            Event::Failed { error, .. } => panic!("the listing failed: {error}"),
            _ => {}
        }
    }
    worker.send(Command::Shutdown);
    users
}

/// The console opens on its home Organization, which the opening learns
/// only in its second round: with no hint nothing goes ahead; the hint its
/// first run leaves names the Organization, and the next run's pages go
/// out with the first requests and are each taken once by the console's
/// own first listing. A hint naming another Organization costs unused
/// requests, dropped when that listing ends, never other accounts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consoles_first_listing_takes_the_pages_its_hint_sent_ahead() {
    use rollcall::ops::ahead::{ListingAhead, ListingHint};
    for plain in [false, true] {
        let (sb, admin) = jittery_sandbox(plain).await;
        let home = admin.actor.home_org.clone();
        let want = names(&consoles_first_listing(&admin).await);
        assert!(want.len() > 100, "{} accounts", want.len());
        let hints = tempfile::tempdir().unwrap();
        let ahead = ListingAhead {
            page_size: 0,
            hint_dir: Some(hints.path().to_path_buf()),
            ..ListingAhead::home_organization()
        };
        let mut connection = admin_connection(&sb);
        // Pages of 100: the home Organization's listing is several pages.
        connection.concurrency = 4;
        let profile = rollcall::config::Profile {
            name: "test".into(),
            connection,
            password_max_age_days: None,
            concurrency: None,
            options: Default::default(),
        };
        for round in ["no hint", "its own hint", "another Organization's hint"] {
            let hint_file = || {
                std::fs::read_dir(hints.path())
                    .unwrap()
                    .next()
                    .map(|f| f.unwrap().path())
            };
            if round == "another Organization's hint" {
                let file = hint_file().expect("a hint was kept");
                let mut hint: ListingHint =
                    serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
                hint.owner = Some("Partner Organization".into());
                std::fs::write(&file, serde_json::to_vec(&hint).unwrap()).unwrap();
            }
            let gets_before = sb.requests().get;
            let session = rollcall::ops::session::open_ahead(profile.clone(), true, Some(&ahead))
                .await
                .expect("session opens");
            let sent_ahead = session.client.prefetched_pages();
            match round {
                "no hint" => assert_eq!(sent_ahead, 0, "{round}"),
                _ => assert!(sent_ahead > 0, "{round}: nothing sent ahead"),
            }
            let users = consoles_first_listing(&session).await;
            assert_eq!(names(&users), want, "{round} (plain: {plain})");
            assert_eq!(session.client.prefetched_pages(), 0, "{round}: pages left");
            let pages: Vec<String> = accounts_queries(&session)
                .into_iter()
                .filter(|q| q.contains("owner="))
                .collect();
            let distinct: BTreeSet<&String> = pages.iter().collect();
            assert_eq!(distinct.len(), pages.len(), "{round}: a page asked twice");
            assert!(
                pages
                    .iter()
                    .all(|q| q.contains(&format!("owner={}", url_encoded(&home)))),
                "{round}: {pages:?}"
            );
            // Every request the server saw was one the session took: the
            // pages sent ahead were the listing's own (a page sent ahead
            // and not taken is never recorded). Another Organization's
            // pages were not taken.
            let recorded_gets = recorded_gets(&session);
            let server_gets = sb.requests().get - gets_before;
            match round {
                "another Organization's hint" => assert!(server_gets >= recorded_gets),
                _ => assert_eq!(server_gets, recorded_gets, "{round} (plain: {plain})"),
            }
            session.remember_listing(&ahead);
            let kept: ListingHint =
                serde_json::from_slice(&std::fs::read(hint_file().unwrap()).unwrap()).unwrap();
            assert_eq!(kept.owner.as_deref(), Some(home.as_str()), "{round}");
            assert!(kept.pages >= 1);
        }
        // A run that never lists its Organization leaves no hint behind:
        // the next one sends nothing ahead.
        let session = rollcall::ops::session::open_ahead(profile.clone(), false, Some(&ahead))
            .await
            .expect("session opens");
        assert!(session.client.prefetched_pages() > 0);
        session.client.drop_prefetched();
        session.remember_listing(&ahead);
        assert_eq!(std::fs::read_dir(hints.path()).unwrap().count(), 0);
        let session = rollcall::ops::session::open_ahead(profile.clone(), false, Some(&ahead))
            .await
            .expect("session opens");
        assert_eq!(session.client.prefetched_pages(), 0);
        sb.shutdown().await;
    }
}

fn url_encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

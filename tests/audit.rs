//! `rollcall audit` over real HTTP against the embedded sandbox: findings
//! checked against counts computed independently from what the instance
//! returns, unknowns for callers who see less, the diff around a bulk
//! disable, and no write request ever.

use chrono::{DateTime, Utc};
use rollcall::api::{Client, Connection, UserQuery};
use rollcall::bulk::{self, Cancel, Reassign, RowOutcome, RunMeta, RunPlan};
use rollcall::commands::audit::{collect, run, AuditArgs, AuditFormat};
use rollcall::domain::audit::{AuditDiff, FindingKind};
use rollcall::domain::preflight::BulkAction;
use rollcall::domain::User;
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{RequestCounts, Sandbox, SandboxConfig};
use std::collections::BTreeSet;

const SECRET: &str = "secret";
const DEMO: &str = "Demo Organization";

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(300, SECRET))
        .await
        .expect("sandbox starts")
}

/// A read-only session, as `rollcall audit` opens one.
async fn audit_session(sb: &Sandbox, access_id: &str) -> Session {
    session_for(Connection {
        read_only: true,
        ..sb.connection(access_id)
    })
    .await
    .expect("session opens")
}

/// Every account with every field, as the administrator sees them.
async fn all_users(sb: &Sandbox) -> Vec<User> {
    let client = Client::new(Connection {
        read_only: true,
        ..sb.connection("administrator")
    })
    .unwrap();
    client
        .list_users(&UserQuery {
            fields: vec!["userGroups".into(), "mfaEnabled".into()],
            ..Default::default()
        })
        .await
        .expect("listing as administrator")
}

fn ids(users: &[&User]) -> Vec<i64> {
    let mut ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    ids.sort_unstable();
    ids
}

fn sorted(ids: &[i64]) -> Vec<i64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids
}

fn writes(before: RequestCounts, after: RequestCounts) -> u64 {
    (after.post - before.post)
        + (after.put - before.put)
        + (after.delete - before.delete)
        + (after.other - before.other)
}

fn is_api_role(role: &str) -> bool {
    matches!(role, "Api User" | "Exchange Admin")
}

/// Expected findings, computed straight from the returned fields with the
/// rules as the issue states them, not through `domain::audit`.
fn expected(users: &[User], now: DateTime<Utc>) -> Vec<(FindingKind, Vec<i64>)> {
    let days = |t: Option<DateTime<Utc>>| t.map(|t| (now - t).num_days());
    let has_password = |u: &&User| {
        !matches!(
            u.system_role.as_deref(),
            Some("Api User" | "Exchange Admin" | "Taxii User")
        )
    };
    let org_role = |u: &User| {
        u.owner_roles
            .as_ref()
            .and_then(|r| r.get(u.owner.as_deref().unwrap_or_default()))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let pick = |f: &dyn Fn(&&User) -> bool| ids(&users.iter().filter(f).collect::<Vec<_>>());
    vec![
        (
            FindingKind::NeverLoggedIn,
            pick(&|u| u.last_login.is_none()),
        ),
        (
            FindingKind::StaleLogin,
            // a known last login over 90 days ago; never logged in is not stale
            pick(&|u| days(u.last_login).is_some_and(|d| d > 90)),
        ),
        (
            FindingKind::PasswordExpired,
            pick(&|u| has_password(u) && days(u.last_password_change).is_some_and(|d| d > 90)),
        ),
        (
            FindingKind::PasswordExpiring,
            pick(&|u| {
                has_password(u)
                    && days(u.last_password_change).is_some_and(|d| (76..=90).contains(&d))
            }),
        ),
        (
            FindingKind::Locked,
            pick(&|u| u.locked == Some(true) && u.disabled == Some(false)),
        ),
        (
            FindingKind::DisabledWithAccess,
            pick(&|u| {
                u.disabled == Some(true)
                    && (!matches!(u.system_role.as_deref(), Some("Read Only User"))
                        || !matches!(
                            org_role(u).as_str(),
                            "Read Only User" | "Read Only Commenter"
                        )
                        || u.user_groups.as_ref().is_some_and(|g| !g.is_empty()))
            }),
        ),
        (
            FindingKind::Privileged,
            pick(&|u| {
                matches!(
                    u.system_role.as_deref(),
                    Some(
                        "Administrator"
                            | "Operations Administrator"
                            | "Accounts Administrator"
                            | "Community Leader"
                            | "Super User"
                            | "Exchange Admin"
                    )
                ) || org_role(u) == "Organization Administrator"
            }),
        ),
        (
            FindingKind::ApiUsers,
            pick(&|u| u.system_role.as_deref().is_some_and(is_api_role)),
        ),
        (
            FindingKind::PendingPasswordReset,
            pick(&|u| u.password_reset_required == Some(true)),
        ),
        (
            FindingKind::PendingMfaReset,
            pick(&|u| u.two_factor_reset_required == Some(true)),
        ),
    ]
}

#[tokio::test]
async fn administrator_findings_match_counts_computed_from_the_seed() {
    let sb = sandbox().await;
    let users = all_users(&sb).await;
    // The seed has 300 accounts plus the six API actors, in three Organizations.
    assert_eq!(users.len(), 306);
    let session = audit_session(&sb, "administrator").await;
    let now = Utc::now();
    let collected = collect(&session, &AuditArgs::default(), now)
        .await
        .expect("audit runs");
    assert_eq!(collected.users.len(), users.len());
    let audit = &collected.audit;
    for (kind, want) in expected(&users, now) {
        let finding = audit.finding(kind).expect("every kind is reported");
        assert_eq!(sorted(&finding.account_ids), want, "{kind:?}");
        // An administrator sees everything: nothing is left undecided.
        assert!(finding.unknown_ids.is_empty(), "{kind:?}");
        assert!(!want.is_empty(), "{kind:?} is exercised by the seed");
    }
    // Seats come from the limits extension, for all three Organizations.
    let orgs: BTreeSet<&str> = audit
        .seats
        .iter()
        .map(|s| s.organization.as_str())
        .collect();
    assert_eq!(
        orgs,
        BTreeSet::from([DEMO, "Northwind Security", "Contoso Intel"])
    );
    let demo_api = audit
        .seats
        .iter()
        .find(|s| s.organization == DEMO && s.kind == rollcall::domain::AccountType::Api)
        .unwrap();
    let demo_api_count = users
        .iter()
        .filter(|u| u.owner.as_deref() == Some(DEMO))
        .filter(|u| u.system_role.as_deref().is_some_and(is_api_role))
        .count() as i64;
    assert_eq!(demo_api.used, demo_api_count);
    sb.shutdown().await;
}

#[tokio::test]
async fn one_organization_only() {
    let sb = sandbox().await;
    let users = all_users(&sb).await;
    let session = audit_session(&sb, "administrator").await;
    let args = AuditArgs {
        org: Some("Northwind Security".into()),
        ..Default::default()
    };
    let collected = collect(&session, &args, Utc::now()).await.unwrap();
    let want: Vec<i64> = ids(&users
        .iter()
        .filter(|u| u.owner.as_deref() == Some("Northwind Security"))
        .collect::<Vec<_>>());
    assert!(!want.is_empty());
    assert_eq!(
        sorted(&collected.users.iter().map(|u| u.id).collect::<Vec<_>>()),
        want
    );
    assert!(collected
        .audit
        .seats
        .iter()
        .all(|s| s.organization == "Northwind Security"));
    assert_eq!(collected.audit.seats.len(), 3);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_read_only_actor_gets_unknowns_not_guesses() {
    let sb = sandbox().await;
    let session = audit_session(&sb, "read-only").await;
    let collected = collect(&session, &AuditArgs::default(), Utc::now())
        .await
        .unwrap();
    // A Read Only User sees only its own account, and only basic fields.
    assert_eq!(collected.users.len(), 1);
    let me = collected.users[0].id;
    for f in &collected.audit.findings {
        assert!(f.account_ids.is_empty(), "{:?} claimed", f.kind);
        assert_eq!(f.unknown_ids, vec![me], "{:?}", f.kind);
    }
    assert!(collected.audit.seats.is_empty());
    let mut out = Vec::new();
    run(Some(&session), &AuditArgs::default(), &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("| Never logged in | 0 | 1 |"), "{text}");
    assert!(text.contains("The instance did not report seat limits."));
    sb.shutdown().await;
}

#[tokio::test]
async fn an_accounts_administrator_cannot_see_system_roles_so_those_stay_unknown() {
    let sb = sandbox().await;
    let users = all_users(&sb).await;
    let session = audit_session(&sb, "accounts-administrator").await;
    let collected = collect(&session, &AuditArgs::default(), Utc::now())
        .await
        .unwrap();
    let demo: Vec<&User> = users
        .iter()
        .filter(|u| u.owner.as_deref() == Some(DEMO))
        .collect();
    assert_eq!(collected.users.len(), demo.len());
    assert!(collected.users.iter().all(|u| u.system_role.is_none()));
    // Organization Administrators are privileged whatever their System role;
    // for everyone else the System role would decide, and it was not returned.
    let org_admins: Vec<&User> = demo
        .iter()
        .copied()
        .filter(|u| {
            u.owner_roles
                .as_ref()
                .and_then(|r| r.get(DEMO))
                .is_some_and(|r| r == "Organization Administrator")
        })
        .collect();
    let others: Vec<&User> = demo
        .iter()
        .copied()
        .filter(|u| !org_admins.iter().any(|a| a.id == u.id))
        .collect();
    let privileged = collected.audit.finding(FindingKind::Privileged).unwrap();
    assert_eq!(sorted(&privileged.account_ids), ids(&org_admins));
    assert_eq!(sorted(&privileged.unknown_ids), ids(&others));
    let api = collected.audit.finding(FindingKind::ApiUsers).unwrap();
    assert!(api.account_ids.is_empty());
    assert_eq!(sorted(&api.unknown_ids), ids(&demo));
    // Login data is returned to it, so that finding is decided.
    let never = collected.audit.finding(FindingKind::NeverLoggedIn).unwrap();
    assert!(never.unknown_ids.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn an_audit_sends_only_get_and_options() {
    let sb = sandbox().await;
    let session = audit_session(&sb, "administrator").await;
    for format in [AuditFormat::Markdown, AuditFormat::Csv, AuditFormat::Json] {
        let before = sb.requests();
        let args = AuditArgs {
            format,
            ..Default::default()
        };
        let mut out = Vec::new();
        run(Some(&session), &args, &mut out).await.unwrap();
        let after = sb.requests();
        assert_eq!(writes(before, after), 0, "{format:?}: {after:?}");
        assert!(after.get > before.get, "{format:?} read something");
        assert!(!out.is_empty());
        // Seeded names carry terminal escapes; no export emits one.
        assert!(!out.contains(&0x1b), "{format:?}");
    }
    assert_eq!(
        sb.requests().post + sb.requests().put + sb.requests().delete,
        0
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_session_that_could_write_is_refused_before_anything_is_sent() {
    let sb = sandbox().await;
    let writable = session_for(sb.connection("administrator")).await.unwrap();
    let before = sb.requests();
    let err = run(Some(&writable), &AuditArgs::default(), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(sb.requests(), before);
    sb.shutdown().await;
}

#[tokio::test]
async fn exports_over_http_agree_with_the_findings() {
    let sb = sandbox().await;
    let session = audit_session(&sb, "administrator").await;
    let collected = collect(&session, &AuditArgs::default(), Utc::now())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.csv");
    let args = AuditArgs {
        format: AuditFormat::Csv,
        out: Some(path.clone()),
        ..Default::default()
    };
    let mut stdout = Vec::new();
    run(Some(&session), &args, &mut stdout).await.unwrap();
    assert!(stdout.is_empty(), "--out writes nothing to standard output");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    for f in &collected.audit.findings {
        let n = rows.iter().filter(|r| &r[0] == f.kind.key()).count();
        assert_eq!(n, f.account_ids.len() + f.unknown_ids.len(), "{:?}", f.kind);
    }
    let mut md = Vec::new();
    run(Some(&session), &AuditArgs::default(), &mut md)
        .await
        .unwrap();
    let md = String::from_utf8(md).unwrap();
    let never = collected.audit.finding(FindingKind::NeverLoggedIn).unwrap();
    assert!(md.contains(&format!(
        "| Never logged in | {} | 0 |",
        never.account_ids.len()
    )));
    assert!(md.contains(&format!("- Instance: {}", sb.base_url())));
    sb.shutdown().await;
}

#[tokio::test]
async fn diff_around_a_bulk_disable_shows_exactly_the_disabled_accounts() {
    let sb = sandbox().await;
    let session = audit_session(&sb, "administrator").await;
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.json"), dir.path().join("new.json"));
    let json_to = |path: &std::path::Path| AuditArgs {
        format: AuditFormat::Json,
        out: Some(path.to_path_buf()),
        ..Default::default()
    };
    run(Some(&session), &json_to(&old), &mut Vec::new())
        .await
        .unwrap();

    // Ten enabled plain Users of Demo Organization, other than the actors.
    let users = all_users(&sb).await;
    let targets: Vec<User> = users
        .iter()
        .filter(|u| u.owner.as_deref() == Some(DEMO))
        .filter(|u| u.system_role.as_deref() == Some("User") && u.disabled == Some(false))
        .take(10)
        .cloned()
        .collect();
    assert_eq!(targets.len(), 10);
    let writer = Client::new(sb.connection("administrator")).unwrap();
    let plan = RunPlan {
        meta: RunMeta {
            run_id: RunMeta::new_run_id(),
            instance: sb.base_url(),
            actor: "administrator".into(),
        },
        action: BulkAction::Disable,
        reassign: Reassign::default(),
        concurrency: 4,
    };
    let results = bulk::execute(
        &writer,
        None,
        &plan,
        &targets,
        &Cancel::default(),
        &mut |_| {},
    )
    .await;
    assert!(
        results.iter().all(|r| r.outcome == RowOutcome::Ok),
        "{results:?}"
    );

    run(Some(&session), &json_to(&new), &mut Vec::new())
        .await
        .unwrap();
    let diff_args = |format| AuditArgs {
        format,
        diff: Some(vec![old.clone(), new.clone()]),
        ..Default::default()
    };
    // No session: --diff contacts no instance.
    let before = sb.requests();
    let mut out = Vec::new();
    run(None, &diff_args(AuditFormat::Json), &mut out)
        .await
        .unwrap();
    assert_eq!(sb.requests(), before);
    let diff: AuditDiff = serde_json::from_slice(&out).unwrap();
    let want: Vec<i64> = sorted(&targets.iter().map(|u| u.id).collect::<Vec<_>>());
    assert_eq!(diff.newly_disabled, want);
    assert!(diff.added.is_empty() && diff.removed.is_empty());
    assert!(diff.role_changes.is_empty() && diff.newly_stale.is_empty());
    assert!(diff.unknown_ids.is_empty());

    let mut md = Vec::new();
    run(None, &diff_args(AuditFormat::Markdown), &mut md)
        .await
        .unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("| Newly disabled | 10 |"), "{md}");
    for u in &targets {
        assert!(md.contains(&format!("| {} |", u.id)), "{md}");
    }
    sb.shutdown().await;
}

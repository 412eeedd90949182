//! CSV import of new and changed accounts (issue 14, item 1), over real
//! HTTP against the embedded sandbox: the template, the preview, the run,
//! a second run that changes nothing, undo, and 500 rows under faults.

#[path = "common/server_state.rs"]
mod server_state;
use rollcall::bulk::{Cancel, RowOutcome, RunMeta};
use rollcall::commands::import::{self, ImportArgs, TemplateArgs};
use rollcall::commands::offboard::{LinePrompt, UndoArgs};
use rollcall::commands::undo::undo_with;
use rollcall::domain::AccountType;
use rollcall::domain::User;
use rollcall::journal::{self as jl, RowState};
use rollcall::ops::import::{ImportRun, RowAction};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig, SEEDED_ACCESS_IDS};
use server_state::server_state;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const KEY: &str = "secret";
const HOME: &str = "Demo Organization";

async fn sandbox(n_users: usize) -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(n_users, KEY))
        .await
        .expect("sandbox starts")
}

async fn session(sb: &Sandbox, access_id: &str) -> Session {
    session_for(sb.connection(access_id))
        .await
        .expect("session opens")
}

/// A prompt that answers as a person at a terminal would.
fn answering(answer: &'static str) -> LinePrompt<&'static [u8]> {
    LinePrompt {
        input: answer.as_bytes(),
        interactive: true,
    }
}

fn args(file: &Path, journal: &Path) -> ImportArgs {
    ImportArgs {
        file: file.to_path_buf(),
        journal: Some(journal.to_path_buf()),
        yes: true,
        ..Default::default()
    }
}

async fn import_text(session: &Session, args: &ImportArgs) -> (anyhow::Result<()>, String) {
    let mut out = Vec::new();
    let result = import::run_with(session, args, &mut out, &mut answering("")).await;
    (result, String::from_utf8(out).unwrap())
}

/// Seeded User accounts of the home Organization with e-mail names, not
/// the seeded actors.
fn home_users(state: &BTreeMap<i64, User>) -> Vec<User> {
    state
        .values()
        .filter(|u| {
            !SEEDED_ACCESS_IDS.contains(&u.user_name.as_str())
                && u.owner.as_deref() == Some(HOME)
                && u.system_role.as_deref() == Some("User")
                && u.user_name.contains('@')
        })
        .cloned()
        .collect()
}

fn named<'a>(state: &'a BTreeMap<i64, User>, name: &str) -> Vec<&'a User> {
    state
        .values()
        .filter(|u| u.user_name.eq_ignore_ascii_case(name))
        .collect()
}

fn run_id_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("Run "))
        .and_then(|l| l.split_whitespace().next())
        .expect("a run line")
        .trim_end_matches(':')
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_list_the_form_keys_of_each_type() {
    let sb = sandbox(5).await;
    let admin = session(&sb, "administrator").await;
    let template = |kind: AccountType| {
        let mut out = Vec::new();
        import::template(&admin, &TemplateArgs { kind, org: None }, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let user = template(AccountType::User);
    let lines: Vec<&str> = user.lines().collect();
    assert_eq!(lines.len(), 2, "{user}");
    assert_eq!(
        lines[0],
        "type,userName,password,firstName,lastName,systemRole,orgRole,locked,disabled,passwordResetRequired,twoFactorResetRequired,termsRequired,sendAccountInfoEmail,tqlTimeout,timeZone,logoutIntervalMinutes,summaryEmailTime"
    );
    assert!(
        lines[1].starts_with(
            "# user,pat.doe@example.com,,Pat,Doe,User,Standard User,false,false,true,"
        ),
        "{}",
        lines[1]
    );
    let readonly = template(AccountType::ReadOnly);
    assert!(
        readonly
            .lines()
            .nth(1)
            .unwrap()
            .contains(",Read Only User,"),
        "{readonly}"
    );
    // The sandbox makes up API and TAXII names: no userName on those
    // forms, but the rows are matched by it, so the column is there (the
    // file updates existing accounts), and the note says new ones cannot
    // be created this way.
    let api = template(AccountType::Api);
    assert!(
        api.starts_with("type,userName,firstName,lastName,systemRole,orgRole,tokenExpirationDays,disabled,includeInObservations,allowExceedApiLinkLimit,tqlTimeout\n# api,svc-feed-01,"),
        "{api}"
    );
    let taxii = template(AccountType::Taxii);
    assert!(
        taxii.starts_with("type,userName,firstName,lastName,orgRole,disabled\n# taxii,"),
        "{taxii}"
    );
    let context = rollcall::ops::import::context(&admin, None, false);
    let made_up = rollcall::ops::import::template(&context, AccountType::Api);
    assert!(
        made_up
            .note
            .as_deref()
            .is_some_and(|n| n.contains("cannot create them")),
        "{:?}",
        made_up.note
    );
    assert_eq!(
        rollcall::ops::import::template(&context, AccountType::User).note,
        None
    );
    // The API template, uncommented, is read (not refused as a file with
    // no userName column) and its row named with why it cannot be created.
    let uncommented = api.replacen("# ", "", 1);
    let plan = rollcall::ops::import::plan(&context, &uncommented, &[]).unwrap();
    let text = format!("{:?}", plan.rows);
    assert!(
        plan.invalid() == 1 && text.contains("makes up the names"),
        "{text}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_previews_runs_changes_nothing_twice_and_undoes() {
    let sb = sandbox(30).await;
    let admin = session(&sb, "administrator").await;
    let before = server_state(&sb).await;
    let users = home_users(&before);
    let (renamed, disabled, same) = (&users[0], &users[1], &users[2]);
    assert_eq!(disabled.disabled, Some(false), "{disabled:?}");
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let file = dir.path().join("people.csv");
    let first = |u: &User| u.first_name.clone().unwrap_or_default();
    let last = |u: &User| u.last_name.clone().unwrap_or_default();
    let csv = format!(
        "type,userName,password,firstName,lastName,orgRole,disabled\n\
         # a comment line: skipped, but counted in the line numbers\n\
         user,new.one@example.com,Sw0rdfish-42!,New,One,Sharing User,\n\
         user,new.two@example.com,,New,Two,,\n\
         ,{},,Renamed,{},,\n\
         ,{},,,,,true\n\
         ,{},,{},{},,false\n\
         user,not-an-address,,Bad,Mail,,\n\
         user,bad.role@example.com,,Bad,Role,Chief,\n\
         robot,bad.type@example.com,,Bad,Type,,\n",
        renamed.user_name,
        last(renamed),
        disabled.user_name,
        same.user_name,
        first(same),
        last(same),
    );
    std::fs::write(&file, &csv).unwrap();

    // The preview: counts, then each invalid row by line and column.
    let counts = sb.requests();
    let (result, text) = import_text(
        &admin,
        &ImportArgs {
            dry_run: true,
            ..args(&file, &journal)
        },
    )
    .await;
    result.unwrap();
    for expected in [
        "Import of ",
        "  create: 2\n",
        "  update: 2\n",
        "  unchanged: 1\n",
        "  invalid: 3\n",
        "  not allowed: 0\n",
        "line 8, userName: E-Mail must look like name@example.com",
        "line 9, orgRole: Organization Role cannot be \"Chief\"",
        "line 10, type: unknown account type \"robot\"",
        "line 3, new.one@example.com (User)\n",
        "line 4, new.two@example.com (User); no password given",
        &format!(
            "line 5, {} (id {}): firstName",
            renamed.user_name, renamed.id
        ),
        &format!(
            "line 6, {} (id {}): disabled",
            disabled.user_name, disabled.id
        ),
        "Dry run: nothing sent.",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    let after_preview = sb.requests();
    assert_eq!(
        (after_preview.post, after_preview.put),
        (counts.post, counts.put)
    );
    assert!(!journal.exists(), "a dry run journals nothing");

    // Without --yes and no terminal to ask: nothing is sent.
    let mut out = Vec::new();
    let refused = import::run_with(
        &admin,
        &ImportArgs {
            yes: false,
            ..args(&file, &journal)
        },
        &mut out,
        &mut LinePrompt {
            input: "y\n".as_bytes(),
            interactive: false,
        },
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("--yes"), "{refused}");
    assert_eq!(sb.requests().post, counts.post);

    // The run: the valid rows only.
    let (result, text) = import_text(&admin, &args(&file, &journal)).await;
    result.unwrap_or_else(|e| panic!("{e}\n{text}"));
    let run_id = run_id_of(&text);
    assert!(
        text.contains("ok        line 3, create new.one@example.com (id "),
        "{text}"
    );
    assert!(
        text.contains(": 4 ok, 0 failed, 0 unknown, 0 not sent, of 4"),
        "{text}"
    );
    let sent = sb.requests();
    assert_eq!(
        sent.post - counts.post,
        2,
        "the two valid creates, once each"
    );
    let after = server_state(&sb).await;
    let one = named(&after, "new.one@example.com");
    let two = named(&after, "new.two@example.com");
    assert_eq!((one.len(), two.len()), (1, 1));
    assert_eq!(one[0].org_role_name(), Some("Sharing User"));
    // No password given: reset required at first login.
    assert_eq!(two[0].password_reset_required, Some(true));
    assert_eq!(after[&renamed.id].first_name.as_deref(), Some("Renamed"));
    assert_eq!(after[&disabled.id].disabled, Some(true));
    assert_eq!(after[&same.id], before[&same.id]);
    for never in [
        "not-an-address",
        "bad.role@example.com",
        "bad.type@example.com",
    ] {
        assert!(named(&after, never).is_empty(), "{never} was sent");
    }
    // The journal: the run's header, an intent and outcome per row, no password.
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        !journal_text.contains("Sw0rdfish"),
        "a password in the journal"
    );
    let contents = jl::read(&journal).unwrap();
    let header = contents
        .headers
        .iter()
        .find(|h| h.run_id == run_id)
        .unwrap();
    assert_eq!(
        (header.action.as_str(), header.planned, header.already),
        ("import", 4, 1)
    );
    let rows = jl::run_rows(&contents.entries, &run_id);
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.state == RowState::Ok), "{rows:?}");
    let update = contents
        .entries
        .iter()
        .find(|e| e.run_id == run_id && e.account_id == renamed.id)
        .unwrap();
    assert_eq!(update.action, "update");
    assert_eq!(update.change, serde_json::json!({"firstName": "Renamed"}));
    assert_eq!(
        update.before,
        serde_json::json!({"firstName": first(renamed)})
    );

    // The same file again changes nothing.
    let counts = sb.requests();
    let (result, text) = import_text(&admin, &args(&file, &journal)).await;
    result.unwrap();
    assert!(
        text.contains("  create: 0\n  update: 0\n  unchanged: 5\n"),
        "{text}"
    );
    assert!(text.contains("Nothing to do."), "{text}");
    let again = sb.requests();
    assert_eq!((again.post, again.put), (counts.post, counts.put));
    assert_eq!(server_state(&sb).await, after);

    // Undo: a "y" deletes nothing; the count typed does.
    let undo_args = UndoArgs {
        run_id: run_id.clone(),
        journal: Some(journal.clone()),
        ..Default::default()
    };
    let mut out = Vec::new();
    undo_with(&admin, &undo_args, &mut out, &mut answering("y\n"))
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Type 2 to confirm:"), "{text}");
    assert!(text.contains("Nothing sent."), "{text}");
    assert_eq!(server_state(&sb).await, after);
    let mut out = Vec::new();
    undo_with(&admin, &undo_args, &mut out, &mut answering("2\n"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("4 ok, 0 failed"), "{text}");
    let undone = server_state(&sb).await;
    assert!(named(&undone, "new.one@example.com").is_empty());
    assert!(named(&undone, "new.two@example.com").is_empty());
    for id in [renamed.id, disabled.id, same.id] {
        assert_eq!(undone[&id].first_name, before[&id].first_name);
        assert_eq!(undone[&id].disabled, before[&id].disabled);
    }
    assert_eq!(
        undone.keys().collect::<BTreeSet<_>>(),
        before.keys().collect::<BTreeSet<_>>()
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_the_actor_may_not_write_are_not_allowed_and_never_sent() {
    let sb = sandbox(30).await;
    let org_admin = session(&sb, "organization-administrator").await;
    let before = server_state(&sb).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let file = dir.path().join("other.csv");
    std::fs::write(
        &file,
        "type,userName,firstName,lastName\nuser,north.new@example.com,North,New\n",
    )
    .unwrap();
    let counts = sb.requests();
    let (result, text) = import_text(
        &org_admin,
        &ImportArgs {
            org: Some("Northwind Security".into()),
            ..args(&file, &journal)
        },
    )
    .await;
    result.unwrap();
    assert!(text.contains("  create: 0\n"), "{text}");
    assert!(text.contains("  not allowed: 1\n"), "{text}");
    assert!(
        text.contains("line 2, north.new@example.com: ")
            && text.contains("not in Northwind Security"),
        "{text}"
    );
    assert!(text.contains("Nothing to do."), "{text}");
    let after = sb.requests();
    assert_eq!((after.post, after.put), (counts.post, counts.put));
    assert_eq!(server_state(&sb).await, before);
    sb.shutdown().await;
}

/// The faults of the issue: 10% 5xx, 5% dropped connections, 5% answers
/// lost after the change was applied, and a 429 rate limit.
fn hostile(seed: u64) -> Faults {
    Faults {
        error_rate: 0.10,
        drop_rate: 0.05,
        lost_answer_rate: 0.05,
        rate_limit_per_second: 300,
        seed,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_rows_under_faults_end_as_the_server_says() {
    let sb = sandbox(400).await;
    let admin = session(&sb, "administrator").await;
    let before = server_state(&sb).await;
    let updated: Vec<User> = home_users(&before).into_iter().take(200).collect();
    assert!(updated.len() >= 100, "{}", updated.len());
    let creates = 500 - updated.len();
    let dir = tempfile::tempdir().unwrap();
    let journal: PathBuf = dir.path().join("journal.jsonl");
    let file = dir.path().join("many.csv");
    let mut csv = String::from("type,userName,password,firstName,lastName\n");
    for u in &updated {
        csv.push_str(&format!(",{},,Imported,{}\n", u.user_name, u.id));
    }
    for n in 0..creates {
        csv.push_str(&format!("user,bulk.{n}@example.com,,Bulk,Number{n}\n"));
    }
    std::fs::write(&file, &csv).unwrap();
    let plan = import::plan(&admin, &args(&file, &journal)).await.unwrap();
    assert_eq!((plan.creates(), plan.updates()), (creates, updated.len()));

    let run = ImportRun {
        meta: RunMeta {
            run_id: RunMeta::new_run_id(),
            instance: admin.instance.clone(),
            actor: admin.actor.user_name.clone(),
        },
        org: HOME.into(),
        plan,
        concurrency: 16,
        tokens: None,
    };
    let log =
        rollcall::ops::run::begin_with(&admin.client, Some(&journal), &run.header(true)).unwrap();
    let posts = sb.requests().post;
    sb.set_faults(hostile(14));
    let results =
        rollcall::ops::import::execute(&admin.client, log, &run, &Cancel::default(), &mut |_| {})
            .await;
    sb.set_faults(Faults::default());
    let after = server_state(&sb).await;
    assert_eq!(results.len(), 500);

    let journaled: BTreeMap<i64, RowState> = {
        let contents = jl::read(&journal).unwrap();
        assert!(contents.bad_lines.is_empty());
        jl::run_rows(&contents.entries, &run.meta.run_id)
            .into_iter()
            .map(|r| (r.account_id, r.state))
            .collect()
    };
    let mut ok = 0;
    let mut differences = Vec::new();
    for row in &results {
        let on_server = named(&after, &row.user_name);
        // Nothing is ever created twice.
        if on_server.len() > 1 {
            differences.push(format!("{}: {} accounts", row.user_name, on_server.len()));
        }
        let key = match row.action {
            RowAction::Create => rollcall::ops::import::create_stand_in(row.line),
            RowAction::Update => row.account_id.unwrap(),
        };
        let state = journaled.get(&key);
        let shows = match row.action {
            RowAction::Create => on_server.len() == 1,
            RowAction::Update => on_server
                .first()
                .is_some_and(|u| u.first_name.as_deref() == Some("Imported")),
        };
        match (&row.outcome, state) {
            (RowOutcome::Ok, Some(RowState::Ok)) if shows => ok += 1,
            // Failed is never half done: not created, or not changed.
            (RowOutcome::Failed(_), Some(RowState::Failed(_))) if !shows => {}
            (RowOutcome::Unknown(_), Some(RowState::Unknown(_))) => {}
            (outcome, state) => differences.push(format!(
                "line {}, {}: {outcome:?}, journal {state:?}, on the server: {shows}",
                row.line, row.user_name
            )),
        }
        if row.action == RowAction::Create && row.outcome == RowOutcome::Ok {
            assert_eq!(row.account_id, Some(on_server[0].id), "{}", row.user_name);
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    assert!(ok >= 480, "{ok} of 500 ok");
    let sent = sb.requests().post - posts;
    assert!(sent > creates as u64, "no create met a fault: {sent} POSTs");
    // The faults were met and survived, not avoided.
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        text.contains("applied; the answer was lost"),
        "no lost answer"
    );
    // Accounts outside the file are as they were.
    let in_file: BTreeSet<i64> = updated.iter().map(|u| u.id).collect();
    for (id, user) in &before {
        if !in_file.contains(id) {
            assert_eq!(after.get(id), Some(user), "{id} changed");
        }
    }
    sb.shutdown().await;
}

/// The console's worker drives the same import and the same undo, over
/// real HTTP, journaled like the command line's.
#[tokio::test]
async fn the_console_worker_imports_and_undoes_an_import() {
    use rollcall::bulk::RowOutcome;
    use rollcall::worker::{Asker, Command, Event, ImportAsk, ImportJob, ImportUndoJob, Worker};
    use std::time::Duration;
    async fn next(events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Event {
        tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("an event within 20 s")
            .expect("the worker is running")
    }
    let sb = sandbox(30).await;
    let admin = session(&sb, "administrator").await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let file = dir.path().join("new.csv");
    std::fs::write(
        &file,
        "type,userName,firstName,lastName\nuser,worker.one@example.com,Worker,One\nuser,worker.two@example.com,Worker,Two\n",
    )
    .unwrap();
    let asker = Asker {
        actor: admin.actor.clone(),
        settings: admin.settings.clone(),
        capabilities: admin.capabilities.clone(),
        concurrency: 2,
    };
    let (worker, mut events) = Worker::spawn(admin.client.clone());
    worker.send(Command::PlanImport {
        id: 1,
        ask: Box::new(ImportAsk {
            path: file.clone(),
            org: None,
            asker: asker.clone(),
        }),
    });
    let Event::ImportPlanned {
        id: 1, plan, org, ..
    } = next(&mut events).await
    else {
        panic!("the plan first");
    };
    let plan = plan.unwrap();
    assert_eq!((plan.creates(), plan.updates()), (2, 0));
    let meta = RunMeta {
        run_id: RunMeta::new_run_id(),
        instance: admin.instance.clone(),
        actor: admin.actor.user_name.clone(),
    };
    worker.send(Command::RunImport {
        id: 2,
        job: Box::new(ImportJob {
            meta: meta.clone(),
            org,
            plan: *plan,
            concurrency: 2,
            journal: Some(journal.clone()),
            cancel: Cancel::default(),
        }),
    });
    let results = loop {
        match next(&mut events).await {
            Event::BulkRow { id: 2, .. } => {}
            Event::BulkDone { id: 2, results } => break results,
            other => panic!("{other:?}"),
        }
    };
    assert!(
        results.iter().all(|r| r.outcome == RowOutcome::Ok),
        "{results:?}"
    );
    let state = server_state(&sb).await;
    assert_eq!(named(&state, "worker.one@example.com").len(), 1);
    assert_eq!(named(&state, "worker.two@example.com").len(), 1);

    worker.send(Command::PlanUndo {
        id: 3,
        journal: Some(journal.clone()),
        run_id: Some(meta.run_id.clone()),
        fields: Vec::new(),
        concurrency: 2,
        asker: Box::new(asker),
    });
    let Event::ImportUndoPlanned { id: 3, plan } = next(&mut events).await else {
        panic!("an import's own undo plan");
    };
    let plan = plan.unwrap();
    assert_eq!(plan.deletes.len(), 2);
    let undo = RunMeta {
        run_id: RunMeta::new_run_id(),
        ..meta.clone()
    };
    worker.send(Command::RunImportUndo {
        id: 4,
        job: Box::new(ImportUndoJob {
            meta: undo.clone(),
            plan: *plan,
            concurrency: 2,
            journal: Some(journal.clone()),
            cancel: Cancel::default(),
        }),
    });
    let results = loop {
        match next(&mut events).await {
            Event::BulkRow { id: 4, .. } => {}
            Event::BulkDone { id: 4, results } => break results,
            other => panic!("{other:?}"),
        }
    };
    assert!(
        results.iter().all(|r| r.outcome == RowOutcome::Ok),
        "{results:?}"
    );
    let state = server_state(&sb).await;
    assert!(named(&state, "worker.one@example.com").is_empty());
    assert!(named(&state, "worker.two@example.com").is_empty());
    let contents = jl::read(&journal).unwrap();
    let runs = jl::runs_of(&contents);
    let undo_run = runs.iter().find(|r| r.run_id == undo.run_id).unwrap();
    assert_eq!(
        undo_run.header.as_ref().unwrap().undo_of.as_deref(),
        Some(meta.run_id.as_str())
    );
    worker.send(Command::Shutdown);
}

/// `--generate-tokens FILE`: each new API user's token goes to FILE, mode
/// 0600 (an existing file is narrowed too), and nowhere else: not the
/// journal, not the output. Each token authenticates as its account.
#[tokio::test]
async fn generated_tokens_go_only_to_a_0600_file() {
    use std::os::unix::fs::PermissionsExt;
    let sb = sandbox(30).await;
    let mut admin = session(&sb, "administrator").await;
    // As an instance where API users are named by their creator (the
    // sandbox takes a given name): an import can create them, and find
    // them again.
    admin
        .capabilities
        .extensions
        .remove(rollcall::api::wire::ext::GENERATED_USER_NAMES);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let file = dir.path().join("feeds.csv");
    std::fs::write(
        &file,
        "type,userName,firstName,lastName\napi,feed-one,Feed,One\napi,feed-two,Feed,Two\nuser,pat.token@example.com,Pat,Token\n",
    )
    .unwrap();
    // Wrong already: a new file is created 0600, an old one narrowed.
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "old contents\n").unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut args = args(&file, &journal);
    args.generate_tokens = Some(tokens.clone());
    // Only API users get tokens: the user row is created without one.
    let (result, out) = import_text(&admin, &args).await;
    result.unwrap_or_else(|e| panic!("{e:#}\n{out}"));
    let mode = std::fs::metadata(&tokens).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    let text = std::fs::read_to_string(&tokens).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["userName", "accountId", "token", "expires"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{text}\n{out}");
    assert!(!text.contains("old contents"));
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    for row in &rows {
        let token = &row[2];
        assert!(token.len() >= 20, "{token:?}");
        assert!(!journal_text.contains(token), "a token reached the journal");
        assert!(!out.contains(token), "a token reached the output");
        // The token is the account's.
        let client = rollcall::api::Client::new(rollcall::api::Connection {
            api_path: sb.base_url(),
            credentials: rollcall::api::Credentials::Token(rollcall::api::Secret::new(
                token.to_string(),
            )),
            read_only: true,
            concurrency: 1,
        })
        .unwrap();
        let me = client.whoami().await.unwrap();
        assert_eq!(me.user_name, row[0].to_string());
    }
}

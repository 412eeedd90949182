//! `rollcall undo RUN_ID`: a bulk run is undone by its inverse action
//! (`commands::offboard`), an import by deleting what it created and
//! restoring what it changed (`commands::import`), an offboarding run by
//! putting back groups and enabling (`commands::offboarding`).

use super::offboard::{self, journal_path, Confirm, LinePrompt, UndoArgs};
use crate::ops::session::Session;
use crate::ops::undo;
use std::io::Write;

/// `rollcall undo RUN_ID`
pub async fn undo(session: &Session, args: &UndoArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    undo_with(session, args, out, &mut LinePrompt::stdin()).await
}

/// As `undo`, with the confirmation supplied.
pub async fn undo_with(
    session: &Session,
    args: &UndoArgs,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let path = journal_path(args.journal.as_deref())?;
    let (_, run) = undo::read_run(&path, &args.run_id).await?;
    if run.action == crate::ops::import::IMPORT_ACTION {
        return super::import::undo_with(session, args, &path, out, confirm).await;
    }
    if run.action == crate::ops::offboard::OFFBOARD_ACTION {
        return super::offboarding::undo_with(session, args, &path, out, confirm).await;
    }
    offboard::undo_with(session, args, out, confirm).await
}

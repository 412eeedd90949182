//! The operations layer: every write workflow, once, with no terminal and
//! no argument parsing in it. The console's worker and the scripted
//! commands are thin drivers over it.

pub mod account;
pub mod ahead;
pub mod evidence;
pub mod export;
pub mod import;
pub mod offboard;
pub mod results;
pub mod review;
pub mod run;
pub mod session;
pub mod undo;

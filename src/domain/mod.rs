//! Pure types and rules: no IO here.

pub mod account;
pub mod filter;
pub mod limits;
pub mod policy;
pub mod roles;
pub mod text;
pub mod tql;

pub use account::{GroupRef, PasswordExpiry, Status, User};
pub use policy::{
    Action, Actor, Deployment, Field, FieldAccess, FormMode, InstanceSettings, Refusal, Target,
};
pub use roles::{AccountType, CommunityRole, OrgRole, SystemRole};

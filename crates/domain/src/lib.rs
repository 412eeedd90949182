//! Pure types and rules: no IO here.

pub mod account;
pub mod audit;
pub mod audit_policy;
pub mod ext;
pub mod filter;
pub mod form;
pub mod lenient;
pub mod limits;
pub mod offboard;
pub mod policy;
#[cfg(test)]
mod policy_tests;
pub mod preflight;
pub mod review;
pub mod role_model;
pub mod roles;
pub mod rq;
pub mod run_as;
pub mod text;
pub mod tql;

pub use account::{
    GroupRef, LastLoginReported, OwnerRoles, PasswordExpiry, Status, TqlTimeoutWire, User,
};
pub use policy::{
    Action, Actor, Deployment, Field, FieldAccess, FormMode, InstanceSettings, PasswordPolicy,
    Refusal, Target,
};
pub use roles::{AccountType, CommunityRole, OrgRole, SystemRole};

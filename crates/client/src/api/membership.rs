//! Group membership on an instance without rollcall's `userGroups` user
//! field: read from `GET /v3/security/userGroups?fields=users` (tcex's
//! user-group model) and inverted into each account's groups, so the
//! Groups column, `group:NAME` and the audit work on a plain instance.

use super::client::{Capabilities, Client};
use super::error::ApiError;
use super::wire::{ext, UserGroup, UserGroupWithUsers, GROUP_USERS_FIELD};
use crate::domain::{GroupRef, User};
use std::collections::HashMap;

/// Each account's groups, by account id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    by_user: HashMap<i64, Vec<GroupRef>>,
    groups: Vec<UserGroup>,
}

impl Membership {
    /// True when a listing asked with `fields` does not carry groups but the
    /// instance lists `users` among the user-group fields.
    pub fn applies(caps: &Capabilities, fields: &[String]) -> bool {
        !fields.iter().any(|f| f == ext::USER_GROUPS_FIELD)
            && caps.group_fields.contains(GROUP_USERS_FIELD)
    }

    /// The membership, or `None` when the answer does not say it for every
    /// group (a group without `users`): then groups stay unknown rather
    /// than wrongly empty.
    pub async fn load(client: &Client) -> Result<Option<Membership>, ApiError> {
        Ok(Membership::from_groups(
            client.user_groups_with_users().await?,
        ))
    }

    pub fn from_groups(groups: Vec<UserGroupWithUsers>) -> Option<Membership> {
        let mut by_user: HashMap<i64, Vec<GroupRef>> = HashMap::new();
        let mut plain = Vec::with_capacity(groups.len());
        for group in groups {
            let users = group.users.as_ref()?;
            for member in users.members() {
                by_user.entry(member.id).or_default().push(GroupRef {
                    id: group.id,
                    name: group.name.clone(),
                });
            }
            plain.push(UserGroup {
                id: group.id,
                name: group.name,
                description: group.description,
            });
        }
        // The extension lists an account's groups by name: the same here.
        for refs in by_user.values_mut() {
            refs.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        }
        Some(Membership {
            by_user,
            groups: plain,
        })
    }

    /// The groups of the instance (for `group:NAME` -> `groupId`).
    pub fn groups(&self) -> &[UserGroup] {
        &self.groups
    }

    /// Sets each account's groups; an account in no group gets an empty
    /// list (known: none).
    pub fn fill(&self, users: &mut [User]) {
        for user in users {
            user.user_groups = Some(self.by_user.get(&user.id).cloned().unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::{GroupMember, GroupUsers};

    fn group(id: i64, name: &str, users: Option<&[i64]>) -> UserGroupWithUsers {
        UserGroupWithUsers {
            id,
            name: name.into(),
            description: None,
            users: users.map(|ids| GroupUsers::Wrapped {
                data: ids
                    .iter()
                    .map(|id| GroupMember {
                        id: *id,
                        user_name: None,
                    })
                    .collect(),
            }),
        }
    }

    #[test]
    fn inverts_groups_into_accounts() {
        let m = Membership::from_groups(vec![
            group(2, "SOC Team", Some(&[1, 3])),
            group(1, "IR Team", Some(&[3])),
        ])
        .expect("complete");
        let mut users: Vec<User> = (1..=4)
            .map(|id| User {
                id,
                user_name: format!("u{id}"),
                ..Default::default()
            })
            .collect();
        m.fill(&mut users);
        let names = |u: &User| -> Vec<String> {
            u.user_groups
                .as_ref()
                .unwrap()
                .iter()
                .map(|g| g.name.clone())
                .collect()
        };
        assert_eq!(names(&users[0]), ["SOC Team"]);
        assert_eq!(names(&users[2]), ["IR Team", "SOC Team"]);
        assert!(names(&users[3]).is_empty());
        assert_eq!(m.groups().len(), 2);
    }

    #[test]
    fn a_group_without_users_leaves_membership_unknown() {
        assert!(Membership::from_groups(vec![
            group(1, "IR Team", Some(&[3])),
            group(2, "SOC Team", None),
        ])
        .is_none());
    }

    #[test]
    fn bare_and_wrapped_user_lists_decode() {
        let wrapped: UserGroupWithUsers = serde_json::from_value(serde_json::json!(
            {"id": 1, "name": "A", "users": {"data": [{"id": 5, "userName": "x", "firstName": "X"}]}}
        ))
        .unwrap();
        let bare: UserGroupWithUsers = serde_json::from_value(serde_json::json!(
            {"id": 1, "name": "A", "users": [{"id": 5}]}
        ))
        .unwrap();
        assert_eq!(wrapped.users.unwrap().members()[0].id, 5);
        assert_eq!(bare.users.unwrap().members()[0].id, 5);
    }
}

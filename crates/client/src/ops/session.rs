//! Opening a session: who the caller is, what the instance offers. Every
//! operation, scripted or from the console, starts from one.

use super::ahead::{ListingAhead, ListingHint};
use crate::api::wire::ext;
use crate::api::{Capabilities, Client, ClientOptions, Connection, Membership};
use crate::config::Profile;
use crate::domain::filter::TqlSupport;
use crate::domain::text::sanitize;
use crate::domain::{Actor, InstanceSettings, OrgRole, SystemRole};
use anyhow::{anyhow, Context};

/// A connected, identified caller.
#[derive(Clone)]
pub struct Session {
    pub client: Client,
    pub actor: Actor,
    pub capabilities: Capabilities,
    pub settings: InstanceSettings,
    /// The base URL (`api_path`).
    pub instance: String,
    pub read_only: bool,
    /// Bulk runs' requests in flight, when the profile sets `concurrency`.
    pub concurrency: Option<usize>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("actor", &self.actor)
            .field("capabilities", &self.capabilities)
            .field("settings", &self.settings)
            .field("instance", &self.instance)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl Session {
    /// Keeps what the listing `ahead` (just listed) and this session's
    /// opening learnt, for the next run's head start (see `ops::ahead`).
    pub fn remember_listing(&self, ahead: &ListingAhead) {
        let home = Some(self.actor.home_org.as_str());
        let Some(query) = ahead.query(self.extension_fields(), home) else {
            return;
        };
        // Not listed this time (the console quit before the first page
        // came, or its actor may no longer list the Organization): the
        // last plan would only send pages nobody takes.
        let Some(pages) = self.client.known_pages(&query) else {
            ahead.forget(&self.client);
            return;
        };
        let hint = ListingHint {
            owner: query.owner.clone().filter(|_| ahead.home_organization),
            fields: query.fields,
            pages,
            user_name: self.actor.user_name.clone(),
            reports_settings: self.capabilities.has(ext::INSTANCE),
        };
        ahead.remember(&self.client, hint);
    }

    /// The extra user fields worth asking for on this instance.
    pub fn extension_fields(&self) -> Vec<String> {
        listing_fields(&self.capabilities)
    }

    /// Every account the actor may see (of `org` only, when given), with
    /// the extension fields the instance offers and the groups filled in,
    /// sorted by user name: what an audit and a review read.
    pub async fn read_accounts(
        &self,
        org: Option<&str>,
    ) -> anyhow::Result<Vec<crate::domain::User>> {
        let query = crate::api::UserQuery {
            fields: self.extension_fields(),
            owner: org.map(str::to_string),
            ..Default::default()
        };
        // On a plain instance the groups come from the user groups.
        let membership = self.membership(&query.fields).await?;
        let mut users = self
            .client
            .list_users(&query)
            .await
            .context("listing accounts")?;
        if let Some(m) = &membership {
            m.fill(&mut users);
        }
        users.sort_by_cached_key(|u| (u.user_name.to_lowercase(), u.id));
        Ok(users)
    }

    /// Group membership for a listing asked with `fields`, read from the
    /// user groups when the listing itself does not carry it (a plain
    /// instance); `None` when neither says.
    pub async fn membership(&self, fields: &[String]) -> anyhow::Result<Option<Membership>> {
        if !Membership::applies(&self.capabilities, fields) {
            return Ok(None);
        }
        Membership::load(&self.client)
            .await
            .context("reading user group membership")
    }

    /// What the filter language may send as TQL here; `groups` maps
    /// `group:NAME` to ids (pass an empty list when not needed).
    pub fn tql_support(&self, groups: &[crate::api::wire::UserGroup]) -> TqlSupport {
        // Only keywords over fields this actor is shown: the server refuses a
        // query on a field it hides, and locally such a term matches nothing.
        let hidden: &[&str] = if !self.actor.sees_home_org() {
            &[
                "systemRole",
                "orgRole",
                "disabled",
                "locked",
                "passwordResetRequired",
                "lastLogin",
                "lastPasswordChange",
                "mfaEnabled",
                "groupId",
            ]
        } else if !self.actor.sees_system_roles() {
            &["systemRole"]
        } else {
            &[]
        };
        TqlSupport {
            keywords: self
                .capabilities
                .tql_keywords
                .iter()
                .filter(|k| !hidden.contains(&k.as_str()))
                .cloned()
                .collect(),
            group_ids: groups
                .iter()
                .map(|g| (g.name.to_lowercase(), g.id))
                .collect(),
        }
    }
}

/// The extra user fields a listing asks for, as far as the instance offers
/// them: group membership and MFA.
pub fn listing_fields(capabilities: &Capabilities) -> Vec<String> {
    [ext::USER_GROUPS_FIELD, ext::MFA_FIELD]
        .into_iter()
        .filter(|f| capabilities.has(f) || capabilities.extra_fields.contains(*f))
        .map(String::from)
        .collect()
}

/// Opens a session for a resolved profile.
pub async fn open(profile: Profile) -> anyhow::Result<Session> {
    open_with(profile, false).await
}

/// As [`open`]; with `record`, every request is recorded from the first
/// (`Client::recorded_requests`), for an evidence bundle's manifest.
pub async fn open_with(profile: Profile, record: bool) -> anyhow::Result<Session> {
    open_ahead(profile, record, None).await
}

/// As [`open_with`], for a caller that lists `ahead` right after: its
/// first pages go out with the opening's requests (see [`ListingAhead`]).
pub async fn open_ahead(
    profile: Profile,
    record: bool,
    ahead: Option<&ListingAhead>,
) -> anyhow::Result<Session> {
    let client = Client::with_options(profile.connection, profile.options)?;
    if record {
        client.record_requests();
    }
    let hint = ahead.and_then(|ahead| ahead.hint(client.api_path(), &client.caller_id()));
    if let (Some(ahead), Some(hint)) = (ahead, &hint) {
        ahead.send_hinted(&client, hint);
    }
    let mut session = session_on(client, profile.password_max_age_days, ahead, hint).await?;
    session.concurrency = profile.concurrency;
    Ok(session)
}

/// Opens a session on an explicit connection with transport options (a
/// sandbox serving HTTPS, tests of proxies and CAs).
pub async fn session_with_options(
    connection: Connection,
    options: ClientOptions,
) -> anyhow::Result<Session> {
    session_on(Client::with_options(connection, options)?, None, None, None).await
}

/// Opens a session on an explicit connection (tests, the demo).
pub async fn session_for(connection: Connection) -> anyhow::Result<Session> {
    session_with(connection, None).await
}

/// As `session_for`; `password_max_age_days` fills in what the instance
/// does not report.
pub async fn session_with(
    connection: Connection,
    password_max_age_days: Option<i64>,
) -> anyhow::Result<Session> {
    session_on(Client::new(connection)?, password_max_age_days, None, None).await
}

async fn session_on(
    client: Client,
    password_max_age_days: Option<i64>,
    ahead: Option<&ListingAhead>,
    hint: Option<ListingHint>,
) -> anyhow::Result<Session> {
    let read_only = client.is_read_only();
    // Two round trips where each costs a few hundred milliseconds on a far
    // instance: who am I and what is offered, then everything that needs
    // either answer, at once.
    // A hint of the last run names who the caller was and whether the
    // instance reported its settings: the second round's requests go out
    // now too, and count only if the first round's answers agree.
    let early = async {
        let hint = hint.as_ref()?;
        let (record, settings) = tokio::join!(client.find_user_by_name(&hint.user_name), async {
            match hint.reports_settings {
                true => Some(client.instance_settings().await),
                false => None,
            }
        });
        Some((hint.user_name.as_str(), record, settings))
    };
    // Asked at once; who am I decides which failure is told. The accounts'
    // count rides along (see `Client::count_users`): a full listing then
    // asks for its pages at once. Not knowing it costs only that round
    // trip later, so a refusal is not an error.
    let (me, capabilities, _, early) = tokio::join!(
        client.whoami(),
        client.capabilities(),
        client.count_users(),
        early
    );
    let me = me?;
    let (early_record, early_settings) = match early {
        Some((user_name, record, settings)) if user_name == me.user_name => {
            (Some(record), settings)
        }
        _ => (None, None),
    };
    let mut capabilities = capabilities?;
    // The listing to come now knows its fields and its length: its pages
    // travel while the second round does.
    // (A home Organization's listing waits: which one, the second round
    // tells.)
    if let Some(query) = ahead.and_then(|ahead| ahead.query(listing_fields(&capabilities), None)) {
        client.prefetch_users(&query, None);
    }
    // A System role rollcall does not know is kept as the instance names
    // it; the policy then leaves decisions to the server.
    let system_role = SystemRole::parse(&me.role);
    // Without the userGroups extension field, membership may still come
    // from the user groups themselves (asked only then: one OPTIONS less).
    let groups_field = ext::USER_GROUPS_FIELD;
    let needs_group_fields =
        !capabilities.has(groups_field) && !capabilities.extra_fields.contains(groups_field);
    let reports_settings = capabilities.has(ext::INSTANCE);
    let (own_record, group_fields, settings) = tokio::try_join!(
        async {
            match early_record {
                Some(record) => anyhow::Ok(record?),
                None => anyhow::Ok(client.find_user_by_name(&me.user_name).await?),
            }
        },
        async {
            match needs_group_fields {
                true => anyhow::Ok(Some(client.user_group_fields().await?)),
                false => Ok(None),
            }
        },
        async {
            let settings = match (reports_settings, early_settings) {
                (false, _) => return Ok(None),
                (true, Some(early)) => early,
                (true, None) => client.instance_settings().await,
            };
            settings.map(Some).context("reading instance settings")
        },
    )?;
    if let Some(fields) = group_fields {
        capabilities.group_fields = fields;
    }

    let (id, home_org, org_role) = match own_record {
        Some(user) => {
            let org_role = user.org_role_name().map(str::to_string);
            (Some(user.id), user.owner.clone(), org_role)
        }
        None => (None, None, None),
    };
    // A caller that sees only basic fields of its own record learns its
    // Organization role (and, failing the record, its Organization) from
    // `ownerRole` in the owners listing.
    let (home_org, org_role) = match (home_org, org_role) {
        (Some(org), Some(role)) => (org, Some(role)),
        (known_org, _) => {
            let owners = client.owners().await?;
            let home = owners.iter().find(|o| {
                o.kind == "Organization" && known_org.as_ref().is_none_or(|k| *k == o.name)
            });
            let org = match (known_org, home) {
                (Some(org), _) => org,
                (None, Some(owner)) => owner.name.clone(),
                (None, None) => {
                    return Err(anyhow!(
                        "cannot tell the home Organization of {}",
                        sanitize(&me.user_name)
                    ))
                }
            };
            let role = home.and_then(|o| o.owner_role.clone());
            (org, role)
        }
    };

    let mut settings = settings.unwrap_or_default();
    if settings.password_max_age_days.is_none() {
        settings.password_max_age_days = password_max_age_days;
    }

    Ok(Session {
        instance: client.api_path().to_string(),
        client,
        actor: Actor {
            id,
            user_name: me.user_name,
            system_role,
            org_role: org_role.as_deref().and_then(OrgRole::parse),
            home_org,
            custom_system_role: system_role.is_none().then(|| me.role.clone()),
            custom_org_role: org_role.filter(|r| OrgRole::parse(r).is_none()),
        },
        capabilities,
        settings,
        read_only,
        concurrency: None,
    })
}

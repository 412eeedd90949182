//! rollcall's extensions to the ThreatConnect API, by the names
//! `OPTIONS /v3/security/users` advertises them (the sandbox serves them,
//! the client asks for them, the forms name their fields).

pub const INSTANCE: &str = "instance";
pub const LIMITS: &str = "limits";
pub const USER_GROUPS_FIELD: &str = "userGroups";
pub const MFA_FIELD: &str = "mfaEnabled";
pub const GROUP_MEMBERSHIP: &str = "groupMembership";
pub const RUN_AS: &str = "runAs";
pub const REASSIGN_ON_DELETE: &str = "reassignOnDelete";
/// `PUT …/users/{id}/runAs`: move what runs as an account without deleting it.
pub const MOVE_RUN_AS: &str = "moveRunAs";
pub const API_TOKENS: &str = "apiTokens";
pub const TIME_ZONE_FIELD: &str = "timeZone";
pub const SUMMARY_EMAIL_TIME_FIELD: &str = "summaryEmailTime";
pub const SEND_ACCOUNT_INFO_EMAIL: &str = "sendAccountInfoEmail";
pub const TOKEN_EXPIRATION_FIELD: &str = "tokenExpirationDays";
pub const INCLUDE_IN_OBSERVATIONS_FIELD: &str = "includeInObservations";
pub const ALLOW_EXCEED_API_LINK_LIMIT_FIELD: &str = "allowExceedApiLinkLimit";
pub const GENERATED_USER_NAMES: &str = "generatedUserNames";
pub const SYSTEM_ROLE_UPDATE: &str = "systemRoleUpdate";
pub const API_SECRET_KEY: &str = "apiSecretKey";
pub const ALL: &[&str] = &[
    INSTANCE,
    LIMITS,
    USER_GROUPS_FIELD,
    MFA_FIELD,
    GROUP_MEMBERSHIP,
    RUN_AS,
    REASSIGN_ON_DELETE,
    MOVE_RUN_AS,
    API_TOKENS,
    TIME_ZONE_FIELD,
    SUMMARY_EMAIL_TIME_FIELD,
    SEND_ACCOUNT_INFO_EMAIL,
    TOKEN_EXPIRATION_FIELD,
    INCLUDE_IN_OBSERVATIONS_FIELD,
    ALLOW_EXCEED_API_LINK_LIMIT_FIELD,
    GENERATED_USER_NAMES,
    SYSTEM_ROLE_UPDATE,
    API_SECRET_KEY,
];
/// The extension settings that are extra user fields (asked for with `fields=`).
pub const SETTINGS_FIELDS: &[&str] = &[
    TIME_ZONE_FIELD,
    SUMMARY_EMAIL_TIME_FIELD,
    TOKEN_EXPIRATION_FIELD,
    INCLUDE_IN_OBSERVATIONS_FIELD,
    ALLOW_EXCEED_API_LINK_LIMIT_FIELD,
];

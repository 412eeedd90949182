//! The second role model: ThreatConnect Risk Quantifier's fixed role and
//! permission matrix (seed `threatconnect-rq-user-roles.txt`). Seven roles
//! that cannot be customised; capabilities held at the Enterprise level or
//! within a Legal Entity. The seed's tables live here as data.
//!
//! Where a seed row has fewer check marks than columns, its flattened text
//! keeps the count of marks but not always their columns; those rows are
//! placed by the role definitions of Table 1 and marked "placed" below.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RqRole {
    EnterpriseAdministrator,
    EnterpriseReadOnly,
    ProAdministrator,
    ProEditor,
    ProReadOnly,
    FairOnly,
    ExportApi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    Enterprise,
    LegalEntity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Capability {
    // Portfolio Analysis (Table 2)
    ViewPortfolioAnalysis,
    EditImplementationCost,
    // Legal Entities (Table 3)
    CreateLegalEntity,
    ArchiveLegalEntity,
    EditLegalEntity,
    AccessLegalEntity,
    // Data Export (Tables 4 and 6)
    ExportCsv,
    // Risk work (Table 6)
    RunRiskAnalysis,
    ViewThirdPartyAnalyses,
    ScanThirdParty,
    ConfigurationSetup,
    GenerateReport,
    BuildWhatIfAnalysis,
    // Settings (Tables 5 and 7)
    CreateUser,
    EditAccount,
    ResetPassword,
    DeactivateReactivateUser,
    ModelTuningView,
    ModelTuningEdit,
    ModelTuningRevert,
    ActivityLogView,
    PreferencesView,
    PreferencesEdit,
    ModelInsightsView,
    ApplicationSettingsView,
    ApplicationSettingsEdit,
    SingleSignOnView,
    SingleSignOnEdit,
}

impl Capability {
    /// True when using the capability changes something in the platform.
    /// Reports and CSV exports produce output but change nothing.
    pub fn is_write(self) -> bool {
        use Capability::*;
        !matches!(
            self,
            ViewPortfolioAnalysis
                | AccessLegalEntity
                | ExportCsv
                | ViewThirdPartyAnalyses
                | GenerateReport
                | ModelTuningView
                | ActivityLogView
                | PreferencesView
                | ModelInsightsView
                | ApplicationSettingsView
                | SingleSignOnView
        )
    }

    /// The User Management capabilities.
    pub fn is_user_management(self) -> bool {
        matches!(
            self,
            Capability::CreateUser
                | Capability::EditAccount
                | Capability::ResetPassword
                | Capability::DeactivateReactivateUser
        )
    }
}

impl RqRole {
    pub const ALL: [RqRole; 7] = [
        RqRole::EnterpriseAdministrator,
        RqRole::EnterpriseReadOnly,
        RqRole::ProAdministrator,
        RqRole::ProEditor,
        RqRole::ProReadOnly,
        RqRole::FairOnly,
        RqRole::ExportApi,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RqRole::EnterpriseAdministrator => "RQ Enterprise Administrator",
            RqRole::EnterpriseReadOnly => "RQ Enterprise Read Only",
            RqRole::ProAdministrator => "RQ Pro Administrator",
            RqRole::ProEditor => "RQ Pro Editor",
            RqRole::ProReadOnly => "RQ Pro Read Only",
            RqRole::FairOnly => "RQ Fair Only",
            RqRole::ExportApi => "RQ Export API",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(text))
    }

    /// The levels the role reaches (Table 1).
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            RqRole::EnterpriseAdministrator => &[Scope::Enterprise, Scope::LegalEntity],
            RqRole::EnterpriseReadOnly => &[Scope::Enterprise],
            _ => &[Scope::LegalEntity],
        }
    }

    /// Only RQ Export API has no user interface: API calls only.
    pub fn has_ui(self) -> bool {
        self != RqRole::ExportApi
    }

    /// May this role create accounts with `role`? Creating users at a level
    /// means creating the roles that live at that level, so the role must
    /// hold Create User in every scope `role` reaches.
    pub fn may_create_role(self, role: RqRole) -> bool {
        role.scopes()
            .iter()
            .all(|&scope| allows(self, Capability::CreateUser, scope))
    }
}

/// One of the seed's capability tables: its columns, and per role a row of
/// marks ('X' allowed, '-' not). A role without a row holds none of them.
struct Table {
    scope: Scope,
    columns: &'static [Capability],
    rows: &'static [(RqRole, &'static str)],
}

use Capability as C;
use RqRole as R;

const TABLES: &[Table] = &[
    // Table 2: Portfolio Analysis screen.
    Table {
        scope: Scope::Enterprise,
        columns: &[C::ViewPortfolioAnalysis, C::EditImplementationCost],
        rows: &[
            (R::EnterpriseAdministrator, "XX"),
            (R::EnterpriseReadOnly, "X-"),
        ],
    },
    // Table 3: Legal Entities screen.
    Table {
        scope: Scope::Enterprise,
        columns: &[
            C::CreateLegalEntity,
            C::ArchiveLegalEntity,
            C::EditLegalEntity,
            C::AccessLegalEntity,
        ],
        rows: &[
            (R::EnterpriseAdministrator, "XXXX"),
            (R::EnterpriseReadOnly, "----"),
        ],
    },
    // Table 4: Data Export screen.
    Table {
        scope: Scope::Enterprise,
        columns: &[C::ExportCsv],
        rows: &[
            (R::EnterpriseAdministrator, "X"),
            (R::EnterpriseReadOnly, "X"),
        ],
    },
    // Table 5: Settings screen at the Enterprise level.
    Table {
        scope: Scope::Enterprise,
        columns: &[
            C::CreateUser,
            C::EditAccount,
            C::ResetPassword,
            C::DeactivateReactivateUser,
            C::PreferencesView,
            C::PreferencesEdit,
            C::ActivityLogView,
            C::SingleSignOnView,
            C::SingleSignOnEdit,
        ],
        rows: &[
            (R::EnterpriseAdministrator, "XXXXXXXXX"),
            // placed: two marks; read-only access means views.
            (R::EnterpriseReadOnly, "----X-X--"),
        ],
    },
    // Table 6: Legal Entity areas.
    Table {
        scope: Scope::LegalEntity,
        columns: &[
            C::RunRiskAnalysis,
            C::ViewThirdPartyAnalyses,
            C::ScanThirdParty,
            C::ConfigurationSetup,
            C::GenerateReport,
            C::BuildWhatIfAnalysis,
            C::ExportCsv,
        ],
        rows: &[
            // Six marks and an empty last cell, as the seed's row reads.
            (R::EnterpriseAdministrator, "XXXXXX-"),
            (R::EnterpriseReadOnly, "-------"),
            (R::ProAdministrator, "XXXXXXX"),
            (R::ProEditor, "XXXXXXX"),
            // placed: three marks; read-only means viewing and exporting.
            (R::ProReadOnly, "-X--X-X"),
            // placed: two marks; FAIR analyses and FAIR What If scenarios.
            (R::FairOnly, "X----X-"),
        ],
    },
    // Table 7: Settings screen within a Legal Entity.
    Table {
        scope: Scope::LegalEntity,
        columns: &[
            C::CreateUser,
            C::EditAccount,
            C::ResetPassword,
            C::DeactivateReactivateUser,
            C::ModelTuningView,
            C::ModelTuningEdit,
            C::ModelTuningRevert,
            C::ActivityLogView,
            C::PreferencesView,
            C::PreferencesEdit,
            C::ModelInsightsView,
            C::ApplicationSettingsView,
            C::ApplicationSettingsEdit,
        ],
        rows: &[
            (R::EnterpriseAdministrator, "XXXXXXXXXXXXX"),
            (R::EnterpriseReadOnly, "-------------"),
            (R::ProAdministrator, "XXXXXXXXXXXXX"),
            // placed: nine marks; editorial but no administrative access,
            // so everything but User Management.
            (R::ProEditor, "----XXXXXXXXX"),
            // placed: three marks; views of the model and preferences.
            (R::ProReadOnly, "----X---X-X--"),
            // placed: two marks; preferences and model insights views.
            (R::FairOnly, "--------X-X--"),
        ],
    },
];

/// Does `role` hold `capability` at `scope`?
pub fn allows(role: RqRole, capability: Capability, scope: Scope) -> bool {
    TABLES.iter().filter(|t| t.scope == scope).any(|t| {
        let Some(column) = t.columns.iter().position(|&c| c == capability) else {
            return false;
        };
        t.rows
            .iter()
            .find(|(r, _)| *r == role)
            .is_some_and(|(_, marks)| marks.as_bytes().get(column) == Some(&b'X'))
    })
}

/// Every capability `role` holds at `scope`, in table order.
pub fn capabilities(role: RqRole, scope: Scope) -> Vec<Capability> {
    let mut out: Vec<Capability> = Vec::new();
    for t in TABLES.iter().filter(|t| t.scope == scope) {
        for &c in t.columns {
            if allows(role, c, scope) && !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Capability::*;
    use RqRole::*;
    use Scope::*;

    fn held(role: RqRole, scope: Scope, columns: &[Capability]) -> Vec<Capability> {
        columns
            .iter()
            .copied()
            .filter(|&c| allows(role, c, scope))
            .collect()
    }

    #[test]
    fn tables_are_well_formed() {
        for t in TABLES {
            for (role, marks) in t.rows {
                assert_eq!(marks.len(), t.columns.len(), "{role:?}");
                assert!(marks.bytes().all(|b| b == b'X' || b == b'-'), "{role:?}");
            }
        }
    }

    /// The number of check marks in every row of the seed, table by table.
    #[test]
    fn mark_counts_match_the_seed() {
        let counts: &[(usize, &[(RqRole, usize)])] = &[
            (2, &[(EnterpriseAdministrator, 2), (EnterpriseReadOnly, 1)]),
            (4, &[(EnterpriseAdministrator, 4), (EnterpriseReadOnly, 0)]),
            (1, &[(EnterpriseAdministrator, 1), (EnterpriseReadOnly, 1)]),
            (9, &[(EnterpriseAdministrator, 9), (EnterpriseReadOnly, 2)]),
            (
                7,
                &[
                    (EnterpriseAdministrator, 6),
                    (EnterpriseReadOnly, 0),
                    (ProAdministrator, 7),
                    (ProEditor, 7),
                    (ProReadOnly, 3),
                    (FairOnly, 2),
                ],
            ),
            (
                13,
                &[
                    (EnterpriseAdministrator, 13),
                    (EnterpriseReadOnly, 0),
                    (ProAdministrator, 13),
                    (ProEditor, 9),
                    (ProReadOnly, 3),
                    (FairOnly, 2),
                ],
            ),
        ];
        assert_eq!(TABLES.len(), counts.len());
        for (t, (columns, rows)) in TABLES.iter().zip(counts) {
            assert_eq!(t.columns.len(), *columns);
            for (role, n) in *rows {
                assert_eq!(held(*role, t.scope, t.columns).len(), *n, "{role:?}");
            }
        }
    }

    #[test]
    fn table_2_portfolio_analysis() {
        let cols = [ViewPortfolioAnalysis, EditImplementationCost];
        assert_eq!(held(EnterpriseAdministrator, Enterprise, &cols), cols);
        assert_eq!(
            held(EnterpriseReadOnly, Enterprise, &cols),
            [ViewPortfolioAnalysis]
        );
    }

    #[test]
    fn table_3_legal_entities() {
        let cols = [
            CreateLegalEntity,
            ArchiveLegalEntity,
            EditLegalEntity,
            AccessLegalEntity,
        ];
        assert_eq!(held(EnterpriseAdministrator, Enterprise, &cols), cols);
        assert_eq!(held(EnterpriseReadOnly, Enterprise, &cols), []);
    }

    #[test]
    fn table_4_data_export() {
        assert!(allows(EnterpriseAdministrator, ExportCsv, Enterprise));
        assert!(allows(EnterpriseReadOnly, ExportCsv, Enterprise));
    }

    #[test]
    fn table_5_enterprise_settings() {
        assert_eq!(capabilities(EnterpriseAdministrator, Enterprise).len(), 16);
        for c in [
            CreateUser,
            EditAccount,
            ResetPassword,
            DeactivateReactivateUser,
            PreferencesView,
            PreferencesEdit,
            ActivityLogView,
            SingleSignOnView,
            SingleSignOnEdit,
        ] {
            assert!(allows(EnterpriseAdministrator, c, Enterprise), "{c:?}");
            assert_eq!(
                allows(EnterpriseReadOnly, c, Enterprise),
                matches!(c, PreferencesView | ActivityLogView),
                "{c:?}"
            );
        }
    }

    #[test]
    fn table_6_legal_entity_areas() {
        let cols = [
            RunRiskAnalysis,
            ViewThirdPartyAnalyses,
            ScanThirdParty,
            ConfigurationSetup,
            GenerateReport,
            BuildWhatIfAnalysis,
            ExportCsv,
        ];
        assert_eq!(held(EnterpriseAdministrator, LegalEntity, &cols), cols[..6]);
        assert_eq!(held(EnterpriseReadOnly, LegalEntity, &cols), []);
        assert_eq!(held(ProAdministrator, LegalEntity, &cols), cols);
        assert_eq!(held(ProEditor, LegalEntity, &cols), cols);
        assert_eq!(
            held(ProReadOnly, LegalEntity, &cols),
            [ViewThirdPartyAnalyses, GenerateReport, ExportCsv]
        );
        assert_eq!(
            held(FairOnly, LegalEntity, &cols),
            [RunRiskAnalysis, BuildWhatIfAnalysis]
        );
        assert_eq!(held(ExportApi, LegalEntity, &cols), []);
    }

    #[test]
    fn table_7_legal_entity_settings() {
        let user_management = [
            CreateUser,
            EditAccount,
            ResetPassword,
            DeactivateReactivateUser,
        ];
        for role in [EnterpriseAdministrator, ProAdministrator] {
            assert_eq!(held(role, LegalEntity, &user_management), user_management);
        }
        for role in [
            EnterpriseReadOnly,
            ProEditor,
            ProReadOnly,
            FairOnly,
            ExportApi,
        ] {
            assert_eq!(held(role, LegalEntity, &user_management), [], "{role:?}");
        }
        let rest = [
            ModelTuningView,
            ModelTuningEdit,
            ModelTuningRevert,
            ActivityLogView,
            PreferencesView,
            PreferencesEdit,
            ModelInsightsView,
            ApplicationSettingsView,
            ApplicationSettingsEdit,
        ];
        assert_eq!(held(ProEditor, LegalEntity, &rest), rest);
        assert_eq!(
            held(ProReadOnly, LegalEntity, &rest),
            [ModelTuningView, PreferencesView, ModelInsightsView]
        );
        assert_eq!(
            held(FairOnly, LegalEntity, &rest),
            [PreferencesView, ModelInsightsView]
        );
    }

    #[test]
    fn scopes_follow_table_1() {
        // Only the two Enterprise roles reach the Enterprise level, and the
        // Enterprise Read Only role nothing inside a Legal Entity.
        for role in RqRole::ALL {
            let enterprise = !capabilities(role, Enterprise).is_empty();
            assert_eq!(enterprise, role.scopes().contains(&Enterprise), "{role:?}");
            assert_eq!(
                enterprise,
                matches!(role, EnterpriseAdministrator | EnterpriseReadOnly),
                "{role:?}"
            );
        }
        assert!(capabilities(EnterpriseReadOnly, LegalEntity).is_empty());
        assert!(capabilities(ExportApi, LegalEntity).is_empty());
        assert!(capabilities(ExportApi, Enterprise).is_empty());
        assert!(!ExportApi.has_ui());
        assert!(RqRole::ALL.iter().filter(|r| r.has_ui()).count() == 6);
        for role in RqRole::ALL {
            assert_eq!(RqRole::parse(role.name()), Some(role));
        }
        assert_eq!(RqRole::parse("rq pro editor"), Some(ProEditor));
    }

    #[test]
    fn who_creates_which_roles() {
        for role in RqRole::ALL {
            assert!(EnterpriseAdministrator.may_create_role(role), "{role:?}");
            let legal_entity_only = !role.scopes().contains(&Enterprise);
            assert_eq!(
                ProAdministrator.may_create_role(role),
                legal_entity_only,
                "{role:?}"
            );
            for other in [
                EnterpriseReadOnly,
                ProEditor,
                ProReadOnly,
                FairOnly,
                ExportApi,
            ] {
                assert!(!other.may_create_role(role), "{other:?} -> {role:?}");
            }
        }
    }
}

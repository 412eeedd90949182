//! Connection profiles: a TOML config file, or ThreatConnect SDK
//! environment variables.
//!
//! Precedence: `--profile NAME` > `TC_API_PATH` and credentials in the
//! environment > `default_profile` of the config file. `config.example.toml`
//! at the repository root documents every key.

use crate::api::client::{parse_api_path, DEFAULT_CONCURRENCY};
use crate::api::{Connection, Credentials, Secret};
use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub const CONFIG_FILE_NAME: &str = "config.toml";
pub const ENV_API_PATH: &str = "TC_API_PATH";
pub const ENV_ACCESS_ID: &str = "TC_API_ACCESS_ID";
pub const ENV_SECRET_KEY: &str = "TC_API_SECRET_KEY";
pub const ENV_TOKEN: &str = "TC_TOKEN";

/// `config.toml` in the platform's config directory for rollcall.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "rollcall")
        .map(|dirs| dirs.config_dir().join(CONFIG_FILE_NAME))
}

/// The whole config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileConfig>,
}

/// One `[profiles.NAME]` table as written.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    pub api_path: Option<String>,
    pub access_id: Option<String>,
    secret_key: Option<String>,
    pub secret_command: Option<String>,
    token: Option<String>,
    pub token_command: Option<String>,
    #[serde(default)]
    pub read_only: bool,
    pub password_max_age_days: Option<i64>,
    pub concurrency: Option<usize>,
}

impl fmt::Debug for ProfileConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("ProfileConfig")
            .field("api_path", &self.api_path)
            .field("access_id", &self.access_id)
            .field("secret_key", &redacted(&self.secret_key))
            .field("secret_command", &self.secret_command)
            .field("token", &redacted(&self.token))
            .field("token_command", &self.token_command)
            .field("read_only", &self.read_only)
            .field("password_max_age_days", &self.password_max_age_days)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl ConfigFile {
    pub fn parse(text: &str, origin: &Path) -> anyhow::Result<Self> {
        toml::from_str(text).map_err(|e| {
            // toml's messages span several lines; keep the first.
            let message = e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_string();
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    anyhow!("{}:{line}: {message}", origin.display())
                }
                None => anyhow!("{}: {message}", origin.display()),
            }
        })
    }

    /// `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    fn profile_names(&self) -> String {
        if self.profiles.is_empty() {
            "none defined".to_string()
        } else {
            self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }
}

/// What the command line chose.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub profile: Option<String>,
    pub config: Option<PathBuf>,
    pub read_only: bool,
}

/// A profile ready to connect with.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The profile name, or `environment`.
    pub name: String,
    pub connection: Connection,
    pub password_max_age_days: Option<i64>,
    /// The profile's `concurrency`, when it sets one (bulk runs default to 8).
    pub concurrency: Option<usize>,
}

/// Runs a `*_command` through the shell; its trimmed stdout is the secret.
fn run_secret_command(profile: &str, key: &str, command: &str) -> anyhow::Result<Secret> {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("profile '{profile}': cannot run {key}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        let first = crate::domain::text::sanitize(first);
        bail!(
            "profile '{profile}': {key} failed ({}){}",
            output.status,
            if first.is_empty() {
                String::new()
            } else {
                format!(": {first}")
            }
        );
    }
    let stdout = String::from_utf8(output.stdout)
        .map_err(|_| anyhow!("profile '{profile}': {key} printed something that is not UTF-8"))?;
    let secret = stdout.trim_end_matches(['\n', '\r']).to_string();
    if secret.trim().is_empty() {
        bail!("profile '{profile}': {key} printed nothing");
    }
    Ok(Secret::new(secret))
}

fn one_of(
    profile: &str,
    value_key: &str,
    value: &Option<String>,
    command_key: &str,
    command: &Option<String>,
) -> anyhow::Result<Option<Secret>> {
    match (value, command) {
        (Some(_), Some(_)) => {
            bail!("profile '{profile}' sets both {value_key} and {command_key}; keep one")
        }
        (Some(v), None) if v.is_empty() => bail!("profile '{profile}': {value_key} is empty"),
        (Some(v), None) => Ok(Some(Secret::new(v.clone()))),
        (None, Some(c)) => run_secret_command(profile, command_key, c).map(Some),
        (None, None) => Ok(None),
    }
}

/// The base URL checked (ending in `/api`), without a trailing slash.
fn checked_api_path(source: &str, key: &str, api_path: &str) -> anyhow::Result<String> {
    parse_api_path(api_path)
        .map(|_| api_path.trim().trim_end_matches('/').to_string())
        .map_err(|e| anyhow!("{source}: {}", e.to_string().replacen("api_path", key, 1)))
}

impl ProfileConfig {
    /// Checks the profile and runs its secret commands.
    pub fn resolve(&self, name: &str, read_only: bool) -> anyhow::Result<Profile> {
        let source = format!("profile '{name}'");
        let api_path = self.api_path.as_deref().ok_or_else(|| {
            anyhow!("{source} has no api_path (e.g. api_path = \"https://tc.example.com/api\")")
        })?;
        let api_path = checked_api_path(&source, "api_path", api_path)?;
        let secret = one_of(
            name,
            "secret_key",
            &self.secret_key,
            "secret_command",
            &self.secret_command,
        )?;
        let token = one_of(
            name,
            "token",
            &self.token,
            "token_command",
            &self.token_command,
        )?;
        let credentials = match (&self.access_id, secret, token) {
            (Some(_), Some(_), Some(_)) => {
                bail!("{source} sets both HMAC credentials and a token; keep one")
            }
            (Some(access_id), Some(secret_key), None) => Credentials::Hmac {
                access_id: access_id.clone(),
                secret_key,
            },
            (Some(_), None, _) => {
                bail!("{source} has access_id but no secret_key or secret_command")
            }
            (None, Some(_), _) => bail!("{source} has a secret key but no access_id"),
            (None, None, Some(token)) => Credentials::Token(token),
            (None, None, None) => bail!(
                "{source} has no credentials: set access_id with secret_key or secret_command, or token or token_command"
            ),
        };
        if self.concurrency == Some(0) {
            bail!("{source}: concurrency must be at least 1");
        }
        Ok(Profile {
            name: name.to_string(),
            connection: Connection {
                api_path,
                credentials,
                read_only: read_only || self.read_only,
                concurrency: self.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
            },
            password_max_age_days: self.password_max_age_days,
            concurrency: self.concurrency,
        })
    }
}

/// The profile from the environment, when `TC_API_PATH` (or credentials)
/// are set there.
fn from_env(
    env: &dyn Fn(&str) -> Option<String>,
    read_only: bool,
) -> anyhow::Result<Option<Profile>> {
    let get = |key: &str| env(key).filter(|v| !v.trim().is_empty());
    let api_path = get(ENV_API_PATH);
    let access_id = get(ENV_ACCESS_ID);
    let secret_key = get(ENV_SECRET_KEY);
    let token = get(ENV_TOKEN);
    let Some(api_path) = api_path else {
        if access_id.is_some() || secret_key.is_some() || token.is_some() {
            bail!("{ENV_API_PATH} is not set, but other TC_ connection variables are");
        }
        return Ok(None);
    };
    let api_path = checked_api_path("environment", ENV_API_PATH, &api_path)?;
    let credentials = match (access_id, secret_key, token) {
        (Some(access_id), Some(secret_key), _) => Credentials::Hmac {
            access_id,
            secret_key: Secret::new(secret_key),
        },
        (Some(_), None, _) => bail!("{ENV_ACCESS_ID} is set but {ENV_SECRET_KEY} is not"),
        (None, Some(_), _) => bail!("{ENV_SECRET_KEY} is set but {ENV_ACCESS_ID} is not"),
        (None, None, Some(token)) => Credentials::Token(Secret::new(token)),
        (None, None, None) => bail!(
            "{ENV_API_PATH} is set but no credentials: set {ENV_ACCESS_ID} and {ENV_SECRET_KEY}, or {ENV_TOKEN}"
        ),
    };
    Ok(Some(Profile {
        name: "environment".into(),
        connection: Connection {
            api_path,
            credentials,
            read_only,
            concurrency: DEFAULT_CONCURRENCY,
        },
        password_max_age_days: None,
        concurrency: None,
    }))
}

fn config_path(selection: &Selection) -> anyhow::Result<PathBuf> {
    match &selection.config {
        Some(path) => Ok(path.clone()),
        None => default_config_path()
            .ok_or_else(|| anyhow!("cannot locate a config directory; use --config PATH")),
    }
}

/// Chooses and checks the profile, with `env` standing for the process
/// environment (tests pass their own).
pub fn resolve_with_env(
    selection: &Selection,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Profile> {
    let load = |path: &Path| -> anyhow::Result<ConfigFile> {
        ConfigFile::load(path)?.ok_or_else(|| {
            anyhow!(
                "config file {} not found (see config.example.toml)",
                path.display()
            )
        })
    };
    if let Some(name) = &selection.profile {
        let path = config_path(selection)?;
        let file = load(&path)?;
        let profile = file.profiles.get(name).ok_or_else(|| {
            anyhow!(
                "profile '{name}' not found in {} (profiles: {})",
                path.display(),
                file.profile_names()
            )
        })?;
        return profile.resolve(name, selection.read_only);
    }
    // An explicit --config means the file, not the environment.
    if selection.config.is_none() {
        if let Some(profile) = from_env(env, selection.read_only)? {
            return Ok(profile);
        }
    }
    let path = config_path(selection)?;
    let file = ConfigFile::load(&path)?.ok_or_else(|| {
        anyhow!(
            "no connection configured: {} not found and {ENV_API_PATH} is not set (see config.example.toml)",
            path.display()
        )
    })?;
    let name = match &file.default_profile {
        Some(name) => name.clone(),
        None if file.profiles.len() == 1 => {
            file.profiles.keys().next().cloned().unwrap_or_default()
        }
        None => bail!(
            "{} has no default_profile; choose one with --profile NAME (profiles: {})",
            path.display(),
            file.profile_names()
        ),
    };
    let profile = file.profiles.get(&name).ok_or_else(|| {
        anyhow!(
            "default_profile '{name}' not found in {} (profiles: {})",
            path.display(),
            file.profile_names()
        )
    })?;
    profile.resolve(&name, selection.read_only)
}

/// As `resolve_with_env`, with the process environment.
pub fn resolve(selection: &Selection) -> anyhow::Result<Profile> {
    resolve_with_env(selection, &|key| std::env::var(key).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| map.get(key).cloned()
    }

    const CONFIG: &str = r#"
default_profile = "prod"

[profiles.prod]
api_path = "https://tc.example.com/api/"
access_id = "12345"
secret_key = "hunter2"
password_max_age_days = 90
concurrency = 8

[profiles.audit]
api_path = "https://tc.example.com/api"
token_command = "printf 'tok-from-command\n'"
read_only = true

[profiles.cmd]
api_path = "https://tc.example.com/api"
access_id = "id"
secret_command = "echo s3cret"
"#;

    fn select(path: &Path, profile: Option<&str>) -> Selection {
        Selection {
            profile: profile.map(String::from),
            config: Some(path.to_path_buf()),
            read_only: false,
        }
    }

    #[test]
    fn default_profile_with_every_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, CONFIG);
        let profile = resolve_with_env(&select(&path, None), &env_of(&[])).unwrap();
        assert_eq!(profile.name, "prod");
        assert_eq!(profile.connection.api_path, "https://tc.example.com/api");
        assert_eq!(
            profile.connection.credentials,
            Credentials::Hmac {
                access_id: "12345".into(),
                secret_key: Secret::new("hunter2")
            }
        );
        assert_eq!(profile.connection.concurrency, 8);
        assert_eq!(
            profile.concurrency,
            Some(8),
            "bulk runs use the profile's own setting"
        );
        assert!(!profile.connection.read_only);
        assert_eq!(profile.password_max_age_days, Some(90));
        assert!(!format!("{profile:?}").contains("hunter2"));
        let file = ConfigFile::load(&path).unwrap().unwrap();
        assert!(!format!("{file:?}").contains("hunter2"));
    }

    #[test]
    fn commands_supply_secrets_and_read_only_combines() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, CONFIG);
        let audit = resolve_with_env(&select(&path, Some("audit")), &env_of(&[])).unwrap();
        assert_eq!(
            audit.connection.credentials,
            Credentials::Token(Secret::new("tok-from-command"))
        );
        assert!(audit.connection.read_only);
        assert_eq!(audit.connection.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(audit.concurrency, None, "unset: bulk runs default to 8");
        let mut selection = select(&path, Some("cmd"));
        selection.read_only = true;
        let cmd = resolve_with_env(&selection, &env_of(&[])).unwrap();
        assert_eq!(
            cmd.connection.credentials,
            Credentials::Hmac {
                access_id: "id".into(),
                secret_key: Secret::new("s3cret")
            }
        );
        assert!(cmd.connection.read_only);
    }

    #[test]
    fn precedence_profile_then_environment_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, CONFIG);
        let env = env_of(&[
            ("TC_API_PATH", "https://env.example.com/api"),
            ("TC_API_ACCESS_ID", "envid"),
            ("TC_API_SECRET_KEY", "envkey"),
        ]);
        // --profile wins over the environment
        let chosen = resolve_with_env(&select(&path, Some("prod")), &env).unwrap();
        assert_eq!(chosen.name, "prod");
        // the environment wins over default_profile
        let selection = Selection {
            profile: None,
            config: None,
            read_only: true,
        };
        let from_env = resolve_with_env(&selection, &env).unwrap();
        assert_eq!(from_env.name, "environment");
        assert_eq!(from_env.connection.api_path, "https://env.example.com/api");
        assert!(from_env.connection.read_only);
        let token = resolve_with_env(
            &selection,
            &env_of(&[("TC_API_PATH", "https://e/api"), ("TC_TOKEN", "t")]),
        )
        .unwrap();
        assert_eq!(
            token.connection.credentials,
            Credentials::Token(Secret::new("t"))
        );
    }

    fn error(text: &str, profile: Option<&str>, env: &[(&str, &str)]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, text);
        let message = resolve_with_env(&select(&path, profile), &env_of(env))
            .unwrap_err()
            .to_string();
        assert!(!message.contains('\n'), "{message}");
        message.replace(&path.display().to_string(), "PATH")
    }

    #[test]
    fn every_problem_is_one_clear_line() {
        assert_eq!(
            error(CONFIG, Some("nope"), &[]),
            "profile 'nope' not found in PATH (profiles: audit, cmd, prod)"
        );
        assert_eq!(
            error("[profiles.a]\napi_path = \"https://x.example.com\"\ntoken = \"t\"\n", None, &[]),
            "profile 'a': api_path 'https://x.example.com' must end in /api (e.g. https://tc.example.com/api)"
        );
        assert_eq!(
            error("[profiles.a]\napi_path = \"https://x/api\"\n", None, &[]),
            "profile 'a' has no credentials: set access_id with secret_key or secret_command, or token or token_command"
        );
        assert_eq!(
            error(
                "[profiles.a]\napi_path = \"https://x/api\"\naccess_id = \"i\"\n",
                None,
                &[]
            ),
            "profile 'a' has access_id but no secret_key or secret_command"
        );
        assert_eq!(
            error(
                "[profiles.a]\napi_path = \"https://x/api\"\ntoken = \"t\"\ntoken_command = \"echo t\"\n",
                None,
                &[]
            ),
            "profile 'a' sets both token and token_command; keep one"
        );
        assert!(error(
            "[profiles.a]\napi_path = \"https://x/api\"\ntoken_command = \"echo oops >&2; exit 3\"\n",
            None,
            &[]
        )
        .starts_with("profile 'a': token_command failed (exit status: 3): oops"));
        assert_eq!(
            error(
                "[profiles.a]\ntoken = \"t\"\n[profiles.b]\ntoken = \"t\"\n",
                None,
                &[]
            ),
            "PATH has no default_profile; choose one with --profile NAME (profiles: a, b)"
        );
        let unknown = error("[profiles.a]\napi_pat = \"x\"\n", None, &[]);
        assert!(
            unknown.starts_with("PATH:2: unknown field `api_pat`"),
            "{unknown}"
        );
        assert!(error("default_profile = ", None, &[]).starts_with("PATH:1: "));
    }

    #[test]
    fn missing_file_and_environment_problems() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.toml");
        let message = resolve_with_env(&select(&missing, Some("x")), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            format!(
                "config file {} not found (see config.example.toml)",
                missing.display()
            )
        );
        let message = resolve_with_env(&select(&missing, None), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("no connection configured: "),
            "{message}"
        );
        let no_config = Selection::default();
        let env_error = |pairs: &[(&str, &str)]| {
            resolve_with_env(&no_config, &env_of(pairs))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            env_error(&[("TC_API_PATH", "https://x/api"), ("TC_API_ACCESS_ID", "i")]),
            "TC_API_ACCESS_ID is set but TC_API_SECRET_KEY is not"
        );
        assert_eq!(
            env_error(&[("TC_API_PATH", "https://x/api")]),
            "TC_API_PATH is set but no credentials: set TC_API_ACCESS_ID and TC_API_SECRET_KEY, or TC_TOKEN"
        );
        assert_eq!(
            env_error(&[("TC_API_PATH", "https://x/v3"), ("TC_TOKEN", "t")]),
            "environment: TC_API_PATH 'https://x/v3' must end in /api (e.g. https://tc.example.com/api)"
        );
        assert_eq!(
            env_error(&[("TC_TOKEN", "t")]),
            "TC_API_PATH is not set, but other TC_ connection variables are"
        );
    }

    #[test]
    fn the_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let file = ConfigFile::load(&path)
            .unwrap()
            .expect("config.example.toml exists");
        assert!(file.profiles.len() >= 2);
        let default = file.default_profile.clone().unwrap();
        assert!(file.profiles.contains_key(&default));
    }
}

//! Connection profiles: a TOML config file, or ThreatConnect SDK
//! environment variables.
//!
//! Precedence: `--profile NAME` > `TC_API_PATH` and credentials in the
//! environment > `default_profile` of the config file. `config.example.toml`
//! at the repository root documents every key.

use crate::api::client::{parse_api_path, DEFAULT_CONCURRENCY};
use crate::api::net::TokenRefresh;
use crate::api::{CaFile, ClientOptions, Connection, Credentials, Limits, ProxySetting, Secret};
use crate::domain::audit_policy::AuditPolicy;
use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const CONFIG_FILE_NAME: &str = "config.toml";
pub const ENV_API_PATH: &str = "TC_API_PATH";
pub const ENV_ACCESS_ID: &str = "TC_API_ACCESS_ID";
pub const ENV_SECRET_KEY: &str = "TC_API_SECRET_KEY";
pub const ENV_TOKEN: &str = "TC_TOKEN";
/// tcex's `tc_verify`: `false`/`0` turns TLS certificate checks off.
pub const ENV_VERIFY: &str = "TC_VERIFY";
pub const ENV_PROXY_HOST: &str = "TC_PROXY_HOST";
pub const ENV_PROXY_PORT: &str = "TC_PROXY_PORT";
pub const ENV_PROXY_USERNAME: &str = "TC_PROXY_USERNAME";
pub const ENV_PROXY_PASSWORD: &str = "TC_PROXY_PASSWORD";
/// tcex's `tc_proxy_tc`: when set to false, the TC_PROXY_* proxy is not for
/// ThreatConnect's API.
pub const ENV_PROXY_TC: &str = "TC_PROXY_TC";
/// The standard extra CA bundle (OpenSSL, curl, Python).
pub const ENV_SSL_CERT_FILE: &str = "SSL_CERT_FILE";

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
    /// The console's own settings (`[console]`), written by the console.
    #[serde(default)]
    pub console: ConsoleConfig,
    /// `[keys]`: the console's keys, rebound. Kept as written: the console
    /// checks it against its commands and refuses to start on a problem;
    /// the other commands do not look at it.
    #[serde(default)]
    pub keys: toml::Table,
    /// `[policy]`: what the audit's `--check` holds the instance to.
    #[serde(default)]
    pub policy: Option<AuditPolicy>,
}

/// `[console]`: the table's columns and the saved views.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The columns shown, in order (by `:sort` name); absent: the default.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// `[console.views.NAME]`, kept by `:view save NAME`.
    #[serde(default)]
    pub views: BTreeMap<String, SavedView>,
}

/// A filter, a sort and columns kept under a name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedView {
    #[serde(default)]
    pub filter: String,
    /// A column name as `:sort` takes it, optionally followed by `asc` or `desc`.
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub columns: Option<Vec<String>>,
}

impl ConsoleConfig {
    /// Reads `[console]` of the file at `path`; a missing file is an empty
    /// configuration.
    pub fn load(path: &Path) -> anyhow::Result<ConsoleConfig> {
        Ok(ConfigFile::load(path)?
            .map(|f| f.console)
            .unwrap_or_default())
    }

    /// Writes `[console]` into the file at `path`, keeping every other key
    /// and comment: written to a temporary file beside it with the old
    /// file's permissions (0600 for a new one: the file may hold secrets),
    /// then renamed over it, so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let old = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => bail!("cannot read {}: {e}", path.display()),
        };
        let mut doc: toml_edit::DocumentMut = old.parse().map_err(|e| {
            anyhow!(
                "{} is not valid TOML, so it is left alone: {e}",
                path.display()
            )
        })?;
        let console = doc
            .entry("console")
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
        let Some(console) = console.as_table_mut() else {
            bail!("{}: `console` is not a table", path.display());
        };
        let strings = |list: &[String]| {
            let mut array = toml_edit::Array::new();
            for s in list {
                array.push(s.as_str());
            }
            toml_edit::value(array)
        };
        match &self.columns {
            Some(columns) => console["columns"] = strings(columns),
            None => {
                console.remove("columns");
            }
        }
        let mut views = toml_edit::Table::new();
        views.set_implicit(true);
        for (name, view) in &self.views {
            let mut table = toml_edit::Table::new();
            table["filter"] = toml_edit::value(view.filter.as_str());
            if let Some(sort) = &view.sort {
                table["sort"] = toml_edit::value(sort.as_str());
            }
            if let Some(columns) = &view.columns {
                table["columns"] = strings(columns);
            }
            views.insert(name, toml_edit::Item::Table(table));
        }
        if self.views.is_empty() {
            console.remove("views");
        } else {
            console.insert("views", toml_edit::Item::Table(views));
        }
        let text = doc.to_string();
        // What is written must read back (and the profiles with it).
        ConfigFile::parse(&text, path)?;
        write_replacing(path, text.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
fn write_replacing(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| CONFIG_FILE_NAME.to_string());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0o600);
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        bail!("cannot write {}: {e}", path.display());
    }
    Ok(())
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
    /// A PEM file of CA certificates to trust besides the bundled and OS roots.
    pub ca_file: Option<PathBuf>,
    /// `false` turns TLS certificate checks off: labs only, warned on every start.
    pub verify_tls: Option<bool>,
    /// `http://[user:password@]host:port`; may hold a password, so not `pub`.
    proxy: Option<String>,
    /// `false`: writes do not ask for `createActivityLog=true`.
    pub activity_log: Option<bool>,
    /// Seconds to establish a connection.
    pub connect_timeout_s: Option<u64>,
    /// Seconds from sending a request to the start of its answer.
    pub first_byte_timeout_s: Option<u64>,
    /// Seconds without data in the middle of an answer.
    pub idle_timeout_s: Option<u64>,
    /// Seconds for one request as a whole, retries included.
    pub request_timeout_s: Option<u64>,
    /// The largest answer read, in megabytes.
    pub max_answer_mb: Option<u64>,
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
            .field("ca_file", &self.ca_file)
            .field("verify_tls", &self.verify_tls)
            .field(
                "proxy",
                &self.proxy.as_deref().map(crate::api::net::redact_userinfo),
            )
            .field("activity_log", &self.activity_log)
            .field("connect_timeout_s", &self.connect_timeout_s)
            .field("first_byte_timeout_s", &self.first_byte_timeout_s)
            .field("idle_timeout_s", &self.idle_timeout_s)
            .field("request_timeout_s", &self.request_timeout_s)
            .field("max_answer_mb", &self.max_answer_mb)
            .finish()
    }
}

impl ConfigFile {
    pub fn parse(text: &str, origin: &Path) -> anyhow::Result<Self> {
        let file: ConfigFile = Self::parse_toml(text, origin)?;
        if let Some(policy) = &file.policy {
            let problems = policy.problems();
            if !problems.is_empty() {
                bail!("{}: {}", origin.display(), problems.join("; "));
            }
        }
        Ok(file)
    }

    fn parse_toml(text: &str, origin: &Path) -> anyhow::Result<Self> {
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

/// The `[policy]` of the config file at `path`: `Ok(None)` when the file
/// or the table is absent; a policy with a problem is refused with each
/// problem named.
pub fn load_policy(path: &Path) -> anyhow::Result<Option<AuditPolicy>> {
    Ok(ConfigFile::load(path)?.and_then(|f| f.policy))
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
    /// CA files, TLS checks, proxy and activity log, from the profile and
    /// the environment.
    pub options: ClientOptions,
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
        // Its error output is not shown: a failing command may print the
        // secret (or a vault's session token) there.
        bail!(
            "profile '{profile}': {key} failed ({}); its messages are not shown, since they may hold the secret: run the profile's {key} by hand in a shell to see why",
            output.status
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

/// A boolean the way tcex and shells write it.
fn env_bool(key: &str, value: &str) -> anyhow::Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => bail!("{key}={other} is not a boolean (true/false, 1/0)"),
    }
}

/// The proxy from tcex's `TC_PROXY_*` variables, if `TC_PROXY_HOST` is set
/// (and `TC_PROXY_TC` does not say the proxy is not for ThreatConnect).
fn tc_proxy(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<ProxySetting>> {
    let Some(host) = env(ENV_PROXY_HOST) else {
        return Ok(None);
    };
    if let Some(for_tc) = env(ENV_PROXY_TC) {
        if !env_bool(ENV_PROXY_TC, &for_tc)? {
            return Ok(None);
        }
    }
    let host = host.trim();
    let port = match env(ENV_PROXY_PORT) {
        Some(port) => {
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| anyhow!("{ENV_PROXY_PORT}={} is not a port number", port.trim()))?;
            Some(port)
        }
        None => None,
    };
    // tcex takes a bare host name; accept a URL too.
    let text = match (host.contains("://"), port) {
        (true, Some(port)) => format!("{}:{port}", host.trim_end_matches('/')),
        (true, None) => host.to_string(),
        (false, Some(port)) => format!("http://{host}:{port}"),
        (false, None) => format!("http://{host}"),
    };
    let mut proxy = ProxySetting::parse(&text, ENV_PROXY_HOST).map_err(|e| anyhow!(e))?;
    if let Some(user) = env(ENV_PROXY_USERNAME) {
        proxy.username = Some(user);
        proxy.password = env(ENV_PROXY_PASSWORD).map(Secret::new);
    }
    Ok(Some(proxy))
}

/// The transport settings: the profile's keys (none for an environment
/// profile) with the environment's `SSL_CERT_FILE`, `TC_VERIFY`,
/// `TC_PROXY_*` and `NO_PROXY`. Proxy precedence: the profile's `proxy`,
/// then `TC_PROXY_*`, then reqwest's own `HTTPS_PROXY`.
fn client_options(
    source: &str,
    profile: Option<&ProfileConfig>,
    base_dir: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ClientOptions> {
    let get = |key: &str| env(key).filter(|v| !v.trim().is_empty());
    let mut options = ClientOptions::default();
    if let Some(path) = profile.and_then(|p| p.ca_file.as_ref()) {
        // Relative to the config file, so a profile works from any directory.
        let path = match base_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.clone(),
        };
        options.ca_files.push(CaFile {
            path,
            setting: format!("{source}: ca_file"),
        });
    }
    // Loaded here as well as by the OS-store loader, whose handling of it
    // varies by version and platform.
    if let Some(path) = get(ENV_SSL_CERT_FILE) {
        options.ca_files.push(CaFile {
            path: PathBuf::from(path),
            setting: ENV_SSL_CERT_FILE.to_string(),
        });
    }
    // Either switch turns checks off; the warning names the one that did.
    if profile.and_then(|p| p.verify_tls) == Some(false) {
        options.insecure = Some(format!("{source}: verify_tls = false"));
    } else if let Some(value) = get(ENV_VERIFY) {
        if !env_bool(ENV_VERIFY, &value)? {
            options.insecure = Some(format!("{ENV_VERIFY}={}", value.trim()));
        }
    }
    options.proxy = match profile.and_then(|p| p.proxy.as_deref()) {
        Some(text) => {
            Some(ProxySetting::parse(text, &format!("{source}: proxy")).map_err(|e| anyhow!(e))?)
        }
        None => tc_proxy(&get)?,
    };
    if let Some(proxy) = options.proxy.as_mut() {
        proxy.no_proxy = get("NO_PROXY").or_else(|| get("no_proxy"));
    }
    options.activity_log = profile.and_then(|p| p.activity_log).unwrap_or(true);
    if let Some(profile) = profile {
        options.limits = limits(source, profile)?;
    }
    Ok(options)
}

/// The profile's timeouts and answer size, defaults for keys it leaves out.
fn limits(source: &str, profile: &ProfileConfig) -> anyhow::Result<Limits> {
    let mut limits = Limits::default();
    // A day at most: a larger value is a typo, not a wish to wait.
    let secs = |key: &str, value: Option<u64>, default: Duration| match value {
        None => Ok(default),
        Some(s) if (1..=86_400).contains(&s) => Ok(Duration::from_secs(s)),
        Some(s) => bail!("{source}: {key} = {s} must be between 1 and 86400 (seconds)"),
    };
    limits.connect = secs(
        "connect_timeout_s",
        profile.connect_timeout_s,
        limits.connect,
    )?;
    limits.first_byte = secs(
        "first_byte_timeout_s",
        profile.first_byte_timeout_s,
        limits.first_byte,
    )?;
    limits.idle = secs("idle_timeout_s", profile.idle_timeout_s, limits.idle)?;
    limits.request = secs(
        "request_timeout_s",
        profile.request_timeout_s,
        limits.request,
    )?;
    match profile.max_answer_mb {
        None => {}
        Some(mb) if (1..=65_536).contains(&mb) => limits.max_answer_bytes = mb * 1024 * 1024,
        Some(mb) => bail!("{source}: max_answer_mb = {mb} must be between 1 and 65536"),
    }
    Ok(limits)
}

/// A warning when `path` holds a secret and others may read it.
#[cfg(unix)]
fn exposed_secret_warning(path: &Path, file: &ConfigFile) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let what = file.profiles.values().find_map(|p| {
        if p.secret_key.is_some() {
            Some("secret_key")
        } else if p.token.is_some() {
            Some("token")
        } else {
            None
        }
    })?;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    if mode & 0o044 == 0 {
        return None;
    }
    let shown = crate::domain::text::sanitize(&path.display().to_string()).into_owned();
    Some(format!(
        "{shown} holds a {what} and other users can read it (mode {mode:o}): run chmod 600 {shown}"
    ))
}

#[cfg(not(unix))]
fn exposed_secret_warning(_path: &Path, _file: &ConfigFile) -> Option<String> {
    None
}

/// `profile`, with the warning about its file's permissions if any.
fn with_file_warning(mut profile: Profile, path: &Path, file: &ConfigFile) -> Profile {
    if let Some(warning) = exposed_secret_warning(path, file) {
        profile.options.notices.push(warning);
    }
    profile
}

impl ProfileConfig {
    /// Checks the profile and runs its secret commands, with the process
    /// environment and relative paths taken from the working directory.
    pub fn resolve(&self, name: &str, read_only: bool) -> anyhow::Result<Profile> {
        self.resolve_with(name, read_only, None, &|key| std::env::var(key).ok())
    }

    /// As `resolve`; `base_dir` is the config file's directory (for a
    /// relative `ca_file`) and `env` stands for the environment.
    pub fn resolve_with(
        &self,
        name: &str,
        read_only: bool,
        base_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Profile> {
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
        let mut options = client_options(&source, Some(self), base_dir, env)?;
        if let (Credentials::Token(_), Some(command)) = (&credentials, &self.token_command) {
            // Run again on a 401: short-lived tokens expire mid-session.
            let (profile, command) = (name.to_string(), command.clone());
            options.token_refresh = Some(TokenRefresh::new(move || {
                run_secret_command(&profile, "token_command", &command).map_err(|e| e.to_string())
            }));
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
            options,
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
    let options = client_options("environment", None, None, env)?;
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
        options,
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
        let resolved = profile.resolve_with(name, selection.read_only, path.parent(), env)?;
        return Ok(with_file_warning(resolved, &path, &file));
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
    let resolved = profile.resolve_with(&name, selection.read_only, path.parent(), env)?;
    Ok(with_file_warning(resolved, &path, &file))
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
        // As a config holding secrets should be (else a warning is added).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
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
            error("[profiles.a]\napi_path = \"https://x.example.com/api/v3\"\ntoken = \"t\"\n", None, &[]),
            "profile 'a': api_path 'https://x.example.com/api/v3' must be the base URL, ending in /api (e.g. https://tc.example.com/api)"
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
        // Its error output may hold the secret: not shown.
        let failed = error(
            "[profiles.a]\napi_path = \"https://x/api\"\ntoken_command = \"echo oops >&2; exit 3\"\n",
            None,
            &[],
        );
        assert!(
            failed.starts_with("profile 'a': token_command failed (exit status: 3); ")
                && failed.contains("by hand")
                && !failed.contains("oops"),
            "{failed}"
        );
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
            "environment: TC_API_PATH 'https://x/v3' must be the base URL, ending in /api (e.g. https://tc.example.com/api)"
        );
        assert_eq!(
            env_error(&[("TC_TOKEN", "t")]),
            "TC_API_PATH is not set, but other TC_ connection variables are"
        );
    }

    const NETWORK: &str = r#"
[profiles.onprem]
api_path = "https://tc.corp.example"
token = "t"
ca_file = "certs/corp-ca.pem"
proxy = "http://alice:pa%24%24word@proxy.corp:3128"
activity_log = false

[profiles.lab]
api_path = "https://tc.lab/api"
token = "t"
verify_tls = false

[profiles.plain]
api_path = "https://tc.example.com/api"
token = "t"
"#;

    fn resolve_net(profile: &str, env: &[(&str, &str)]) -> anyhow::Result<(Profile, PathBuf)> {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, NETWORK);
        let resolved = resolve_with_env(&select(&path, Some(profile)), &env_of(env));
        resolved.map(|p| (p, dir.path().to_path_buf()))
    }

    #[test]
    fn network_keys_of_a_profile() {
        let (onprem, dir) = resolve_net("onprem", &[]).unwrap();
        let options = &onprem.options;
        // a relative ca_file is found beside the config file
        assert_eq!(
            options.ca_files,
            [CaFile {
                path: dir.join("certs/corp-ca.pem"),
                setting: "profile 'onprem': ca_file".into()
            }]
        );
        assert_eq!(options.insecure, None);
        assert!(!options.activity_log);
        let proxy = options.proxy.as_ref().unwrap();
        assert_eq!(proxy.url.as_str(), "http://proxy.corp:3128/");
        assert_eq!(proxy.username.as_deref(), Some("alice"));
        assert_eq!(
            proxy.password.as_ref().map(Secret::expose),
            Some("pa$$word")
        );
        assert_eq!(proxy.setting, "profile 'onprem': proxy");
        // the proxy password never shows
        let file = ConfigFile::parse(NETWORK, Path::new("c.toml")).unwrap();
        let shown = format!("{file:?} {onprem:?}");
        assert!(
            !shown.contains("pa%24%24word") && !shown.contains("pa$$word"),
            "{shown}"
        );

        let (lab, _) = resolve_net("lab", &[]).unwrap();
        assert_eq!(
            lab.options.insecure.as_deref(),
            Some("profile 'lab': verify_tls = false")
        );
        assert!(lab.options.activity_log, "on unless the profile says false");
        let (plain, _) = resolve_net("plain", &[]).unwrap();
        assert_eq!(plain.options, ClientOptions::default());
    }

    #[test]
    fn network_settings_from_the_environment() {
        let tc_proxy = [
            ("TC_PROXY_HOST", "tcproxy.corp"),
            ("TC_PROXY_PORT", "8080"),
            ("TC_PROXY_USERNAME", "bob"),
            ("TC_PROXY_PASSWORD", "hunter2"),
            ("NO_PROXY", "localhost,.internal"),
        ];
        // the profile's proxy wins over TC_PROXY_*
        let (onprem, _) = resolve_net("onprem", &tc_proxy).unwrap();
        let proxy = onprem.options.proxy.unwrap();
        assert_eq!(proxy.url.host_str(), Some("proxy.corp"));
        assert_eq!(proxy.no_proxy.as_deref(), Some("localhost,.internal"));
        // TC_PROXY_* where the profile has none
        let (plain, _) = resolve_net("plain", &tc_proxy).unwrap();
        let proxy = plain.options.proxy.unwrap();
        assert_eq!(proxy.display(), "http://bob:***@tcproxy.corp:8080");
        assert_eq!(proxy.password.as_ref().map(Secret::expose), Some("hunter2"));
        assert_eq!(proxy.setting, "TC_PROXY_HOST");
        // tcex's TC_PROXY_TC=false keeps the proxy away from ThreatConnect
        let mut not_for_tc = tc_proxy.to_vec();
        not_for_tc.push(("TC_PROXY_TC", "false"));
        assert_eq!(
            resolve_net("plain", &not_for_tc).unwrap().0.options.proxy,
            None
        );
        // SSL_CERT_FILE adds a CA after the profile's; TC_VERIFY=0 turns checks off
        let env = [("SSL_CERT_FILE", "/etc/corp.pem"), ("TC_VERIFY", "0")];
        let (onprem, _) = resolve_net("onprem", &env).unwrap();
        let settings: Vec<&str> = onprem
            .options
            .ca_files
            .iter()
            .map(|c| c.setting.as_str())
            .collect();
        assert_eq!(settings, ["profile 'onprem': ca_file", "SSL_CERT_FILE"]);
        assert_eq!(onprem.options.insecure.as_deref(), Some("TC_VERIFY=0"));
        let (plain, _) = resolve_net("plain", &[("TC_VERIFY", "true")]).unwrap();
        assert_eq!(plain.options.insecure, None);
        // an environment profile takes them too
        let selection = Selection::default();
        let from_env = resolve_with_env(
            &selection,
            &env_of(&[
                ("TC_API_PATH", "https://tc.example.com"),
                ("TC_TOKEN", "t"),
                ("TC_VERIFY", "false"),
                ("TC_PROXY_HOST", "http://p.corp"),
            ]),
        )
        .unwrap();
        assert_eq!(
            from_env.options.insecure.as_deref(),
            Some("TC_VERIFY=false")
        );
        assert_eq!(
            from_env.options.proxy.map(|p| p.display()),
            Some("http://p.corp".to_string())
        );
    }

    #[test]
    fn bad_network_settings_are_one_line_without_secrets() {
        let bad = |env: &[(&str, &str)]| {
            let message = resolve_net("plain", env).unwrap_err().to_string();
            assert!(!message.contains('\n'), "{message}");
            message
        };
        assert_eq!(
            bad(&[("TC_VERIFY", "maybe")]),
            "TC_VERIFY=maybe is not a boolean (true/false, 1/0)"
        );
        assert_eq!(
            bad(&[("TC_PROXY_HOST", "p"), ("TC_PROXY_PORT", "http")]),
            "TC_PROXY_PORT=http is not a port number"
        );
        let message = error(
            "[profiles.a]\napi_path = \"https://x/api\"\ntoken = \"t\"\nproxy = \"socks9://u:topsecret@p:1\"\n",
            None,
            &[],
        );
        assert!(
            message.starts_with("profile 'a': proxy 'socks9://u:***@p:1' must start with http://"),
            "{message}"
        );
        assert!(!message.contains("topsecret"));
    }

    #[test]
    fn console_settings_are_written_keeping_every_other_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "# my comment\ndefault_profile = \"a\"\n\n[profiles.a]\napi_path = \"https://tc.example/api\"\naccess_id = \"1\"\nsecret_key = \"s\"\n",
        );
        let mut console = ConsoleConfig {
            columns: Some(vec!["account".into(), "status".into()]),
            ..Default::default()
        };
        console.views.insert(
            "stale".into(),
            SavedView {
                filter: "login>90d".into(),
                sort: Some("login desc".into()),
                columns: Some(vec!["account".into()]),
            },
        );
        console.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my comment"), "{text}");
        let file = ConfigFile::load(&path).unwrap().unwrap();
        assert_eq!(file.console, console);
        assert_eq!(file.default_profile.as_deref(), Some("a"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Saving again replaces, and a new file is created when missing.
        console.views.clear();
        console.save(&path).unwrap();
        assert_eq!(ConsoleConfig::load(&path).unwrap(), console);
        let fresh = dir.path().join("sub").join("new.toml");
        console.save(&fresh).unwrap();
        assert_eq!(ConsoleConfig::load(&fresh).unwrap(), console);
        // A broken file is left alone.
        std::fs::write(&path, "not = [valid").unwrap();
        assert!(console.save(&path).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not = [valid");
    }

    #[test]
    fn policy_table_parses_and_each_problem_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = write(
            &dir,
            r#"
[policy]
privileged_require_mfa = true
max_privileged_per_org = 3
api_must_be_used = true
[policy.stale_days]
user = 90
api = 30
[[policy.exempt]]
account = "breakglass@example.com"
reason = "break-glass account, sealed envelope"
"#,
        );
        let policy = load_policy(&good).unwrap().expect("a policy");
        assert_eq!(policy.stale_days.user, Some(90));
        assert_eq!(policy.stale_days.api, Some(30));
        assert_eq!(policy.stale_days.taxii, None);
        assert!(policy.privileged_require_mfa && policy.api_must_be_used);
        assert_eq!(policy.max_privileged_per_org, Some(3));
        assert_eq!(
            policy.exempt[0].reason,
            "break-glass account, sealed envelope"
        );
        // No [policy]: none.
        let none = write(&dir, "[console]\n");
        assert_eq!(load_policy(&none).unwrap(), None);
        // An unknown key: the file and its line.
        let typo = write(&dir, "[policy]\nstale_dayz = 3\n");
        let err = load_policy(&typo).unwrap_err().to_string();
        assert!(err.contains(":2:") && err.contains("stale_dayz"), "{err}");
        // A wrong type.
        let wrong = write(&dir, "[policy.stale_days]\nuser = \"ninety\"\n");
        let err = load_policy(&wrong).unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
        // A table written as a value: what is wanted, not a Rust type.
        let flat = write(&dir, "[policy]\nstale_days = 5\n");
        let err = load_policy(&flat).unwrap_err().to_string();
        assert!(
            err.contains("a table of days per account type") && !err.contains("StaleDays"),
            "{err}"
        );
        let flat = write(&dir, "[policy]\nexempt = [\"svc\"]\n");
        let err = load_policy(&flat).unwrap_err().to_string();
        assert!(
            err.contains("account = \"NAME\" and reason") && !err.contains("Exemption"),
            "{err}"
        );
        // An exemption without a reason, a threshold out of range: both named.
        let bad = write(
            &dir,
            "[policy.stale_days]\nuser = 0\n[[policy.exempt]]\naccount = \"svc\"\nreason = \"\"\n",
        );
        let err = load_policy(&bad).unwrap_err().to_string();
        assert!(
            err.contains("policy.stale_days.user = 0")
                && err.contains("policy.exempt #1 (svc): a reason is required"),
            "{err}"
        );
        // A reason-less exemption is a missing key, named with its line.
        let missing = write(&dir, "[[policy.exempt]]\naccount = \"svc\"\n");
        let err = load_policy(&missing).unwrap_err().to_string();
        assert!(err.contains("reason"), "{err}");
    }

    #[test]
    fn the_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config.example.toml");
        let file = ConfigFile::load(&path)
            .unwrap()
            .expect("config.example.toml exists");
        assert!(file.profiles.len() >= 2);
        let default = file.default_profile.clone().unwrap();
        assert!(file.profiles.contains_key(&default));
    }
}

//! Registered clients: from `--client ID:SECRET[:REDIRECT,...]` flags or a
//! small TOML/JSON file (`--config FILE`).
//!
//! File format (TOML; the same keys work as JSON):
//! ```toml
//! [[clients]]
//! id = "my-app"
//! secret = "s3cret+/="          # omit for a public client (PKCE, no secret)
//! redirect_uris = ["http://127.0.0.1:8000/callback"]
//! ```

use serde::{Deserialize, Serialize};
use std::path::Path;

use super::MockError;

/// One registered client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// The client id.
    pub id: String,
    /// The client secret; `None` for a public client.
    #[serde(default)]
    pub secret: Option<String>,
    /// Registered redirect URIs; the first is the default when an authorize
    /// request omits `redirect_uri`.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

impl Client {
    /// A confidential client.
    pub fn new(id: &str, secret: &str, redirect_uris: &[&str]) -> Client {
        Client {
            id: id.to_owned(),
            secret: Some(secret.to_owned()),
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Parse the `--client` flag form: `ID:SECRET[:REDIRECT,REDIRECT...]`.
    /// `ID` alone (or `ID:` with an empty secret) registers a public client.
    /// The secret cannot contain `:` in this form; use `--config` for that.
    pub fn parse_flag(s: &str) -> Result<Client, MockError> {
        let bad = |why: &str| MockError::Config(format!("--client {s:?}: {why}"));
        let (id, rest) = match s.split_once(':') {
            Some((id, rest)) => (id, Some(rest)),
            None => (s, None),
        };
        if id.trim().is_empty() {
            return Err(bad(
                "the client id is empty (expected ID:SECRET[:REDIRECT,...])",
            ));
        }
        let (secret, redirects) = match rest {
            None => (None, Vec::new()),
            Some(rest) => {
                let (secret, redirects) = match rest.split_once(':') {
                    Some((sec, r)) => (sec, r),
                    None => (rest, ""),
                };
                let redirects: Vec<String> = redirects
                    .split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect();
                for r in &redirects {
                    if url::Url::parse(r).is_err() {
                        return Err(bad(&format!(
                            "redirect URI {r:?} is not an absolute URI (note: a secret cannot contain ':' here; use --config)"
                        )));
                    }
                }
                ((!secret.is_empty()).then(|| secret.to_owned()), redirects)
            }
        };
        Ok(Client {
            id: id.to_owned(),
            secret,
            redirect_uris: redirects,
        })
    }
}

/// The `--config` file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Registered clients.
    #[serde(default)]
    pub clients: Vec<Client>,
}

impl ConfigFile {
    /// Read a TOML file, or JSON when the name ends in `.json` or the text starts with `{`.
    pub fn load(path: &Path) -> Result<ConfigFile, MockError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MockError::Config(format!("reading {}: {e}", path.display())))?;
        ConfigFile::parse(&text, path.extension().is_some_and(|e| e == "json"))
            .map_err(|e| MockError::Config(format!("{}: {e}", path.display())))
    }

    /// Parse TOML (or JSON when `json` is set or the text is a JSON object).
    pub fn parse(text: &str, json: bool) -> Result<ConfigFile, String> {
        let cfg: ConfigFile = if json || text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| e.to_string())?
        } else {
            toml::from_str(text).map_err(|e| e.to_string())?
        };
        for c in &cfg.clients {
            if c.id.trim().is_empty() {
                return Err("a client has an empty id".into());
            }
            for r in &c.redirect_uris {
                url::Url::parse(r)
                    .map_err(|e| format!("client {:?}: redirect URI {r:?}: {e}", c.id))?;
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_form_parses_id_secret_and_redirects() {
        let c =
            Client::parse_flag("app:s+/=:http://127.0.0.1:8000/cb,https://a.example/cb").unwrap();
        assert_eq!(c.id, "app");
        assert_eq!(c.secret.as_deref(), Some("s+/="));
        assert_eq!(
            c.redirect_uris,
            vec!["http://127.0.0.1:8000/cb", "https://a.example/cb"]
        );
        let public = Client::parse_flag("spa").unwrap();
        assert_eq!(public.secret, None);
        assert!(Client::parse_flag(":x").is_err());
        assert!(Client::parse_flag("a:b:not a uri").is_err());
    }

    #[test]
    fn files_parse_as_toml_or_json_and_bad_ones_say_why() {
        let t = ConfigFile::parse(
            "[[clients]]\nid = \"a\"\nsecret = \"b\"\nredirect_uris = [\"http://x/cb\"]\n",
            false,
        )
        .unwrap();
        assert_eq!(t.clients[0].redirect_uris, vec!["http://x/cb"]);
        let j = ConfigFile::parse(r#"{"clients":[{"id":"a"}]}"#, false).unwrap();
        assert_eq!(j.clients[0].secret, None);
        let err = ConfigFile::parse(
            "[[clients]]\nid = \"a\"\nredirect_uris = [\"nope\"]\n",
            false,
        )
        .unwrap_err();
        assert!(err.contains("nope"), "{err}");
        assert!(ConfigFile::parse("clients = 3", false).is_err());
    }
}

//! Reaching the capture for one tool call, as `flows list` / `flows show` do.

use super::ToolError;
use crate::access::{AccessError, Records};
use crate::api::{Client, ProxyState};
use crate::home::Home;
use crate::record::Record;
use crate::store::{Query, StoreError};

/// Open the records of `home` for one call: the store when no proxy holds
/// it, else the running proxy's API ([`Records::open`]). A data directory
/// with neither a store nor a `proxy.json` is [`ToolError::NoCapture`]; the
/// store is never created here (read-only).
pub fn open(home: &Home) -> Result<Records, ToolError> {
    if !home.store_dir().exists() {
        // Never create a store: without one, only a running proxy can answer.
        return match ProxyState::read(home) {
            Ok(Some(state)) => Ok(Records::Remote(Client::new(state, home))),
            Ok(None) => Err(ToolError::NoCapture {
                home: home.root().display().to_string(),
            }),
            Err(e) => Err(ToolError::Access(e.to_string())),
        };
    }
    Records::open(home).map_err(access)
}

/// An access error as a tool error (an unknown id is its own kind).
pub fn access(e: AccessError) -> ToolError {
    match e {
        AccessError::Store(StoreError::NotFound(id)) => ToolError::UnknownId(format!(
            "no exchange or login with id {id:?}; call list_logins to see the ids"
        )),
        AccessError::Store(e @ StoreError::Ambiguous(..)) => ToolError::UnknownId(e.to_string()),
        AccessError::Api(crate::api::ApiError::Remote {
            status: 404,
            message,
        }) => ToolError::UnknownId(format!("{message}; call list_logins to see the ids")),
        AccessError::Api(crate::api::ApiError::Remote {
            status: 409,
            message,
        }) => ToolError::UnknownId(message),
        other => ToolError::Access(other.to_string()),
    }
}

/// Is `id` shaped like a record id (1 to 16 hex digits)? Anything else
/// is refused before it reaches the store or the API.
pub fn check_id(id: &str) -> Result<String, ToolError> {
    let id = id.trim().to_ascii_lowercase();
    if id.is_empty() || id.len() > 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ToolError::BadArgument(format!(
            "{id:?} is not an id: ids are 16 hex digits (a unique prefix or suffix works), as list_logins shows them"
        )));
    }
    Ok(id)
}

/// The login (stored flow) an id names: a login id or the id of any exchange in it.
pub fn login_of(records: &Records, id: &str) -> Result<String, ToolError> {
    let id = check_id(id)?;
    let rec = records.get(&id).map_err(access)?;
    Ok(rec.flow.unwrap_or(rec.id))
}

/// Most records of a login analysed together: the first [`HEAD`] and the
/// newest [`RECENT`] (a login that grew past that, such as a script
/// refreshing with one token for days, is shown by its two ends).
pub const HEAD: usize = crate::rolling::HEAD;
/// See [`HEAD`].
pub const RECENT: usize = crate::rolling::RECENT;

/// A login's records, raw, oldest first.
#[derive(Debug, Clone)]
pub struct LoginWindow {
    /// The login id (its stored flow).
    pub login: String,
    /// Its records (all of them when `complete`, else its two ends).
    pub records: Vec<Record>,
    /// Whether `records` is the whole login.
    pub complete: bool,
}

impl LoginWindow {
    /// Id of the login's newest record.
    pub fn newest_id(&self) -> Option<&str> {
        self.records.last().map(|r| r.id.as_str())
    }
}

/// Read a login's records: all of them when it holds at most
/// `HEAD + RECENT`, else the first `HEAD` and the newest `RECENT` (two
/// bounded index reads, whatever the size of the login).
pub fn login_window(records: &Records, login: &str) -> Result<LoginWindow, ToolError> {
    let in_flow = |extra: Query| Query {
        flow: Some(login.to_string()),
        ..extra
    };
    let mut first = records
        .query(&in_flow(Query {
            limit: Some(HEAD + RECENT + 1),
            ..Query::default()
        }))
        .map_err(access)?;
    if first.is_empty() {
        // A record that never joined a flow stands alone.
        if let Ok(r) = records.get(login) {
            if r.flow.is_none() || r.flow.as_deref() == Some(login) {
                first.push(r);
            }
        }
    }
    if first.len() <= HEAD + RECENT {
        return Ok(LoginWindow {
            login: login.to_string(),
            records: first,
            complete: true,
        });
    }
    first.truncate(HEAD);
    let mut recent = records
        .query(&in_flow(Query {
            newest_first: true,
            limit: Some(RECENT),
            ..Query::default()
        }))
        .map_err(access)?;
    recent.reverse();
    first.extend(recent);
    Ok(LoginWindow {
        login: login.to_string(),
        records: first,
        complete: false,
    })
}

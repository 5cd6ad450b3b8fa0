//! oauthscope: an intercepting HTTPS proxy that records OAuth 2.0 / OpenID
//! Connect exchanges and explains them.
//!
//! Module map (data flows top to bottom):
//! - [`proxy`]: hudsucker assembly; the only module that knows hudsucker.
//! - [`ca`]: the local CA and per-host leaf certificates.
//! - [`capture`]: pure; request/response parts and bounded bodies → [`record::Record`].
//! - [`store`]: the only module that knows sled.
//! - [`analyze`]: pure; records in, annotated records out.
//! - [`catalog`]: the error catalog as data.
//! - [`providers`]: one profile per provider (hosts, quirks, catalog codes).
//! - [`session`]: starts CA, store, proxy, recorder, API and web UI in order; stops them in order.
//! - [`web`]: the web UI (axum): live list, exchange and login pages.
//! - [`rolling`]: analysis of captures of any size in bounded windows.
//! - [`browser`]: finding installed browsers and starting one with a throw-away profile.
//! - [`truststore`]: Java trust stores (JKS) for `env`/`exec`.
//! - [`mcp`]: the MCP server (`oauthscope mcp`): tools over the capture for AI assistants.
//! - [`cli`]: clap definitions and one file per subcommand.

pub mod access;
pub mod analyze;
pub mod api;
pub mod browser;
pub mod ca;
pub mod capture;
pub mod catalog;
pub mod cli;
pub mod curl;
pub mod doctor;
pub mod har;
pub mod home;
pub mod mcp;
pub mod mock;
pub mod name_constraints;
pub mod probe;
pub mod providers;
pub mod proxy;
pub mod record;
pub mod redact;
pub mod replay;
pub mod report;
pub mod rolling;
pub mod session;
pub mod store;
pub mod truststore;
pub mod view;
pub mod web;

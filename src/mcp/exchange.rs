//! Tool over one exchange: `show_exchange`.

use super::capture;
use super::{Answer, Context, ToolError};
use crate::analyze::{jose, params};
use crate::record::Record;
use crate::redact::{jwt_parts, Redactor};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// Arguments of `show_exchange`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ShowExchangeArgs {
    /// The exchange id (16 hex digits; a unique prefix or suffix works).
    pub id: String,
    /// Redirect URIs registered with the provider, to check the exchange against.
    #[serde(default)]
    pub registered_redirect_uris: Option<Vec<String>>,
}

/// Where JWTs are looked for in a record, with the name they go by:
/// request parameters (query, form, JSON, multipart), a Bearer
/// `Authorization`, the response's JSON members and the redirect's
/// parameters.
fn jwt_candidates(r: &Record) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in params::request_params(r) {
        out.push((format!("request parameter {k}"), v));
    }
    for (k, v) in &r.request.headers.0 {
        if let Some(t) = v
            .trim()
            .strip_prefix("Bearer ")
            .or_else(|| v.trim().strip_prefix("bearer "))
        {
            out.push((format!("request header {k}"), t.trim().to_string()));
        }
    }
    if let Some(Value::Object(m)) = params::response_json(r) {
        for (k, v) in m {
            if let Value::String(s) = v {
                out.push((format!("response member {k}"), s));
            }
        }
    }
    for (k, v) in params::location_params(r) {
        out.push((format!("redirect parameter {k}"), v));
    }
    out.retain(|(_, v)| jwt_parts(v).is_some());
    out
}

/// The JWTs a raw record carries, decoded without verifying (header and
/// claims, RFC 7519 §7.2 steps 1–8 without the signature check): the token
/// itself is shown only masked (`header.claims.«redacted:…»`, as in the
/// redacted exchange), so its signature never leaves.
pub fn decoded_jwts(r: &Record, redactor: &mut Redactor) -> Vec<Value> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (place, token) in jwt_candidates(r) {
        if !seen.insert((place.clone(), token.clone())) {
            continue;
        }
        if let Ok(d) = jose::decode_unverified(&token) {
            out.push(json!({
                "where": place,
                "token": redactor.mask(&token),
                "header": d.header,
                "claims": d.claims,
                "signature": "not shown (never verified either: oauthscope has no keys)",
            }));
        }
    }
    out
}

/// `show_exchange`: the exchange analysed with the part of its login that
/// explains it (as `flows show` analyses it: [`crate::rolling::window_of`]),
/// redacted, with its JWTs decoded.
pub fn show_exchange(ctx: &Context, args: &ShowExchangeArgs) -> Result<Answer, ToolError> {
    let id = capture::check_id(&args.id)?;
    let records = capture::open(&ctx.home)?;
    let raw = records.get(&id).map_err(capture::access)?;
    let opts = ctx.opts_with(&args.registered_redirect_uris);
    let window = crate::rolling::window_of(&raw, true, true, |q| records.query(q))
        .map_err(capture::access)?;
    let analysed = crate::rolling::analyse_in_window(&raw, &window, &opts);
    let mut redactor = ctx.redactor();
    for r in &window {
        redactor.learn(r);
    }
    redactor.learn(&analysed);
    let sweeper = redactor.sweeper();
    let shown = redactor.redact_one(&analysed, &sweeper);
    let jwts = decoded_jwts(&raw, &mut redactor);

    let mut text = format!(
        "Exchange {} ({}): {} {} → {}",
        shown.id,
        shown.kind,
        shown.request.method,
        crate::view::host_path(&shown.request.url),
        shown
            .response
            .as_ref()
            .map(|x| x.status.to_string())
            .unwrap_or_else(|| format!(
                "no response ({})",
                shown.error.as_deref().unwrap_or("upstream failed")
            ))
    );
    if let Some(f) = &shown.flavour {
        match f.number {
            Some(n) => {
                let _ = write!(
                    text,
                    "\nFlavour {n}: {}",
                    crate::report::flavour_description(n)
                );
            }
            None => {
                let _ = write!(text, "\nClient authentication: {}", f.client_auth);
            }
        }
    }
    for a in shown.annotations.iter().filter(|a| a.is_listed()) {
        let _ = write!(text, "\n- {} ({}): {}", a.code, a.severity, a.title);
    }
    if !jwts.is_empty() {
        let _ = write!(
            text,
            "\n{} JWT{} decoded.",
            jwts.len(),
            if jwts.len() == 1 { "" } else { "s" }
        );
    }
    let mut data = serde_json::to_value(&shown).map_err(|e| ToolError::Internal(e.to_string()))?;
    if let Value::Object(m) = &mut data {
        m.insert("login".into(), json!(raw.flow));
        m.insert("decoded_jwts".into(), Value::Array(jwts));
        m.insert("redacted".into(), Value::Bool(true));
    }
    Ok(Answer {
        summary: text,
        data,
        redactor: Some(redactor),
    })
}

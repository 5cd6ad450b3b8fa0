//! The error catalog as data: standard OAuth / OIDC error codes and
//! provider-specific codes, each with its meaning, likely causes and fix.
//!
//! One data file per source ([`standard`] for the RFCs and OpenID Connect,
//! [`annotations`] for oauthscope's own annotation codes); each provider's
//! codes live in its profile (`crate::providers`, one file per provider).
//! A code may have several entries: the standard meaning and provider
//! variants, which may be further told apart by the `error_description`
//! text (Salesforce sends `invalid_grant` for five different problems).
//!
//! Lookups are case-insensitive and also match an entry's aliases
//! (`IP_RESTRICTED`, `access-denied`, `50011`, ...).

use serde::Serialize;

pub mod annotations;
pub mod standard;

/// Where an error is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// The authorization endpoint (a redirect to the client, or an error page).
    Authorize,
    /// The token endpoint (also PAR, device authorization, revocation).
    Token,
    /// A resource server / API (`WWW-Authenticate`).
    Resource,
    /// Several places.
    Any,
    /// Not a wire error: an oauthscope annotation code.
    Annotation,
}

impl Endpoint {
    /// A short human name.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Authorize => "authorization endpoint",
            Endpoint::Token => "token endpoint",
            Endpoint::Resource => "resource server",
            Endpoint::Any => "any endpoint",
            Endpoint::Annotation => "oauthscope annotation",
        }
    }
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The error code as it appears on the wire (`invalid_grant`, `AADSTS50011`).
    pub code: &'static str,
    /// Who defines it (`RFC 6749 §5.2`, `Microsoft Entra ID`, ...).
    pub source: &'static str,
    /// One-line meaning.
    pub title: &'static str,
    /// What usually causes it.
    pub causes: &'static str,
    /// What to do.
    pub fix: &'static str,
    /// The provider id (see [`provider_name`]) when this is a provider-specific
    /// meaning; `None` for standard codes.
    pub provider: Option<&'static str>,
    /// Other spellings that find this entry (`IP_RESTRICTED`, `access-denied`, `50011`).
    pub aliases: &'static [&'static str],
    /// Lower-case fragments of `error_description`; when non-empty, this entry
    /// applies only when the description contains one of them.
    pub matches: &'static [&'static str],
    /// Where the error is returned.
    pub endpoint: Endpoint,
    /// The specification section or documentation page to read.
    pub see: &'static str,
    /// When set, the entry explains the code only for token requests of
    /// these grants (an `invalid_grant` on a `jwt-bearer` grant is about the
    /// assertion, not a code); see [`resolve_for_grant`].
    pub grants: &'static [&'static str],
}

impl Entry {
    /// A standard entry; refine it with the builder methods below.
    pub const fn new(
        code: &'static str,
        source: &'static str,
        title: &'static str,
        causes: &'static str,
        fix: &'static str,
    ) -> Entry {
        Entry {
            code,
            source,
            title,
            causes,
            fix,
            provider: None,
            aliases: &[],
            matches: &[],
            endpoint: Endpoint::Any,
            see: "",
            grants: &[],
        }
    }

    /// Restrict the entry to token requests of these grants.
    pub const fn for_grants(mut self, g: &'static [&'static str]) -> Entry {
        self.grants = g;
        self
    }

    /// Mark the entry as specific to provider `p` (a [`crate::providers::Profile`] id).
    pub const fn prov(mut self, p: &'static str) -> Entry {
        self.provider = Some(p);
        self
    }

    /// Other spellings of the code.
    pub const fn alias(mut self, a: &'static [&'static str]) -> Entry {
        self.aliases = a;
        self
    }

    /// Lower-case `error_description` fragments that select this entry.
    pub const fn when(mut self, m: &'static [&'static str]) -> Entry {
        self.matches = m;
        self
    }

    /// Where the error is returned.
    pub const fn at(mut self, e: Endpoint) -> Entry {
        self.endpoint = e;
        self
    }

    /// The reference to read.
    pub const fn see(mut self, s: &'static str) -> Entry {
        self.see = s;
        self
    }

    /// True when `code` is this entry's code or one of its aliases (case-insensitive).
    pub fn answers_to(&self, code: &str) -> bool {
        self.code.eq_ignore_ascii_case(code)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(code))
    }

    /// True when `description` selects this entry (always true for entries
    /// without `matches`).
    pub fn matches_description(&self, description: Option<&str>) -> bool {
        if self.matches.is_empty() {
            return true;
        }
        let Some(d) = description else { return false };
        let d = d.to_ascii_lowercase();
        self.matches.iter().any(|m| d.contains(m))
    }

    /// The provider's display name, if the entry is provider-specific.
    pub fn provider_name(&self) -> Option<&'static str> {
        self.provider.map(provider_name)
    }
}

/// The display name of a provider id (the id itself when unknown); see
/// [`crate::providers`].
pub fn provider_name(id: &str) -> &str {
    crate::providers::name_of(id)
}

/// Every entry: standard codes first, then providers, then annotation codes.
pub fn all() -> impl Iterator<Item = &'static Entry> {
    standard::ENTRIES
        .iter()
        .chain(crate::providers::ALL.iter().flat_map(|p| p.catalog.iter()))
        .chain(annotations::ENTRIES.iter())
}

/// Normalise what a user typed: trim, strip an `error.` annotation prefix
/// (`error.invalid_grant` → `invalid_grant`).
pub fn normalize(code: &str) -> &str {
    let c = code.trim();
    match c.get(..6) {
        Some(p) if p.eq_ignore_ascii_case("error.") && c.len() > 6 => &c[6..],
        _ => c,
    }
}

/// Look up a code: the exact code first, then case-insensitively, then by
/// alias; standard entries win over provider variants.
pub fn lookup(code: &str) -> Option<&'static Entry> {
    if let Some(own) = all().find(|e| e.code == code.trim()) {
        // oauthscope's own `error.hidden_in_success` keeps its prefix.
        return Some(own);
    }
    let code = &with_aadsts(normalize(code));
    all()
        .find(|e| e.code == code)
        .or_else(|| all().find(|e| e.code.eq_ignore_ascii_case(code)))
        .or_else(|| all().find(|e| e.answers_to(code)))
}

/// A bare Entra error number (`50011`) that the catalog knows only as
/// `AADSTS50011` gets the prefix; anything else is returned as is.
fn with_aadsts(code: &str) -> String {
    if code.len() >= 4 && code.bytes().all(|b| b.is_ascii_digit()) {
        let pre = format!("AADSTS{code}");
        if !all().any(|e| e.answers_to(code)) && all().any(|e| e.answers_to(&pre)) {
            return pre;
        }
    }
    code.to_string()
}

/// Every entry answering to `code` (by code or alias, case-insensitive):
/// the standard meaning and all provider variants, in catalog order.
pub fn lookup_all(code: &str) -> Vec<&'static Entry> {
    let own: Vec<&'static Entry> = all().filter(|e| e.answers_to(code.trim())).collect();
    if !own.is_empty() {
        return own;
    }
    let code = with_aadsts(normalize(code));
    all().filter(|e| e.answers_to(&code)).collect()
}

/// The entry for `code` as `provider` means it: the provider's own entry
/// (the first one, ignoring description matches) when it has one, else the
/// standard entry, else any entry.
pub fn for_provider(code: &str, provider: &str) -> Option<&'static Entry> {
    resolve(code, Some(provider), None)
}

/// The best entry for an error seen on the wire: a provider variant whose
/// description fragment matches, then a provider variant without fragments,
/// then the standard entry (description-matched first), then any entry.
pub fn resolve(
    code: &str,
    provider: Option<&str>,
    description: Option<&str>,
) -> Option<&'static Entry> {
    resolve_for_grant(code, provider, description, None)
}

/// [`resolve`] for an error a token request of `grant` received: an entry
/// made for that grant wins (RFC 7523 §3.1: `invalid_grant` on an assertion
/// grant means the assertion is bad); entries made for other grants never
/// apply.
pub fn resolve_for_grant(
    code: &str,
    provider: Option<&str>,
    description: Option<&str>,
    grant: Option<&str>,
) -> Option<&'static Entry> {
    resolve_at(code, provider, description, grant, None)
}

/// [`resolve_for_grant`] for an error seen at `endpoint`: entries made for
/// another endpoint (Google's authorize-page `invalid_request` for a token
/// endpoint's `invalid_request`) apply only when nothing else does.
pub fn resolve_at(
    code: &str,
    provider: Option<&str>,
    description: Option<&str>,
    grant: Option<&str>,
    endpoint: Option<Endpoint>,
) -> Option<&'static Entry> {
    let mut cands = lookup_all(code);
    cands.retain(|e| e.grants.is_empty() || grant.is_some_and(|g| e.grants.contains(&g)));
    if let Some(at) = endpoint {
        let here: Vec<&'static Entry> = cands
            .iter()
            .copied()
            .filter(|e| {
                matches!(e.endpoint, Endpoint::Any | Endpoint::Annotation) || e.endpoint == at
            })
            .collect();
        if !here.is_empty() {
            cands = here;
        }
    }
    if let Some(e) = cands
        .iter()
        .find(|e| !e.grants.is_empty() && (e.provider.is_none() || e.provider == provider))
    {
        return Some(e);
    }
    if cands.is_empty() {
        return None;
    }
    let exact_code = |e: &&Entry| e.code.eq_ignore_ascii_case(normalize(code));
    if let Some(p) = provider {
        let mine: Vec<_> = cands
            .iter()
            .filter(|e| e.provider.is_some_and(|ep| ep.eq_ignore_ascii_case(p)))
            .collect();
        if let Some(e) = mine
            .iter()
            .find(|e| !e.matches.is_empty() && e.matches_description(description))
        {
            return Some(e);
        }
        if let Some(e) = mine.iter().find(|e| e.matches.is_empty()) {
            return Some(e);
        }
        if description.is_none() {
            if let Some(e) = mine.first() {
                return Some(e);
            }
        }
    }
    let std: Vec<_> = cands.iter().filter(|e| e.provider.is_none()).collect();
    if let Some(e) = std
        .iter()
        .find(|e| !e.matches.is_empty() && e.matches_description(description))
    {
        return Some(e);
    }
    if let Some(e) = std.iter().find(|e| e.matches.is_empty() && exact_code(e)) {
        return Some(e);
    }
    if let Some(e) = std.iter().find(|e| e.matches.is_empty()) {
        return Some(e);
    }
    // A recognised provider never borrows another provider's meaning.
    if provider.is_some() {
        return None;
    }
    // An unknown or unrecognised provider: a variant whose description matches.
    if let Some(e) = cands
        .iter()
        .find(|e| !e.matches.is_empty() && e.matches_description(description))
    {
        return Some(e);
    }
    cands.first().copied()
}

/// Near misses for an unknown code, best first (at most 5): same code in
/// another case, prefixes, substrings and small edit distances over every
/// code and alias in the catalog.
pub fn suggest(code: &str) -> Vec<&'static str> {
    let q = normalize(code).to_ascii_lowercase();
    if q.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(usize, &'static str)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in all() {
        for name in std::iter::once(e.code).chain(e.aliases.iter().copied()) {
            let n = name.to_ascii_lowercase();
            if !seen.insert(n.clone()) {
                continue;
            }
            let d = edit_distance(&q, &n);
            let limit = (q.len().max(n.len()) / 4).clamp(1, 3);
            let score = if n == q {
                0
            } else if d <= limit {
                d
            } else if q.len() >= 4 && (n.starts_with(&q) || q.starts_with(&n) && n.len() >= 6) {
                4
            } else if q.len() >= 5 && n.contains(&q) {
                5
            } else {
                continue;
            };
            scored.push((score, name));
        }
    }
    scored.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.len().cmp(&b.1.len()))
            .then(a.1.cmp(b.1))
    });
    scored.into_iter().map(|(_, n)| n).take(5).collect()
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests;

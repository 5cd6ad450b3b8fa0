use super::*;

/// Every Salesforce code or alias the reference lists.
const SALESFORCE: &[&str] = &[
    "invalid_client_id",
    "invalid_client",
    "invalid_client_credentials",
    "invalid_grant",
    "IP_RESTRICTED",
    "inactive_user",
    "inactive_org",
    "invalid_app_access",
    "OAUTH_APP_BLOCKED",
    "OAUTH_APPROVAL_ERROR_GENERIC",
    "redirect_uri_mismatch",
    "unsupported_grant_type",
    "rate_limit_exceeded",
    "immediate_unsuccessful",
    "invalid_scope",
    "redirect_uri_missing",
    "unsupported_response_type",
    "access-denied",
    "INVALID_SESSION_ID",
    "login_required",
];

/// Every AADSTS number the reference lists.
const ENTRA: &[u32] = &[
    50011, 70008, 54005, 7000215, 7000222, 7000218, 700025, 700016, 700011, 70001, 7000112, 65001,
    65004, 650052, 650054, 650056, 650057, 650053, 50148, 501481, 50147, 501491, 9002325, 9002326,
    9002327, 9002313, 90014, 900144, 90009, 70011, 28002, 28003, 700082, 700084, 50173, 70043,
    50076, 50079, 50058, 16000, 50020, 50034, 51004, 50105, 53003, 50126, 50194, 700005, 90002,
    900971, 901002, 9001023, 50196, 70016, 70018, 70019, 90120, 50134,
];

#[test]
fn every_salesforce_and_entra_code_of_the_reference_is_found() {
    for c in SALESFORCE {
        assert!(lookup(c).is_some(), "{c} not in the catalog");
    }
    for n in ENTRA {
        let c = format!("AADSTS{n}");
        let e = lookup(&c).unwrap_or_else(|| panic!("{c} not in the catalog"));
        assert_eq!(e.provider, Some("entra"));
        assert!(lookup(&n.to_string()).is_some(), "bare {n}");
        assert!(lookup(&c.to_ascii_lowercase()).is_some(), "lower-case {c}");
    }
    // Every Salesforce-specific row is reachable through `resolve`.
    let sf = |d| resolve("invalid_grant", Some("salesforce"), Some(d)).unwrap();
    assert!(sf("expired access/refresh token").title.contains("Expired"));
    assert!(sf("authentication failure")
        .title
        .contains("Authentication failure"));
    assert!(sf("ip restricted or invalid login hours")
        .title
        .contains("IP restricted"));
    assert!(sf("user hasn't approved this consumer")
        .title
        .contains("approved"));
    assert!(sf("Audience validation failed").title.contains("Audience"));
}

#[test]
fn every_standard_code_and_other_provider_code_is_found() {
    for c in [
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "invalid_token",
        "insufficient_scope",
        "authorization_pending",
        "slow_down",
        "expired_token",
        "token_expired",
        "unsupported_token_type",
        "invalid_target",
        "invalid_dpop_proof",
        "use_dpop_nonce",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
        "invalid_resource",
        "invalid_client_metadata",
        "invalid_redirect_uri",
        "invalid_software_statement",
        "bad_verification_code",
        "incorrect_client_credentials",
        "unverified_user_email",
        "application_suspended",
        "incorrect_device_code",
        "device_flow_disabled",
        "invalid_code",
        "bad_redirect_uri",
        "bad_client_secret",
        "oauth_authorization_url_mismatch",
        "invalid_refresh_token",
        "org_internal",
        "disabled_client",
        "admin_policy_enforced",
        "redirect_mismatch",
        "BAD_CLIENT_ID",
        "BAD_AUTH_CODE",
        "expired_access_token",
        "36009",
        "facebook_190",
        "redirect_uri.mismatch",
        "error.invalid_grant",
        "diagnosis.code_expired",
    ] {
        assert!(lookup(c).is_some(), "{c} not in the catalog");
    }
}

#[test]
fn lookup_prefers_the_standard_entry_and_is_case_insensitive() {
    let e = lookup("invalid_grant").unwrap();
    assert_eq!(e.provider, None);
    assert_eq!(e.source, "RFC 6749 §5.2");
    assert_eq!(lookup("INVALID_GRANT"), Some(e));
    assert_eq!(
        lookup("ip_restricted").unwrap().provider,
        Some("salesforce")
    );
    assert_eq!(lookup("aadsts50011").unwrap().code, "AADSTS50011");
    assert!(lookup("no_such_code_anywhere").is_none());
    let all = lookup_all("invalid_grant");
    assert!(all.len() >= 10, "{}", all.len());
    assert!(all.iter().any(|e| e.provider == Some("salesforce")));
    assert!(all.iter().any(|e| e.provider == Some("keycloak")));
}

#[test]
fn provider_meanings_win_when_the_provider_is_known() {
    let sf = for_provider("invalid_grant", "salesforce").unwrap();
    assert_eq!(sf.provider, Some("salesforce"));
    assert!(sf.matches.is_empty());
    // Unknown provider and no description: the RFC meaning.
    assert_eq!(resolve("invalid_grant", None, None).unwrap().provider, None);
    // A provider with no variant of this code: the RFC meaning.
    assert_eq!(
        for_provider("invalid_scope", "github").unwrap().provider,
        None
    );
    // Description picks the variant.
    let kc = resolve(
        "invalid_grant",
        Some("keycloak"),
        Some("Maximum allowed refresh token reuse exceeded"),
    )
    .unwrap();
    assert!(kc.title.contains("reuse"));
    // A PKCE description selects the RFC 7636 entry even without a provider.
    let p = resolve("invalid_grant", None, Some("PKCE verification failed")).unwrap();
    assert_eq!(p.source, "RFC 7636 §4.6");
    // GitHub's own redirect_uri_mismatch.
    assert_eq!(
        resolve("redirect_uri_mismatch", Some("github"), None)
            .unwrap()
            .provider,
        Some("github")
    );
}

#[test]
fn suggest_finds_near_misses() {
    assert_eq!(suggest("invalid_grnat").first(), Some(&"invalid_grant"));
    assert!(suggest("invalid_grant_").contains(&"invalid_grant"));
    assert!(suggest("AADSTS5001").contains(&"AADSTS50011"));
    assert!(suggest("redirect_uri_mismach").contains(&"redirect_uri_mismatch"));
    assert!(suggest("zzzzzzzzzzzz").is_empty());
    assert!(suggest("").is_empty());
    assert!(suggest("invalid_grnat").len() <= 5);
}

#[test]
fn entries_are_well_formed() {
    for e in all() {
        assert!(!e.code.is_empty());
        assert!(!e.title.contains('\n'), "{} title is one line", e.code);
        assert!(!e.causes.is_empty() && !e.fix.is_empty(), "{}", e.code);
        assert!(!e.see.is_empty(), "{} has no reference", e.code);
        if let Some(p) = e.provider {
            assert!(
                crate::providers::by_id(p).is_some(),
                "{}: unknown provider {p}",
                e.code
            );
        }
        for m in e.matches {
            assert_eq!(
                *m,
                m.to_lowercase(),
                "{}: match fragments are lower-case",
                e.code
            );
        }
    }
}

#[test]
fn edit_distance_counts_transpositions_once() {
    assert_eq!(edit_distance("abcd", "abdc"), 1);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

/// The rules build every annotation from a declared code
/// ([`annotations::Code::annotation`]), so each is explainable by
/// construction; this checks the declarations themselves and that no rule
/// builds an annotation around the table (`Annotation::new` with its own
/// title) — the provider errors of `errors.rs`, whose titles come from their
/// catalog entries, are the one exception.
#[test]
fn every_annotation_code_is_declared_once_and_used_through_its_declaration() {
    let mut seen = std::collections::HashSet::new();
    for c in annotations::ALL {
        assert!(seen.insert(c.code), "{} declared twice", c.code);
        assert!(!c.title.is_empty() && !c.fix.is_empty(), "{}", c.code);
        assert!(
            !c.title.ends_with('.'),
            "{}: a title is one line without a full stop",
            c.code
        );
        let found = lookup_all(c.code);
        assert!(
            found.iter().any(|e| e.title == c.title),
            "`oauthscope explain {}` does not show the declared title",
            c.code
        );
    }
    assert!(annotations::ALL.len() > 60);
    let sources = [
        include_str!("../analyze/flavour.rs"),
        include_str!("../analyze/client_id.rs"),
        include_str!("../analyze/tokens.rs"),
        include_str!("../analyze/redirect_uri.rs"),
        include_str!("../analyze/pkce.rs"),
        include_str!("../analyze/state.rs"),
        include_str!("../analyze/jwt.rs"),
        include_str!("../analyze/correlate.rs"),
        include_str!("../analyze/diagnose/mod.rs"),
        include_str!("../analyze/diagnose/code_grant.rs"),
        include_str!("../analyze/diagnose/refresh.rs"),
        include_str!("../analyze/diagnose/endpoint.rs"),
        include_str!("../analyze/diagnose/evidence.rs"),
    ];
    for src in sources {
        // Production code only: stop at the unit tests.
        let src = src.split("#[cfg(test)]").next().unwrap_or(src);
        assert!(
            !src.contains("Annotation::new("),
            "a rule builds an annotation outside src/catalog/annotations.rs"
        );
    }
}

#[test]
fn invalid_grant_on_an_assertion_grant_is_about_the_assertion() {
    let jwt = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    let e = resolve_for_grant("invalid_grant", None, None, Some(jwt)).unwrap();
    assert_eq!(e.source, "RFC 7523 §3.1");
    assert!(e.title.contains("assertion"));
    // A code exchange (or no grant known) never gets the assertion reading.
    for g in [Some("authorization_code"), None] {
        let e = resolve_for_grant("invalid_grant", None, None, g).unwrap();
        assert_eq!(e.source, "RFC 6749 §5.2", "{g:?}");
    }
    // explain still lists it.
    assert!(lookup_all("invalid_grant")
        .iter()
        .any(|e| e.source == "RFC 7523 §3.1"));
}

/// docs/annotations.md lists every declared code with its default severity
/// and title, as declared.
#[test]
fn the_annotations_page_matches_the_declarations() {
    let page = include_str!("../../docs/annotations.md");
    for c in annotations::ALL {
        let sev = match c.severity {
            crate::record::Severity::Info => "info",
            crate::record::Severity::Warning => "warning",
            crate::record::Severity::Error => "error",
        };
        let row = format!("| `{}` | {sev} | {} |", c.code, c.title);
        assert!(
            page.contains(&row),
            "docs/annotations.md lacks or differs from: {row}"
        );
    }
}

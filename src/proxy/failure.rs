//! Upstream failures explained: what happened and what to do, for the 502
//! body the client sees and the `error` field of the stored record.

use std::error::Error as StdError;

/// Describe why the upstream request failed, with the fix when there is one.
pub fn describe(err: &(dyn StdError + 'static), target: &str) -> String {
    let mut chain = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return describe_tls(tls, target);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                    return describe_tls(tls, target);
                }
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return format!(
                        "connection refused by {target}: nothing is listening there (is that server running, and is the port right?)"
                    )
                }
                std::io::ErrorKind::TimedOut => {
                    return format!("connecting to {target} timed out: check the host, port and your network")
                }
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof => {
                    return format!("{target} closed the connection before answering ({io})")
                }
                _ => {}
            }
        }
        chain.push(e.to_string());
        cur = e.source();
    }
    let text = chain
        .iter()
        .filter(|c| !c.starts_with("client error"))
        .cloned()
        .collect::<Vec<_>>()
        .join(": ");
    let lower = text.to_ascii_lowercase();
    if lower.contains("dns error")
        || lower.contains("failed to lookup")
        || lower.contains("name or service not known")
    {
        format!("could not resolve {target}: check the host name ({text})")
    } else if lower.contains("certificate") {
        format!("upstream certificate not trusted for {target}: pass --upstream-ca FILE ({text})")
    } else {
        format!("could not reach {target}: {text}")
    }
}

fn describe_tls(e: &rustls::Error, target: &str) -> String {
    match e {
        rustls::Error::InvalidCertificate(why) => format!(
            "upstream certificate not trusted: {target} presented a certificate that failed verification ({why:?}); if this is a private or self-signed provider, pass --upstream-ca FILE with its CA"
        ),
        other => format!("TLS with {target} failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_untrusted_are_explained() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(describe(&io, "127.0.0.1:1").contains("connection refused by 127.0.0.1:1"));
        let tls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let msg = describe(&tls, "idp:443");
        assert!(
            msg.contains("upstream certificate not trusted") && msg.contains("--upstream-ca FILE"),
            "{msg}"
        );
    }
}

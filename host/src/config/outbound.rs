//! `allowed_outbound_hosts`: which URLs a component may request. Deny by default, as in Spin.

use anyhow::bail;

/// Host suffix that addresses another component of the same app in-process.
pub const CHAINING_SUFFIX: &str = ".spin.internal";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Port {
    Any,
    Range(u16, u16),
    /// No port written: the scheme's default port.
    Default,
}

#[derive(Debug, Clone)]
struct AllowedHost {
    scheme: Option<String>,
    host: String,
    port: Port,
}

/// A component's outbound policy.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed: Vec<AllowedHost>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedHost {
    fn parse(entry: &str) -> anyhow::Result<Self> {
        let Some((scheme, rest)) = entry.split_once("://") else {
            bail!("{entry:?} must have a scheme, e.g. \"https://{entry}\"");
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            bail!("{entry:?} must not contain a path");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, "*")) => (h, Port::Any),
            Some((h, p)) => match p.split_once("..").or_else(|| p.split_once('-')) {
                Some((a, b)) => (
                    h,
                    Port::Range(port_number(entry, a)?, port_number(entry, b)?),
                ),
                None => {
                    let n = port_number(entry, p)?;
                    (h, Port::Range(n, n))
                }
            },
            None => (rest, Port::Default),
        };
        if host.is_empty() {
            bail!("{entry:?} has no host");
        }
        let scheme = match scheme {
            "*" => None,
            s if s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                Some(s.to_ascii_lowercase())
            }
            s => bail!("{entry:?} has an invalid scheme {s:?}"),
        };
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if self.scheme.as_deref().is_some_and(|s| s != scheme) {
            return false;
        }
        let host_ok = match self.host.strip_prefix("*.") {
            _ if self.host == "*" => true,
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => self.host == host,
        };
        let port_ok = match self.port {
            Port::Any => true,
            Port::Range(a, b) => (a..=b).contains(&port),
            Port::Default => default_port(scheme) == Some(port),
        };
        host_ok && port_ok
    }
}

fn port_number(entry: &str, p: &str) -> anyhow::Result<u16> {
    p.parse()
        .map_err(|_| anyhow::anyhow!("{entry:?} has an invalid port {p:?}"))
}

impl OutboundPolicy {
    /// Parses the entries of one component; `field` names the manifest field for errors.
    pub fn parse(entries: &[String], field: &str) -> anyhow::Result<Self> {
        let allowed = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                AllowedHost::parse(e).map_err(|err| anyhow::anyhow!("{field}[{i}]: {err}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { allowed })
    }

    pub fn allows(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
        let Some(host) = uri.host() else { return false };
        let host = host.to_ascii_lowercase();
        let Some(port) = uri.port_u16().or_else(|| default_port(&scheme)) else {
            return false;
        };
        self.allowed.iter().any(|a| a.allows(&scheme, &host, port))
    }
}

/// The component id a `http://<id>.spin.internal` URL addresses, if it is one.
pub fn chained_component(uri: &http::Uri) -> Option<&str> {
    uri.host()?
        .strip_suffix(CHAINING_SUFFIX)
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OutboundPolicy {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        OutboundPolicy::parse(&entries, "f").unwrap()
    }

    #[test]
    fn matches_scheme_host_and_port() {
        let p = policy(&[
            "http://asr.spin.internal",
            "https://*.example.com",
            "*://localhost:*",
        ]);
        assert!(p.allows(&"http://asr.spin.internal/health".parse().unwrap()));
        assert!(!p.allows(&"http://tts.spin.internal/health".parse().unwrap()));
        assert!(!p.allows(&"http://asr.spin.internal:8080/".parse().unwrap()));
        assert!(p.allows(&"https://api.example.com/x".parse().unwrap()));
        assert!(!p.allows(&"http://api.example.com/x".parse().unwrap()));
        assert!(p.allows(&"http://localhost:1234/".parse().unwrap()));
        assert!(!policy(&[]).allows(&"http://localhost/".parse().unwrap()));
    }

    #[test]
    fn rejects_malformed_entries() {
        assert!(OutboundPolicy::parse(&["example.com".into()], "f").is_err());
        assert!(OutboundPolicy::parse(&["http://example.com/path".into()], "f").is_err());
        assert!(OutboundPolicy::parse(&["http://example.com:http".into()], "f").is_err());
    }

    #[test]
    fn recognises_chaining_hosts() {
        assert_eq!(
            chained_component(&"http://asr.spin.internal/x".parse().unwrap()),
            Some("asr")
        );
        assert_eq!(
            chained_component(&"http://example.com/".parse().unwrap()),
            None
        );
    }
}

//! Spin HTTP routing: exact, `:param` and trailing `/...` wildcard routes, most specific wins.

use std::net::SocketAddr;

use anyhow::bail;
use http::{HeaderMap, HeaderName, HeaderValue};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One `route = "…"` from the manifest.
#[derive(Debug, Clone)]
pub struct Route {
    raw: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

impl Route {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        if !raw.starts_with('/') {
            bail!("route {raw:?} must start with '/'");
        }
        let (body, wildcard) = match raw.strip_suffix("/...") {
            Some(prefix) => (prefix, true),
            None => (raw, false),
        };
        let mut segments = Vec::new();
        for seg in body.split('/').filter(|s| !s.is_empty()) {
            if seg.contains("...") {
                bail!("route {raw:?}: '...' is only allowed as the final segment");
            }
            segments.push(match seg.strip_prefix(':') {
                Some("") => bail!("route {raw:?}: parameter segment needs a name"),
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(seg.to_string()),
            });
        }
        Ok(Self {
            raw: raw.to_string(),
            segments,
            wildcard,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// Routes that differ only in parameter names match the same paths.
    pub fn shape(&self) -> String {
        let mut s: String = self
            .segments
            .iter()
            .map(|seg| match seg {
                Segment::Literal(l) => format!("/{l}"),
                Segment::Param(_) => "/:".to_string(),
            })
            .collect();
        if self.wildcard {
            s.push_str("/...");
        }
        s
    }

    /// The route without its wildcard suffix: Spin's `spin-component-route`.
    pub fn base(&self) -> &str {
        if !self.wildcard {
            return &self.raw;
        }
        self.raw.strip_suffix("/...").unwrap_or("")
    }

    /// Higher is more specific: exact before wildcard, then more segments, then more literals.
    fn specificity(&self) -> (bool, usize, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (!self.wildcard, self.segments.len(), literals)
    }

    fn matches(&self, path: &str) -> Option<RouteMatch> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if parts.len() < self.segments.len()
            || (!self.wildcard && parts.len() != self.segments.len())
        {
            return None;
        }
        let mut params = Vec::new();
        for (seg, part) in self.segments.iter().zip(&parts) {
            match seg {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(name) => params.push((name.clone(), part.to_string())),
            }
        }
        let path_info = if self.wildcard {
            let rest = parts[self.segments.len()..].join("/");
            let trailing = path.ends_with('/') && !rest.is_empty();
            match (rest.is_empty(), trailing) {
                (true, _) => String::new(),
                (false, true) => format!("/{rest}/"),
                (false, false) => format!("/{rest}"),
            }
        } else {
            String::new()
        };
        Some(RouteMatch { params, path_info })
    }
}

#[derive(Debug)]
struct RouteMatch {
    params: Vec<(String, String)>,
    path_info: String,
}

/// What the router decided for one request path.
#[derive(Debug, Clone)]
pub struct Routed {
    pub component: String,
    pub route: Route,
    pub params: Vec<(String, String)>,
    pub path_info: String,
}

/// Public routes of the application; private components are reachable only by chaining.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<(Route, String)>,
}

impl Router {
    pub fn new(mut routes: Vec<(Route, String)>) -> Self {
        // Stable sort keeps manifest order among equally specific routes.
        routes.sort_by_key(|(r, _)| std::cmp::Reverse(r.specificity()));
        Self { routes }
    }

    pub fn routes(&self) -> impl Iterator<Item = (&Route, &str)> {
        self.routes.iter().map(|(r, c)| (r, c.as_str()))
    }

    pub fn route(&self, path: &str) -> Option<Routed> {
        self.routes.iter().find_map(|(route, component)| {
            route.matches(path).map(|m| Routed {
                component: component.clone(),
                route: route.clone(),
                params: m.params,
                path_info: m.path_info,
            })
        })
    }

    /// Routing for a chained request to a component by id: its own route if public, else `/...`.
    pub fn route_to_component(&self, component: &str, path: &str) -> Routed {
        let own = self
            .routes
            .iter()
            .filter(|(_, c)| c == component)
            .find_map(|(route, _)| route.matches(path).map(|m| (route.clone(), m)));
        let (route, m) = own.unwrap_or_else(|| {
            let catch_all = Route::parse("/...").expect("static route");
            let m = catch_all
                .matches(path)
                .expect("catch-all matches every path");
            (catch_all, m)
        });
        Routed {
            component: component.to_string(),
            route,
            params: m.params,
            path_info: m.path_info,
        }
    }
}

/// Sets the `spin-*` request headers Spin gives components.
pub fn set_spin_headers(
    headers: &mut HeaderMap,
    routed: &Routed,
    full_url: &str,
    client: Option<SocketAddr>,
) {
    let mut set = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(n, v);
        }
    };
    set("spin-full-url", full_url);
    set("spin-path-info", &routed.path_info);
    set("spin-matched-route", routed.route.as_str());
    set("spin-raw-component-route", routed.route.as_str());
    set("spin-component-route", routed.route.base());
    set("spin-base-path", "/");
    if let Some(addr) = client {
        set("spin-client-addr", &addr.to_string());
    }
    for (name, value) in &routed.params {
        set(&format!("spin-path-match-{name}"), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        Router::new(
            routes
                .iter()
                .map(|(r, c)| (Route::parse(r).unwrap(), c.to_string()))
                .collect(),
        )
    }

    #[test]
    fn most_specific_route_wins() {
        let r = router(&[
            ("/...", "root"),
            ("/api/...", "api"),
            ("/api/health", "health"),
            ("/users/:id", "user"),
        ]);
        assert_eq!(r.route("/x/y").unwrap().component, "root");
        assert_eq!(r.route("/api/v1/asr").unwrap().component, "api");
        assert_eq!(r.route("/api/v1/asr").unwrap().path_info, "/v1/asr");
        assert_eq!(r.route("/api").unwrap().component, "api");
        assert_eq!(r.route("/api/health").unwrap().component, "health");
        assert_eq!(r.route("/api/health").unwrap().path_info, "");
        let user = r.route("/users/42").unwrap();
        assert_eq!(
            (user.component.as_str(), user.params[0].1.as_str()),
            ("user", "42")
        );
        assert_eq!(r.route("/users/42/x").unwrap().component, "root");
    }

    #[test]
    fn exact_route_does_not_match_prefixes() {
        let r = router(&[("/cart", "cart")]);
        assert!(r.route("/cart/checkout").is_none());
        assert!(r.route("/").is_none());
    }

    #[test]
    fn rejects_malformed_routes() {
        assert!(Route::parse("cart").is_err());
        assert!(Route::parse("/a/.../b").is_err());
    }
}

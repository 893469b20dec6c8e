//! [`Endpoint`]: where sealogd listens (`http://host:port[/prefix]`) and the token that
//! every request carries.

use hyper::header::{HeaderValue, AUTHORIZATION, HOST, USER_AGENT};
use hyper::http::request::Builder;
use hyper::{Method, Request, Uri};

use super::ClientError;

/// The server a command talks to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host[:port]` as given: the `Host` header and the name in messages.
    authority: String,
    /// Host name or address, without IPv6 brackets.
    host: String,
    port: u16,
    /// A path prefix before `/api/…`, without a trailing slash (usually empty).
    base_path: String,
    auth: HeaderValue,
    host_header: HeaderValue,
}

impl Endpoint {
    /// Parses `url` (`http://host[:port][/prefix]`) and the bearer token.
    pub fn parse(url: &str, token: &str) -> Result<Endpoint, ClientError> {
        let bad = |why| ClientError::Url {
            url: url.to_owned(),
            why,
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(ClientError::TlsUnsupported {
                    url: url.to_owned(),
                })
            }
            Some(_) => return Err(bad("the scheme must be http://")),
            None => return Err(bad("must start with http://")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the URL are not supported: use --token"));
        }
        if uri.query().is_some() {
            return Err(bad("must not have a query"));
        }
        let host = authority.host();
        // What follows the host: nothing, or `:port`.
        let port = match &authority.as_str()[host.len()..] {
            "" => 80,
            rest => rest
                .strip_prefix(':')
                .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|&p| p != 0)
                .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let mut auth = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| ClientError::Header { name: "the token" })?;
        auth.set_sensitive(true);
        Ok(Endpoint {
            authority: authority.as_str().to_owned(),
            host: host.to_owned(),
            port,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            host_header: HeaderValue::try_from(authority.as_str()).map_err(|_| bad("bad host"))?,
            auth,
        })
    }

    /// `host[:port]` as given in the URL.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// What to connect to.
    pub fn socket(&self) -> (&str, u16) {
        (&self.host, self.port)
    }

    /// The request target (origin form) of `path_and_query`, which starts with `/`.
    pub fn target(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base_path, path_and_query)
    }

    /// A request to `path_and_query` with `Host`, `Authorization` and `User-Agent` set.
    pub fn request(&self, method: Method, path_and_query: &str) -> Builder {
        Request::builder()
            .method(method)
            .uri(self.target(path_and_query))
            .header(HOST, self.host_header.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .header(
                USER_AGENT,
                HeaderValue::from_static(concat!("sealog-tools/", env!("CARGO_PKG_VERSION"))),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_prefix() {
        let e = Endpoint::parse("http://127.0.0.1:8080/", "t").unwrap();
        assert_eq!(e.socket(), ("127.0.0.1", 8080));
        assert_eq!(e.target("/api/audit-logs"), "/api/audit-logs");
        let e = Endpoint::parse("http://[::1]:65535", "t").unwrap();
        assert_eq!(e.socket(), ("::1", 65535));
        let e = Endpoint::parse("http://[::1]/sealog/", "t").unwrap();
        assert_eq!(e.socket(), ("::1", 80));
        assert_eq!(e.authority(), "[::1]");
        assert_eq!(e.target("/api/audit-logs"), "/sealog/api/audit-logs");
    }

    #[test]
    fn refuses_https_and_odd_urls() {
        let err = Endpoint::parse("https://example.invalid", "t").unwrap_err();
        assert!(matches!(err, ClientError::TlsUnsupported { .. }));
        assert!(err
            .to_string()
            .contains("TLS not supported by the load tool yet"));
        for url in [
            "localhost:8080",
            "ftp://h/",
            "http://u:p@h/",
            "http://h/?a=1",
            "nope",
            "http://127.0.0.1:99999",
            "http://127.0.0.1:abc/",
            "http://127.0.0.1:/",
            "http://127.0.0.1:0",
            "http://[::1]:65536",
            "http://[::1]8080/",
            "http://127.0.0.1:+80",
        ] {
            assert!(
                matches!(Endpoint::parse(url, "t"), Err(ClientError::Url { .. })),
                "{url}"
            );
        }
        assert!(matches!(
            Endpoint::parse("http://h", "bad\ntoken"),
            Err(ClientError::Header { .. })
        ));
    }

    #[test]
    fn requests_carry_host_and_token() {
        let e = Endpoint::parse("http://localhost:9", "s3cret").unwrap();
        let req = e.request(Method::GET, "/healthz").body(()).unwrap();
        assert_eq!(req.uri(), "/healthz");
        assert_eq!(req.headers()[HOST], "localhost:9");
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer s3cret");
    }
}

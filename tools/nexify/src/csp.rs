//! The console's security headers. The local gateway sends them; in AWS, CloudFront's
//! response-headers policy (the template's `ConsoleHeaders`) does, and a test below holds the
//! two to the same values.
//!
//! Next's static export puts a few small inline scripts in each page (the router's
//! bootstrap), so the policy allows exactly those by their SHA-256 instead of
//! `'unsafe-inline'`; `nexify console-csp` prints the list for the template's
//! `ConsoleScriptHashes` parameter.

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

/// Two years, subdomains included: what the HSTS preload list asks for.
pub const HSTS_MAX_AGE_SECONDS: u32 = 63_072_000;
pub const REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

/// The `'sha256-…'` source of every inline script in the export's HTML pages, sorted and
/// without repeats.
pub fn script_hashes(web_root: &Path) -> std::io::Result<Vec<String>> {
    let mut hashes = BTreeSet::new();
    let mut folders = vec![web_root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                let html = std::fs::read_to_string(&path)?;
                hashes.extend(inline_scripts(&html).map(hash_source));
            }
        }
    }
    Ok(hashes.into_iter().collect())
}

/// The bodies of `<script>` elements without a `src`, as the browser hashes them.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (tag, after) = rest.split_once('>')?;
        if tag.contains("src=") {
            return None;
        }
        Some(after.split_once("</script>")?.0)
    })
}

fn hash_source(script: &str) -> String {
    let digest = Sha256::digest(script.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Only this origin, plus the API's when the console calls it cross-origin; no framing,
/// plugins, or forms and base URLs elsewhere.
pub fn content_security_policy(script_hashes: &[String], api_origin: Option<&str>) -> String {
    let scripts = std::iter::once("'self'")
        .chain(script_hashes.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let connect = match api_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src {connect}; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Every header, for the local gateway (same origin: no API origin in the policy).
pub fn headers(script_hashes: &[String]) -> Vec<(&'static str, String)> {
    vec![
        (
            "content-security-policy",
            content_security_policy(script_hashes, None),
        ),
        (
            "strict-transport-security",
            format!("max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains"),
        ),
        ("x-frame-options", "DENY".to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", REFERRER_POLICY.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inline_scripts_are_hashed_as_the_browser_sees_them() {
        let html = r#"<script src="/a.js" async=""></script><script>self.x=1</script><p>
            <script id="_R_">go()</script><script></script>"#;
        let bodies: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(bodies, ["self.x=1", "go()", ""]);
        // The CSP spec's own example: sha256 of `alert('Hello, world.');`.
        assert_eq!(
            hash_source("alert('Hello, world.');"),
            "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
        );
    }

    #[test]
    fn the_export_is_scanned_in_every_folder() {
        let root = std::env::temp_dir().join(format!("nexify-csp-{}", std::process::id()));
        std::fs::create_dir_all(root.join("kb")).unwrap();
        std::fs::write(root.join("index.html"), "<script>a()</script>").unwrap();
        std::fs::write(
            root.join("kb/index.html"),
            "<script>b()</script><script>a()</script>",
        )
        .unwrap();
        std::fs::write(root.join("kb/data.txt"), "<script>c()</script>").unwrap();
        let hashes = script_hashes(&root).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        let mut expected = vec![hash_source("a()"), hash_source("b()")];
        expected.sort();
        assert_eq!(hashes, expected);
    }

    /// CloudFront sends what the local gateway sends: the template's policy, with its
    /// parameters filled in, is the one built here.
    #[test]
    fn the_template_sets_the_same_headers_as_the_gateway() {
        let template = include_str!("../../../template.yaml");
        let line = template
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("ContentSecurityPolicy: !Sub "))
            .expect("the template sets a ContentSecurityPolicy");
        let hashes = vec![hash_source("a()"), hash_source("b()")];
        let api = "https://abc123.execute-api.eu-west-1.amazonaws.com";
        let filled = line
            .trim_matches('"')
            .replace("${ConsoleScriptHashes}", &hashes.join(" "))
            .replace(
                "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}",
                api,
            );
        assert_eq!(filled, content_security_policy(&hashes, Some(api)));
        for setting in [
            format!("AccessControlMaxAgeSec: {HSTS_MAX_AGE_SECONDS}"),
            "IncludeSubdomains: true".to_owned(),
            "FrameOption: DENY".to_owned(),
            format!("ReferrerPolicy: {REFERRER_POLICY}"),
            "ContentTypeOptions:".to_owned(),
        ] {
            assert!(template.contains(&setting), "template lacks {setting}");
        }
    }
}

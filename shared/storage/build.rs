//! Embeds the database's CA bundle when the build names one (`NEXIFY_DB_CA_BUNDLE`, e.g. the
//! RDS global bundle for `sam build`), so the zip carries it and `sslmode=verify-full` needs
//! no file beside the binary. Without it, nothing is embedded.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=NEXIFY_DB_CA_BUNDLE");
    // `sqlx::migrate!` embeds the migrations; once a build script prints its own
    // rerun-if-changed lines, cargo watches only those, so the folder has to be one of them.
    println!("cargo:rerun-if-changed=../../migrations");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bundle = match std::env::var_os("NEXIFY_DB_CA_BUNDLE") {
        Some(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
            let pem = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "NEXIFY_DB_CA_BUNDLE={}: {e}",
                    PathBuf::from(&path).display()
                )
            });
            assert!(
                String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----"),
                "NEXIFY_DB_CA_BUNDLE holds no PEM certificate"
            );
            pem
        }
        _ => Vec::new(),
    };
    std::fs::write(out.join("db-ca-bundle.pem"), bundle).expect("writing OUT_DIR");
}

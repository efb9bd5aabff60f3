//! `nexify`: operator and developer commands (`nexify --help` lists them; clap parses the
//! flags, so a mistyped one is an error rather than silently ignored).

mod bridge;
mod csp;
mod eval;
mod gateway;
mod import;
mod org;
mod seed;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use nexify_storage::{DbConfig, MIGRATOR};
use sqlx::postgres::PgPoolOptions;

/// The local-development password of the function role; never used outside a laptop or CI.
const LOCAL_APP_PASSWORD: &str = "nexify_app";

/// Nexify's operator and developer commands. `migrate`, `seed`, `import`, `org` and `eval` read
/// DATABASE_URL, which must name the schema owner.
#[derive(Debug, Parser)]
#[command(name = "nexify", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Applies migrations/ as the schema owner.
    Migrate {
        /// Lets the nexify_app role log in with the local development password.
        #[arg(long)]
        local_app_login: bool,
    },
    /// Loads the demo organizations, users, tickets and knowledge base (once).
    Seed,
    /// Imports an org's labelled history from a CSV or JSON-lines file.
    Import {
        /// A .csv, .jsonl or .ndjson file.
        file: PathBuf,
        /// The organization's slug.
        #[arg(long)]
        org: String,
        /// Add the teams and categories the rows use to the org's settings.
        #[arg(long)]
        add_labels: bool,
    },
    /// Organizations: `nexify org create --name … --admin-email …`.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Measures triage on a labelled CSV data set, in a scratch database.
    Eval(Box<eval::EvalFlags>),
    /// Locally: feeds the triage queue to the worker as Lambda's event source would, and
    /// runs the sweeper and the trainer on their schedule.
    SqsBridge {
        #[arg(long, env = "TRIAGE_QUEUE_URL")]
        queue_url: String,
        /// cargo lambda's Invoke API.
        #[arg(long, default_value = "http://127.0.0.1:9000")]
        invoke: String,
        #[arg(long, default_value = "triage-worker")]
        worker: String,
        #[arg(long, default_value = "triage-sweeper")]
        sweeper: String,
        #[arg(long, default_value = "triage-trainer")]
        trainer: String,
        /// The outbound-webhook deliveries queue; not polled when absent.
        #[arg(long, env = "DELIVERIES_QUEUE_URL")]
        deliveries_queue_url: Option<String>,
        #[arg(long, default_value = "deliveries")]
        deliverer: String,
    },
    /// Webhook secrets: `nexify webhook-secrets seal` seals the ones still kept in plain text
    /// (once, after upgrading), with the KMS key NEXIFY_WEBHOOK_SECRETS_KEY names.
    WebhookSecrets {
        #[command(subcommand)]
        command: WebhookSecretsCommand,
    },
    /// Makes an Ed25519 key for signing access tokens: prints the secret to store in Secrets
    /// Manager (JwtSigningKeySecretArn) on stdout, and its public `kid:key` entry for
    /// JwtPublicKeys on stderr.
    JwtKey {
        /// The key id tokens will carry, e.g. the month it starts signing: 2026-12.
        #[arg(long)]
        kid: String,
    },
    /// Prints the hashes of the console export's inline scripts, for the template's
    /// ConsoleScriptHashes parameter (its Content-Security-Policy allows only those).
    ConsoleCsp {
        #[arg(long, default_value = "web/out")]
        web: PathBuf,
    },
    /// Locally: serves the console and routes /api/ to the functions by template.yaml, as API
    /// Gateway would.
    Gateway {
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        #[arg(long, default_value = "http://127.0.0.1:9000")]
        invoke: String,
        #[arg(long, default_value = "web/out")]
        web: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookSecretsCommand {
    /// Seals every webhook secret still stored in plain text.
    Seal,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Creates an organization and prints a one-time invite link for its first admin.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        /// Defaults to the name, lowercased, with dashes.
        #[arg(long)]
        slug: Option<String>,
        /// Where the console is served; the link points there.
        #[arg(
            long,
            env = "NEXIFY_CONSOLE_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        console_url: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Parsed before anything else, so --help and a mistyped flag need no database.
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Gateway {
            template,
            invoke,
            web,
            listen,
        } => {
            nexify_telemetry::init();
            return gateway::run(gateway::GatewayConfig {
                template,
                invoke_base: invoke,
                web_root: web,
                listen,
            })
            .await;
        }
        Command::JwtKey { kid } => {
            let (key, public) = nexify_auth::SigningKey::generate(&kid)?;
            println!("{}", serde_json::to_string(&key)?);
            eprintln!("public key, for JwtPublicKeys: {public}");
            return Ok(());
        }
        Command::ConsoleCsp { web } => {
            let hashes = csp::script_hashes(&web)
                .with_context(|| format!("reading the console's export in {}", web.display()))?;
            anyhow::ensure!(
                !hashes.is_empty(),
                "no inline scripts in {}: build the console first",
                web.display()
            );
            println!("{}", hashes.join(" "));
            return Ok(());
        }
        Command::SqsBridge {
            queue_url,
            invoke,
            worker,
            sweeper,
            trainer,
            deliveries_queue_url,
            deliverer,
        } => {
            nexify_telemetry::init();
            return bridge::run(bridge::BridgeConfig {
                queue_url,
                invoke_base: invoke,
                worker,
                deliveries: deliveries_queue_url.map(|url| (url, deliverer)),
                sweeper,
                trainer,
            })
            .await;
        }
        Command::Eval(flags) => {
            nexify_telemetry::init_for_tests();
            return eval::run(&(*flags).into()).await;
        }
        other => other,
    };
    nexify_telemetry::init_for_tests();
    let config = DbConfig::from_env()?;
    let migrating = matches!(command, Command::Migrate { .. });
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // Row-level security binds the schema owner too (it is forced), so the
                // commands that write across orgs act as the role the SQL functions that do
                // so run as. Migrations stay the owner's: they change the schema.
                if !migrating {
                    sqlx::query(nexify_storage::ACT_ACROSS_ORGS_SQL)
                        .execute(conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(config.connect_options.clone())
        .await
        .context("connecting to DATABASE_URL")?;
    match command {
        Command::Migrate { local_app_login } => {
            MIGRATOR.run(&pool).await.context("applying migrations")?;
            if local_app_login {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "ALTER ROLE {} LOGIN PASSWORD '{LOCAL_APP_PASSWORD}'",
                    nexify_storage::APP_ROLE
                )))
                .execute(&pool)
                .await
                .context("letting nexify_app log in")?;
            }
            println!("migrations applied");
        }
        Command::Seed => {
            let summary = seed::run(&pool).await?;
            println!("{summary}");
        }
        Command::Import {
            file,
            org,
            add_labels,
        } => import::run(&pool, &file, &org, add_labels).await?,
        Command::Org {
            command:
                OrgCommand::Create {
                    name,
                    admin_email,
                    slug,
                    console_url,
                },
        } => {
            let message =
                org::create(&pool, &name, slug.as_deref(), &admin_email, &console_url).await?;
            println!("{message}");
        }
        Command::WebhookSecrets {
            command: WebhookSecretsCommand::Seal,
        } => {
            let sealer = nexify_kms::KmsSealer::from_env()?;
            let orgs = nexify_service::settings::seal_plain_webhook_secrets(&pool, &sealer).await?;
            let endpoints =
                nexify_service::outbound::seal_plain_endpoint_secrets(&pool, &sealer).await?;
            println!("sealed: {orgs} org webhook secret(s), {endpoints} endpoint secret(s)");
        }
        Command::Gateway { .. }
        | Command::ConsoleCsp { .. }
        | Command::JwtKey { .. }
        | Command::SqsBridge { .. }
        | Command::Eval(_) => {
            unreachable!("handled before connecting")
        }
    }
    Ok(())
}

//! Mail as LocalStack's SES keeps it: sent through the real `SesMailer`, read back from
//! LocalStack's `/_aws/ses` endpoint.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The sender the local stack verifies (localstack/init/ready.d/verify_sender.py).
pub const MAIL_FROM: &str = "no-reply@nexify.localhost";
/// The console URL mail links point to in tests.
pub const CONSOLE_URL: &str = "http://console.test";

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

pub async fn ses_client() -> aws_sdk_ses::Client {
    aws_sdk_ses::Client::new(&crate::localstack_config().await)
}

/// The SES mailer the functions use, against LocalStack.
pub async fn mailer() -> nexify_mail::SesMailer {
    nexify_mail::SesMailer::new(ses_client().await, MAIL_FROM)
}

/// Every message LocalStack's SES accepted for `to`, oldest first: `Subject`, `Body.text_part`,
/// `Source`, `Destination.ToAddresses`.
pub async fn sent_to(to: &str) -> Vec<Value> {
    let authority = endpoint()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("LocalStack answers");
    let request = format!("GET /_aws/ses HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (_, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let all: Value = serde_json::from_str(body).expect("JSON from /_aws/ses");
    all["messages"]
        .as_array()
        .expect("a message list")
        .iter()
        .filter(|m| {
            m["Destination"]["ToAddresses"]
                .as_array()
                .is_some_and(|to_list| to_list.iter().any(|a| a == to))
        })
        .cloned()
        .collect()
}

/// The `?token=` of the first link in a mail's text.
pub fn token_in(mail: &Value) -> String {
    let text = mail["Body"]["text_part"].as_str().expect("a text part");
    let (_, rest) = text.split_once("?token=").expect("a link with a token");
    rest.split_whitespace().next().unwrap().to_owned()
}

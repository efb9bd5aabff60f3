//! Real LocalStack SQS: the queue set-up and its redrive policy.

use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use nexify_tests::{eventually, queue_pair, sqs_client, triage_queue_config};

#[tokio::test]
async fn a_message_sent_is_received_with_its_body() {
    let client = sqs_client().await;
    let (queue, _dlq) = queue_pair(&client, 30).await;
    let body = serde_json::json!({ "job_run_id": "j-1", "organization_id": "o-1" }).to_string();
    client
        .send_message()
        .queue_url(&queue)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    let received = client
        .receive_message()
        .queue_url(&queue)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body.as_deref(), Some(body.as_str()));
}

#[tokio::test]
async fn the_setup_script_created_the_triage_queue_with_its_redrive_policy() {
    let client = sqs_client().await;
    let config = triage_queue_config();
    let url = client
        .get_queue_url()
        .queue_name(config["name"].as_str().unwrap())
        .send()
        .await
        .expect("the triage queue exists: localstack/init/ready.d/create_queues.py ran")
        .queue_url
        .unwrap();
    let attrs = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let redrive: serde_json::Value =
        serde_json::from_str(&attrs[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy])
            .unwrap();
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "3"
    );
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with(config["dead_letter_name"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_message_received_three_times_without_deletion_moves_to_the_dlq() {
    let client = sqs_client().await;
    // A 1-second visibility timeout makes each receive expire quickly.
    let (queue, dlq) = queue_pair(&client, 1).await;
    client
        .send_message()
        .queue_url(&queue)
        .message_body("poison")
        .send()
        .await
        .unwrap();

    let mut receives = 0;
    for _ in 0..3 {
        let got = eventually(Duration::from_secs(10), || async {
            let msgs = client
                .receive_message()
                .queue_url(&queue)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            msgs.into_iter().next()
        })
        .await
        .expect("the message comes back after its visibility timeout");
        receives += 1;
        let count =
            got.attributes.unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount].clone();
        assert_eq!(count, receives.to_string());
        // Not deleted: as a failing worker would leave it.
    }

    let dead = eventually(Duration::from_secs(15), || async {
        // A receive after the third is what makes SQS move it.
        let _ = client
            .receive_message()
            .queue_url(&queue)
            .wait_time_seconds(1)
            .send()
            .await;
        client
            .receive_message()
            .queue_url(&dlq)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
            .into_iter()
            .next()
    })
    .await
    .expect("the message reaches the dead-letter queue");
    assert_eq!(dead.body.as_deref(), Some("poison"));
}

"""Creates Nexify's SQS queues: the triage queue and its dead-letter queue, with a redrive
policy. Idempotent. The one queue set-up for both ways of running LocalStack:

- on the host (this machine has no Docker engine): `scripts/stack.sh` runs it with the
  LocalStack venv's Python once LocalStack answers;
- in Docker: `localstack/docker-compose.yml` mounts `localstack/init` as LocalStack's init
  folder, and LocalStack runs it when ready.

The queue settings live in `localstack/queues.json`, which the Rust tests read too.
"""

import json
import os
import pathlib

import boto3

HERE = pathlib.Path(__file__).resolve().parent
CONFIG_CANDIDATES = [HERE.parent.parent / "queues.json", pathlib.Path("/etc/localstack/queues.json")]


def load_config():
    for path in CONFIG_CANDIDATES:
        if path.exists():
            return json.loads(path.read_text())
    raise SystemExit(f"queues.json not found in {CONFIG_CANDIDATES}")


def main():
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    for queue in load_config().values():
        dlq_url = sqs.create_queue(
            QueueName=queue["dead_letter_name"],
            Attributes={"MessageRetentionPeriod": str(queue["dead_letter_retention_seconds"])},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {
            "VisibilityTimeout": str(queue["visibility_timeout_seconds"]),
            "MessageRetentionPeriod": str(queue["message_retention_seconds"]),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue["max_receive_count"])}
            ),
        }
        url = sqs.create_queue(QueueName=queue["name"])["QueueUrl"]
        # create_queue refuses changed attributes on an existing queue; set them explicitly.
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        print(f"queue ready: {url} (dead letters: {dlq_url})")


if __name__ == "__main__":
    main()

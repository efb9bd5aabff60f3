"""Verifies the address Nexify sends mail from in LocalStack's SES, which refuses mail from
an unverified sender as SES does. Idempotent. Run like create_queues.py: by
`scripts/stack.sh` on the host, or by LocalStack itself from its init folder in Docker.
"""

import os

import boto3

SENDER = os.environ.get("NEXIFY_MAIL_FROM", "no-reply@nexify.localhost")


def main():
    ses = boto3.client(
        "ses",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        region_name=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    ses.verify_email_identity(EmailAddress=SENDER)
    print(f"mail sender verified: {SENDER}")


if __name__ == "__main__":
    main()

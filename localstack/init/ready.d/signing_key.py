"""Stores the development token-signing key in LocalStack's Secrets Manager as
`nexify/jwt-signing-key`, where the auth function fetches it at start-up, as it fetches the
deployment's key in AWS. The key is public (../dev-signing-key.json) and only NEXIFY_ENV=local
accepts it. Idempotent. Run like create_queues.py.
"""

import os

import boto3

NAME = "nexify/jwt-signing-key"
KEY_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dev-signing-key.json")


def main():
    client = boto3.client(
        "secretsmanager",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        region_name=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    with open(KEY_FILE, encoding="utf-8") as f:
        value = f.read()
    try:
        client.create_secret(Name=NAME, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=NAME, SecretString=value)
    print(f"signing key stored: {NAME}")


if __name__ == "__main__":
    main()

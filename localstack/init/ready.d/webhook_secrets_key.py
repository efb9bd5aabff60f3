"""Creates the KMS key that seals webhook secrets, as alias/nexify-webhook-secrets, in
LocalStack's KMS (the template's WebhookSecretsKey in AWS). Idempotent. Run like
create_queues.py.
"""

import os

import boto3

ALIAS = "alias/nexify-webhook-secrets"


def main():
    kms = boto3.client(
        "kms",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        region_name=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    aliases = kms.list_aliases()["Aliases"]
    if any(a["AliasName"] == ALIAS for a in aliases):
        print(f"webhook secrets key exists: {ALIAS}")
        return
    key = kms.create_key(Description="nexify: seals webhook secrets")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key)
    print(f"webhook secrets key created: {ALIAS}")


if __name__ == "__main__":
    main()

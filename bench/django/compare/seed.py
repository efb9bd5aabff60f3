"""Migrates and fills the comparison database: one queue with `count` tickets like the
Nexify benchmark's, and a staff user; prints that user's API token."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compare.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from helpdesk.models import Queue, Ticket  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

count = int(sys.argv[1])
call_command("migrate", verbosity=0, interactive=False)
user = get_user_model().objects.create_user(
    "bench", "bench@bench.test", "x", is_staff=True, is_superuser=True
)
queue = Queue.objects.create(title="Support", slug="support", email_address="s@bench.test")
Ticket.objects.bulk_create(
    Ticket(
        queue=queue,
        title=f"Ticket number {i} about card payments",
        description="A realistic body of a few sentences. My card was declined at checkout and I need help.",
        submitter_email=f"c{i}@example.com",
        priority=1 + i % 4,
    )
    for i in range(count)
)
print(Token.objects.create(user=user).key)

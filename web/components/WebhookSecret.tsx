"use client";

import { useState } from "react";
import { api, orgPath, type OrgSettings } from "@/lib/api";
import { ErrorNote, errorMessage, input, secondaryButton } from "./ui";

const GRACE_CHOICES = [
  { hours: 0, label: "stops at once" },
  { hours: 1, label: "stays valid 1 hour" },
  { hours: 24, label: "stays valid 24 hours" },
  { hours: 72, label: "stays valid 3 days" },
  { hours: 168, label: "stays valid 7 days" },
];

/**
 * The org's inbound webhook secret: rotate it, choosing how long the old one keeps signing
 * so senders can switch; the new one is shown once. Nexify keeps both sealed.
 */
export function WebhookSecret({ orgId, settings, onRotated }: { orgId: string; settings: OrgSettings; onRotated: (s: OrgSettings) => void }) {
  const [grace, setGrace] = useState(24);
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const previousUntil = settings.webhook_secret_previous_expires_at;
  return (
    <section aria-label="Webhook secret" className="flex flex-col gap-2 rounded-md bg-white p-4 ring-1 ring-slate-200">
      <h2 className="font-medium">Webhook secret</h2>
      <p className="text-sm text-slate-600" data-testid="secret-state">
        {settings.webhook_secret_set ? "A secret is set." : "No secret yet: webhooks are refused."}
        {previousUntil && (
          <> The previous secret is also accepted until <time dateTime={previousUntil}>{new Date(previousUntil).toLocaleString()}</time>.</>
        )}
      </p>
      {settings.webhook_secret_set && (
        <label className="text-sm">
          When rotating, the current secret
          <select aria-label="Grace period" className={input} value={grace} onChange={(e) => setGrace(Number(e.target.value))}>
            {GRACE_CHOICES.map((c) => (
              <option key={c.hours} value={c.hours}>{c.label}</option>
            ))}
          </select>
        </label>
      )}
      <ErrorNote error={error} />
      <button
        className={secondaryButton}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            const rotated = await api<{ webhook_secret: string; settings: OrgSettings }>(orgPath(orgId, "settings/webhook-secret/"), {
              method: "POST",
              body: { grace_hours: grace },
            });
            setSecret(rotated.webhook_secret);
            onRotated(rotated.settings);
          } catch (err) {
            setError(errorMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        {settings.webhook_secret_set ? "Rotate webhook secret" : "Create webhook secret"}
      </button>
      {secret && (
        <p className="text-sm">
          New secret (shown once): <code className="break-all rounded bg-slate-100 px-1" data-testid="webhook-secret">{secret}</code>
        </p>
      )}
    </section>
  );
}

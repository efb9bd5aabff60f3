"use client";

import { useEffect, useState } from "react";
import { Shell } from "@/components/Shell";
import { WebhookEndpoints } from "@/components/WebhookEndpoints";
import { WebhookSecret } from "@/components/WebhookSecret";
import { ErrorNote, Loading, errorMessage, input, primaryButton } from "@/components/ui";
import { api, orgPath, type OrgSettings, type SuggestedField } from "@/lib/api";
import { useSession } from "@/lib/session";

const list = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);
const asThreshold = (text: string) => (text.trim() === "" ? null : Number(text));

function Settings() {
  const { org } = useSession();
  const orgId = org!.organization_id;
  const [settings, setSettings] = useState<OrgSettings | null>(null);
  const [teams, setTeams] = useState("");
  const [categories, setCategories] = useState("");
  const [threshold, setThreshold] = useState("");
  const [fieldThresholds, setFieldThresholds] = useState<Record<SuggestedField, string>>({ priority: "", team: "", category: "" });
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<OrgSettings>(orgPath(orgId, "settings/"))
      .then((s) => {
        setSettings(s);
        setTeams(s.teams.join(", "));
        setCategories(s.categories.join(", "));
        setThreshold(s.auto_apply_threshold === null ? "" : String(s.auto_apply_threshold));
        const f = s.auto_apply_fields;
        setFieldThresholds({
          priority: f.priority === null ? "" : String(f.priority),
          team: f.team === null ? "" : String(f.team),
          category: f.category === null ? "" : String(f.category),
        });
      })
      .catch((e) => setError(errorMessage(e)));
  }, [orgId]);

  if (org?.role !== "admin") return <p className="text-sm text-slate-600">Only admins can change settings.</p>;
  if (!settings) return error ? <ErrorNote error={error} /> : <Loading />;
  return (
    <div className="flex max-w-xl flex-col gap-4">
      <form
        className="flex flex-col gap-3 rounded-md bg-white p-4 ring-1 ring-slate-200"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          setSaved(false);
          try {
            const next = await api<OrgSettings>(orgPath(orgId, "settings/"), {
              method: "PUT",
              body: {
                teams: list(teams),
                categories: list(categories),
                default_team: settings.default_team,
                default_category: settings.default_category,
                auto_triage_webhook: settings.auto_triage_webhook,
                auto_triage_api: settings.auto_triage_api,
                reply_from: settings.reply_from?.trim() || null,
                auto_apply_threshold: asThreshold(threshold),
                auto_apply_fields: {
                  priority: asThreshold(fieldThresholds.priority),
                  team: asThreshold(fieldThresholds.team),
                  category: asThreshold(fieldThresholds.category),
                },
              },
            });
            setSettings(next);
            setSaved(true);
          } catch (err) {
            setError(errorMessage(err));
          }
        }}
      >
        <h1 className="text-lg font-semibold">Settings</h1>
        <label className="text-sm">Teams (comma-separated)<input className={input} value={teams} onChange={(e) => setTeams(e.target.value)} /></label>
        <label className="text-sm">Categories (comma-separated)<input className={input} value={categories} onChange={(e) => setCategories(e.target.value)} /></label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={settings.auto_triage_webhook} onChange={(e) => setSettings({ ...settings, auto_triage_webhook: e.target.checked })} />
          Auto-triage tickets that arrive by webhook
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={settings.auto_triage_api} onChange={(e) => setSettings({ ...settings, auto_triage_api: e.target.checked })} />
          Auto-triage tickets created in the console or API
        </label>
        <label className="text-sm">
          Mail replies to requesters from (an address at the mail domain this deployment sends from; empty: replies are not mailed)
          <input
            className={input}
            type="email"
            placeholder="support@example.com"
            value={settings.reply_from ?? ""}
            onChange={(e) => setSettings({ ...settings, reply_from: e.target.value })}
          />
        </label>
        <label className="text-sm">
          Accept whole suggestions at overall confidence ≥ (0–1, empty: never)
          <input className={input} inputMode="decimal" value={threshold} onChange={(e) => setThreshold(e.target.value)} />
        </label>
        <fieldset className="flex flex-col gap-2">
          <legend className="text-sm">
            Or set single fields at their own confidence ≥ (0–1, empty: never); the suggestion stays for an agent to decide
          </legend>
          <div className="grid grid-cols-3 gap-2">
            {(["priority", "team", "category"] as const).map((f) => (
              <label key={f} className="text-xs capitalize text-slate-600">
                {f}
                <input
                  className={input}
                  inputMode="decimal"
                  aria-label={`Auto-apply ${f} at confidence`}
                  value={fieldThresholds[f]}
                  onChange={(e) => setFieldThresholds({ ...fieldThresholds, [f]: e.target.value })}
                />
              </label>
            ))}
          </div>
        </fieldset>
        <ErrorNote error={error} />
        {saved && <p role="status" className="text-sm text-emerald-700">Saved.</p>}
        <button className={primaryButton} type="submit">Save settings</button>
      </form>
      <WebhookSecret orgId={orgId} settings={settings} onRotated={setSettings} />
      <WebhookEndpoints orgId={orgId} />
    </div>
  );
}

export default function SettingsPage() {
  return (
    <Shell>
      <Settings />
    </Shell>
  );
}

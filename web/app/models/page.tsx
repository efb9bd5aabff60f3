"use client";

import { useCallback, useEffect, useState } from "react";
import { Shell } from "@/components/Shell";
import { ModelHead, OutcomesPanel } from "@/components/ModelCharts";
import { ErrorNote, Loading, errorMessage, secondaryButton } from "@/components/ui";
import { api, orgPath, type ModelOverview, type OrgSettings, type Outcomes } from "@/lib/api";
import { useSession } from "@/lib/session";

const DAYS = 30;

function Models() {
  const { org } = useSession();
  const orgId = org!.organization_id;
  const [overview, setOverview] = useState<ModelOverview | null>(null);
  const [outcomes, setOutcomes] = useState<Outcomes | null>(null);
  const [settings, setSettings] = useState<OrgSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [requested, setRequested] = useState(false);

  const load = useCallback(async () => {
    try {
      const [o, out, s] = await Promise.all([
        api<ModelOverview>(orgPath(orgId, "models/")),
        api<Outcomes>(orgPath(orgId, `models/outcomes/?days=${DAYS}`)),
        api<OrgSettings>(orgPath(orgId, "settings/")),
      ]);
      setOverview(o);
      setOutcomes(out);
      setSettings(s);
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [orgId]);

  useEffect(() => {
    setOverview(null);
    void load();
  }, [load]);

  if (!overview || !outcomes || !settings) return error ? <ErrorNote error={error} /> : <Loading label="Loading models…" />;
  const t = overview.training;
  return (
    <div className="flex flex-col gap-6">
      <header className="flex flex-wrap items-center gap-4">
        <h1 className="text-lg font-semibold">Triage models</h1>
        <p className="text-sm text-slate-600" data-testid="training-status">
          {t.training_now
            ? "Training now…"
            : t.models_trained_at
              ? `Last trained on labels as of ${new Date(t.models_trained_at).toLocaleString()}${t.training_seconds !== null ? ` (took ${t.training_seconds.toFixed(1)} s)` : ""}`
              : "Not trained yet: an org needs 20 labelled tickets over two labels per head."}
          {t.labels_changed_at && t.models_trained_at && t.labels_changed_at > t.models_trained_at && !t.training_now
            ? " · labels changed since: retraining at the next sweep"
            : ""}
        </p>
        {org?.role === "admin" && (
          <button
            className={`${secondaryButton} ml-auto`}
            onClick={async () => {
              try {
                await api(orgPath(orgId, "models/retrain/"), { method: "POST" });
                setRequested(true);
                await load();
              } catch (e) {
                setError(errorMessage(e));
              }
            }}
          >
            Retrain
          </button>
        )}
      </header>
      {requested && (
        <p role="status" className="text-sm text-emerald-700">
          Retraining requested: the next sweep (within about a minute) trains the models.
        </p>
      )}
      <ErrorNote error={error} />
      {overview.heads.length === 0 ? (
        <p className="rounded-md bg-white p-4 text-sm text-slate-600 ring-1 ring-slate-200">
          No model yet. Until a head has 20 labelled tickets over two labels, similar tickets vote and then keyword rules decide.
        </p>
      ) : (
        <div className="grid grid-cols-1 gap-4 xl:grid-cols-3">
          {overview.heads.map((h) => (
            <ModelHead key={h.head} head={h} />
          ))}
        </div>
      )}
      <OutcomesPanel outcomes={outcomes} settings={settings} />
    </div>
  );
}

export default function ModelsPage() {
  return (
    <Shell>
      <Models />
    </Shell>
  );
}

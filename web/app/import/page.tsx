"use client";

import { useEffect, useRef, useState } from "react";
import { Shell } from "@/components/Shell";
import { ErrorNote, errorMessage, primaryButton } from "@/components/ui";
import { ApiError, api, orgPath, type ModelOverview } from "@/lib/api";
import { type Batch, fileLine, formatOf, mediaType, splitFile } from "@/lib/importFile";
import { useSession } from "@/lib/session";

interface RowError {
  line: number;
  field: string | null;
  reason: string;
}
interface ImportReport {
  rows: number;
  created: number;
  existing: number;
  errors: RowError[];
  teams_added: string[];
  categories_added: string[];
}

const POLL_MS = 3000;

function Progress({ label, value, max, testId }: { label: string; value: number; max: number; testId: string }) {
  const percent = max > 0 ? Math.round((100 * Math.min(value, max)) / max) : 0;
  return (
    <div className="flex flex-col gap-1">
      <div className="flex justify-between text-sm">
        <span>{label}</span>
        <span className="tabular-nums" data-testid={testId}>
          {value} / {max}
        </span>
      </div>
      <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} className="h-2 overflow-hidden rounded bg-slate-200">
        <div className="h-full bg-indigo-600" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}

function Import() {
  const { org } = useSession();
  const orgId = org!.organization_id;
  const [file, setFile] = useState<File | null>(null);
  const [addLabels, setAddLabels] = useState(true);
  const [batches, setBatches] = useState<Batch[] | null>(null);
  const [sent, setSent] = useState(0);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [status, setStatus] = useState<ModelOverview["training"] | null>(null);
  const [startedAt, setStartedAt] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const timer = useRef<ReturnType<typeof setInterval> | null>(null);

  useEffect(() => () => {
    if (timer.current) clearInterval(timer.current);
  }, []);

  if (org?.role !== "admin") return <p className="text-sm text-slate-600">Only admins can import history.</p>;

  const start = async () => {
    if (!file) return;
    const format = formatOf(file.name);
    if (!format) {
      setError("Choose a .csv, .jsonl or .ndjson file.");
      return;
    }
    setBusy(true);
    setError(null);
    setReport(null);
    setStatus(null);
    const began = new Date().toISOString();
    setStartedAt(began);
    const parts = splitFile(format, await file.text());
    setBatches(parts);
    setSent(0);
    const total: ImportReport = { rows: 0, created: 0, existing: 0, errors: [], teams_added: [], categories_added: [] };
    try {
      for (const [i, batch] of parts.entries()) {
        const r = await api<ImportReport>(orgPath(orgId, `imports/${addLabels ? "?add_labels=true" : ""}`), {
          method: "POST",
          raw: batch.text,
          headers: { "content-type": mediaType(format) },
        });
        total.rows += r.rows;
        total.created += r.created;
        total.existing += r.existing;
        total.errors.push(...r.errors.map((e) => ({ ...e, line: fileLine(batch, e.line) })));
        total.teams_added.push(...r.teams_added);
        total.categories_added.push(...r.categories_added);
        setSent(i + 1);
        setReport({ ...total });
      }
    } catch (e) {
      setError(e instanceof ApiError ? `${e.message}${e.field ? ` (${e.field})` : ""}` : errorMessage(e));
    } finally {
      setBusy(false);
    }
    const poll = async () => {
      try {
        const o = await api<ModelOverview>(orgPath(orgId, "models/"));
        setStatus(o.training);
      } catch (e) {
        setError(errorMessage(e));
      }
    };
    await poll();
    if (timer.current) clearInterval(timer.current);
    timer.current = setInterval(poll, POLL_MS);
  };

  const rowsTotal = batches?.reduce((n, b) => n + b.rows, 0) ?? 0;
  const rowsSent = batches?.slice(0, sent).reduce((n, b) => n + b.rows, 0) ?? 0;
  const trained = status?.models_trained_at && startedAt && status.labels_changed_at && status.models_trained_at >= status.labels_changed_at;
  return (
    <div className="flex max-w-2xl flex-col gap-4">
      <section className="flex flex-col gap-3 rounded-md bg-white p-4 ring-1 ring-slate-200">
        <h1 className="text-lg font-semibold">Import ticket history</h1>
        <p className="text-sm text-slate-600">
          A CSV with a header (subject, body, team, category, priority, status, created_at, external_id, requester_email; only subject is
          required) or JSON lines with the same fields. Rows are resolved unless their status says otherwise, and a row whose external_id
          is already here is skipped, so uploading the same file again adds nothing. Triage learns from the teams, categories and priorities.
        </p>
        <label className="text-sm">
          File
          <input
            type="file"
            accept=".csv,.jsonl,.ndjson"
            className="mt-1 block text-sm"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={addLabels} onChange={(e) => setAddLabels(e.target.checked)} />
          Add the teams and categories the file uses to the settings
        </label>
        <button className={primaryButton} disabled={!file || busy} onClick={() => void start()}>
          Import
        </button>
        <ErrorNote error={error} />
      </section>
      {batches && (
        <section aria-label="Import progress" className="flex flex-col gap-3 rounded-md bg-white p-4 ring-1 ring-slate-200">
          <Progress label="Rows uploaded" value={rowsSent} max={rowsTotal} testId="rows-progress" />
          {status && (
            <>
              <Progress label="Labelled tickets embedded" value={Number(status.embedded_tickets)} max={Number(status.labelled_tickets)} testId="embedding-progress" />
              <p className="text-sm" data-testid="training-progress">
                {status.training_now
                  ? "Training the models now…"
                  : trained
                    ? "The models are trained on the imported history."
                    : "Training starts within a minute or two of the last upload."}
              </p>
            </>
          )}
          {report && (
            <div className="text-sm" data-testid="import-report">
              <p>
                {report.created} imported, {report.existing} already here, {report.errors.length} refused.
                {report.teams_added.length > 0 && ` Teams added: ${report.teams_added.join(", ")}.`}
                {report.categories_added.length > 0 && ` Categories added: ${report.categories_added.join(", ")}.`}
              </p>
              {report.errors.length > 0 && (
                <ul className="mt-2 max-h-64 overflow-auto text-red-800" data-testid="import-errors">
                  {report.errors.map((e) => (
                    <li key={`${e.line}-${e.field}`}>
                      Line {e.line}
                      {e.field ? ` (${e.field})` : ""}: {e.reason}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </section>
      )}
    </div>
  );
}

export default function ImportPage() {
  return (
    <Shell>
      <Import />
    </Shell>
  );
}

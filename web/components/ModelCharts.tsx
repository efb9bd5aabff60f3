"use client";

import { useState } from "react";
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
  ZAxis,
} from "recharts";
import type { FieldOutcome, ModelSummary, OrgSettings, Outcomes, SuggestedField, WhatIf } from "@/lib/api";

const pct = (x: number | null | undefined) => (x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`);
const FIELDS: SuggestedField[] = ["priority", "team", "category"];
const FIELD_LABEL: Record<SuggestedField, string> = { priority: "Priority", team: "Team", category: "Category" };

/** One head as trained: labels, calibration, and its held-out reliability and coverage. */
export function ModelHead({ head }: { head: ModelSummary }) {
  const m = head.metrics;
  const d = m.diagnostics;
  return (
    <section
      aria-label={`${FIELD_LABEL[head.head]} model`}
      className="flex flex-col gap-3 rounded-md bg-white p-4 ring-1 ring-slate-200"
      data-testid={`model-${head.head}`}
    >
      <header>
        <h2 className="font-medium">
          {FIELD_LABEL[head.head]} · v{head.version}
        </h2>
        <p className="text-xs text-slate-600">
          Trained {new Date(head.created_at).toLocaleString()} on {head.trained_on} tickets
          {m.calibration ? ` · calibrated by ${m.calibration}` : ""}
          {m.temperature !== undefined ? ` (temperature ${m.temperature.toFixed(2)})` : ""}
          {m.embedder ? ` · ${m.embedder} embeddings` : " · text features only"}
          {head.head === "priority" && m.cue_weight !== undefined ? ` · urgency cue weight ${m.cue_weight}` : ""}
        </p>
      </header>
      {d ? (
        <>
          <p className="text-sm" data-testid={`held-out-${head.head}`}>
            Held out at training: {d.held_out} tickets, accuracy {pct(d.accuracy)}, calibration error{" "}
            {d.ece === null ? "—" : d.ece.toFixed(3)}
          </p>
          <div className="flex flex-wrap gap-4">
            <figure>
              <figcaption className="text-xs text-slate-500">Reliability: accuracy against confidence</figcaption>
              <ScatterChart width={240} height={200} margin={{ top: 8, right: 12, bottom: 8, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis type="number" dataKey="confidence" domain={[0, 1]} name="confidence" tickFormatter={pct} />
                <YAxis type="number" dataKey="accuracy" domain={[0, 1]} name="accuracy" tickFormatter={pct} width={44} />
                <ZAxis type="number" dataKey="count" range={[30, 300]} name="tickets" />
                <ReferenceLine segment={[{ x: 0, y: 0 }, { x: 1, y: 1 }]} stroke="#94a3b8" strokeDasharray="4 4" />
                <Tooltip formatter={(v) => (typeof v === "number" && v <= 1 ? pct(v) : String(v))} />
                <Scatter data={d.reliability} fill="#4f46e5" />
              </ScatterChart>
            </figure>
            <figure>
              <figcaption className="text-xs text-slate-500">Coverage and accuracy at each confidence threshold</figcaption>
              <LineChart width={240} height={200} data={d.coverage} margin={{ top: 8, right: 12, bottom: 8, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="threshold" type="number" domain={[0, 1]} tickFormatter={pct} />
                <YAxis domain={[0, 1]} tickFormatter={pct} width={44} />
                <Tooltip formatter={(v) => pct(typeof v === "number" ? v : null)} />
                <Legend />
                <Line dataKey="coverage" stroke="#4f46e5" dot={false} isAnimationActive={false} />
                <Line dataKey="accuracy" stroke="#059669" dot={false} isAnimationActive={false} connectNulls={false} />
              </LineChart>
            </figure>
          </div>
          <details>
            <summary className="cursor-pointer text-sm text-slate-700">{d.label_counts.length} labels</summary>
            <table className="mt-1 text-sm" data-testid={`labels-${head.head}`}>
              <tbody>
                {d.label_counts.map((l) => (
                  <tr key={l.label}>
                    <td className="pr-4">{l.label}</td>
                    <td className="text-right tabular-nums">{l.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      ) : (
        <p className="text-sm text-slate-500">Trained before diagnostics were kept: retrain to see them.</p>
      )}
    </section>
  );
}

/** The what-if row at `threshold`: the nearest threshold the curve has at or below it. */
export function whatIfAt(curve: WhatIf[], threshold: number): WhatIf | null {
  let best: WhatIf | null = null;
  for (const w of curve) if (w.threshold <= threshold + 1e-9 && (!best || w.threshold > best.threshold)) best = w;
  return best;
}

/** A field's live accuracy and what auto-apply would have done at a threshold the admin drags. */
function FieldWhatIf({ field, outcome, current }: { field: SuggestedField; outcome: FieldOutcome; current: number | null }) {
  const [threshold, setThreshold] = useState(current ?? 0.8);
  const at = whatIfAt(outcome.what_if, threshold);
  return (
    <section aria-label={`${FIELD_LABEL[field]} outcomes`} className="flex flex-col gap-2 rounded-md bg-white p-4 ring-1 ring-slate-200">
      <h3 className="font-medium">{FIELD_LABEL[field]}</h3>
      <p className="text-sm" data-testid={`live-${field}`}>
        Right on {outcome.right} of {outcome.decided} decided suggestions ({pct(outcome.accuracy)})
      </p>
      <p className="text-xs text-slate-600">
        Auto-apply threshold now: {current === null ? "off" : pct(current)}
      </p>
      <label className="text-sm">
        What if auto-apply were at <span data-testid={`threshold-${field}`}>{pct(threshold)}</span>
        <input
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={threshold}
          aria-label={`${FIELD_LABEL[field]} auto-apply threshold`}
          onChange={(e) => setThreshold(Number(e.target.value))}
          className="block w-full"
        />
      </label>
      <p className="text-sm" data-testid={`what-if-${field}`}>
        {at && at.applied > 0
          ? `It would have set ${at.applied} of ${outcome.decided} (${pct(at.coverage)}), ${at.right} of them right (${pct(at.accuracy)}).`
          : "It would have set none of them."}
      </p>
      <LineChart width={280} height={160} data={outcome.what_if} margin={{ top: 8, right: 12, bottom: 8, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="threshold" type="number" domain={[0, 1]} tickFormatter={pct} />
        <YAxis domain={[0, 1]} tickFormatter={pct} width={44} />
        <Tooltip formatter={(v) => pct(typeof v === "number" ? v : null)} />
        <ReferenceLine x={threshold} stroke="#f59e0b" />
        <Line dataKey="coverage" stroke="#4f46e5" dot={false} isAnimationActive={false} />
        <Line dataKey="accuracy" stroke="#059669" dot={false} isAnimationActive={false} />
      </LineChart>
    </section>
  );
}

/** Live outcomes of the org's own decisions, and auto-apply what-ifs per field. */
export function OutcomesPanel({ outcomes, settings }: { outcomes: Outcomes; settings: OrgSettings }) {
  return (
    <section aria-label="Live outcomes" className="flex flex-col gap-3">
      <h2 className="font-medium">Last {outcomes.days} days</h2>
      <p className="text-sm" data-testid="accept-rate">
        {outcomes.decided === 0
          ? "No suggestion was decided yet."
          : `${outcomes.decided} suggestions decided: ${outcomes.accepted} accepted (${pct(outcomes.accept_rate)}), ${outcomes.rejected} rejected; ${outcomes.accepted_then_edited} accepted ones were edited since.`}
      </p>
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-3">
        {FIELDS.map((f) => (
          <FieldWhatIf
            key={f}
            field={f}
            outcome={outcomes[f]}
            current={settings.auto_apply_fields?.[f] ?? settings.auto_apply_threshold}
          />
        ))}
      </div>
    </section>
  );
}

"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import {
  api,
  orgPath,
  type Chunk,
  type Citation,
  type Job,
  type KbDocument,
  type SimilarTicket,
  type SuggestedField,
  type Suggestion,
} from "@/lib/api";
import { ConfidenceBar, Empty, ErrorNote, PriorityBadge, dangerButton, errorMessage, input, primaryButton, secondaryButton } from "./ui";

const POLL_MS = 800;

/** A cited chunk, opened from its citation. */
function CitedChunk({ org, citation, onClose }: { org: string; citation: Citation; onClose: () => void }) {
  const [chunk, setChunk] = useState<(Chunk & { title: string }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<KbDocument & { chunks: Chunk[] }>(orgPath(org, `documents/${citation.document_id}/`))
      .then((d) => {
        const found = d.chunks.find((c) => c.id === citation.chunk_id);
        if (found) setChunk({ ...found, title: d.title });
        else setError("The cited passage no longer exists.");
      })
      .catch((e) => setError(errorMessage(e)));
  }, [org, citation]);
  return (
    <div role="dialog" aria-label="Cited passage" className="rounded-md bg-slate-50 p-3 ring-1 ring-slate-300">
      <ErrorNote error={error} />
      {chunk && (
        <>
          <p className="text-xs font-medium text-slate-600" data-testid="cited-title">
            {chunk.title} · characters {chunk.char_start}–{chunk.char_end}
          </p>
          <p className="mt-1 whitespace-pre-wrap text-sm" data-testid="cited-content">{chunk.content}</p>
        </>
      )}
      <button className={`${secondaryButton} mt-2`} onClick={onClose}>Close</button>
    </div>
  );
}

/** One field's own confidence, and whether auto-apply already set it on the ticket. */
function FieldMeter({ suggestion, field, label }: { suggestion: Suggestion; field: SuggestedField; label: string }) {
  const value = suggestion.field_confidence?.[field] ?? null;
  const applied = suggestion.auto_applied_fields?.includes(field);
  return (
    <div className="mt-1" data-testid={`field-confidence-${field}`}>
      {value === null ? (
        <span className="text-xs text-slate-500">no estimate</span>
      ) : (
        <ConfidenceBar value={value} label={label} />
      )}
      {applied && (
        <span className="mt-0.5 inline-block rounded bg-emerald-50 px-1 text-xs text-emerald-800" data-testid={`auto-applied-${field}`}>
          auto-applied
        </span>
      )}
    </div>
  );
}

function asSimilar(value: unknown): SimilarTicket[] {
  return Array.isArray(value) ? (value as SimilarTicket[]).slice(0, 5) : [];
}

/** Why triage decided: the urgency cue, the model versions and the nearest labelled tickets. */
export function Reasons({ suggestion }: { suggestion: Suggestion }) {
  const m = suggestion.metadata ?? {};
  const heads = (m.heads ?? {}) as Record<string, { urgency_cue?: string | null } | undefined>;
  const cue = (heads.priority?.urgency_cue ?? m.urgency_cue ?? null) as string | null;
  const versions = Array.isArray(m.model_versions) ? (m.model_versions as [string, number][]) : [];
  const similar = asSimilar(m.similar_tickets);
  return (
    <section aria-label="Why" className="flex flex-col gap-2 text-sm">
      <p className="text-xs text-slate-500">
        Engine <span data-testid="engine">{String(m.engine ?? "unknown")}</span>
        {versions.length > 0 && (
          <span data-testid="model-versions">
            {" · models "}
            {versions.map(([head, v]) => `${head} v${v}`).join(", ")}
          </span>
        )}
        {cue && (
          <span data-testid="urgency-cue">
            {" · urgency cue "}“{cue}”
          </span>
        )}
      </p>
      <div>
        <p className="text-xs text-slate-500">Similar labelled tickets</p>
        {similar.length === 0 ? (
          <p className="text-sm text-slate-500">No labelled ticket is similar enough yet.</p>
        ) : (
          <ul className="divide-y divide-slate-100" data-testid="similar-tickets">
            {similar.map((t) => (
              <li key={t.ticket_id} className="flex items-center gap-2 py-1" data-testid="similar-ticket">
                <a className="min-w-0 flex-1 truncate text-indigo-700 hover:underline" href={`/?ticket=${t.ticket_id}`}>
                  {t.subject}
                </a>
                <span className="text-xs text-slate-600">{t.team ?? "—"}</span>
                <PriorityBadge priority={t.priority} />
                <span className="w-10 text-right text-xs tabular-nums text-slate-600" title="similarity">
                  {Math.round(t.similarity * 100)}%
                </span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}

export function SuggestionCard({
  org,
  suggestion,
  canDecide,
  onDecided,
  onApprove,
}: {
  org: string;
  suggestion: Suggestion;
  canDecide: boolean;
  onDecided: () => void;
  /** Approving hands the draft to the ticket's composer, to edit and send from there. */
  onApprove?: (suggestion: Suggestion) => void;
}) {
  const [draft, setDraft] = useState(suggestion.draft_reply);
  const [reason, setReason] = useState("");
  const [rejecting, setRejecting] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [opened, setOpened] = useState<Citation | null>(null);
  const pending = suggestion.status === "pending";
  const viaComposer = onApprove !== undefined && suggestion.draft_reply.trim() !== "";

  const decide = async (action: "accept" | "reject") => {
    setBusy(true);
    setError(null);
    try {
      await api(orgPath(org, `suggestions/${suggestion.id}/${action}/`), {
        method: "POST",
        body: action === "accept" ? { draft_reply: draft } : { reason: reason.trim() || undefined },
      });
      onDecided();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <article aria-label="AI suggestion" className="flex flex-col gap-3 rounded-md bg-white p-3 ring-1 ring-indigo-200">
      <header className="flex items-center gap-2">
        <h3 className="font-medium">AI suggestion</h3>
        <span className="rounded bg-slate-100 px-1.5 text-xs text-slate-600" data-testid="suggestion-status">{suggestion.status}</span>
      </header>
      <dl className="grid grid-cols-1 gap-2 text-sm sm:grid-cols-3">
        <div>
          <dt className="text-xs text-slate-500">Priority</dt>
          <dd data-testid="suggested-priority"><PriorityBadge priority={suggestion.suggested_priority} /></dd>
          <FieldMeter suggestion={suggestion} field="priority" label="Priority confidence" />
        </div>
        <div>
          <dt className="text-xs text-slate-500">Team</dt>
          <dd data-testid="suggested-team">{suggestion.suggested_team ?? "—"}</dd>
          <FieldMeter suggestion={suggestion} field="team" label="Team confidence" />
        </div>
        <div>
          <dt className="text-xs text-slate-500">Category</dt>
          <dd data-testid="suggested-classification">{suggestion.classification ?? "—"}</dd>
          <FieldMeter suggestion={suggestion} field="category" label="Category confidence" />
        </div>
      </dl>
      <div>
        <p className="text-xs text-slate-500" title="The smallest of the fields' confidences: the chance, at most, that every field is right">
          Overall confidence
        </p>
        <ConfidenceBar value={suggestion.confidence} />
      </div>
      <Reasons suggestion={suggestion} />
      <label className="text-xs text-slate-600">
        Draft reply
        {pending && canDecide
          ? viaComposer
            ? " (approving puts it in the reply box to edit, then sends it to the requester)"
            : " (edit it here; approving sends it to the requester)"
          : ""}
        <textarea
          aria-label="Draft reply"
          className={`${input} mt-1 h-40 font-mono`}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          readOnly={!canDecide || !pending || viaComposer}
        />
      </label>
      <div>
        <p className="text-xs text-slate-500">Citations</p>
        {suggestion.citations.length === 0 ? (
          <p className="text-sm text-slate-500">No knowledge-base passage was close enough to cite.</p>
        ) : (
          <ul className="flex flex-wrap gap-2">
            {suggestion.citations.map((c, i) => (
              <li key={c.chunk_id}>
                <button className={secondaryButton} data-testid="citation" onClick={() => setOpened(c)}>
                  [{i + 1}] passage {c.char_start}–{c.char_end} · {Math.round(c.score * 100)}%
                </button>
              </li>
            ))}
          </ul>
        )}
        {opened && <CitedChunk org={org} citation={opened} onClose={() => setOpened(null)} />}
      </div>
      {suggestion.decision_reason && <p className="text-sm text-slate-600">Reason: {suggestion.decision_reason}</p>}
      <ErrorNote error={error} />
      {canDecide && pending && (
        <div className="flex flex-wrap items-end gap-2">
          <button
            className={primaryButton}
            disabled={busy}
            onClick={() => (viaComposer ? onApprove(suggestion) : decide("accept"))}
          >
            Approve
          </button>
          {rejecting ? (
            <>
              <label className="text-xs text-slate-600">
                Reason
                <input className={input} value={reason} onChange={(e) => setReason(e.target.value)} />
              </label>
              <button className={dangerButton} disabled={busy} onClick={() => decide("reject")}>Confirm reject</button>
            </>
          ) : (
            <button className={dangerButton} onClick={() => setRejecting(true)}>Reject</button>
          )}
        </div>
      )}
    </article>
  );
}

/** The "Run AI triage" button with the job's live status, and the ticket's suggestions. */
export function TriagePanel({
  org,
  ticketId,
  canWrite,
  onChanged,
  onApprove,
  decided = 0,
}: {
  org: string;
  ticketId: string;
  canWrite: boolean;
  onChanged: () => void;
  onApprove?: (suggestion: Suggestion) => void;
  /** Bumped when a suggestion was decided elsewhere (the composer): reload them. */
  decided?: number;
}) {
  const [job, setJob] = useState<Job | null>(null);
  const [suggestions, setSuggestions] = useState<Suggestion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const loadSuggestions = useCallback(async () => {
    try {
      const list = await api<{ items: Suggestion[] }>(orgPath(org, `tickets/${ticketId}/suggestions/`));
      setSuggestions(list.items);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [org, ticketId]);

  useEffect(() => {
    setJob(null);
    setSuggestions(null);
    void loadSuggestions();
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [loadSuggestions]);

  useEffect(() => {
    if (decided > 0) void loadSuggestions();
  }, [decided, loadSuggestions]);

  const poll = useCallback(
    (id: string) => {
      timer.current = setTimeout(async () => {
        try {
          const next = await api<Job>(orgPath(org, `jobs/${id}/`));
          setJob(next);
          if (next.status === "succeeded") {
            await loadSuggestions();
            onChanged();
          } else if (next.status !== "failed") poll(id);
        } catch (e) {
          setError(errorMessage(e));
        }
      }, POLL_MS);
    },
    [org, loadSuggestions, onChanged],
  );

  const run = async (retry: boolean) => {
    setError(null);
    try {
      const started = await api<Job>(orgPath(org, `tickets/${ticketId}/triage/`), {
        method: "POST",
        // A retry is a new request, not a repeat of the failed one.
        headers: retry && job ? { "Idempotency-Key": `retry-${job.id}-${Date.now()}` } : {},
      });
      setJob(started);
      if (started.status === "succeeded") await loadSuggestions();
      else if (started.status !== "failed") poll(started.id);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const busy = job?.status === "queued" || job?.status === "running";
  return (
    <section aria-label="AI triage" className="flex flex-col gap-3">
      <div className="flex items-center gap-3">
        {canWrite && (
          <button className={primaryButton} disabled={busy} onClick={() => run(false)}>Run AI triage</button>
        )}
        {job && (
          <span role="status" className="text-sm text-slate-700" data-testid="job-status">
            Triage {job.status}
            {job.attempt_count > 1 ? ` (attempt ${job.attempt_count})` : ""}
          </span>
        )}
      </div>
      {job?.status === "failed" && (
        <div className="flex items-center gap-2">
          <ErrorNote error={`Triage failed: ${job.last_error ?? "unknown error"}`} />
          {canWrite && <button className={secondaryButton} onClick={() => run(true)}>Retry</button>}
        </div>
      )}
      <ErrorNote error={error} />
      {suggestions === null ? null : suggestions.length === 0 ? (
        <Empty>No suggestions yet.</Empty>
      ) : (
        suggestions.map((s) => (
          <SuggestionCard
            key={s.id}
            org={org}
            suggestion={s}
            canDecide={canWrite}
            onApprove={onApprove}
            onDecided={() => {
              void loadSuggestions();
              onChanged();
            }}
          />
        ))
      )}
    </section>
  );
}

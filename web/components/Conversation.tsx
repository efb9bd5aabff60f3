"use client";

import { useEffect, useRef, useState } from "react";
import type { Message, MessageKind } from "@/lib/api";
import { ErrorNote, errorMessage, input, primaryButton, secondaryButton } from "./ui";

const KIND_LABEL: Record<MessageKind, string> = { inbound: "Requester", reply: "Reply", note: "Internal note" };
const KIND_STYLE: Record<MessageKind, string> = {
  inbound: "bg-white ring-slate-200",
  reply: "bg-indigo-50 ring-indigo-200 ml-8",
  note: "bg-amber-50 ring-amber-200 ml-8",
};
const AUTHOR_LABEL = { user: "agent", webhook: "via webhook", ai: "AI", system: "system" } as const;

/** A ticket's messages, oldest first: the requester's, replies to them, internal notes. */
export function Conversation({ messages }: { messages: Message[] }) {
  return (
    <ol aria-label="Conversation" className="flex flex-col gap-2">
      {messages.map((m) => (
        <li key={m.id} className={`rounded-md p-3 text-sm ring-1 ${KIND_STYLE[m.kind]}`} data-testid="message" data-kind={m.kind}>
          <div className="mb-1 flex items-center gap-2 text-xs text-slate-600">
            <span className="font-medium text-slate-800">{KIND_LABEL[m.kind]}</span>
            <span>{AUTHOR_LABEL[m.author_type]}</span>
            {m.delivery_state && (
              <span
                data-testid="delivery-state"
                title={m.delivery_error ?? undefined}
                className={`rounded px-1.5 ${m.delivery_state === "sent" ? "bg-emerald-50 text-emerald-800" : m.delivery_state === "failed" ? "bg-red-50 text-red-800" : "bg-slate-100"}`}
              >
                {m.delivery_state === "sent" ? "emailed" : m.delivery_state === "failed" ? `not emailed: ${m.delivery_error ?? "failed"}` : "emailing…"}
              </span>
            )}
            <time className="ml-auto" dateTime={m.created_at}>
              {new Date(m.created_at).toLocaleString()}
            </time>
          </div>
          <p className="whitespace-pre-wrap" data-testid="message-body">
            {m.body || <span className="italic text-slate-500">(no text)</span>}
          </p>
        </li>
      ))}
    </ol>
  );
}

/** A suggestion being approved: its draft waits in the composer to be edited and sent. */
export type Approval = { suggestionId: string; draft: string };

/**
 * Writes a reply to the requester or an internal note. While a suggestion is being approved,
 * it holds the suggestion's draft: sending approves the suggestion with the text as edited,
 * which becomes the reply.
 */
export function Composer({
  onSend,
  approval = null,
  onApprove,
  onCancelApproval,
}: {
  onSend: (kind: Exclude<MessageKind, "inbound">, body: string) => Promise<void>;
  approval?: Approval | null;
  onApprove?: (approval: Approval, body: string) => Promise<void>;
  onCancelApproval?: () => void;
}) {
  const [kind, setKind] = useState<Exclude<MessageKind, "inbound">>("reply");
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const approving = approval !== null && onApprove !== undefined;

  // A new approval fills the box in the same render that shows it (state adjusted while
  // rendering, not in an effect), so the box is never seen empty.
  const [filledFor, setFilledFor] = useState<Approval | null>(null);
  if (approval !== filledFor) {
    setFilledFor(approval);
    if (approval) {
      setKind("reply");
      setBody(approval.draft);
      setError(null);
    }
  }
  useEffect(() => {
    if (!approval) return;
    box.current?.scrollIntoView?.({ block: "center" });
    box.current?.focus();
  }, [approval]);

  return (
    <form
      aria-label="Write a message"
      className={`flex flex-col gap-2 rounded-md bg-white p-3 ring-1 ${approving ? "ring-indigo-400" : "ring-slate-200"}`}
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          if (approving) await onApprove(approval, body);
          else await onSend(kind, body);
          setBody("");
        } catch (err) {
          setError(errorMessage(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      {approving ? (
        <p className="text-sm text-indigo-900" data-testid="approving">
          Approving the AI suggestion: edit its draft reply, then send it to the requester.
        </p>
      ) : (
        <div className="flex gap-3 text-sm" role="radiogroup" aria-label="Message kind">
          {(["reply", "note"] as const).map((k) => (
            <label key={k} className="flex items-center gap-1">
              <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
              {k === "reply" ? "Reply to requester" : "Internal note"}
            </label>
          ))}
        </div>
      )}
      <textarea
        ref={box}
        aria-label="Message"
        className={`${input} min-h-20`}
        required
        value={body}
        onChange={(e) => setBody(e.target.value)}
        placeholder={kind === "reply" ? "Write to the requester…" : "Only your org sees notes…"}
      />
      <ErrorNote error={error} />
      <div className="flex justify-end gap-2">
        {approving && (
          <button
            className={secondaryButton}
            type="button"
            disabled={busy}
            onClick={() => {
              setBody("");
              onCancelApproval?.();
            }}
          >
            Cancel
          </button>
        )}
        <button className={primaryButton} type="submit" disabled={busy || !body.trim()}>
          {busy ? "Sending…" : approving ? "Approve and send reply" : kind === "reply" ? "Send reply" : "Add note"}
        </button>
      </div>
    </form>
  );
}

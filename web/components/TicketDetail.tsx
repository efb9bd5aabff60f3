"use client";

import { useCallback, useEffect, useState } from "react";
import { PRIORITIES, STATUSES, api, orgPath, type Message, type Priority, type Status, type Ticket, type TicketEvent } from "@/lib/api";
import { type Approval, Composer, Conversation } from "./Conversation";
import { EventsTimeline } from "./EventsTimeline";
import { TriagePanel } from "./TriagePanel";
import { ErrorNote, Loading, PriorityBadge, STATUS_LABEL, StatusBadge, errorMessage, input } from "./ui";

export function TicketDetail({
  org,
  ticketId,
  teams,
  categories,
  canWrite,
  onChanged,
}: {
  org: string;
  ticketId: string;
  teams: string[];
  categories: string[];
  canWrite: boolean;
  onChanged: () => void;
}) {
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [events, setEvents] = useState<TicketEvent[]>([]);
  const [messages, setMessages] = useState<Message[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [approval, setApproval] = useState<Approval | null>(null);
  const [decided, setDecided] = useState(0);

  const load = useCallback(async () => {
    try {
      const [t, e, m] = await Promise.all([
        api<Ticket>(orgPath(org, `tickets/${ticketId}/`)),
        api<{ items: TicketEvent[] }>(orgPath(org, `tickets/${ticketId}/events/?limit=50`)),
        api<{ items: Message[] }>(orgPath(org, `tickets/${ticketId}/messages/?limit=100`)),
      ]);
      setTicket(t);
      setEvents(e.items);
      setMessages(m.items);
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [org, ticketId]);

  useEffect(() => {
    setTicket(null);
    setApproval(null);
    void load();
  }, [load]);

  const changed = useCallback(() => {
    void load();
    onChanged();
  }, [load, onChanged]);

  const patch = async (change: Partial<Pick<Ticket, "status" | "priority" | "assigned_team" | "category">>) => {
    try {
      setTicket(await api<Ticket>(orgPath(org, `tickets/${ticketId}/`), { method: "PATCH", body: change }));
      changed();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  if (!ticket) return error ? <ErrorNote error={error} /> : <Loading label="Loading ticket…" />;
  return (
    <section aria-label="Ticket" className="flex flex-col gap-4">
      <header>
        <h2 className="text-lg font-semibold" data-testid="ticket-subject">{ticket.subject}</h2>
        <p className="text-sm text-slate-600">
          From <span data-testid="ticket-requester">{ticket.requester_email}</span> ·{" "}
          {new Date(ticket.created_at).toLocaleString()}
        </p>
      </header>
      <ErrorNote error={error} />
      <Conversation messages={messages} />
      {canWrite ? (
        <div className="grid grid-cols-2 gap-2 sm:grid-cols-4">
          <label className="text-xs text-slate-600">
            Status
            <select className={input} value={ticket.status} onChange={(e) => patch({ status: e.target.value as Status })}>
              {STATUSES.map((s) => (
                <option key={s} value={s}>{STATUS_LABEL[s]}</option>
              ))}
            </select>
          </label>
          <label className="text-xs text-slate-600">
            Priority
            <select
              className={input}
              data-testid="priority-select"
              value={ticket.priority}
              onChange={(e) => patch({ priority: e.target.value as Priority })}
            >
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>{p}</option>
              ))}
            </select>
          </label>
          <label className="text-xs text-slate-600">
            Team
            <select
              className={input}
              data-testid="team-select"
              value={ticket.assigned_team ?? ""}
              onChange={(e) => patch({ assigned_team: e.target.value || null })}
            >
              <option value="">Unassigned</option>
              {teams.map((t) => (
                <option key={t} value={t}>{t}</option>
              ))}
            </select>
          </label>
          <label className="text-xs text-slate-600">
            Category
            <select
              className={input}
              data-testid="category-select"
              value={ticket.category ?? ""}
              onChange={(e) => patch({ category: e.target.value || null })}
            >
              <option value="">None</option>
              {categories.map((c) => (
                <option key={c} value={c}>{c}</option>
              ))}
              {ticket.category && !categories.includes(ticket.category) && (
                <option value={ticket.category}>{ticket.category}</option>
              )}
            </select>
          </label>
        </div>
      ) : (
        <p className="flex items-center gap-2 text-sm">
          <StatusBadge status={ticket.status} /> <PriorityBadge priority={ticket.priority} />
          <span data-testid="ticket-team">{ticket.assigned_team ?? "Unassigned"}</span>
          <span data-testid="ticket-category">{ticket.category ?? "No category"}</span>
        </p>
      )}
      {canWrite && (
        <Composer
          onSend={async (kind, body) => {
            await api<Message>(orgPath(org, `tickets/${ticketId}/messages/`), { method: "POST", body: { kind, body } });
            changed();
          }}
          approval={approval}
          onApprove={async (a, body) => {
            // Accepting with the edited draft applies the suggestion and sends the reply.
            await api(orgPath(org, `suggestions/${a.suggestionId}/accept/`), { method: "POST", body: { draft_reply: body } });
            setApproval(null);
            setDecided((n) => n + 1);
            changed();
          }}
          onCancelApproval={() => setApproval(null)}
        />
      )}
      <TriagePanel
        org={org}
        ticketId={ticket.id}
        canWrite={canWrite}
        onChanged={changed}
        onApprove={canWrite ? (s) => setApproval({ suggestionId: s.id, draft: s.draft_reply }) : undefined}
        decided={decided}
      />
      <div>
        <h3 className="mb-2 font-medium">Events</h3>
        <EventsTimeline events={events} />
      </div>
    </section>
  );
}

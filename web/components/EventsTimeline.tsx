import type { TicketEvent } from "@/lib/api";
import { Empty } from "./ui";

const ACTOR_LABEL = { user: "User", system: "System", ai: "AI", webhook: "Webhook" } as const;

const show = (v: unknown) => (v === null || v === undefined ? "none" : String(v));

/** "priority: medium → high" for change events; the payload's key facts otherwise. */
export function describe(event: TicketEvent): string {
  const p = event.payload as Record<string, unknown>;
  if (p.before && p.after && typeof p.before === "object" && typeof p.after === "object") {
    const before = p.before as Record<string, unknown>;
    const after = p.after as Record<string, unknown>;
    return Object.keys(after)
      .map((k) => `${k.replace("assigned_", "")}: ${show(before[k])} → ${show(after[k])}`)
      .join(", ");
  }
  if (typeof p.reason === "string") return `reason: ${p.reason}`;
  if (typeof p.confidence === "number") return `confidence ${Math.round(p.confidence * 100)}%`;
  if (typeof p.error === "string") return p.error;
  return "";
}

export function EventsTimeline({ events }: { events: TicketEvent[] }) {
  if (events.length === 0) return <Empty>No events yet.</Empty>;
  return (
    <ol aria-label="Events" className="flex flex-col gap-2">
      {events.map((e) => (
        <li key={e.id} className="rounded-md bg-white px-3 py-2 text-sm ring-1 ring-slate-200" data-testid="event">
          <div className="flex items-center gap-2">
            <span className="font-medium" data-testid="event-type">{e.event_type.replaceAll("_", " ")}</span>
            <span className="rounded bg-slate-100 px-1.5 text-xs text-slate-600">{ACTOR_LABEL[e.actor_type]}</span>
            <time className="ml-auto text-xs text-slate-500" dateTime={e.created_at}>
              {new Date(e.created_at).toLocaleString()}
            </time>
          </div>
          {describe(e) && <p className="text-slate-600">{describe(e)}</p>}
        </li>
      ))}
    </ol>
  );
}

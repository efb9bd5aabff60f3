"use client";

import { useCallback, useEffect, useState } from "react";
import { EVENT_TYPES, api, orgPath, type CreatedEndpoint, type Delivery, type Endpoint } from "@/lib/api";
import { Empty, ErrorNote, Loading, dangerButton, errorMessage, input, primaryButton, secondaryButton } from "./ui";

/** One endpoint's delivery log, newest first, with redelivery. */
function Deliveries({ orgId, endpoint }: { orgId: string; endpoint: Endpoint }) {
  const [items, setItems] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const base = orgPath(orgId, `webhook-endpoints/${endpoint.id}/`);
  const load = useCallback(async () => {
    try {
      setItems((await api<{ items: Delivery[] }>(`${base}deliveries/?limit=25`)).items);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [base]);
  useEffect(() => {
    void load();
  }, [load]);
  if (error) return <ErrorNote error={error} />;
  if (!items) return <Loading label="Loading deliveries…" />;
  if (items.length === 0) return <Empty>No deliveries yet.</Empty>;
  return (
    <table className="w-full text-left text-xs" aria-label={`Deliveries to ${endpoint.url}`}>
      <thead className="text-slate-500">
        <tr>
          <th className="py-1">Event</th>
          <th>State</th>
          <th>Attempts</th>
          <th>Last answer</th>
          <th>Created</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {items.map((d) => (
          <tr key={d.id} className="border-t border-slate-100" data-testid="delivery-row">
            <td className="py-1 font-mono">{d.event_type}</td>
            <td>{d.status === "pending" && d.attempt_count > 0 ? `retrying ${new Date(d.next_attempt_at).toLocaleTimeString()}` : d.status}</td>
            <td>{d.attempt_count}</td>
            <td>{d.last_status_code ?? d.last_error ?? "–"}</td>
            <td>{new Date(d.created_at).toLocaleString()}</td>
            <td>
              <button
                type="button"
                className="text-indigo-700 underline"
                onClick={async () => {
                  try {
                    await api(`${base}deliveries/${d.id}/redeliver/`, { method: "POST" });
                    await load();
                  } catch (e) {
                    setError(errorMessage(e));
                  }
                }}
              >
                Redeliver
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Admins send the org's events to other systems: endpoints, their log, test events. */
export function WebhookEndpoints({ orgId }: { orgId: string }) {
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<string[]>(["message.created", "suggestion.accepted"]);
  const [created, setCreated] = useState<CreatedEndpoint | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const base = orgPath(orgId, "webhook-endpoints/");
  const load = useCallback(async () => {
    try {
      setEndpoints((await api<{ items: Endpoint[] }>(base)).items);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [base]);
  useEffect(() => {
    void load();
  }, [load]);
  const act = async (run: () => Promise<unknown>, done?: string) => {
    setError(null);
    setNote(null);
    try {
      await run();
      if (done) setNote(done);
      await load();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <section aria-label="Outbound webhooks" className="flex flex-col gap-3 rounded-md bg-white p-4 ring-1 ring-slate-200">
      <h2 className="font-medium">Outbound webhooks</h2>
      <p className="text-xs text-slate-600">
        Nexify posts the events you choose to your endpoints, signed with each endpoint&apos;s secret like inbound webhooks,
        and retries failures for a day. An endpoint that fails ten times in a row is turned off.
      </p>
      <form
        className="flex flex-col gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            setCreated(await api<CreatedEndpoint>(base, { method: "POST", body: { url, event_types: events } }));
            setUrl("");
          });
        }}
      >
        <label className="text-xs text-slate-600">
          Endpoint URL
          <input className={input} type="url" required placeholder="https://helpdesk.example.com/nexify" value={url} onChange={(e) => setUrl(e.target.value)} />
        </label>
        <fieldset className="flex flex-wrap gap-3 text-xs">
          <legend className="text-slate-600">Events</legend>
          {EVENT_TYPES.map((t) => (
            <label key={t} className="flex items-center gap-1 font-mono">
              <input
                type="checkbox"
                checked={events.includes(t)}
                onChange={(e) => setEvents((now) => (e.target.checked ? [...now, t] : now.filter((x) => x !== t)))}
              />
              {t}
            </label>
          ))}
        </fieldset>
        <button className={`${primaryButton} self-start`} type="submit" disabled={events.length === 0}>
          Add endpoint
        </button>
      </form>
      {created && (
        <p className="text-sm" role="status">
          Signing secret for {created.url} (shown once):{" "}
          <code className="break-all rounded bg-slate-100 px-1" data-testid="endpoint-secret">{created.secret}</code>
        </p>
      )}
      {note && <p className="text-sm text-emerald-700" role="status">{note}</p>}
      <ErrorNote error={error} />
      {endpoints === null ? (
        error ? null : <Loading />
      ) : endpoints.length === 0 ? (
        <Empty>No endpoints yet.</Empty>
      ) : (
        <ul className="flex flex-col gap-2">
          {endpoints.map((ep) => (
            <li key={ep.id} className="rounded-md p-2 ring-1 ring-slate-200" data-testid="endpoint-row">
              <div className="flex flex-wrap items-center gap-2 text-sm">
                <span className="break-all font-mono">{ep.url}</span>
                <span className={`rounded px-1.5 text-xs ${ep.enabled ? "bg-emerald-50 text-emerald-800" : "bg-red-50 text-red-800"}`}>
                  {ep.enabled ? "on" : "off"}
                </span>
                <span className="text-xs text-slate-500">{ep.event_types.join(", ")}</span>
              </div>
              {!ep.enabled && ep.disabled_reason && <p className="text-xs text-red-700">{ep.disabled_reason}</p>}
              <div className="mt-2 flex flex-wrap gap-2">
                <button type="button" className={secondaryButton} onClick={() => void act(() => api(`${base}${ep.id}/test/`, { method: "POST" }), "Test event queued: it leaves within a minute.")}>
                  Send test event
                </button>
                <button type="button" className={secondaryButton} onClick={() => setOpen(open === ep.id ? null : ep.id)}>
                  {open === ep.id ? "Hide deliveries" : "Deliveries"}
                </button>
                <button type="button" className={secondaryButton} onClick={() => void act(() => api(`${base}${ep.id}/`, { method: "PATCH", body: { enabled: !ep.enabled } }))}>
                  {ep.enabled ? "Turn off" : "Turn on"}
                </button>
                <button
                  type="button"
                  className={dangerButton}
                  onClick={() => {
                    if (window.confirm(`Delete the endpoint ${ep.url} and its delivery log?`)) void act(() => api(`${base}${ep.id}/`, { method: "DELETE" }));
                  }}
                >
                  Delete
                </button>
              </div>
              {open === ep.id && (
                <div className="mt-2">
                  <Deliveries orgId={orgId} endpoint={ep} />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

"use client";

import { useEffect, useState } from "react";
import { PRIORITIES, STATUSES, api, orgPath, type Priority, type Status, type TicketPage } from "@/lib/api";
import { Empty, ErrorNote, Loading, PriorityBadge, STATUS_LABEL, StatusBadge, errorMessage, input, secondaryButton } from "./ui";

export interface Filters {
  status: Status | "";
  priority: Priority | "";
  team: string;
  category: string;
  q: string;
}

const PAGE_SIZE = 25;

export function TicketList({
  org,
  teams,
  categories,
  selected,
  onSelect,
  refreshKey,
}: {
  org: string;
  teams: string[];
  categories: string[];
  selected: string | null;
  onSelect: (id: string) => void;
  refreshKey: number;
}) {
  const [filters, setFilters] = useState<Filters>({ status: "", priority: "", team: "", category: "", q: "" });
  const [search, setSearch] = useState("");
  // Cursors of the pages before this one, for going back.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<TicketPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (filters.status) params.set("status", filters.status);
    if (filters.priority) params.set("priority", filters.priority);
    if (filters.team) params.set("assigned_team", filters.team);
    if (filters.category) params.set("category", filters.category);
    if (filters.q) params.set("q", filters.q);
    if (cursor) params.set("cursor", cursor);
    let cancelled = false;
    setLoading(true);
    api<TicketPage>(orgPath(org, `tickets/?${params}`))
      .then((p) => !cancelled && (setPage(p), setError(null)))
      .catch((e) => !cancelled && setError(errorMessage(e)))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [org, filters, cursor, refreshKey]);

  const update = (change: Partial<Filters>) => {
    setFilters((f) => ({ ...f, ...change }));
    setCursors([null]);
  };

  return (
    <section aria-label="Tickets" className="flex flex-col gap-3">
      <div role="tablist" aria-label="Status" className="flex gap-2">
        {(["", ...STATUSES] as const).map((s) => (
          <button
            key={s || "all"}
            role="tab"
            aria-selected={filters.status === s}
            className={`rounded-md px-3 py-1 text-sm ${filters.status === s ? "bg-indigo-600 text-white" : "bg-white ring-1 ring-slate-300"}`}
            onClick={() => update({ status: s })}
          >
            {s ? STATUS_LABEL[s] : "All"}
            {s && page && <span className="ml-1 tabular-nums" data-testid={`count-${s}`}>({page.counts[s]})</span>}
          </button>
        ))}
      </div>
      <form
        className="grid grid-cols-2 gap-2 sm:grid-cols-5"
        onSubmit={(e) => {
          e.preventDefault();
          update({ q: search.trim() });
        }}
      >
        <label className="col-span-2 text-xs text-slate-600">
          Search
          <input className={input} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Subject or body" />
        </label>
        <label className="text-xs text-slate-600">
          Priority
          <select className={input} value={filters.priority} onChange={(e) => update({ priority: e.target.value as Priority | "" })}>
            <option value="">Any</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>{p}</option>
            ))}
          </select>
        </label>
        <label className="text-xs text-slate-600">
          Team
          <select className={input} value={filters.team} onChange={(e) => update({ team: e.target.value })}>
            <option value="">Any</option>
            {teams.map((t) => (
              <option key={t} value={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="text-xs text-slate-600">
          Category
          <select className={input} data-testid="category-filter" value={filters.category} onChange={(e) => update({ category: e.target.value })}>
            <option value="">Any</option>
            {categories.map((c) => (
              <option key={c} value={c}>{c}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={error} />
      {loading && !page ? (
        <Loading label="Loading tickets…" />
      ) : page && page.items.length === 0 ? (
        <Empty>No tickets match these filters.</Empty>
      ) : (
        <ul className="divide-y divide-slate-200 rounded-md bg-white ring-1 ring-slate-200" aria-busy={loading}>
          {page?.items.map((t) => (
            <li key={t.id}>
              <button
                className={`flex w-full flex-col gap-1 px-3 py-2 text-left hover:bg-slate-50 ${selected === t.id ? "bg-indigo-50" : ""}`}
                onClick={() => onSelect(t.id)}
                aria-current={selected === t.id}
              >
                <span className="text-sm font-medium">{t.subject}</span>
                <span className="flex items-center gap-2 text-xs text-slate-500">
                  <StatusBadge status={t.status} />
                  <PriorityBadge priority={t.priority} />
                  {t.assigned_team && <span>{t.assigned_team}</span>}
                  {t.category && <span className="rounded bg-slate-100 px-1">{t.category}</span>}
                  <span className="ml-auto">{t.requester_email}</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="flex justify-between">
        <button className={secondaryButton} disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous
        </button>
        <button
          className={secondaryButton}
          disabled={!page?.next_cursor}
          onClick={() => page?.next_cursor && setCursors((c) => [...c, page.next_cursor])}
        >
          Next
        </button>
      </div>
    </section>
  );
}

import type { ReactNode } from "react";
import type { Priority, Status } from "@/lib/api";

const PRIORITY_STYLE: Record<Priority, string> = {
  low: "bg-slate-100 text-slate-700 ring-slate-300",
  medium: "bg-sky-50 text-sky-800 ring-sky-300",
  high: "bg-amber-50 text-amber-800 ring-amber-300",
  urgent: "bg-red-50 text-red-800 ring-red-300",
};
const STATUS_STYLE: Record<Status, string> = {
  open: "bg-emerald-50 text-emerald-800 ring-emerald-300",
  in_progress: "bg-indigo-50 text-indigo-800 ring-indigo-300",
  resolved: "bg-slate-100 text-slate-600 ring-slate-300",
};
export const STATUS_LABEL: Record<Status, string> = {
  open: "Open",
  in_progress: "In progress",
  resolved: "Resolved",
};

function Pill({ className, children, testId }: { className: string; children: ReactNode; testId?: string }) {
  return (
    <span data-testid={testId} className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${className}`}>
      {children}
    </span>
  );
}

export function PriorityBadge({ priority }: { priority: Priority }) {
  return <Pill className={PRIORITY_STYLE[priority]} testId="priority-badge">{priority}</Pill>;
}

export function StatusBadge({ status }: { status: Status }) {
  return <Pill className={STATUS_STYLE[status]} testId="status-badge">{STATUS_LABEL[status]}</Pill>;
}

/** The confidence as a bar and its number (0–100%). */
export function ConfidenceBar({ value, label = "Confidence" }: { value: number; label?: string }) {
  const percent = Math.round(Math.min(1, Math.max(0, value)) * 100);
  const colour = percent >= 80 ? "bg-emerald-500" : percent >= 50 ? "bg-amber-500" : "bg-red-500";
  return (
    <div className="flex items-center gap-2">
      <div
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="h-2 w-40 overflow-hidden rounded bg-slate-200"
      >
        <div className={`h-full ${colour}`} style={{ width: `${percent}%` }} />
      </div>
      <span className="text-sm tabular-nums text-slate-700">{percent}%</span>
    </div>
  );
}

export function ErrorNote({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      {error}
    </p>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p role="status" className="px-3 py-6 text-center text-sm text-slate-500">
      {label}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="px-3 py-6 text-center text-sm text-slate-500">{children}</p>;
}

export const button =
  "inline-flex items-center justify-center rounded-md px-3 py-1.5 text-sm font-medium shadow-sm disabled:opacity-50";
export const primaryButton = `${button} bg-indigo-600 text-white hover:bg-indigo-700`;
export const secondaryButton = `${button} bg-white text-slate-800 ring-1 ring-inset ring-slate-300 hover:bg-slate-50`;
export const dangerButton = `${button} bg-white text-red-700 ring-1 ring-inset ring-red-300 hover:bg-red-50`;
export const input =
  "block w-full rounded-md border-0 px-2 py-1.5 text-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600";

export const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));

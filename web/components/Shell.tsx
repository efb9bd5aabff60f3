"use client";

import Link from "next/link";
import type { ReactNode } from "react";
import { useSession } from "@/lib/session";
import { Loading, secondaryButton } from "./ui";

/** The signed-in frame: navigation, the org switcher and logout. */
export function Shell({ children }: { children: ReactNode }) {
  const { me, loading, org, setOrg, logout } = useSession();
  if (loading || !me) return <Loading />;
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <nav aria-label="Main" className="mx-auto flex max-w-7xl items-center gap-6 px-4 py-3">
          <span className="font-semibold text-indigo-700">Nexify</span>
          <Link className="text-sm text-slate-700 hover:text-slate-900" href="/">Tickets</Link>
          <Link className="text-sm text-slate-700 hover:text-slate-900" href="/kb/">Knowledge base</Link>
          <Link className="text-sm text-slate-700 hover:text-slate-900" href="/models/">Models</Link>
          {org?.role === "admin" && (
            <>
              <Link className="text-sm text-slate-700 hover:text-slate-900" href="/import/">Import</Link>
              <Link className="text-sm text-slate-700 hover:text-slate-900" href="/members/">Members</Link>
              <Link className="text-sm text-slate-700 hover:text-slate-900" href="/settings/">Settings</Link>
            </>
          )}
          <div className="ml-auto flex items-center gap-3">
            <label className="text-sm text-slate-600" htmlFor="org-switcher">Organization</label>
            <select
              id="org-switcher"
              className="rounded-md border-slate-300 text-sm ring-1 ring-slate-300"
              value={org?.organization_id ?? ""}
              onChange={(e) => setOrg(e.target.value)}
            >
              {me.memberships.map((m) => (
                <option key={m.organization_id} value={m.organization_id}>
                  {m.organization_name} ({m.role})
                </option>
              ))}
            </select>
            <Link className="text-sm text-slate-600 hover:text-slate-900" href="/account/" data-testid="signed-in-as" title="Your account">
              {me.user.email}
            </Link>
            <button type="button" className={secondaryButton} onClick={() => logout()}>Log out</button>
            <button type="button" className={secondaryButton} onClick={() => logout(true)} title="Ends your sessions on every device">
              Sign out everywhere
            </button>
          </div>
        </nav>
      </header>
      <main className="mx-auto max-w-7xl px-4 py-4">
        {org ? children : <p className="text-sm text-slate-600">You are not a member of any organization yet.</p>}
      </main>
    </div>
  );
}

"use client";

import { useState } from "react";
import { Shell } from "@/components/Shell";
import { ErrorNote, errorMessage, input, primaryButton } from "@/components/ui";
import { api, takeTokens, type TokenPair } from "@/lib/api";

/** Change your password: every other session of yours ends, this one stays signed in. */
function Account() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <section aria-label="Account" className="flex max-w-sm flex-col gap-3">
      <h1 className="text-lg font-semibold">Change password</h1>
      <form
        className="flex flex-col gap-3 rounded-md bg-white p-4 ring-1 ring-slate-200"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          setDone(false);
          if (next !== repeat) {
            setError("The two new passwords differ.");
            return;
          }
          setBusy(true);
          try {
            const tokens = await api<TokenPair>("/api/me/password/", {
              method: "POST",
              body: { current_password: current, new_password: next },
            });
            takeTokens(tokens);
            setCurrent("");
            setNext("");
            setRepeat("");
            setDone(true);
          } catch (err) {
            setError(errorMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label className="text-sm text-slate-700">
          Current password
          <input className={input} type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        </label>
        <label className="text-sm text-slate-700">
          New password (at least 12 characters)
          <input className={input} type="password" autoComplete="new-password" minLength={12} required value={next} onChange={(e) => setNext(e.target.value)} />
        </label>
        <label className="text-sm text-slate-700">
          Repeat the new password
          <input className={input} type="password" autoComplete="new-password" minLength={12} required value={repeat} onChange={(e) => setRepeat(e.target.value)} />
        </label>
        <ErrorNote error={error} />
        {done && (
          <p role="status" className="text-sm text-emerald-700">
            Password changed. You were signed out everywhere else.
          </p>
        )}
        <button className={primaryButton} type="submit" disabled={busy}>{busy ? "Changing…" : "Change password"}</button>
      </form>
    </section>
  );
}

export default function AccountPage() {
  return (
    <Shell>
      <Account />
    </Shell>
  );
}

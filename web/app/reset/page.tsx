"use client";

import { useEffect, useState } from "react";
import { api } from "@/lib/api";
import { ErrorNote, errorMessage, input, primaryButton } from "@/components/ui";

/** Where a reset mail's link lands: choose a new password, once. Every session of the
 * account ends, so the next step is signing in. */
export default function Reset() {
  const [token, setToken] = useState<string | null>(null);
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const found = new URLSearchParams(window.location.search).get("token");
    setToken(found);
    if (!found) setError("This link has no reset token in it. Ask for a new link.");
  }, []);

  return (
    <main className="mx-auto mt-24 max-w-sm rounded-lg bg-white p-6 shadow ring-1 ring-slate-200">
      <h1 className="mb-4 text-xl font-semibold text-indigo-700">Choose a new password</h1>
      {done ? (
        <p className="text-sm text-slate-700" role="status">
          Your password is changed and every session of yours has ended.{" "}
          <a className="text-indigo-700 underline" href="/login/">Sign in</a> with the new one.
        </p>
      ) : (
        <form
          className="flex flex-col gap-3"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            if (password !== repeat) {
              setError("The two passwords differ.");
              return;
            }
            setBusy(true);
            try {
              await api("/api/auth/password-reset/confirm/", {
                method: "POST",
                body: { token, new_password: password },
              });
              setDone(true);
            } catch (err) {
              setError(errorMessage(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <label className="text-sm text-slate-700">
            New password (at least 12 characters)
            <input className={input} type="password" autoComplete="new-password" minLength={12} required value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <label className="text-sm text-slate-700">
            Repeat it
            <input className={input} type="password" autoComplete="new-password" minLength={12} required value={repeat} onChange={(e) => setRepeat(e.target.value)} />
          </label>
          <ErrorNote error={error} />
          <button className={primaryButton} type="submit" disabled={busy || !token}>
            {busy ? "Saving…" : "Set password"}
          </button>
          <p className="text-xs text-slate-500">
            Link expired or used? <a className="text-indigo-700 underline" href="/forgot/">Ask for a new one</a>.
          </p>
        </form>
      )}
    </main>
  );
}

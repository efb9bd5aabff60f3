"use client";

import { useState } from "react";
import { api } from "@/lib/api";
import { ErrorNote, errorMessage, input, primaryButton } from "@/components/ui";

/** Asks for a password-reset link. The answer is the same whether or not the email has an
 * account, so the page never says which. */
export default function Forgot() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <main className="mx-auto mt-24 max-w-sm rounded-lg bg-white p-6 shadow ring-1 ring-slate-200">
      <h1 className="mb-4 text-xl font-semibold text-indigo-700">Reset your password</h1>
      {sent ? (
        <p className="text-sm text-slate-700" role="status">
          If <strong>{email}</strong> has a Nexify account, a link to choose a new password is on its way. It works
          once, for 30 minutes.
        </p>
      ) : (
        <form
          className="flex flex-col gap-3"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            try {
              await api("/api/auth/password-reset/", { method: "POST", body: { email } });
              setSent(true);
            } catch (err) {
              setError(errorMessage(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <label className="text-sm text-slate-700">
            Email
            <input className={input} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <ErrorNote error={error} />
          <button className={primaryButton} type="submit" disabled={busy}>
            {busy ? "Sending…" : "Mail me a link"}
          </button>
        </form>
      )}
      <p className="mt-3 text-xs text-slate-500">
        <a className="text-indigo-700 underline" href="/login/">Back to sign-in</a>
      </p>
    </main>
  );
}

"use client";

import { useState } from "react";
import { afterSignIn, signIn } from "@/lib/api";
import { ErrorNote, errorMessage, input, primaryButton } from "@/components/ui";

export default function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="mx-auto mt-24 max-w-sm rounded-lg bg-white p-6 shadow ring-1 ring-slate-200">
      <h1 className="mb-4 text-xl font-semibold text-indigo-700">Sign in to Nexify</h1>
      <form
        className="flex flex-col gap-3"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await signIn(email, password);
            window.location.assign(afterSignIn(window.location.search));
          } catch (err) {
            setError(errorMessage(err));
            setBusy(false);
          }
        }}
      >
        <label className="text-sm text-slate-700">
          Email
          <input className={input} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="text-sm text-slate-700">
          Password
          <input className={input} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <ErrorNote error={error} />
        <button className={primaryButton} type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
        <p className="text-xs text-slate-500">
          <a className="text-indigo-700 underline" href="/forgot/">Forgot your password?</a>
        </p>
        <p className="text-xs text-slate-500">
          New team? <a className="text-indigo-700 underline" href="/signup/">Create an organization</a>.
        </p>
      </form>
    </main>
  );
}

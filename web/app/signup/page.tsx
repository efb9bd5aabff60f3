"use client";

import { useState } from "react";
import { ErrorNote, errorMessage, input, primaryButton } from "@/components/ui";
import { api, takeTokens, type Joined } from "@/lib/api";

/** A new team: an account and the org it administers. Open only where the deployment
 * allows sign-up; elsewhere the API says so and the form shows it. */
export default function SignUp() {
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [organization, setOrganization] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="mx-auto mt-24 max-w-sm rounded-lg bg-white p-6 shadow ring-1 ring-slate-200">
      <h1 className="mb-4 text-xl font-semibold text-indigo-700">Start with Nexify</h1>
      <form
        className="flex flex-col gap-3"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const joined = await api<Joined>("/api/auth/signup/", {
              method: "POST",
              body: { email, password, display_name: name, organization_name: organization },
            });
            takeTokens(joined.tokens);
            window.localStorage.setItem("nexify.org", joined.organization_id);
            window.location.assign("/members/");
          } catch (err) {
            setError(errorMessage(err));
            setBusy(false);
          }
        }}
      >
        <label className="text-sm text-slate-700">
          Organization name
          <input className={input} required maxLength={200} value={organization} onChange={(e) => setOrganization(e.target.value)} />
        </label>
        <label className="text-sm text-slate-700">
          Your name
          <input className={input} autoComplete="name" maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="text-sm text-slate-700">
          Email
          <input className={input} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="text-sm text-slate-700">
          Password (at least 12 characters)
          <input className={input} type="password" autoComplete="new-password" minLength={12} required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <ErrorNote error={error} />
        <button className={primaryButton} type="submit" disabled={busy}>{busy ? "Creating…" : "Create organization"}</button>
        <p className="text-xs text-slate-500">
          Already in an organization? <a className="text-indigo-700 underline" href="/login/">Sign in</a>.
        </p>
      </form>
    </main>
  );
}

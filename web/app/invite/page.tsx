"use client";

import { useEffect, useState } from "react";
import { ErrorNote, Loading, errorMessage, input, primaryButton } from "@/components/ui";
import { api, resumeSession, takeTokens, type InvitePreview, type Joined } from "@/lib/api";

const STATE_TEXT: Record<Exclude<InvitePreview["state"], "pending">, string> = {
  accepted: "This invite has been used already.",
  revoked: "This invite was revoked.",
  expired: "This invite has expired.",
};

/** An invite's link: join the org as a new account, or as the user signed in here. */
export default function AcceptInvite() {
  const [token, setToken] = useState<string | null>(null);
  const [preview, setPreview] = useState<InvitePreview | null>(null);
  const [signedIn, setSignedIn] = useState(false);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const found = new URLSearchParams(window.location.search).get("token");
    setToken(found);
    void resumeSession().then(setSignedIn);
    if (!found) {
      setError("This link has no invite in it. Ask an admin for a new one.");
      return;
    }
    api<InvitePreview>(`/api/invites/${encodeURIComponent(found)}/`)
      .then(setPreview)
      .catch((e) => setError(errorMessage(e)));
  }, []);

  const join = async (body?: unknown) => {
    setBusy(true);
    setError(null);
    try {
      const joined = await api<Joined>(`/api/invites/${encodeURIComponent(token!)}/accept/`, { method: "POST", body: body ?? {} });
      if (joined.tokens) takeTokens(joined.tokens);
      window.localStorage.setItem("nexify.org", joined.organization_id);
      window.location.assign("/");
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };

  const here = typeof window === "undefined" ? "/invite/" : `${window.location.pathname}${window.location.search}`;
  return (
    <main className="mx-auto mt-24 flex max-w-sm flex-col gap-3 rounded-lg bg-white p-6 shadow ring-1 ring-slate-200">
      <h1 className="text-xl font-semibold text-indigo-700">Join Nexify</h1>
      {!preview && !error && <Loading />}
      {preview && (
        <p className="text-sm text-slate-700" data-testid="invite-offer">
          You are invited to <strong>{preview.organization_name}</strong> as <strong>{preview.role}</strong> ({preview.email}).
        </p>
      )}
      {preview && preview.state !== "pending" && <ErrorNote error={STATE_TEXT[preview.state]} />}
      {preview?.state === "pending" && signedIn && (
        <button className={primaryButton} type="button" disabled={busy} onClick={() => void join()}>
          {busy ? "Joining…" : `Join ${preview.organization_name}`}
        </button>
      )}
      {preview?.state === "pending" && !signedIn && (
        <form
          className="flex flex-col gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            if (password !== confirm) {
              setError("The two passwords differ.");
              return;
            }
            void join({ display_name: name, password });
          }}
        >
          <label className="text-sm text-slate-700">
            Your name
            <input className={input} autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
          </label>
          <label className="text-sm text-slate-700">
            Choose a password (at least 12 characters)
            <input className={input} type="password" autoComplete="new-password" minLength={12} required value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <label className="text-sm text-slate-700">
            Repeat it
            <input className={input} type="password" autoComplete="new-password" minLength={12} required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
          </label>
          <button className={primaryButton} type="submit" disabled={busy}>{busy ? "Creating your account…" : "Create account and join"}</button>
          <p className="text-xs text-slate-500">
            Already have an account? <a className="text-indigo-700 underline" href={`/login/?next=${encodeURIComponent(here)}`}>Sign in</a> first, then join as yourself.
          </p>
        </form>
      )}
      <ErrorNote error={error} />
    </main>
  );
}

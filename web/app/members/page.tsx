"use client";

import { useCallback, useEffect, useState } from "react";
import { Shell } from "@/components/Shell";
import { Empty, ErrorNote, Loading, dangerButton, errorMessage, input, primaryButton, secondaryButton } from "@/components/ui";
import { ROLES, api, inviteLink, orgPath, type Invite, type IssuedInvite, type Member, type MemberPage, type Role } from "@/lib/api";
import { useSession } from "@/lib/session";

/** Admins manage who is in the org: roles and removals. The org always keeps an admin. */
function Members() {
  const { me, org, reload } = useSession();
  const orgId = org!.organization_id;
  const [members, setMembers] = useState<Member[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (cursor: string | null) => {
      try {
        const page = await api<MemberPage>(orgPath(orgId, `members/?limit=50${cursor ? `&cursor=${cursor}` : ""}`));
        setMembers((shown) => (cursor && shown ? [...shown, ...page.items] : page.items));
        setNext(page.next_cursor);
      } catch (e) {
        setError(errorMessage(e));
      }
    },
    [orgId],
  );
  useEffect(() => {
    void load(null);
  }, [load]);

  const act = async (member: Member, change: () => Promise<void>) => {
    setBusy(member.user_id);
    setError(null);
    try {
      await change();
      if (member.user_id === me?.user.id) await reload();
      else await load(null);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };
  const setRole = (member: Member, role: Role) =>
    act(member, async () => {
      await api(orgPath(orgId, `members/${member.user_id}/`), { method: "PATCH", body: { role } });
    });
  const remove = (member: Member) => {
    if (!window.confirm(`Remove ${member.email} from ${org!.organization_name}?`)) return;
    void act(member, async () => {
      await api(orgPath(orgId, `members/${member.user_id}/`), { method: "DELETE" });
    });
  };

  return (
    <section aria-label="Members" className="flex max-w-3xl flex-col gap-3">
      <h1 className="text-lg font-semibold">Members</h1>
      <p className="text-sm text-slate-600">
        Admins change settings and members, agents work tickets, viewers read. The organization always keeps at least one admin.
      </p>
      <ErrorNote error={error} />
      {members === null ? (
        error ? null : <Loading />
      ) : members.length === 0 ? (
        <Empty>No members.</Empty>
      ) : (
        <table className="w-full rounded-md bg-white text-sm ring-1 ring-slate-200">
          <thead className="text-left text-xs text-slate-500">
            <tr>
              <th className="px-3 py-2 font-medium">Member</th>
              <th className="px-3 py-2 font-medium">Role</th>
              <th className="px-3 py-2 font-medium">Joined</th>
              <th className="px-3 py-2" />
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-200">
            {members.map((m) => (
              <tr key={m.user_id} data-testid="member-row">
                <td className="px-3 py-2">
                  <span className="font-medium">{m.display_name}</span>
                  <span className="block text-xs text-slate-500">{m.email}{m.user_id === me?.user.id ? " (you)" : ""}</span>
                </td>
                <td className="px-3 py-2">
                  <label className="sr-only" htmlFor={`role-${m.user_id}`}>Role of {m.email}</label>
                  <select
                    id={`role-${m.user_id}`}
                    className="rounded-md text-sm ring-1 ring-slate-300"
                    value={m.role}
                    disabled={busy !== null}
                    onChange={(e) => void setRole(m, e.target.value as Role)}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>{r}</option>
                    ))}
                  </select>
                </td>
                <td className="px-3 py-2 text-slate-600">{new Date(m.joined_at).toLocaleDateString()}</td>
                <td className="px-3 py-2 text-right">
                  <button type="button" className={dangerButton} disabled={busy !== null} onClick={() => remove(m)}>
                    {busy === m.user_id ? "Working…" : "Remove"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" className={`${secondaryButton} self-start`} onClick={() => void load(next)}>
          Show more
        </button>
      )}
    </section>
  );
}

/** Admins invite people by email and role; each invite is a single-use link valid 7 days. */
function Invites() {
  const { org } = useSession();
  const orgId = org!.organization_id;
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("agent");
  const [link, setLink] = useState<string | null>(null);
  /** Whom the last invite was mailed to; null when its mail could not be sent. */
  const [mailed, setMailed] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setInvites((await api<{ items: Invite[] }>(orgPath(orgId, "invites/"))).items);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [orgId]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section aria-label="Invites" className="flex max-w-3xl flex-col gap-3">
      <h2 className="text-base font-semibold">Invites</h2>
      <form
        className="flex flex-wrap items-end gap-2 rounded-md bg-white p-3 ring-1 ring-slate-200"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          setCopied(false);
          try {
            const issued = await api<IssuedInvite>(orgPath(orgId, "invites/"), { method: "POST", body: { email, role } });
            setLink(inviteLink(window.location.origin, issued.token));
            setMailed(issued.mailed ? issued.email : null);
            setEmail("");
            await load();
          } catch (err) {
            setError(errorMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label className="flex-1 text-xs text-slate-600">
          Email
          <input className={input} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="text-xs text-slate-600">
          Role
          <select aria-label="Invite as" className="block rounded-md text-sm ring-1 ring-slate-300" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>{r}</option>
            ))}
          </select>
        </label>
        <button className={primaryButton} type="submit" disabled={busy}>{busy ? "Inviting…" : "Invite"}</button>
      </form>
      {link && (
        <div className="flex flex-col gap-1 rounded-md bg-emerald-50 p-3 text-sm ring-1 ring-emerald-200">
          <p data-testid="invite-delivery">
            {mailed
              ? `The invite is mailed to ${mailed}. You can also send them this link.`
              : "The invite mail could not be sent: send this link to the person you invited yourself."}{" "}
            It works once, for 7 days, and is shown only now.
          </p>
          <div className="flex gap-2">
            <input className={input} readOnly value={link} aria-label="Invite link" data-testid="invite-link" onFocus={(e) => e.target.select()} />
            <button
              type="button"
              className={secondaryButton}
              onClick={async () => {
                await navigator.clipboard.writeText(link);
                setCopied(true);
              }}
            >
              {copied ? "Copied" : "Copy"}
            </button>
          </div>
        </div>
      )}
      <ErrorNote error={error} />
      {invites === null ? (
        error ? null : <Loading />
      ) : invites.length === 0 ? (
        <Empty>No pending invites.</Empty>
      ) : (
        <ul className="divide-y divide-slate-200 rounded-md bg-white text-sm ring-1 ring-slate-200">
          {invites.map((i) => (
            <li key={i.id} className="flex items-center gap-3 px-3 py-2" data-testid="invite-row">
              <span className="flex-1">
                {i.email} <span className="text-slate-500">as {i.role}, until {new Date(i.expires_at).toLocaleDateString()}</span>
              </span>
              <button
                type="button"
                className={dangerButton}
                onClick={async () => {
                  setError(null);
                  try {
                    await api(orgPath(orgId, `invites/${i.id}/`), { method: "DELETE" });
                    await load();
                  } catch (err) {
                    setError(errorMessage(err));
                  }
                }}
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export default function MembersPage() {
  return (
    <Shell>
      <div className="flex flex-col gap-8">
        <Members />
        <Invites />
      </div>
    </Shell>
  );
}

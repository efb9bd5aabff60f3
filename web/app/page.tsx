"use client";

import { useCallback, useEffect, useState } from "react";
import { Shell } from "@/components/Shell";
import { TicketDetail } from "@/components/TicketDetail";
import { TicketList } from "@/components/TicketList";
import { api, canWrite, orgPath, type OrgSettings } from "@/lib/api";
import { useSession } from "@/lib/session";

function Console() {
  const { org } = useSession();
  const [selected, setSelected] = useState<string | null>(null);
  const [teams, setTeams] = useState<string[]>([]);
  const [categories, setCategories] = useState<string[]>([]);
  const [refreshKey, setRefreshKey] = useState(0);
  const orgId = org!.organization_id;

  useEffect(() => {
    // A link to a ticket (a similar ticket on a suggestion) opens it: /?ticket=<id>.
    setSelected(new URLSearchParams(window.location.search).get("ticket"));
    api<OrgSettings>(orgPath(orgId, "settings/"))
      .then((s) => {
        setTeams(s.teams);
        setCategories(s.categories);
      })
      .catch(() => {
        setTeams([]);
        setCategories([]);
      }); // settings are admin-only: the team filter then stays empty
  }, [orgId]);
  const refresh = useCallback(() => setRefreshKey((k) => k + 1), []);

  return (
    <div className="grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]">
      <TicketList org={orgId} teams={teams} categories={categories} selected={selected} onSelect={setSelected} refreshKey={refreshKey} />
      {selected ? (
        <TicketDetail org={orgId} ticketId={selected} teams={teams} categories={categories} canWrite={canWrite(org?.role)} onChanged={refresh} />
      ) : (
        <p className="self-start rounded-md bg-white p-6 text-center text-sm text-slate-500 ring-1 ring-slate-200">
          Select a ticket to see it here.
        </p>
      )}
    </div>
  );
}

export default function Home() {
  return (
    <Shell>
      <Console />
    </Shell>
  );
}

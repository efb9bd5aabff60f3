"use client";

import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, resumeSession, setSessionLostHandler, signOut, type Me, type Membership } from "./api";

interface Session {
  me: Me | null;
  loading: boolean;
  org: Membership | null;
  setOrg: (id: string) => void;
  reload: () => Promise<void>;
  /** Signs out here, or with `everywhere` on every device. */
  logout: (everywhere?: boolean) => void;
}

const SessionContext = createContext<Session | null>(null);
const ORG_KEY = "nexify.org";
/** Pages anyone may open without a session: signing in or up, and an invite's link. */
const PUBLIC_PATHS = ["/login/", "/invite/", "/signup/", "/forgot/", "/reset/"];

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(true);
  const [orgId, setOrgId] = useState<string | null>(null);

  const logout = useCallback((everywhere = false) => {
    void signOut(everywhere);
    setMe(null);
    if (!PUBLIC_PATHS.includes(window.location.pathname)) window.location.assign("/login/");
  }, []);

  const reload = useCallback(async () => {
    if (!(await resumeSession())) {
      setLoading(false);
      logout();
      return;
    }
    try {
      const loaded = await api<Me>("/api/me/");
      setMe(loaded);
      const saved = window.localStorage.getItem(ORG_KEY);
      const pick = loaded.memberships.find((m) => m.organization_id === saved) ?? loaded.memberships[0];
      setOrgId(pick?.organization_id ?? null);
    } catch {
      logout();
    } finally {
      setLoading(false);
    }
  }, [logout]);

  useEffect(() => {
    setSessionLostHandler(logout);
    void reload();
  }, [logout, reload]);

  const setOrg = (id: string) => {
    window.localStorage.setItem(ORG_KEY, id);
    setOrgId(id);
  };
  const org = me?.memberships.find((m) => m.organization_id === orgId) ?? null;
  return (
    <SessionContext.Provider value={{ me, loading, org, setOrg, reload, logout }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

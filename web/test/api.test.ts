import { beforeEach, describe, expect, it } from "vitest";
import { ApiError, accessToken, api, resumeSession, signIn, takeTokens } from "@/lib/api";

type Call = { url: string; auth: string | null; credentials?: RequestCredentials; body?: unknown };

/** A fetch that answers from a script, recording what it was asked. */
function scripted(responses: Response[], calls: Call[]): typeof fetch {
  return (async (url: string, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({ url: String(url), auth: headers.authorization ?? null, credentials: init?.credentials, body: init?.body });
    const next = responses.shift();
    if (!next) throw new Error("unexpected request");
    return next;
  }) as typeof fetch;
}

const json = (status: number, body: unknown, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": type } });

describe("api", () => {
  beforeEach(() => {
    window.localStorage.clear();
    takeTokens(null);
  });

  it("refreshes an expired access token once and retries", async () => {
    takeTokens({ access: "old" });
    const calls: Call[] = [];
    const fetcher = scripted([json(401, {}), json(200, { access: "new" }), json(200, { ok: 1 })], calls);
    const body = await api<{ ok: number }>("/api/me/", { fetcher });
    expect(body.ok).toBe(1);
    expect(calls.map((c) => [c.url, c.auth])).toEqual([
      ["/api/me/", "Bearer old"],
      ["/api/auth/token/refresh/", null],
      ["/api/me/", "Bearer new"],
    ]);
    // The refresh spends the HttpOnly cookie: no token in the body, credentials included.
    expect(calls[1].credentials).toBe("include");
    expect(calls[1].body).toBeUndefined();
    expect(accessToken()).toBe("new");
  });

  it("refreshes once for concurrent requests, since a refresh token works once", async () => {
    takeTokens({ access: "old" });
    const calls: Call[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const fetcher = (async (url: string, init?: RequestInit) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      calls.push({ url: String(url), auth: headers.authorization ?? null });
      if (String(url).endsWith("/refresh/")) {
        await gate;
        return json(200, { access: "new" });
      }
      return headers.authorization === "Bearer new" ? json(200, { ok: 1 }) : json(401, {});
    }) as typeof fetch;
    const both = Promise.all([api("/api/me/", { fetcher }), api("/api/orgs/o/tickets/", { fetcher })]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    await both;
    expect(calls.filter((c) => c.url.endsWith("/refresh/")).length).toBe(1);
    expect(accessToken()).toBe("new");
  });

  it("answers undefined for a bodiless 202 or 204", async () => {
    const fetcher = scripted([new Response(null, { status: 202 }), new Response(null, { status: 204 })], []);
    expect(await api("/api/auth/password-reset/", { method: "POST", body: { email: "a@b.c" }, fetcher })).toBeUndefined();
    expect(await api("/api/auth/logout/", { method: "POST", fetcher })).toBeUndefined();
  });

  it("turns problem+json into a readable error naming the field", async () => {
    takeTokens({ access: "a" });
    const fetcher = scripted(
      [json(422, { title: "Invalid input", detail: "subject: must be 1 to 300 characters", field: "subject" }, "application/problem+json")],
      [],
    );
    const error = (await api("/api/orgs/o/tickets/", { method: "POST", body: {}, fetcher }).catch((e) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.field).toBe("subject");
    expect(error.message).toBe("subject: must be 1 to 300 characters");
  });

  it("signs out when the refresh token is no longer good", async () => {
    takeTokens({ access: "a" });
    const fetcher = scripted([json(401, {}), json(401, {})], []);
    await expect(api("/api/me/", { fetcher })).rejects.toThrow("session has ended");
    expect(accessToken()).toBeNull();
  });

  it("keeps the session in memory and the cookie, never in storage scripts can read", async () => {
    const calls: Call[] = [];
    const fetcher = scripted([json(200, { access: "a1", expires_in: 900 })], calls);
    await signIn("agent@acme.test", "a long passphrase", fetcher);
    expect(accessToken()).toBe("a1");
    expect(calls[0].credentials).toBe("include");
    expect(window.localStorage.length).toBe(0);
    expect(window.sessionStorage.length).toBe(0);
  });

  it("resumes a session after a page load from the cookie, once", async () => {
    const calls: Call[] = [];
    const fetcher = scripted([json(200, { access: "resumed" })], calls);
    expect(await resumeSession(fetcher)).toBe(true);
    expect(await resumeSession(fetcher)).toBe(true);
    expect(calls.map((c) => c.url)).toEqual(["/api/auth/token/refresh/"]);
    takeTokens(null);
    expect(await resumeSession(scripted([json(401, {})], []))).toBe(false);
  });
});

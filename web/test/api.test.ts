import { beforeEach, describe, expect, it } from "vitest";
import { ApiError, api, loadTokens, saveTokens } from "@/lib/api";

type Call = { url: string; auth: string | null };

/** A fetch that answers from a script, recording what it was asked. */
function scripted(responses: Response[], calls: Call[]): typeof fetch {
  return (async (url: string, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({ url: String(url), auth: headers.authorization ?? null });
    const next = responses.shift();
    if (!next) throw new Error("unexpected request");
    return next;
  }) as typeof fetch;
}

const json = (status: number, body: unknown, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": type } });

describe("api", () => {
  beforeEach(() => window.localStorage.clear());

  it("refreshes an expired access token once and retries", async () => {
    saveTokens({ access: "old", refresh: "r" });
    const calls: Call[] = [];
    const fetcher = scripted([json(401, {}), json(200, { access: "new", refresh: "r2" }), json(200, { ok: 1 })], calls);
    const body = await api<{ ok: number }>("/api/me/", { fetcher });
    expect(body.ok).toBe(1);
    expect(calls.map((c) => [c.url, c.auth])).toEqual([
      ["/api/me/", "Bearer old"],
      ["/api/auth/token/refresh/", null],
      ["/api/me/", "Bearer new"],
    ]);
    expect(loadTokens()).toEqual({ access: "new", refresh: "r2" });
  });

  it("refreshes once for concurrent requests, since a refresh token works once", async () => {
    saveTokens({ access: "old", refresh: "r" });
    const calls: Call[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const fetcher = (async (url: string, init?: RequestInit) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      calls.push({ url: String(url), auth: headers.authorization ?? null });
      if (String(url).endsWith("/refresh/")) {
        await gate;
        return json(200, { access: "new", refresh: "r2" });
      }
      return headers.authorization === "Bearer new" ? json(200, { ok: 1 }) : json(401, {});
    }) as typeof fetch;
    const both = Promise.all([api("/api/me/", { fetcher }), api("/api/orgs/o/tickets/", { fetcher })]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    await both;
    expect(calls.filter((c) => c.url.endsWith("/refresh/")).length).toBe(1);
    expect(loadTokens()).toEqual({ access: "new", refresh: "r2" });
  });

  it("turns problem+json into a readable error naming the field", async () => {
    saveTokens({ access: "a", refresh: "r" });
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
    saveTokens({ access: "a", refresh: "expired" });
    const fetcher = scripted([json(401, {}), json(401, {})], []);
    await expect(api("/api/me/", { fetcher })).rejects.toThrow("session has ended");
    expect(loadTokens()).toBeNull();
  });
});

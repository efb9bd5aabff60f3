import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebhookEndpoints } from "@/components/WebhookEndpoints";
import { WebhookSecret } from "@/components/WebhookSecret";
import { Conversation } from "@/components/Conversation";
import { takeTokens, type Message } from "@/lib/api";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

describe("WebhookEndpoints", () => {
  it("says when there are none, adds one and shows its secret once", async () => {
    takeTokens({ access: "a" });
    const endpoint = {
      id: "e1",
      url: "https://hooks.example.com/nexify",
      event_types: ["message.created"],
      enabled: true,
      disabled_reason: null,
      consecutive_failures: 0,
      created_at: "2026-12-04T10:00:00Z",
      updated_at: "2026-12-04T10:00:00Z",
    };
    const sent: { url: string; body?: string }[] = [];
    const answers = [json(200, { items: [] }), json(201, { ...endpoint, secret: "s3cret" }), json(200, { items: [endpoint] })];
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      sent.push({ url, body: init?.body as string | undefined });
      return answers.shift()!;
    });
    render(<WebhookEndpoints orgId="o1" />);
    await screen.findByText("No endpoints yet.");
    fireEvent.change(screen.getByLabelText("Endpoint URL"), { target: { value: endpoint.url } });
    fireEvent.click(screen.getByRole("button", { name: "Add endpoint" }));
    expect((await screen.findByTestId("endpoint-secret")).textContent).toBe("s3cret");
    await screen.findByTestId("endpoint-row");
    const created = JSON.parse(sent[1].body!);
    expect(created.url).toBe(endpoint.url);
    expect(created.event_types.sort()).toEqual(["message.created", "suggestion.accepted"]);
  });

  it("shows why an endpoint was turned off", async () => {
    takeTokens({ access: "a" });
    vi.stubGlobal("fetch", async () =>
      json(200, {
        items: [{ id: "e1", url: "https://x.example/h", event_types: ["ticket.created"], enabled: false, disabled_reason: "turned off after 10 failed deliveries in a row", consecutive_failures: 10, created_at: "", updated_at: "" }],
      }),
    );
    render(<WebhookEndpoints orgId="o1" />);
    await screen.findByText("turned off after 10 failed deliveries in a row");
    expect(screen.getByRole("button", { name: "Turn on" })).toBeTruthy();
  });
});

describe("Conversation", () => {
  it("tells the requester, replies and notes apart, in order", () => {
    const m = (kind: Message["kind"], body: string): Message => ({
      id: body,
      ticket_id: "t",
      kind,
      author_type: kind === "inbound" ? "webhook" : "user",
      author_user_id: null,
      body,
      external_id: null,
      delivery_state: kind === "reply" ? "failed" : null,
      delivery_error: kind === "reply" ? "SES refused the sender" : null,
      created_at: "2026-12-04T10:00:00Z",
    });
    render(<Conversation messages={[m("inbound", "Help"), m("reply", "Here you go"), m("note", "Checked")]} />);
    const items = screen.getAllByTestId("message");
    expect(items.map((i) => i.getAttribute("data-kind"))).toEqual(["inbound", "reply", "note"]);
    expect(items[0].textContent).toContain("Requester");
    expect(items[2].textContent).toContain("Internal note");
    expect(screen.getByTestId("delivery-state").textContent).toBe("not emailed: SES refused the sender");
  });
});

describe("WebhookSecret", () => {
  const base = {
    teams: [],
    categories: [],
    default_team: null,
    default_category: null,
    auto_triage_webhook: true,
    auto_triage_api: false,
    auto_apply_threshold: null,
    auto_apply_fields: { priority: null, team: null, category: null },
    webhook_secret_set: true,
    webhook_secret_rotated_at: "2026-12-04T10:00:00Z",
    webhook_secret_previous_expires_at: null,
    reply_from: null,
  };

  it("rotates with the chosen grace period, shows the secret once and until when the old one signs", async () => {
    takeTokens({ access: "a" });
    const until = "2026-12-07T10:00:00Z";
    const fetch = vi.fn(async () => json(200, { webhook_secret: "s".repeat(43), settings: { ...base, webhook_secret_previous_expires_at: until } }));
    vi.stubGlobal("fetch", fetch);
    const onRotated = vi.fn();
    const { rerender } = render(<WebhookSecret orgId="o1" settings={base} onRotated={onRotated} />);
    expect(screen.getByTestId("secret-state").textContent).not.toContain("previous");
    fireEvent.change(screen.getByLabelText("Grace period"), { target: { value: "72" } });
    fireEvent.click(screen.getByRole("button", { name: "Rotate webhook secret" }));
    await waitFor(() => expect(screen.getByTestId("webhook-secret").textContent).toBe("s".repeat(43)));
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(JSON.parse(init.body as string)).toEqual({ grace_hours: 72 });
    const rotated = onRotated.mock.calls[0][0];
    rerender(<WebhookSecret orgId="o1" settings={rotated} onRotated={onRotated} />);
    expect(screen.getByTestId("secret-state").querySelector("time")?.getAttribute("dateTime")).toBe(until);
  });

  it("offers to create the first secret, without a grace period", () => {
    render(<WebhookSecret orgId="o1" settings={{ ...base, webhook_secret_set: false }} onRotated={() => {}} />);
    expect(screen.getByRole("button", { name: "Create webhook secret" })).toBeTruthy();
    expect(screen.queryByLabelText("Grace period")).toBeNull();
  });
});

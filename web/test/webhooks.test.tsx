import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebhookEndpoints } from "@/components/WebhookEndpoints";
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

import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { describe as describeEvent } from "@/components/EventsTimeline";
import { ConfidenceBar, PriorityBadge } from "@/components/ui";

describe("ConfidenceBar", () => {
  it("shows the confidence as a bar and its number", () => {
    render(<ConfidenceBar value={0.873} />);
    const meter = screen.getByRole("meter", { name: "Confidence" });
    expect(meter.getAttribute("aria-valuenow")).toBe("87");
    expect(screen.getByText("87%")).toBeTruthy();
  });

  it("clamps values outside 0..1", () => {
    render(<ConfidenceBar value={1.7} />);
    expect(screen.getByText("100%")).toBeTruthy();
  });
});

describe("PriorityBadge", () => {
  it("names the priority", () => {
    render(<PriorityBadge priority="urgent" />);
    expect(screen.getByTestId("priority-badge").textContent).toBe("urgent");
  });
});

describe("event descriptions", () => {
  it("show what changed, before and after", () => {
    const text = describeEvent({
      id: "e",
      event_type: "team_changed",
      actor_type: "user",
      actor_user_id: null,
      payload: { before: { assigned_team: null }, after: { assigned_team: "Billing" } },
      created_at: "2026-11-25T10:00:00Z",
    });
    expect(text).toBe("team: none → Billing");
  });
});

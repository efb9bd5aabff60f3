import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { ModelHead, OutcomesPanel, whatIfAt } from "@/components/ModelCharts";
import type { FieldOutcome, ModelSummary, OrgSettings, Outcomes } from "@/lib/api";

afterEach(cleanup);

const curve = (points: [number, number, number][]): FieldOutcome => ({
  decided: 10,
  right: 7,
  accuracy: 0.7,
  what_if: points.map(([threshold, applied, right]) => ({
    threshold,
    applied,
    right,
    coverage: applied / 10,
    accuracy: applied ? right / applied : null,
  })),
});

describe("whatIfAt", () => {
  it("reads the curve at or below a threshold", () => {
    const c = curve([[0, 10, 7], [0.5, 6, 5], [0.8, 2, 2], [1, 0, 0]]).what_if;
    expect(whatIfAt(c, 0.5)?.applied).toBe(6);
    expect(whatIfAt(c, 0.79)?.applied).toBe(6);
    expect(whatIfAt(c, 0.8)?.applied).toBe(2);
    expect(whatIfAt([], 0.5)).toBeNull();
  });
});

describe("OutcomesPanel", () => {
  const outcomes: Outcomes = {
    days: 30,
    decided: 10,
    accepted: 8,
    rejected: 2,
    accept_rate: 0.8,
    accepted_then_edited: 1,
    priority: curve([[0, 10, 7], [0.5, 6, 5], [0.8, 2, 2], [1, 0, 0]]),
    team: curve([[0, 10, 7], [0.8, 4, 4], [1, 0, 0]]),
    category: curve([[0, 0, 0]]),
  };
  const settings = {
    auto_apply_threshold: null,
    auto_apply_fields: { priority: 0.5, team: null, category: null },
  } as unknown as OrgSettings;

  it("starts each field at its current threshold and follows the slider", () => {
    render(<OutcomesPanel outcomes={outcomes} settings={settings} />);
    expect(screen.getByTestId("accept-rate").textContent).toContain("8 accepted (80%)");
    expect(screen.getByTestId("threshold-priority").textContent).toBe("50%");
    expect(screen.getByTestId("what-if-priority").textContent).toBe("It would have set 6 of 10 (60%), 5 of them right (83%).");
    fireEvent.change(screen.getByLabelText("Priority auto-apply threshold"), { target: { value: "0.8" } });
    expect(screen.getByTestId("what-if-priority").textContent).toBe("It would have set 2 of 10 (20%), 2 of them right (100%).");
    // No threshold set: the slider starts at 80%.
    expect(screen.getByTestId("threshold-team").textContent).toBe("80%");
    expect(screen.getByTestId("what-if-category").textContent).toBe("It would have set none of them.");
  });
});

describe("ModelHead", () => {
  it("names the head, its calibration and its labels", () => {
    const head: ModelSummary = {
      head: "team",
      version: 3,
      labels: ["Accounts", "Billing"],
      trained_on: 30,
      created_at: "2026-12-04T10:00:00Z",
      metrics: {
        calibration: "hold-out",
        temperature: 1.25,
        diagnostics: {
          label_counts: [
            { label: "Accounts", count: 15 },
            { label: "Billing", count: 15 },
          ],
          held_out: 4,
          accuracy: 0.75,
          ece: 0.1,
          reliability: [{ lower: 0.9, upper: 1, count: 4, confidence: 0.95, accuracy: 0.75 }],
          coverage: [{ threshold: 0, coverage: 1, accuracy: 0.75 }],
        },
      },
    };
    render(<ModelHead head={head} />);
    expect(screen.getByRole("heading", { name: "Team · v3" })).toBeTruthy();
    expect(screen.getByText(/calibrated by hold-out \(temperature 1.25\)/)).toBeTruthy();
    expect(screen.getByTestId("held-out-team").textContent).toContain("4 tickets, accuracy 75%");
    expect(screen.getByTestId("labels-team").textContent).toContain("Billing15");
  });
});

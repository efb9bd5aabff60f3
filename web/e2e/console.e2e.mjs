// End-to-end: the console in Debian's Chromium, driven by playwright-core, against the real
// local stack (gateway -> cargo lambda functions -> Postgres, LocalStack SQS -> worker).
// Every step is asserted on the page. Screenshots go to e2e/screenshots/ (git-ignored).
//
//   BASE_URL=http://127.0.0.1:8080 node e2e/console.e2e.mjs

import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:8080";
const SHOTS = new URL("./screenshots/", import.meta.url).pathname;
const PASSWORD = "nexify-demo";
const LOCALSTACK = process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:4566";
const STEP_TIMEOUT = 60_000;
mkdirSync(SHOTS, { recursive: true });

const fail = (message) => {
  throw new Error(message);
};

async function apiCall(path, { token, method = "GET", body } = {}) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) fail(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** The text of the newest mail LocalStack's SES accepted for `to`, waiting for it. */
async function mailTo(to, { after = 0 } = {}) {
  for (let tries = 0; tries < 50; tries++) {
    const { messages } = await (await fetch(`${LOCALSTACK}/_aws/ses`)).json();
    const theirs = messages.filter((m) => m.Destination.ToAddresses.includes(to));
    if (theirs.length > after) return theirs[theirs.length - 1].Body.text_part;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  fail(`no mail to ${to}`);
}

const linkIn = (text) => text.match(/https?:\/\/\S+\?token=\S+/)?.[0] ?? fail(`no link in: ${text}`);

/** A local HTTP endpoint for outbound webhooks: records every request, answers 200. */
async function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, received, close: () => server.close() };
}

/** An admin's outbound webhook endpoint for `url`: its id and signing secret. */
async function addEndpoint(url, eventTypes) {
  const { access } = await apiCall("/api/auth/token/", { method: "POST", body: { email: "admin@acme.test", password: PASSWORD } });
  const me = await apiCall("/api/me/", { token: access });
  const acme = me.memberships.find((m) => m.organization_name.startsWith("Acme")) ?? fail("no Acme membership");
  const created = await apiCall(`/api/orgs/${acme.organization_id}/webhook-endpoints/`, {
    token: access,
    method: "POST",
    body: { url, event_types: eventTypes },
  });
  return { ...created, remove: () => fetch(`${BASE}/api/orgs/${acme.organization_id}/webhook-endpoints/${created.id}/`, { method: "DELETE", headers: { authorization: `Bearer ${access}` } }) };
}

/** Whether a received webhook carries a valid signature for `secret`. */
function signedWith(secret, request) {
  const timestamp = request.headers["x-nexify-timestamp"];
  const expected = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${request.body}`).digest("hex")}`;
  return request.headers["x-nexify-signature"] === expected;
}

/** Posts a signed webhook ticket to Acme with `secret`; answers the HTTP status. */
async function signedTicket(orgId, secret, externalId) {
  const body = JSON.stringify({ external_id: externalId, requester_email: "e2e@example.com", subject: "Signed", body: "From a mail gateway" });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
  const response = await fetch(`${BASE}/api/webhooks/${orgId}/tickets/`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-nexify-timestamp": timestamp, "x-nexify-signature": signature },
    body,
  });
  return response.status;
}

/** A fresh ticket for this run, so the steps do not depend on earlier runs. */
async function createTicket(marker) {
  const { access } = await apiCall("/api/auth/token/", {
    method: "POST",
    body: { email: "agent@acme.test", password: PASSWORD },
  });
  const me = await apiCall("/api/me/", { token: access });
  const acme = me.memberships.find((m) => m.organization_name.startsWith("Acme")) ?? fail("no Acme membership");
  return apiCall(`/api/orgs/${acme.organization_id}/tickets/`, {
    token: access,
    method: "POST",
    body: {
      requester_email: "e2e@example.com",
      subject: `Card declined at checkout ${marker}`,
      body: "My card payment was declined when I tried to pay this month's invoice. How do I update my payment method?",
      priority: "low",
    },
  });
}

async function signIn(page, email) {
  await page.goto(`${BASE}/login/`);
  await page.waitForLoadState("networkidle");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").filter({ hasText: email }).waitFor();
}

async function openTicket(page, marker) {
  await page.getByLabel("Search").fill(marker);
  await page.getByLabel("Search").press("Enter");
  await page.getByRole("button", { name: new RegExp(`Card declined at checkout ${marker}`) }).click();
  await page.getByTestId("ticket-subject").filter({ hasText: marker }).waitFor();
}

const step = async (name, run) => {
  const started = Date.now();
  await run();
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
});
// Every page of every context reports what the Content-Security-Policy refused: the
// console must work under its policy, so any refusal fails the run (step 13).
const cspRefusals = [];
const newContext = browser.newContext.bind(browser);
browser.newContext = async (...options) => {
  const context = await newContext(...options);
  context.on("page", (page) =>
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) cspRefusals.push(`${page.url()}: ${message.text()}`);
    }),
  );
  return context;
};
let failed = false;
try {
  const marker = `e2e-${Date.now()}`;
  const receiver = await startReceiver();
  const hook = await addEndpoint(receiver.url, ["suggestion.accepted", "message.created"]);
  const ticket = await createTicket(marker);
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  context.setDefaultTimeout(STEP_TIMEOUT);
  const page = await context.newPage();

  await step("1. the demo agent signs in and opens a ticket", async () => {
    await signIn(page, "agent@acme.test");
    await page.screenshot({ path: `${SHOTS}01-ticket-list.png` });
    await openTicket(page, marker);
    const priority = await page.getByTestId("priority-select").inputValue();
    if (priority !== "low") fail(`new ticket priority is ${priority}`);
    await page.screenshot({ path: `${SHOTS}02-ticket-detail.png` });
  });

  await step("2. run AI triage and watch the job finish", async () => {
    await page.getByRole("button", { name: "Run AI triage" }).click();
    await page.getByTestId("job-status").filter({ hasText: /Triage (queued|running|succeeded)/ }).waitFor();
    const status = page.getByTestId("job-status");
    // A failed job ends the wait at once, with its reason; one that never finishes says
    // where it stopped.
    await status.filter({ hasText: /Triage (succeeded|failed)/ }).waitFor({ timeout: 120_000 }).catch(async () => {
      fail(`the job did not finish: ${(await status.textContent())?.trim()}`);
    });
    const shown = (await status.textContent()).trim();
    if (!shown.startsWith("Triage succeeded")) {
      fail(`${shown}: ${(await page.getByRole("alert").allTextContents()).join("; ")}`);
    }
  });

  let suggestedTeam;
  let suggestedPriority;
  await step("3. the suggestion appears with a citation that opens its passage", async () => {
    const card = page.getByRole("article", { name: "AI suggestion" });
    await card.waitFor();
    suggestedTeam = (await card.getByTestId("suggested-team").textContent()).trim();
    suggestedPriority = (await card.getByTestId("suggested-priority").textContent()).trim();
    if (suggestedTeam !== "Billing") fail(`suggested team ${suggestedTeam}`);
    if (!["high", "urgent"].includes(suggestedPriority)) fail(`suggested priority ${suggestedPriority}`);
    const citations = card.getByTestId("citation");
    if ((await citations.count()) < 1) fail("no citation");
    await citations.first().click();
    await page.getByTestId("cited-content").waitFor();
    if (!(await page.getByTestId("cited-content").textContent()).trim()) fail("empty cited passage");
    // Each field's own confidence, and the reasons: similar labelled tickets of the org.
    for (const field of ["team", "category"]) {
      await card.getByRole("meter", { name: `${field[0].toUpperCase()}${field.slice(1)} confidence` }).waitFor();
    }
    const similar = card.getByTestId("similar-ticket");
    await similar.first().waitFor();
    const n = await similar.count();
    if (n < 1 || n > 5) fail(`${n} similar tickets`);
    await page.screenshot({ path: `${SHOTS}03-suggestion.png`, fullPage: true });
  });

  await step("4. approve it: the draft goes to the composer, and as edited it is the reply in the conversation", async () => {
    const suggested = await page.getByLabel("Draft reply").inputValue();
    await page.getByRole("button", { name: "Approve" }).click();
    await page.getByTestId("approving").waitFor();
    const composer = page.getByLabel("Message", { exact: true });
    await page
      .waitForFunction((draft) => document.querySelector('textarea[aria-label="Message"]')?.value === draft, suggested, { timeout: 5000 })
      .catch(() => fail("the composer does not hold the suggestion's draft"));
    await composer.fill(`${suggested}\n\nKind regards, the e2e team (${marker})`);
    await page.getByRole("button", { name: "Approve and send reply" }).click();
    await page.getByTestId("suggestion-status").filter({ hasText: "accepted" }).waitFor();
    const reply = page.locator('[data-testid="message"][data-kind="reply"]');
    await reply.filter({ hasText: `Kind regards, the e2e team (${marker})` }).waitFor();
    // The requester's message opens the conversation.
    const first = page.getByTestId("message").first();
    if ((await first.getAttribute("data-kind")) !== "inbound") fail("the conversation does not start with the requester");
    // An internal note, from the composer.
    await page.getByLabel("Internal note").check();
    await page.getByLabel("Message", { exact: true }).fill(`Checked the card processor (${marker})`);
    await page.getByRole("button", { name: "Add note" }).click();
    await page.locator('[data-testid="message"][data-kind="note"]').filter({ hasText: `Checked the card processor (${marker})` }).waitFor();
  });

  await step("5. the ticket's priority and team change, and the events show it", async () => {
    await page.waitForFunction(
      ([p, t]) =>
        document.querySelector('[data-testid="priority-select"]')?.value === p &&
        document.querySelector('[data-testid="team-select"]')?.value === t,
      [suggestedPriority, suggestedTeam],
    );
    for (const event of ["suggestion approved", "priority changed", "team changed", "ai triage ran", "ai triage requested"]) {
      await page.getByTestId("event-type").filter({ hasText: new RegExp(`^${event}$`) }).first().waitFor();
    }
    await page.screenshot({ path: `${SHOTS}04-approved.png`, fullPage: true });
  });

  await step("5a. the source system's endpoint gets suggestion.accepted and message.created, signed", async () => {
    // Deliveries are queued as the approval commits; the deliverer posts them.
    const deadline = Date.now() + 120_000;
    const ours = () =>
      receiver.received.filter((r) => JSON.parse(r.body).data?.ticket_id === ticket.id);
    while (Date.now() < deadline && new Set(ours().map((r) => JSON.parse(r.body).type)).size < 2) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const types = new Set(ours().map((r) => JSON.parse(r.body).type));
    if (!types.has("suggestion.accepted") || !types.has("message.created")) fail(`the receiver got ${[...types]}`);
    for (const request of ours()) {
      if (!signedWith(hook.secret, request)) fail("a webhook failed the receiver's signature check");
      if (request.headers["x-nexify-event-id"] !== JSON.parse(request.body).id) fail("the event id header differs from the body's");
    }
    const reply = ours().map((r) => JSON.parse(r.body)).find((e) => e.type === "message.created" && e.data.kind === "reply");
    if (!reply?.data.body.includes(`Kind regards, the e2e team (${marker})`)) fail("the reply event does not carry the approved draft");
  });

  await step("5b. a similar ticket opens from the suggestion card", async () => {
    const link = page.getByRole("article", { name: "AI suggestion" }).getByTestId("similar-ticket").first().getByRole("link");
    const subject = (await link.textContent()).trim();
    await link.click();
    await page.getByTestId("ticket-subject").filter({ hasText: subject }).waitFor();
    if (!page.url().includes("?ticket=")) fail(`opened at ${page.url()}`);
    await page.screenshot({ path: `${SHOTS}04b-similar-ticket.png`, fullPage: true });
  });

  await step("6. a viewer sees no action buttons", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    await signIn(page, "viewer@acme.test");
    await openTicket(page, marker);
    await page.getByRole("article", { name: "AI suggestion" }).waitFor();
    for (const name of ["Run AI triage", "Approve", "Reject"]) {
      if ((await page.getByRole("button", { name }).count()) !== 0) fail(`viewer sees "${name}"`);
    }
    if ((await page.getByTestId("priority-select").count()) !== 0) fail("viewer can edit the priority");
    if ((await page.getByTestId("ticket-team").textContent()).trim() !== suggestedTeam) fail("viewer sees another team");
    await page.screenshot({ path: `${SHOTS}05-viewer.png`, fullPage: true });
  });

  await step("the knowledge base and settings pages render", async () => {
    await page.goto(`${BASE}/kb/`);
    await page.getByRole("heading", { name: "Documents" }).waitFor();
    await page.screenshot({ path: `${SHOTS}06-knowledge-base.png`, fullPage: true });
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    await signIn(page, "admin@acme.test");
    await page.goto(`${BASE}/settings/`);
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    await page.getByLabel("Auto-apply team at confidence").waitFor();
    await page.screenshot({ path: `${SHOTS}07-settings.png`, fullPage: true });
  });

  await step("6a. an admin rotates the webhook secret, and the old one keeps signing for the grace period", async () => {
    const acme = (await apiCall("/api/me/", { token: (await apiCall("/api/auth/token/", { method: "POST", body: { email: "admin@acme.test", password: PASSWORD } })).access }))
      .memberships.find((m) => m.organization_name.startsWith("Acme")) ?? fail("no Acme membership");
    const shown = page.getByTestId("webhook-secret");
    // A clean start whatever earlier runs left: the first secret, or one that replaces the
    // last at once.
    const create = page.getByRole("button", { name: "Create webhook secret" });
    if (await create.count()) await create.click();
    else {
      await page.getByLabel("Grace period").selectOption("0");
      await page.getByRole("button", { name: "Rotate webhook secret" }).click();
    }
    await shown.waitFor();
    const first = (await shown.textContent()).trim();
    await page.getByLabel("Grace period").selectOption("1");
    await page.getByRole("button", { name: "Rotate webhook secret" }).click();
    await page.getByTestId("secret-state").filter({ hasText: "The previous secret is also accepted until" }).waitFor();
    await page.waitForFunction((old) => document.querySelector('[data-testid="webhook-secret"]')?.textContent.trim() !== old, first);
    const second = (await shown.textContent()).trim();
    for (const [secret, name] of [[first, "old"], [second, "new"]]) {
      const status = await signedTicket(acme.organization_id, secret, `${marker}-${name}`);
      if (status !== 201) fail(`a webhook signed with the ${name} secret answered ${status}`);
    }
    if ((await signedTicket(acme.organization_id, "not-the-secret", `${marker}-forged`)) !== 401) fail("a forged signature was accepted");
    await page.screenshot({ path: `${SHOTS}07b-webhook-secret.png`, fullPage: true });
  });

  await step("7. the model page shows each head, its charts and what auto-apply would do", async () => {
    await page.goto(`${BASE}/models/`);
    await page.getByRole("heading", { name: "Triage models" }).waitFor();
    const team = page.getByTestId("model-team");
    await team.getByRole("heading", { name: /^Team · v\d+$/ }).waitFor();
    // Both charts drew their marks from the training's held-out predictions.
    await team.locator(".recharts-scatter-symbol").first().waitFor({ state: "attached" });
    await team.locator(".recharts-line-curve").first().waitFor({ state: "attached" });
    // One suggestion was decided above, so the live outcomes count it.
    const rate = (await page.getByTestId("accept-rate").textContent()).trim();
    if (!/accepted/.test(rate)) fail(`accept rate: ${rate}`);
    const slider = page.getByLabel("Team auto-apply threshold");
    await slider.fill("0");
    await page.getByTestId("threshold-team").filter({ hasText: "0%" }).waitFor();
    const atZero = (await page.getByTestId("what-if-team").textContent()).trim();
    if (!/^It would have set [1-9]/.test(atZero)) fail(`what-if at 0: ${atZero}`);
    await page.screenshot({ path: `${SHOTS}08-models.png`, fullPage: true });
    await page.getByRole("button", { name: "Retrain" }).click();
    await page.getByRole("status").filter({ hasText: "Retraining requested" }).waitFor();
  });
  await step("8. an admin imports history from a CSV file and sees every row accounted for", async () => {
    await page.goto(`${BASE}/import/`);
    await page.getByRole("heading", { name: "Import ticket history" }).waitFor();
    const csv = [
      "subject,body,team,category,priority,external_id",
      `Refund for the duplicate charge,"We were charged twice, please refund.",Billing,refund,medium,${marker}-1`,
      `Cannot sign in,The reset mail never arrives,Accounts,login,high,${marker}-2`,
      `,a row without a subject,Billing,refund,low,${marker}-3`,
    ].join("\n");
    await page.getByLabel("File", { exact: true }).setInputFiles({ name: "history.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Import" }).click();
    await page.getByTestId("rows-progress").filter({ hasText: "3 / 3" }).waitFor();
    await page.getByTestId("import-report").filter({ hasText: "2 imported, 0 already here, 1 refused." }).waitFor();
    const refused = (await page.getByTestId("import-errors").textContent()).trim();
    if (!refused.startsWith("Line 4 (subject)")) fail(`refused: ${refused}`);
    await page.getByTestId("embedding-progress").waitFor();
    await page.screenshot({ path: `${SHOTS}09-import.png`, fullPage: true });
  });
  await step("9. an admin changes a member's role, and cannot demote the org's last admin", async () => {
    await page.getByRole("link", { name: "Members" }).click();
    await page.getByRole("heading", { name: "Members" }).waitFor();
    const patched = () => page.waitForResponse((r) => r.url().includes("/members/") && r.request().method() === "PATCH");
    await Promise.all([patched(), page.getByLabel("Role of viewer@acme.test").selectOption("agent")]);
    await page.reload();
    await page.getByRole("heading", { name: "Members" }).waitFor();
    if ((await page.getByLabel("Role of viewer@acme.test").inputValue()) !== "agent") fail("the new role did not persist");
    await Promise.all([patched(), page.getByLabel("Role of viewer@acme.test").selectOption("viewer")]);
    await page.getByLabel("Role of admin@acme.test").selectOption("agent");
    await page.getByRole("alert").filter({ hasText: "last admin" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Members" }).waitFor();
    if ((await page.getByLabel("Role of admin@acme.test").inputValue()) !== "admin") fail("the last admin was demoted");
    if ((await page.getByLabel("Role of viewer@acme.test").inputValue()) !== "viewer") fail("the viewer's role was not restored");
    await page.screenshot({ path: `${SHOTS}10-members.png`, fullPage: true });
  });
  await step("10. an admin invites an agent, who joins and works tickets, then removes them", async () => {
    const invitee = `agent-${marker}@example.com`;
    await page.getByLabel("Email", { exact: true }).fill(invitee);
    await page.getByLabel("Invite as").selectOption("agent");
    await page.getByRole("button", { name: "Invite" }).click();
    const copied = await page.getByTestId("invite-link").inputValue();
    if (!copied.includes("/invite/?token=")) fail(`invite link: ${copied}`);
    await page.getByTestId("invite-row").filter({ hasText: invitee }).waitFor();
    await page.getByTestId("invite-delivery").filter({ hasText: `The invite is mailed to ${invitee}` }).waitFor();
    // The invite was mailed (SES, read back from LocalStack), with the same link.
    const link = linkIn(await mailTo(invitee));
    if (link !== copied) fail(`mailed link ${link} differs from the copied ${copied}`);

    // The invitee, in a browser of their own, with no account yet.
    const theirs = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    theirs.setDefaultTimeout(STEP_TIMEOUT);
    const agent = await theirs.newPage();
    await agent.goto(link);
    await agent.getByTestId("invite-offer").filter({ hasText: "as agent" }).waitFor();
    await agent.getByLabel("Your name").fill("Invited Agent");
    await agent.getByLabel("Choose a password (at least 12 characters)").fill("an e2e passphrase");
    await agent.getByLabel("Repeat it").fill("an e2e passphrase");
    await agent.getByRole("button", { name: "Create account and join" }).click();
    await agent.getByTestId("signed-in-as").filter({ hasText: invitee }).waitFor();
    await openTicket(agent, marker);
    await agent.screenshot({ path: `${SHOTS}11-invited-agent.png`, fullPage: true });

    // The admin removes them; the invite is used up and they are out of the org.
    await page.reload();
    await page.getByRole("heading", { name: "Members" }).waitFor();
    if ((await page.getByTestId("invite-row").filter({ hasText: invitee }).count()) !== 0) fail("the used invite is still pending");
    page.once("dialog", (dialog) => dialog.accept());
    const row = page.getByTestId("member-row").filter({ hasText: invitee });
    await row.getByRole("button", { name: "Remove" }).click();
    await row.waitFor({ state: "detached" });
    // Removal ended their sessions: the refresh cookie their browser holds no longer works,
    // so their next page load lands on sign-in.
    const refreshStatus = await agent.evaluate(async () => {
      const response = await fetch("/api/auth/token/refresh/", { method: "POST", credentials: "include" });
      return response.status;
    });
    if (refreshStatus !== 401) fail(`the removed agent's refresh answered ${refreshStatus}`);
    await agent.reload();
    await agent.getByRole("heading", { name: "Sign in to Nexify" }).waitFor();
    // The console kept no token where page scripts can read it.
    const stored = await agent.evaluate(() => JSON.stringify({ ...window.localStorage }));
    if (stored.includes("refresh") || stored.includes("access")) fail(`tokens in localStorage: ${stored}`);
    await theirs.close();
  });
  await step("11. a new team signs up and lands on its members page as admin", async () => {
    const founder = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    founder.setDefaultTimeout(STEP_TIMEOUT);
    const lead = await founder.newPage();
    await lead.goto(`${BASE}/login/`);
    await lead.getByRole("link", { name: "Create an organization" }).click();
    // Filled before React hydrates, controlled inputs would be reset by its first render.
    await lead.waitForURL("**/signup/");
    await lead.waitForLoadState("networkidle");
    const email = `lead-${marker}@example.com`;
    await lead.getByLabel("Organization name").fill(`Team ${marker}`);
    await lead.getByLabel("Your name").fill("Team Lead");
    await lead.getByLabel("Email").fill(email);
    await lead.getByLabel("Password (at least 12 characters)").fill("an e2e passphrase");
    await lead.getByRole("button", { name: "Create organization" }).click();
    await lead.getByRole("heading", { name: "Members" }).waitFor();
    const role = lead.getByLabel(`Role of ${email}`);
    await role.waitFor();
    if ((await role.inputValue()) !== "admin") fail(`the founder's role: ${await role.inputValue()}`);
    await lead.screenshot({ path: `${SHOTS}12-signed-up.png`, fullPage: true });

    // The refresh token is an HttpOnly cookie scoped to /api/auth/, not readable by the page.
    const cookies = await founder.cookies();
    const session = cookies.find((c) => c.name === "nexify_refresh") ?? fail("no session cookie");
    if (!session.httpOnly || session.sameSite !== "Strict" || session.path !== "/api/auth/" || !session.secure)
      fail(`session cookie: ${JSON.stringify({ ...session, value: "…" })}`);
    if ((await lead.evaluate(() => document.cookie)).includes("nexify_refresh")) fail("the page can read the refresh cookie");
    await founder.close();
  });
  await step("12. someone who forgot their password gets a mail, sets a new one and signs in", async () => {
    const email = `lead-${marker}@example.com`;
    const theirs = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    theirs.setDefaultTimeout(STEP_TIMEOUT);
    const lead = await theirs.newPage();
    await lead.goto(`${BASE}/login/`);
    await lead.getByRole("link", { name: "Forgot your password?" }).click();
    await lead.waitForURL("**/forgot/");
    await lead.waitForLoadState("networkidle");
    await lead.getByLabel("Email").fill(email);
    await lead.getByRole("button", { name: "Mail me a link" }).click();
    await lead.getByRole("status").filter({ hasText: "a link to choose a new password is on its way" }).waitFor();
    await lead.goto(linkIn(await mailTo(email)));
    await lead.waitForLoadState("networkidle");
    await lead.getByLabel("New password (at least 12 characters)").fill("a brand new e2e passphrase");
    await lead.getByLabel("Repeat it").fill("a brand new e2e passphrase");
    await lead.getByRole("button", { name: "Set password" }).click();
    await lead.getByRole("status").filter({ hasText: "Your password is changed" }).waitFor();
    await lead.screenshot({ path: `${SHOTS}13-password-reset.png`, fullPage: true });
    await lead.getByRole("link", { name: "Sign in" }).click();
    await lead.waitForURL("**/login/");
    await lead.waitForLoadState("networkidle");
    await lead.getByLabel("Email").fill(email);
    await lead.getByLabel("Password").fill("a brand new e2e passphrase");
    await lead.getByRole("button", { name: "Sign in" }).click();
    await lead.getByTestId("signed-in-as").filter({ hasText: email }).waitFor();
    await theirs.close();
  });
  await step("13. the console comes with its security headers, and nothing it does breaks its CSP", async () => {
    for (const path of ["/", "/login/", "/settings/", "/api/health/"]) {
      const headers = (await fetch(`${BASE}${path}`)).headers;
      const csp = headers.get("content-security-policy") ?? fail(`${path}: no Content-Security-Policy`);
      for (const directive of ["default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'"]) {
        if (!csp.includes(directive)) fail(`${path}: the CSP lacks ${directive}: ${csp}`);
      }
      if (/unsafe-inline|unsafe-eval|\*/.test(csp.match(/script-src [^;]*/)[0])) fail(`${path}: script-src is loose: ${csp}`);
      if (!/^max-age=\d{8,}; includeSubDomains$/.test(headers.get("strict-transport-security") ?? "")) fail(`${path}: HSTS`);
      if (headers.get("x-content-type-options") !== "nosniff") fail(`${path}: nosniff`);
      if (headers.get("x-frame-options") !== "DENY") fail(`${path}: X-Frame-Options`);
      if (headers.get("referrer-policy") !== "strict-origin-when-cross-origin") fail(`${path}: Referrer-Policy`);
    }
    // Steps 1 to 12 ran under the policy: it refused nothing the console needs.
    if (cspRefusals.length) fail(`the CSP refused:\n${cspRefusals.join("\n")}`);
    // Another site cannot frame the console (clickjacking).
    const framer = await newContext();
    const page = await framer.newPage();
    await page.setContent(`<iframe src="${BASE}/login/" width="800" height="600"></iframe>`);
    await page.waitForTimeout(1000);
    const framed = page.frames().find((f) => f !== page.mainFrame());
    const shown = framed ? await framed.evaluate(() => document.body?.innerText ?? "").catch(() => "") : "";
    if (shown.includes("Sign in")) fail("the console renders inside another page's frame");
    await framer.close();
  });
  await hook.remove();
  receiver.close();
  console.log(`ticket ${ticket.id}: all steps passed; screenshots in ${SHOTS}`);
} catch (error) {
  failed = true;
  console.error(`FAIL ${error.stack ?? error}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

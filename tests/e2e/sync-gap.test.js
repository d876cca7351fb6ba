// The server-synced widget never skips an event: when an event arrives numbered past the next
// one (one went missing on the way), it resumes from the last event it has, and the replay fills
// the gap in order. A server that really lacks the event is believed after one resume (no loop).
// The chatlet server is mocked with Playwright's WebSocket routing so that it can misbehave.
import { test } from "node:test";
import assert from "node:assert/strict";
import { scriptTagPage, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();

/**
 * Opens the script-tag widget linked to a mocked server. `script(ws, connection, hello)` is
 * called after each `welcome` (connections count from 1). Resolves with the page and the hellos.
 */
async function openWithMockServer(script) {
  const context = await env.browser.newContext({ locale: "en-US" });
  const hellos = [];
  await context.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
    ws.onMessage((text) => {
      const frame = JSON.parse(String(text));
      if (frame.type !== "hello") return;
      hellos.push(frame);
      // A new session starts empty; on the resume the server has had all three events.
      const last_seq = hellos.length === 1 ? 0 : 3;
      ws.send(JSON.stringify({ type: "welcome", session_id: "gap-session", last_seq, heartbeat_ms: 20000 }));
      script(ws, hellos.length, frame);
    });
  });
  const html = scriptTagPage({
    attributes: { model: "/models/faq-en.chatlet", server: env.baseUrl, key: "k", user: "gap-visitor", open: true },
  });
  await context.route(`${env.baseUrl}gap.html`, (route) => route.fulfill({ contentType: "text/html; charset=utf-8", body: html }));
  const page = await context.newPage();
  await page.goto(`${env.baseUrl}gap.html`);
  return { context, page, hellos };
}

function event(seq, text) {
  return JSON.stringify({ type: "event", seq, author: "bot", text, at: new Date().toISOString() });
}

/** The texts of the bot's messages in the transcript, in order, once there are `count`. */
async function botTexts(page, count) {
  // The bot's own welcome message is there too; only the mocked server's events count here.
  const articles = page.getByRole("log").getByRole("article", { name: /^Bot/ }).filter({ hasText: /event [a-z]+/ });
  await articles.nth(count - 1).waitFor({ timeout: 10_000 });
  return (await articles.allTextContents()).map((t) => t.match(/event [a-z]+/)[0]);
}

test("a missing event makes the widget resume, and the replay fills the gap in order", async () => {
  const { context, page, hellos } = await openWithMockServer((ws, connection) => {
    if (connection === 1) {
      ws.send(event(1, "event one"));
      ws.send(event(3, "event three")); // event 2 lost on the way
    } else {
      ws.send(event(2, "event two"));
      ws.send(event(3, "event three"));
    }
  });
  try {
    assert.deepEqual(await botTexts(page, 3), ["event one", "event two", "event three"]);
    assert.equal(hellos.length, 2, "one resume");
    assert.equal(hellos[1].session_id, "gap-session");
    assert.equal(hellos[1].last_seq, 1, "the resume starts after the last event seen");
  } finally {
    await context.close();
  }
});

test("a server that lacks an event is believed after one resume", async () => {
  const { context, page, hellos } = await openWithMockServer((ws) => {
    ws.send(event(1, "event one"));
    ws.send(event(3, "event three")); // the server itself has no event 2
  });
  try {
    assert.deepEqual(await botTexts(page, 2), ["event one", "event three"]);
    await page.waitForTimeout(1000);
    assert.equal(hellos.length, 2, "no resume loop");
  } finally {
    await context.close();
  }
});

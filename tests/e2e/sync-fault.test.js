// Lossless sync under faults: a visitor sends 200 messages through the script-tag widget (server
// build) while the real server is killed (SIGKILL) and restarted 5 times and the page goes
// offline and online 5 times. Afterwards the server's SQLite history and the widget's transcript
// each hold all 200 visitor messages exactly once, in order, each followed by an answer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chatletBin, launchBrowser, modelsDir, repo, scriptTagPage } from "./harness.js";

const ADMIN = "fault-test-admin-key";
const PUBLIC = "fault-test-public-key";
const MESSAGES = 200;
const KILL_AT = new Set([20, 60, 100, 140, 180]);
const OFFLINE_AT = new Set([40, 80, 120, 160, 190]);
// The server's root: the test page as index.html beside the real pkg/ and www/ (served by the
// server itself, as a site would: Chromium refuses a loopback socket to a page of unknown origin).
const dir = mkdtempSync(join(tmpdir(), "chatlet-fault-"));
let port;
let origin;
let server;
let browser;

/** A free port on 127.0.0.1, so that every restart of the server listens where the widget expects it. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts `chatlet serve` on the fixed port with the SQLite file in `dir`; resolves once it listens. */
function startFixedServer() {
  const child = spawn(chatletBin, [
    "serve", "--addr", `127.0.0.1:${port}`, "--root", dir, "--models", modelsDir,
    "--model", join(modelsDir, "faq-en.chatlet"), "--db", join(dir, "history.db"),
    "--admin-key", ADMIN, "--public-key", PUBLIC, "--allow-origin", origin,
    "--rate-per-address", "10000", "--rate-per-key", "10000",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${output}`)), 20_000);
    const onData = (chunk) => {
      output += chunk;
      if (/chatlet serving/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  return { ready, kill: async () => { child.kill("SIGKILL"); await exited; }, stop: () => child.kill("SIGTERM") };
}

async function admin(path) {
  const response = await fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return response.json();
}

before(async () => {
  port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  for (const folder of ["pkg", "www"]) symlinkSync(join(repo, folder), join(dir, folder));
  writeFileSync(join(dir, "index.html"), scriptTagPage({
    attributes: { model: "/models/faq-en.chatlet", server: origin, key: PUBLIC, user: "fault-visitor", open: true },
  }));
  server = startFixedServer();
  await server.ready;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const text = (i) => `Do I get a certificate? (message ${i})`;

test("200 messages survive 5 server kills and 5 offline spells: stored and shown once each, in order, answered", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => process.env.DEBUG_SYNC && console.log("console:", m.type(), m.text()));
  await page.goto(`${origin}/`);
  const input = page.getByRole("textbox", { name: "Type a message" });
  const status = page.getByRole("status").filter({ hasText: /Connected|Reconnecting|Offline/ });
  await status.filter({ hasText: "Connected" }).waitFor({ timeout: 15_000 });
  await page.evaluate(() => {
    window.seen = { states: [], bot: 0 };
    window.chatlet.on("connection", (c) => window.seen.states.push(c.state));
    window.chatlet.on("message", (m) => { if (m.author === "bot") window.seen.bot++; });
  });

  let offline = 0;
  let kills = 0;
  for (let i = 0; i < MESSAGES; i++) {
    if (KILL_AT.has(i)) {
      await server.kill();
      kills++;
      // Messages typed while the server is down are answered in the page and kept in the outbox.
      server = startFixedServer();
    }
    if (OFFLINE_AT.has(i)) {
      await context.setOffline(true);
      await status.filter({ hasText: "Offline" }).waitFor({ timeout: 10_000 });
      offline++;
    }
    await input.fill(text(i));
    await input.press("Enter");
    if (KILL_AT.has(i - 3)) await server.ready;
    if (OFFLINE_AT.has(i - 3)) await context.setOffline(false);
  }
  assert.equal(kills, 5);
  assert.equal(offline, 5);
  const seen = await page.evaluate(() => window.seen);
  for (const state of ["offline", "connecting", "online"]) assert.ok(seen.states.includes(state), `never ${state}: ${seen.states}`);

  // Everything reaches the server once the widget is back: bounded wait for the outbox to drain.
  await status.filter({ hasText: "Connected" }).waitFor({ timeout: 60_000 });
  const log = page.getByRole("log", { name: "Messages" });
  await log.getByRole("article", { name: /Not sent yet/ }).first().waitFor({ state: "detached", timeout: 60_000 });

  const expected = Array.from({ length: MESSAGES }, (_, i) => text(i));
  // The server's history: one session, every visitor message once and in order, each answered.
  let history;
  for (let tries = 0; tries < 60; tries++) {
    const sessions = (await admin("/api/v1/sessions?limit=10")).filter((s) => s.user_id === "fault-visitor");
    assert.equal(sessions.length, 1, "one server session for the visitor");
    history = await admin(`/api/v1/sessions/${sessions[0].session_id}/messages`);
    if (history.filter((m) => m.author === "visitor").length >= MESSAGES) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.deepEqual(history.filter((m) => m.author === "visitor").map((m) => m.text), expected);
  assert.deepEqual(history.map((m) => m.seq), history.map((_, i) => i + 1), "seq numbers without gaps");
  history.forEach((m, i) => {
    if (m.author === "visitor") assert.notEqual(history[i + 1]?.author ?? "none", "visitor", `stored answer to ${m.text}`);
  });

  // The widget's transcript: the same 200, once each, in order, each followed by an answer.
  const articles = await log.getByRole("article").evaluateAll((nodes) => nodes.map((n) => ({
    who: n.getAttribute("aria-label").startsWith("You") ? "visitor" : "bot",
    text: (n.querySelector("p, .chatlet-text")?.textContent ?? "").trim(),
  })));
  assert.deepEqual(articles.filter((a) => a.who === "visitor").map((a) => a.text), expected);
  articles.forEach((a, i) => {
    if (a.who === "visitor") assert.equal(articles[i + 1]?.who, "bot", `shown answer to ${a.text}`);
  });
  // The page answered what the server could not, and those answers gave way to the server's.
  const announced = await page.evaluate(() => window.seen.bot);
  const shown = articles.filter((a) => a.who === "bot").length;
  assert.ok(announced > shown, `no answer of the page was replaced (${announced} announced, ${shown} shown)`);
  assert.deepEqual(problems, []);
  await context.close();
});

// Human handoff through the agent page (/agent, admin key): a visitor asks for a person over the
// REST API, the agent sees the conversation, replies, and hands it back to the bot, which then
// answers again. The page passes axe-core. A visitor in the server-synced widget sees the
// agent's reply pushed into the transcript as the agent's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { launchBrowser, modelsDir, repo, scriptTagPage, startServer } from "./harness.js";

const ADMIN = "agent-test-admin-key";
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
let server;
let baseUrl;
let browser;
// The site: the real pkg/ and www/ beside a shop page that embeds the server-synced widget
// (Chromium lets a page open a loopback socket only when the page came from that server).
const site = mkdtempSync(join(tmpdir(), "chatlet-agent-"));

before(async () => {
  for (const folder of ["pkg", "www"]) symlinkSync(join(repo, folder), join(site, folder));
  writeFileSync(join(site, "index.html"), ""); // the server wants a site page before it starts
  server = startServer(["--model", join(modelsDir, "shop-zh.chatlet"), "--admin-key", ADMIN], { root: site });
  baseUrl = await server.url;
  // The page, once the port is known; the server reads the file on each request.
  writeFileSync(join(site, "index.html"), scriptTagPage({
    lang: "zh-CN",
    attributes: { model: "/models/shop-zh.chatlet", server: baseUrl, key: ADMIN, user: "visitor-9", lang: "zh-CN", open: true },
  }));
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(site, { recursive: true, force: true });
});

async function chat(body) {
  const response = await fetch(`${baseUrl}api/v1/chat`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200);
  return response.json();
}

test("an agent takes a handed-off conversation, replies, and hands it back", async () => {
  const first = await chat({ user_id: "visitor-7", query: "我要转人工" });
  assert.equal(first.handoff, true);
  const session = first.session_id;
  const waiting = await chat({ user_id: "visitor-7", session_id: session, query: "我的订单还没到" });
  assert.equal(waiting.reply, "", "the bot stays silent while a person is in charge");

  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${baseUrl}agent`);
  await page.getByRole("textbox", { name: "Admin key" }).fill(ADMIN);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByRole("button", { name: /visitor-7 — with a person/ }).click();
  const transcript = page.getByRole("log", { name: "Transcript" });
  await transcript.getByRole("article", { name: "visitor" }).filter({ hasText: "我的订单还没到" }).waitFor({ timeout: 5000 });
  await page.getByRole("textbox", { name: "Reply" }).fill("您好，我来帮您查一下订单。");
  await page.getByRole("button", { name: "Send" }).click();
  await transcript.getByRole("article", { name: "agent" }).filter({ hasText: "我来帮您查一下订单" }).waitFor({ timeout: 5000 });
  await page.getByRole("button", { name: "Hand back to the bot" }).click();
  await page.getByRole("button", { name: /visitor-7 — with the bot/ }).waitFor({ timeout: 5000 });

  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => (await window.axe.run(document)).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.id));
  assert.deepEqual(violations, []);

  const answered = await chat({ user_id: "visitor-7", session_id: session, query: "运费多少钱" });
  assert.match(answered.reply, /满99元包邮/);
  const history = await (await fetch(`${baseUrl}api/v1/sessions/${session}/messages`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
  assert.deepEqual(history.map((m) => m.author), ["visitor", "bot", "visitor", "agent", "visitor", "bot"]);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a visitor in the widget asks for a person and sees the agent's reply pushed in", async () => {
  const context = await browser.newContext({ locale: "zh-CN" });
  const visitor = await context.newPage();
  const problems = [];
  visitor.on("pageerror", (e) => problems.push(e.message));
  await visitor.goto(baseUrl);
  await visitor.getByRole("status").filter({ hasText: "已连接" }).waitFor({ timeout: 10_000 });
  await visitor.getByRole("textbox", { name: "输入消息" }).fill("我要转人工");
  await visitor.getByRole("button", { name: "发送" }).click();
  const widget = visitor.getByRole("log");
  await widget.getByRole("article", { name: /^我/ }).filter({ hasText: "我要转人工" }).waitFor({ timeout: 5000 });

  const agent = await context.newPage();
  await agent.goto(`${baseUrl}agent`);
  await agent.getByRole("textbox", { name: "Admin key" }).fill(ADMIN);
  await agent.getByRole("button", { name: "Connect" }).click();
  await agent.getByRole("button", { name: /visitor-9 — with a person/ }).click();
  await agent.getByRole("textbox", { name: "Reply" }).fill("您好，这里是人工客服小王。");
  await agent.getByRole("button", { name: "Send" }).click();

  const reply = widget.getByRole("article", { name: /^客服/ }).filter({ hasText: "这里是人工客服小王" });
  await reply.waitFor({ timeout: 5000 });
  assert.equal(await reply.count(), 1, "shown once");
  assert.deepEqual(problems, []);
  await context.close();
});

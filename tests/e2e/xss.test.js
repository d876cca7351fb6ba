// XSS: hostile strings (fixtures/xss-payloads.js) as bot responses — text, buttons, images and
// link cards — and as what the visitor types, in zh and en pages, then again after a reload
// (the transcript is restored from storage). The test fails on any dialog, navigation, popup or
// injected global, and checks that the widget holds no active content at all.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { artifacts, openTestPage, scriptTagPage, trainModel, useServerAndBrowser } from "./harness.js";
import { payloads } from "./fixtures/xss-payloads.js";

const env = useServerAndBrowser();
let model;

/** A YAML double-quoted scalar; JSON's escapes are YAML's. Braces are doubled: responses are templates. */
const quoted = (text, template = false) => JSON.stringify(template ? text.replace(/[{}]/g, (b) => b + b) : text);

before(async () => {
  assert.ok(payloads.length >= 50, `at least 50 payloads (${payloads.length})`);
  const lines = ["name: XSS test bot", "languages: [en, zh]", `welcome: ${quoted(payloads[0], true)}`, "intents:"];
  payloads.forEach((payload, i) => {
    lines.push(`  p${i}:`, `    examples: ["hostile case ${i} one", "hostile case ${i} two"]`, "    responses:");
    lines.push(`      - text: ${quoted(payload, true)}`);
    lines.push(`        buttons: [{title: ${quoted(payload)}, payload: ${quoted(payload)}}]`);
    lines.push(`        image: ${quoted(payload)}`);
    lines.push(`        link: {title: ${quoted(payload)}, url: ${quoted(payload)}}`);
  });
  const dir = join(artifacts, "xss-bot");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "bot.yaml"), lines.join("\n") + "\n");
  model = await trainModel(dir, "xss-bot");
});

/** Everything suspicious in the widget's shadow DOM and the page. */
async function activeContent(page) {
  return page.evaluate(() => {
    const found = [];
    if (window.pwned !== undefined) found.push("window.pwned is set");
    const root = document.querySelector("chatlet-widget").shadowRoot;
    const safeUrl = (url) => /^(https?:|mailto:|tel:)/i.test(new URL(url, location.href).protocol);
    for (const element of root.querySelectorAll("*")) {
      const tag = element.tagName.toLowerCase();
      if (["script", "iframe", "object", "embed", "base", "meta", "link", "math", "video", "audio", "details", "marquee"].includes(tag)) {
        found.push(`<${tag}> element`);
      }
      // The composer is the one form and the one text field.
      if ((tag === "form" || tag === "input") && !element.closest(".chatlet-composer")) found.push(`<${tag}> element`);
      if (tag === "svg" && !element.closest(".chatlet-launcher")) found.push("<svg> outside the launcher");
      for (const attribute of element.attributes) {
        if (/^on/i.test(attribute.name)) found.push(`${tag} has ${attribute.name}`);
        if (attribute.name === "style") found.push(`${tag} has an inline style`);
      }
      if (tag === "a" && !safeUrl(element.href)) found.push(`link to ${element.getAttribute("href")}`);
      if (tag === "img" && !/^https?:$/.test(new URL(element.src, location.href).protocol)) found.push(`image from ${element.getAttribute("src")}`);
    }
    for (const script of document.querySelectorAll("script")) {
      if (!script.src.endsWith("/pkg/chatlet.js")) found.push("a script in the page");
    }
    return found;
  });
}

for (const [lang, locale, labels] of [
  ["en", "en-US", { open: "Open chat", log: "Messages", bot: "Bot", input: "Type a message" }],
  ["zh-CN", "zh-CN", { open: "打开聊天", log: "聊天记录", bot: "机器人", input: "输入消息" }],
]) {
  test(`no payload executes, in bot responses or visitor input (${lang})`, async () => {
    const html = scriptTagPage({ lang, attributes: { model: "/test-models/xss.chatlet", lang } });
    const { context, page, problems } = await openTestPage(env.browser, env.baseUrl, { html, models: { xss: model }, locale });
    const incidents = [];
    const pageUrl = page.url();
    page.on("dialog", async (dialog) => { incidents.push(`dialog: ${dialog.message()}`); await dialog.dismiss(); });
    page.on("framenavigated", (frame) => { if (frame === page.mainFrame() && frame.url() !== pageUrl) incidents.push(`navigated to ${frame.url()}`); });
    context.on("page", (popup) => incidents.push(`popup ${popup.url()}`));

    await page.getByRole("button", { name: labels.open }).click();
    const log = page.getByRole("log", { name: labels.log });
    const bot = log.getByRole("article", { name: labels.bot });
    await bot.first().waitFor({ timeout: 10_000 });
    const input = page.getByRole("textbox", { name: labels.input });
    for (let i = 0; i < payloads.length; i++) {
      // The bot says payload i (the `/p{i}` payload picks the intent directly)...
      let count = await bot.count();
      await page.evaluate((i) => window.chatlet.send(`/p${i}`), i);
      await bot.nth(count).waitFor({ timeout: 5000 });
      // ...and the visitor types it.
      count = await bot.count();
      await input.fill(payloads[i]);
      await input.press("Enter");
      await bot.nth(count).waitFor({ timeout: 5000 });
    }
    // The visitor's words are shown as typed.
    const visitorTexts = await log.getByRole("article", { name: lang === "en" ? "You" : "我" }).allTextContents();
    for (const payload of payloads.slice(0, 10)) {
      assert.ok(visitorTexts.some((t) => t.includes(payload.trim())), `visitor text shown verbatim: ${payload}`);
    }
    // Quick replies carrying payloads are sent as text.
    await log.getByRole("group").last().getByRole("button").first().click();
    await page.waitForTimeout(300);
    assert.deepEqual(await activeContent(page), []);

    // The restored transcript goes through the same rendering.
    await page.reload();
    await page.getByRole("button", { name: labels.open }).click();
    await page.getByRole("log", { name: labels.log }).getByRole("article").nth(10).waitFor({ timeout: 10_000 });
    await page.waitForTimeout(300);
    assert.deepEqual(await activeContent(page), []);
    assert.deepEqual(incidents, []);
    assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
    await context.close();
  });
}

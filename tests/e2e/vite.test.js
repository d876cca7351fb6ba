// The npm package: `npm pack` of pkg/ installed into a tiny Vite 7 app, which builds, and the
// widget mounted with `import { mount } from "chatlet"` works in Chromium; a wrong option is
// reported on the console without breaking it, and a missing model rejects with a TypeError.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { artifacts, launchBrowser, repo } from "./harness.js";

const app = join(artifacts, "vite-app");
const modelsDir = process.env.CHATLET_MODELS ?? join(repo, "target", "models");
let server;
let baseUrl;
let browser;

const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });

before(async () => {
  rmSync(app, { recursive: true, force: true });
  mkdirSync(join(app, "public"), { recursive: true });
  mkdirSync(join(app, "src"), { recursive: true });
  const tarball = run("npm", ["pack", join(repo, "pkg"), "--pack-destination", app, "--silent"], repo).trim().split("\n").pop();
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "chatlet-vite-check", private: true, type: "module", dependencies: { chatlet: `file:./${tarball}` } }, null, 2));
  writeFileSync(join(app, "index.html"), `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Vite shop</title><link rel="icon" href="data:,"></head>
<body><h1>Vite shop</h1><div id="chat"></div><script type="module" src="/src/main.ts"></script></body></html>`);
  writeFileSync(join(app, "src", "main.ts"), `import { mount, type Chatlet } from "chatlet";
const host = document.getElementById("chat") as HTMLElement;
mount(host, { model: "/shop-zh.chatlet", lang: "zh-CN", theme: "light", colour: "red" } as any).then((chat: Chatlet) => {
  (window as any).chat = chat;
});
mount(document.createElement("div"), {} as any).catch((e: Error) => { (window as any).missingModel = \`\${e.name}: \${e.message}\`; });
`);
  copyFileSync(join(modelsDir, "shop-zh.chatlet"), join(app, "public", "shop-zh.chatlet"));
  // The packed tarball installs without the network; vite comes from the test folder's node_modules.
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], app);
  run(process.execPath, [join(import.meta.dirname, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"], app);
  const dist = join(app, "dist");
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm", ".chatlet": "application/octet-stream" };
  server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dist, path === "/" ? "index.html" : path);
    if (!file.startsWith(dist) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${server.address().port}/`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.close();
});

test("the packed package builds with Vite 7 and the widget works in the built app", async () => {
  const assets = readdirSync(join(app, "dist", "assets"));
  assert.ok(assets.some((f) => f.endsWith(".wasm")), `Vite emitted the wasm: ${assets.join(", ")}`);
  const context = await browser.newContext({ locale: "zh-CN" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  await page.goto(baseUrl);
  await page.getByRole("button", { name: "打开聊天" }).click();
  const log = page.getByRole("log", { name: "聊天记录" });
  await log.getByRole("article", { name: "机器人" }).first().waitFor({ timeout: 10_000 });
  const input = page.getByRole("textbox", { name: "输入消息" });
  await input.fill("能用支付宝吗");
  await input.press("Enter");
  await log.getByRole("article", { name: "机器人" }).nth(1).filter({ hasText: "支付宝" }).waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => window.missingModel), "TypeError: chatlet: option `model` is required: the URL of a .chatlet model");
  assert.deepEqual(problems, ["console: chatlet: unknown option `colour` ignored (known options: model, title, lang, open, theme, server, key, userId)"]);
  await context.close();
});

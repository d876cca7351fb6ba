// Shared set-up for the end-to-end tests: starts the real chatlet server on an ephemeral
// 127.0.0.1 port, launches Debian's Chromium headless with a fresh profile, and cleans up.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const artifacts = join(repo, "target", "e2e");
mkdirSync(artifacts, { recursive: true });

export const chatletBin = process.env.CHATLET_BIN ?? join(repo, "target", "debug", "chatlet");
export const modelsDir = process.env.CHATLET_MODELS ?? join(repo, "target", "models");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/**
 * Starts `chatlet serve` on 127.0.0.1:0 (plus `extraArgs`) and resolves with its base URL once it
 * prints it (20 s at most). `root` is the site it serves (the repository by default). Unless
 * `extraArgs` says where history goes, it goes, as by default, to a SQLite file: a new one in a
 * temporary folder that is removed when the server exits.
 */
export function startServer(extraArgs = [], { root = repo } = {}) {
  let historyDir = null;
  if (!extraArgs.includes("--db") && !extraArgs.includes("--history-in-memory")) {
    historyDir = mkdtempSync(join(tmpdir(), "chatlet-e2e-"));
    extraArgs = [...extraArgs, "--db", join(historyDir, "history.db")];
  }
  const child = spawn(chatletBin, ["serve", "--addr", "127.0.0.1:0", "--root", root, "--models", modelsDir, ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (historyDir) child.on("exit", () => rmSync(historyDir, { recursive: true, force: true }));
  let output = "";
  const url = new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${output}`)), 20_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /chatlet serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return { url, stop: () => child.kill("SIGTERM") };
}

/** Launches headless Chromium with the flags this machine needs; Playwright gives every launch a new empty profile. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
}

/**
 * Opens `url` in a new context with the given locale and collects page errors and console errors,
 * so a test can assert that nothing went wrong (a Rust panic shows up as a console error).
 */
export async function openPage(browser, url, locale) {
  const context = await browser.newContext({ locale, viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  await page.goto(url);
  return { context, page, problems };
}

/**
 * Registers before/after hooks that start the server and the browser for one test file and stop
 * them afterwards. Returns an object whose `baseUrl` and `browser` are set once `before` has run.
 */
export function useServerAndBrowser() {
  const env = {};
  let server;
  before(async () => {
    server = startServer();
    env.baseUrl = await server.url;
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    server?.stop();
  });
  return env;
}

/** Trains `botPath` (a bot file or folder) with the chatlet CLI into target/e2e/models and resolves with the model's bytes. */
export async function trainModel(botPath, name) {
  const out = join(artifacts, "models", `${name}.chatlet`);
  mkdirSync(dirname(out), { recursive: true });
  await new Promise((resolveRun, reject) => {
    const child = spawn(chatletBin, ["train", botPath, "-o", out], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const timer = setTimeout(() => { child.kill(); reject(new Error(`training ${botPath} took over 60 s`)); }, 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      code === 0 ? resolveRun() : reject(new Error(`chatlet train ${botPath} failed:\n${output}`));
    });
  });
  return readFileSync(out);
}

/**
 * Opens a page at `baseUrl + path` whose HTML is `html`, with `models` (name → bytes) served at
 * `baseUrl + "test-models/<name>.chatlet"`; the widget's files come from the real server.
 */
export async function openTestPage(browser, baseUrl, { path = "test-page.html", html, models = {}, locale = "en-US", viewport }) {
  // A 1×1 PNG for bot messages' images.
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
  const context = await browser.newContext({ locale, viewport: viewport ?? { width: 1100, height: 800 } });
  await context.route(`${baseUrl}${path}`, (route) => route.fulfill({ contentType: "text/html; charset=utf-8", body: html }));
  for (const [name, bytes] of Object.entries(models)) {
    await context.route(`${baseUrl}test-models/${name}.chatlet`, (route) => route.fulfill({ contentType: "application/octet-stream", body: bytes }));
  }
  await context.route(`${baseUrl}test-files/*.png`, (route) => route.fulfill({ contentType: "image/png", body: png }));
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  await page.goto(`${baseUrl}${path}`);
  return { context, page, problems };
}

/** A page that embeds the widget with the script tag; `attributes` become data-* attributes. */
export function scriptTagPage({ lang = "en", title = "test", head = "", body = "", attributes = {} }) {
  const data = Object.entries(attributes)
    .map(([k, v]) => (v === true ? ` data-${k}` : ` data-${k}="${String(v).replace(/"/g, "&quot;")}"`))
    .join("");
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${title}</title>${head}</head>` +
    `<body>${body}<script src="/pkg/chatlet.js"${data} defer></script></body></html>`;
}

/*! chatlet for bundlers: `import { mount } from "chatlet"; const chat = await mount(element, { model: "bot.chatlet" });`
 *  With `server` set, the server-synced build (sync/) is loaded instead, only then. */
import init, { mount as mountWidget } from "./chatlet_widget.js";

let ready, syncReady;

/** Loads the wasm once, then mounts a widget into `element` (inside a shadow root) and returns its handle. */
export async function mount(element, options) {
  if (options && options.server) {
    syncReady ??= import("./sync/chatlet_sync.js").then(async (sync) => {
      await sync.default({ module_or_path: new URL("./sync/chatlet_sync_bg.wasm", import.meta.url) });
      return sync;
    });
    return (await syncReady).mount(element, options);
  }
  ready ??= init({ module_or_path: new URL("./chatlet_widget_bg.wasm", import.meta.url) });
  await ready;
  return mountWidget(element, options);
}

/*! chatlet for bundlers: `import { mount } from "chatlet"; const chat = await mount(element, { model: "bot.chatlet" });` */
import init, { mount as mountWidget } from "./chatlet_widget.js";

let ready;

/** Loads the wasm once, then mounts a widget into `element` (inside a shadow root) and returns its handle. */
export async function mount(element, options) {
  ready ??= init({ module_or_path: new URL("./chatlet_widget_bg.wasm", import.meta.url) });
  await ready;
  return mountWidget(element, options);
}

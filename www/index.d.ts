/** Options for {@link mount}. */
export interface ChatletOptions {
  /** URL of the trained `.chatlet` model. */
  model: string;
  /** Title of the chat panel; the bot's name when absent. */
  title?: string;
  /** Language of the widget's own labels; `auto` follows `navigator.language`. */
  lang?: "zh-CN" | "zh-TW" | "en" | "auto";
  /** Start with the panel open. */
  open?: boolean;
  /** Color scheme: the visitor's preference (`auto`, the default) or a fixed one. Colors, font, radius, size and
   *  position are themed with CSS custom properties on the host element (`--chatlet-accent`, `--chatlet-font`, …). */
  theme?: "auto" | "light" | "dark";
  /** A chatlet server to sync with (`wss://chat.example`): messages go through it (its bot, skills or a person
   *  answer), the transcript is kept there, and offline the bot answers in the page while an outbox waits. */
  server?: string;
  /** The server's public key (required with `server`). */
  key?: string;
  /** The site's id for the visitor; the widget draws and keeps one when absent. */
  userId?: string;
}

/** Payload of the `message` event. */
export interface ChatletMessage {
  author: "visitor" | "bot" | "agent";
  text: string;
  /** Milliseconds since 1970. */
  time: number;
}

/** Payload of the `connection` event. `local`: no server configured, the widget answers in the page;
 *  `connecting`/`offline`: the page answers and keeps an outbox; `online`: the server answers. */
export interface ChatletConnection {
  state: "local" | "connecting" | "online" | "offline";
}

/** What `on` can listen to, with each event's payload. */
export interface ChatletEvents {
  message: ChatletMessage;
  open: undefined;
  close: undefined;
  connection: ChatletConnection;
}

/** A mounted widget. */
export interface Chatlet {
  open(): void;
  close(): void;
  toggle(): void;
  /** Forgets the conversation (transcript, slots, open form) and starts over. */
  clear(): void;
  /** Sends a message as if the visitor had typed it. */
  send(text: string): void;
  /**
   * Runs `handler` when the bot asks for action `name` (declared under `actions:` in the bot file).
   * The handler gets the conversation's slots and returns (or resolves to) a text to say, or
   * `{ text?, slots? }`. If it throws, returns nothing or exceeds the action's `timeout_ms`, the
   * action's `fallback` answers instead.
   */
  registerAction(
    name: string,
    handler: (slots: Record<string, string>) => string | ActionResult | void | Promise<string | ActionResult | void>,
  ): void;
  /** Calls `callback` on each `event`; a `connection` callback is also called at once with the current state. */
  on<E extends keyof ChatletEvents>(event: E, callback: (payload: ChatletEvents[E]) => void): void;
  /** Stops calling `callback` for `event`. */
  off<E extends keyof ChatletEvents>(event: E, callback: (payload: ChatletEvents[E]) => void): void;
  /** Sets conversation slots (`{ name: "Li" }`) that responses, conditions and actions can use. */
  setContext(context: Record<string, string | number | boolean>): void;
  /** Starts over with another model (the bytes of a `.chatlet` file). */
  replaceModel(bytes: Uint8Array): void;
  /** True once the model is loaded. */
  readonly ready: boolean;
}

/** What an action handler may return. */
export interface ActionResult {
  /** Said by the bot. */
  text?: string;
  /** Slots to set in the conversation. */
  slots?: Record<string, string>;
}

/** Mounts the widget into `element`; rejects with a TypeError when `model` is missing. Other bad options are
 *  reported on the console and replaced by their defaults. */
export function mount(element: HTMLElement, options: ChatletOptions): Promise<Chatlet>;

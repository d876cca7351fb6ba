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

/** Mounts the widget into `element`; rejects with a TypeError naming the bad option. */
export function mount(element: HTMLElement, options: ChatletOptions): Promise<Chatlet>;

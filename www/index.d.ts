/** Options for {@link mount}. */
export interface ChatletOptions {
  /** URL of the trained `.chatlet` model. */
  model: string;
  /** Title of the chat panel; the bot's name when absent. */
  title?: string;
  /** Language of the widget's own labels; `auto` follows `navigator.language`. */
  lang?: "zh-CN" | "en" | "auto";
  /** Start with the panel open. */
  open?: boolean;
}

/** A mounted widget. */
export interface Chatlet {
  open(): void;
  close(): void;
  toggle(): void;
  /** Sends a message as if the visitor had typed it. */
  send(text: string): void;
  /** True once the model is loaded. */
  readonly ready: boolean;
}

/** Mounts the widget into `element`; rejects with a TypeError naming the bad option. */
export function mount(element: HTMLElement, options: ChatletOptions): Promise<Chatlet>;

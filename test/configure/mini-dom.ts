/**
 * Just enough of a DOM to run public/configure.js in a vm: elements with attributes, children, text, classes,
 * listeners, forms with `elements`, and selectors by tag, #id, .class or [attr]. Not a browser: the real-browser
 * tests of the pages cover layout and Bitbucket's host page.
 */
type Listener = (ev: { type: string; target: MiniElement; preventDefault(): void }) => void;

export class MiniElement {
  children: MiniElement[] = [];
  parent: MiniElement | null = null;
  attributes = new Map<string, string>();
  listeners = new Map<string, Listener[]>();
  private text = "";
  hidden = false;
  disabled = false;
  value = "";
  checked = false;
  placeholder = "";
  colSpan = 1;
  constructor(readonly tagName: string) {}

  get className(): string {
    return this.attributes.get("class") ?? "";
  }
  set className(v: string) {
    this.attributes.set("class", v);
  }
  get id(): string {
    return this.attributes.get("id") ?? "";
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, String(value));
  }
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join("");
  }
  set textContent(v: string) {
    this.children = [];
    this.text = String(v);
  }
  get firstChild(): MiniElement | null {
    return this.children[0] ?? null;
  }
  appendChild(child: MiniElement): MiniElement {
    child.parent = this;
    this.children.push(child);
    return child;
  }
  removeChild(child: MiniElement): MiniElement {
    this.children = this.children.filter((c) => c !== child);
    return child;
  }
  addEventListener(type: string, fn: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  /** Dispatches an event that bubbles up from this element. */
  fire(type: string): void {
    const ev = { type, target: this, preventDefault() {} };
    const bubble = (el: MiniElement | null): void => {
      if (!el) return;
      for (const fn of el.listeners.get(type) ?? []) fn(ev);
      bubble(el.parent);
    };
    bubble(this);
  }
  click(): void {
    this.fire("click");
  }
  focus(): void {}
  select(): void {}
  matches(selector: string): boolean {
    if (selector.startsWith("#")) return this.id === selector.slice(1);
    if (selector.startsWith(".")) return this.className.split(/\s+/).includes(selector.slice(1));
    const attr = /^\[([a-z-]+)(?:="([^"]*)")?\]$/.exec(selector);
    if (attr) return this.attributes.has(attr[1]) && (attr[2] === undefined || this.attributes.get(attr[1]) === attr[2]);
    return this.tagName === selector.toLowerCase();
  }
  querySelectorAll(selector: string): MiniElement[] {
    const out: MiniElement[] = [];
    const walk = (el: MiniElement) => {
      for (const c of el.children) {
        if (c.matches(selector)) out.push(c);
        walk(c);
      }
    };
    walk(this);
    return out;
  }
  querySelector(selector: string): MiniElement | null {
    return this.querySelectorAll(selector)[0] ?? null;
  }
  closest(selector: string): MiniElement | null {
    return this.matches(selector) ? this : (this.parent?.closest(selector) ?? null);
  }
  /** A form's named controls. */
  get elements(): Record<string, MiniElement> {
    return Object.fromEntries(this.querySelectorAll("[name]").map((e) => [e.getAttribute("name")!, e]));
  }
  reset(): void {
    for (const e of Object.values(this.elements)) {
      e.value = "";
      e.checked = false;
    }
  }
}

/** Builds an element tree: el("div", {id: "x"}, el("span")). */
export function el(tag: string, attrs: Record<string, string> = {}, ...children: MiniElement[]): MiniElement {
  const e = new MiniElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.appendChild(c);
  return e;
}

export function miniDocument(body: MiniElement) {
  return {
    body,
    getElementById: (id: string) => body.querySelector(`#${id}`),
    querySelectorAll: (s: string) => body.querySelectorAll(s),
    querySelector: (s: string) => body.querySelector(s),
    createElement: (tag: string) => new MiniElement(tag),
    createTextNode: (text: string) => {
      const t = new MiniElement("#text");
      t.textContent = text;
      return t;
    },
    execCommand: () => true,
  };
}

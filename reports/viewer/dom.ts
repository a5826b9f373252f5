// The small part of the browser DOM the viewer uses, typed here because the project's tsconfig is Node-only
// (lib ES2023, no "dom"): adding the DOM lib globally would change the types every other module sees. The viewer
// reaches the browser through `browser()` only, so these declarations are the whole surface it relies on.

export interface DomEvent {
  type: string;
  target: unknown;
  preventDefault(): void;
  stopPropagation(): void;
  key?: string;
}

export interface DomNode {
  textContent: string | null;
}

export interface DomElement extends DomNode {
  id: string;
  className: string;
  hidden: boolean;
  readonly classList: { add(...c: string[]): void; remove(...c: string[]): void; toggle(c: string, force?: boolean): boolean; contains(c: string): boolean };
  readonly dataset: { [k: string]: string | undefined };
  readonly children: ArrayLike<DomElement>;
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  removeAttribute(name: string): void;
  append(...nodes: Array<DomNode | string>): void;
  replaceChildren(...nodes: Array<DomNode | string>): void;
  remove(): void;
  addEventListener(type: string, listener: (ev: DomEvent) => void): void;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  scrollIntoView(options?: { block?: string }): void;
  focus(): void;
  closest(selector: string): DomElement | null;
}

export interface DomInput extends DomElement {
  value: string;
}

export interface DomDetails extends DomElement {
  open: boolean;
}

export interface DomTemplate extends DomElement {
  readonly content: DomNode;
}

export interface DomDocument {
  readonly body: DomElement;
  readonly documentElement: DomElement;
  title: string;
  createElement(tag: string): DomElement;
  createElementNS(ns: string, tag: string): DomElement;
  createTextNode(text: string): DomNode;
  getElementById(id: string): DomElement | null;
  execCommand(command: string): boolean;
}

export interface BrowserGlobals {
  document: DomDocument;
  location: { hash: string; href: string };
  history: { replaceState(data: unknown, unused: string, url?: string): void };
  addEventListener(type: string, listener: (ev: DomEvent) => void): void;
  performance: { mark(name: string): void; now(): number };
  requestAnimationFrame(cb: (t: number) => void): number;
  getSelection(): { selectAllChildren(node: DomElement): void } | null;
  navigator: { clipboard?: { writeText(text: string): Promise<void> } };
  atob(s: string): string;
  Blob: new (parts: unknown[], options?: { type?: string }) => { stream(): unknown };
  Response: new (body: unknown) => { text(): Promise<string> };
  DecompressionStream?: new (format: string) => unknown;
  URL: { createObjectURL(blob: unknown): string };
}

export function browser(): BrowserGlobals {
  return globalThis as unknown as BrowserGlobals;
}

export const SVG_NS = 'http://www.w3.org/2000/svg';

type Child = DomNode | string | null | undefined | false;
type Attrs = { [k: string]: string | number | boolean | undefined | ((ev: DomEvent) => void) };

function fill(el: DomElement, attrs: Attrs | undefined, children: Child[]): DomElement {
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === false) continue;
      if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
      else if (k === 'class') el.setAttribute('class', String(v));
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

/** an HTML element; text children are text nodes, never parsed as HTML */
export function h(tag: string, attrs?: Attrs, ...children: Child[]): DomElement {
  return fill(browser().document.createElement(tag), attrs, children);
}

export function s(tag: string, attrs?: Attrs, ...children: Child[]): DomElement {
  return fill(browser().document.createElementNS(SVG_NS, tag), attrs, children);
}

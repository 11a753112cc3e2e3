/// <reference lib="dom" />
/** The page's data: a JSON script element the writer embedded (file:// pages cannot fetch()). */
export function pageData<T>(): T {
  const el = document.getElementById('faultline-data');
  if (!el?.textContent) throw new Error('faultline report: this page carries no data (#faultline-data is missing)');
  return JSON.parse(el.textContent) as T;
}

/** An element with text: the page is built with DOM calls, never innerHTML of data. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

export const fmtMs = (ms: number | null | undefined) => (ms === null || ms === undefined ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${Math.round(ms)} ms`);

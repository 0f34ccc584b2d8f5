// @ts-check
/** DOM building and formatting. Text always goes in as text, never as HTML. */

/**
 * An element with attributes (`on…` functions become listeners, `false`/null ones are left out)
 * and children (strings become text nodes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>} [attributes]
 * @param {Array<Node | string | null | undefined | false>} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/**
 * The element with `id`; a missing one is a bug in index.html.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return element;
}

/**
 * A duration as [-]m:ss.
 * @param {number} ms
 */
export function clock(ms) {
  // Overdue counts up from the breach, so a breached timer never reads −0:00.
  const total = ms < 0 ? Math.ceil(-ms / 1000) : Math.floor(ms / 1000);
  const text = `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
  return ms < 0 ? `−${text}` : text;
}

/**
 * How a dialog is called in lists: the client's name, else the bot's chat id, else its id.
 * @param {{ id: string, clientName: string | null, externalId: string | null }} dialog
 */
export function dialogTitle(dialog) {
  return dialog.clientName ?? dialog.externalId ?? `Dialog ${dialog.id.slice(0, 8)}`;
}

/**
 * A time of day.
 * @param {string} iso
 */
export function timeOfDay(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

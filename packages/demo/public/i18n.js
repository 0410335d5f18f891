// The demo's texts: every visible string goes through t(). English and Simplified Chinese, chosen
// by the browser's languages (navigator.languages) in app.js; English fills any gap.
import en from './strings-en.js';
import zhCN from './strings-zh-cn.js';

export const DICTIONARIES = { en, 'zh-CN': zhCN };

let language = 'en';

/** The first of `languages` the demo speaks: any Chinese tag gets Simplified Chinese. */
export function pickLanguage(languages) {
  for (const tag of languages ?? []) {
    const lower = String(tag).toLowerCase();
    if (lower === 'en' || lower.startsWith('en-')) {
      return 'en';
    }
    if (lower === 'zh' || lower.startsWith('zh-')) {
      return 'zh-CN';
    }
  }
  return 'en';
}

export function setLanguage(tag) {
  language = Object.hasOwn(DICTIONARIES, tag) ? tag : 'en';
}

export function currentLanguage() {
  return language;
}

/** The text for `key`, with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = DICTIONARIES[language][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

/** Fills the static page: `data-i18n` (text), `data-i18n-placeholder`, `-title` and `-aria-label`. */
export function translatePage(doc) {
  doc.documentElement.setAttribute('lang', language);
  doc.title = t('app.name');
  for (const el of doc.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const attr of ['placeholder', 'title', 'aria-label']) {
    for (const el of doc.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
    }
  }
}

/** "in 12 minutes" / "12分钟后": how long until a retry, rounded up to a readable unit. */
export function formatWait(ms) {
  const rtf = new Intl.RelativeTimeFormat(language, { numeric: 'always' });
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) {
    return rtf.format(seconds, 'second');
  }
  const minutes = Math.ceil(seconds / 60);
  return minutes < 60 ? rtf.format(minutes, 'minute') : rtf.format(Math.ceil(minutes / 60), 'hour');
}

/** "3 people" in the current language. */
export function countPeople(n) {
  return t(n === 1 ? 'people.one' : 'people.many', { n });
}

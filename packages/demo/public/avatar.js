// Initials avatars: what a tile shows when there is no picture.

/** Up to two letters for `name`: the first letters of its first two words ("Ada Lovelace" → "AL"). */
export function initials(name) {
  const words = String(name ?? '')
    .trim()
    .split(/[\s._@-]+/)
    .filter(Boolean);
  if (!words.length) {
    return '?';
  }
  const first = (word) => Array.from(word)[0] ?? '';
  // One word, or a CJK name: one character is already a recognisable initial.
  if (words.length === 1 || /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/.test(words[0])) {
    return first(words[0]).toUpperCase();
  }
  return (first(words[0]) + first(words[1])).toUpperCase();
}

const HUES = [12, 38, 145, 173, 200, 225, 262, 292, 330];

/** A stable background colour for `key` (a user id), from a small palette that reads on dark. */
export function avatarColor(key) {
  let sum = 0;
  for (const ch of String(key ?? '')) {
    sum = (sum * 31 + ch.codePointAt(0)) >>> 0;
  }
  return `hsl(${HUES[sum % HUES.length]} 55% 42%)`;
}

/** A `.avatar` element for `name`, coloured by `key`. */
export function avatarElement(name, key, size = '') {
  const el = document.createElement('span');
  el.className = `avatar${size ? ` ${size}` : ''}`;
  el.setAttribute('aria-hidden', 'true');
  setAvatar(el, name, key);
  return el;
}

export function setAvatar(el, name, key) {
  el.textContent = initials(name);
  el.style.background = avatarColor(key);
}

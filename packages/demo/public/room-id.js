// Room names people type ("Team sync", "周会") become valid room ids (letters, digits, _ . : @ -,
// at most 128): the same name always gives the same id, so two people who type it meet.

const VALID = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** FNV-1a over the UTF-16 code units: a short, stable tag for names that lose characters. */
function tag(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36).padStart(7, '0');
}

/**
 * `{ id, title }` for a typed room name: spaces become dashes; a name with other characters
 * keeps its valid part and gains a tag of the whole name, and `title` keeps the name as typed (it
 * rides along as room metadata). Returns undefined for an empty name.
 */
export function roomIdFor(name) {
  const title = String(name ?? '')
    .trim()
    .replace(/\s+/g, ' ');
  if (!title) {
    return undefined;
  }
  const dashed = title.replace(/ /g, '-');
  if (VALID.test(dashed)) {
    return { id: dashed, title };
  }
  const kept = dashed
    .replace(/[^A-Za-z0-9_.:@-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 100);
  return { id: `${kept || 'room'}-${tag(title)}`, title };
}

/** The name to show for a room: its title metadata when it has one, else its id. */
export function roomTitle(id, metadata) {
  const title = metadata && typeof metadata.title === 'string' ? metadata.title.trim() : '';
  return title || id;
}

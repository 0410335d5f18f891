// The control API as the dashboard calls it: the operator's key in the Authorization header,
// never in a URL. Event streams are read with fetch, since EventSource cannot send that header.
const STORAGE = 'heliograph.console.apiKey';

export const session = {
  get key() {
    return sessionStorage.getItem(STORAGE);
  },
  set key(value) {
    if (value) {
      sessionStorage.setItem(STORAGE, value);
    } else {
      sessionStorage.removeItem(STORAGE);
    }
  },
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(code ? `${code}: ${message}` : `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function failure(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  return new ApiError(res.status, body?.error?.code, body?.error?.message ?? '');
}

export async function api(method, path, body, key = session.key) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) {
    throw await failure(res);
  }
  return res.status === 204 ? undefined : res.json();
}

/** Reads a Server-Sent Events stream until `signal` aborts; calls `onEvent(name, data)` for each. */
export async function stream(path, onEvent, signal) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${session.key}`, accept: 'text/event-stream' }, signal });
  if (!res.ok) {
    throw await failure(res);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      buffered += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let name = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length > 0) {
          onEvent(name, JSON.parse(data.join('\n')));
        }
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}

/** A table row of text cells (never HTML: ids and names come from users). */
export function row(cells, className) {
  const tr = document.createElement('tr');
  if (className) tr.className = className;
  for (const cell of cells) {
    const td = document.createElement('td');
    if (cell instanceof Node) td.append(cell);
    else td.textContent = cell === undefined || cell === null ? '–' : String(cell);
    tr.append(td);
  }
  return tr;
}

export function button(label, onClick, className) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (className) b.className = className;
  b.addEventListener('click', onClick);
  return b;
}

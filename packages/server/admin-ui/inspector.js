// The signalling inspector panel: GET /v1/inspect as a stream while it is on.
import { row, stream } from './api.js';

const MAX_ROWS = 500;

function gist(record) {
  const text = JSON.stringify(record.body) ?? '';
  const sdp = /"type":"(offer|answer|pranswer|rollback)"/.exec(text);
  if (sdp) return sdp[1];
  if (text.includes('"candidate"')) return 'candidate';
  return record.error ?? '';
}

function bodyCell(record) {
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = gist(record) || 'body';
  const pre = document.createElement('pre');
  // SDP line breaks shown as lines: that is how an operator reads an SDP.
  pre.textContent = JSON.stringify(record.body, null, 2).replace(/\\r\\n/g, '\n    ');
  details.append(summary, pre);
  return details;
}

export function createInspector(showError) {
  const form = document.getElementById('inspect-form');
  const stopButton = document.getElementById('inspect-stop');
  const status = document.getElementById('inspect-status');
  const tbody = document.querySelector('#records tbody');
  let abort;

  function stop() {
    abort?.abort();
    abort = undefined;
    stopButton.disabled = true;
    form.querySelector('[type=submit]').disabled = false;
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    stop();
    const kind = document.getElementById('inspect-kind').value;
    const target = document.getElementById('inspect-target').value.trim();
    tbody.replaceChildren();
    abort = new AbortController();
    stopButton.disabled = false;
    form.querySelector('[type=submit]').disabled = true;
    status.textContent = 'starting…';
    const query = `${kind}=${encodeURIComponent(target)}`;
    stream(
      `/v1/inspect?${query}`,
      (name, data) => {
        if (name === 'started') {
          status.textContent = `capturing ${kind} ${target}`;
          status.dataset.capture = data.capture;
        } else if (name === 'record') {
          const time = new Date(data.at).toISOString().slice(11, 23);
          const who = data.peer ?? data.user;
          const tr = row([time, data.node, data.direction, data.kind, data.type, who, data.bytes, data.ms, bodyCell(data)], data.direction);
          tr.dataset.gist = gist(data);
          tbody.prepend(tr);
          while (tbody.children.length > MAX_ROWS) tbody.lastElementChild.remove();
        }
      },
      abort.signal,
    ).then(
      () => {
        status.textContent = 'stopped';
        stop();
      },
      (err) => {
        status.textContent = '';
        showError(err);
        stop();
      },
    );
  });
  stopButton.addEventListener('click', stop);
  return {
    stop,
    watch(kind, target) {
      document.getElementById('inspect-kind').value = kind;
      document.getElementById('inspect-target').value = target;
      form.requestSubmit();
    },
  };
}

/* global document, EventSource, FormData, fetch, atob */
// The try-it page: upload with the pasted bearer token, then follow the upload with
// EventSource, which cannot send Authorization and so uses the upload's own scoped token.
// `done` and `superseded` are final. `failed` is not: an operator may retry the upload (a
// `retried` event, then a new run), so the page keeps listening; the server ends the stream
// when `failed` is the latest event, and EventSource's reconnect then gets 204 and stops.
const final = new Set(['done', 'superseded']);

const $ = (id) => document.getElementById(id);

function show(text, state = 'busy') {
  $('status').textContent = text;
  $('status').dataset.state = state;
}

function log(text) {
  const item = document.createElement('li');
  item.textContent = text;
  $('log').append(item);
}

/** The user id a token acts for (its `sub`), read without verifying: the API verifies it. */
function userIdOf(token) {
  const payload = token.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(json).sub;
}

function showVariants(variants) {
  const box = $('variants');
  box.replaceChildren();
  for (const variant of variants) {
    const figure = document.createElement('figure');
    const img = document.createElement('img');
    img.src = variant.url;
    img.alt = `${variant.size}×${variant.size}`;
    img.width = Math.min(variant.size, 256);
    const caption = document.createElement('figcaption');
    caption.textContent = `${variant.size} px`;
    figure.append(img, caption);
    box.append(figure);
  }
}

function follow(accepted) {
  const source = new EventSource(accepted.eventStreamUrl);
  let latest;
  const on = (type, handle) => source.addEventListener(type, (message) => {
    const event = JSON.parse(message.data);
    latest = type;
    log(`${event.seq} ${event.type}${event.type === 'progress' ? ` ${event.data.percent}%` : ''}`);
    handle(event.data);
    // the stream ends by itself after a final event; closing stops EventSource reconnecting
    if (final.has(type)) source.close();
  });
  on('queued', () => show('queued'));
  on('processing', (data) => show(`processing (attempt ${data.attempt})`));
  on('progress', (data) => {
    $('progress').value = data.percent;
    show(`processing ${data.percent}%`);
  });
  on('stored', () => show('processing: stored'));
  on('retrying', (data) => show(`retrying after ${data.code}`));
  on('done', (data) => {
    $('progress').value = 100;
    show('done', 'done');
    showVariants(data.variants);
  });
  on('failed', (data) => show(`failed: ${data.code} — ${data.message}`, 'error'));
  on('retried', () => {
    $('progress').value = 0;
    $('variants').replaceChildren();
    show('retried by an operator: queued again');
  });
  on('superseded', () => show('superseded by a newer upload', 'error'));
  source.onerror = () => {
    // EventSource reconnects by itself (with Last-Event-ID); a source closed after `failed` is
    // the server's 204 (nothing after the failure), so the failure stays on screen
    if (source.readyState === EventSource.CLOSED && latest !== 'failed') show('lost the event stream', 'error');
  };
}

async function upload(file) {
  const token = $('token').value.trim();
  if (!token) return show('paste a token first', 'error');
  let userId;
  try {
    userId = userIdOf(token);
  } catch {
    return show('that does not look like a token', 'error');
  }
  $('log').replaceChildren();
  $('variants').replaceChildren();
  $('progress').value = 0;
  show('uploading');
  const form = new FormData();
  form.append('file', file);
  const response = await fetch(`/v1/users/${encodeURIComponent(userId)}/avatar`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const body = await response.json().catch(() => ({}));
  if (response.status !== 202) return show(`${response.status} ${body.code ?? ''}: ${body.detail ?? 'refused'}`, 'error');
  show('queued');
  follow(body);
}

$('file').addEventListener('change', () => {
  const file = $('file').files[0];
  if (file) upload(file).catch((error) => show(`upload failed: ${error.message}`, 'error'));
});

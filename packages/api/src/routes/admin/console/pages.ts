import { uploadStatuses, type Upload, type UploadEvent, type UploadStatus, type UploadSummary, type UserAvatar } from '@avatar/shared';
import type { Overview } from '../../../domain/upload-stats.js';
import { barChart, rateChart } from './charts.js';
import { html, safeUrl, type SafeHtml } from './html.js';

/** Where bull-board shows one job: `<base>/queue/<queue name>/<job id>` (its client-side router). */
export function bullBoardJobUrl(queueName: string, jobId: string): string {
  return `/admin/queues/queue/${encodeURIComponent(queueName)}/${encodeURIComponent(jobId)}`;
}

function layout(title: string, body: SafeHtml, csrfToken: string): SafeHtml {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · Avatar console</title>
<link rel="stylesheet" href="/admin/assets/console.css"></head><body>
<header><nav><a href="/admin">Overview</a> <a href="/admin/uploads">Uploads</a> <a href="/admin/queues">Queues</a></nav>
<form method="post" action="/admin/logout" class="logout"><input type="hidden" name="_csrf" value="${csrfToken}"><button type="submit">Log out</button></form></header>
<main><h1>${title}</h1>${body}</main></body></html>`;
}

export function loginPage(csrfToken: string, message?: string): SafeHtml {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in · Avatar console</title>
<link rel="stylesheet" href="/admin/login.css"></head><body><main>
<h1>Avatar console</h1>${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<form method="post" action="/admin/login"><input type="hidden" name="_csrf" value="${csrfToken}">
<label>Admin password <input type="password" name="password" autocomplete="current-password" required autofocus></label>
<button type="submit">Log in</button></form></main></body></html>`;
}

function statusCounts(counts: Record<string, number>): SafeHtml {
  return html`<table class="counts"><tr>${uploadStatuses.map((s) => html`<th>${s}</th>`)}</tr><tr>${uploadStatuses.map(
    (s) => html`<td class="status-${s}"><a href="/admin/uploads?status=${s}">${counts[s] ?? 0}</a></td>`,
  )}</tr></table>`;
}

const minuteLabel = (d: Date): string => d.toISOString().slice(11, 16);

export function overviewPage(overview: Overview, csrfToken: string): SafeHtml {
  const points = overview.perMinute;
  const body = html`<p class="muted">As of ${overview.now.toISOString()} (UTC). Counts are uploads accepted in the window, by their status now.</p>
<section><h2>Last hour</h2>${statusCounts(overview.lastHour)}</section>
<section><h2>Last 24 hours</h2>${statusCounts(overview.lastDay)}</section>
<section><h2>Last 60 minutes</h2>
${barChart('Uploads per minute (failed in red)', points.map((p) => ({ label: minuteLabel(p.minute), value: p.total })), { highlight: points.map((p) => p.failed) })}
${rateChart('Failure rate (failed / finished, per minute of acceptance)', points.map((p) => ({ label: minuteLabel(p.minute), value: p.failureRate })))}
</section>
<section><h2>Top failure codes (24 h)</h2>${
    overview.topFailures.length === 0
      ? html`<p>No failures.</p>`
      : html`<table><tr><th>code</th><th>uploads</th></tr>${overview.topFailures.map((f) => html`<tr><td><code>${f.code}</code></td><td>${f.count}</td></tr>`)}</table>`
  }</section>
<section><h2>Queue depth</h2><table><tr><th>queue</th>${Object.keys(overview.queues[0]?.counts ?? {}).map((s) => html`<th>${s}</th>`)}</tr>${overview.queues.map(
    (q) => html`<tr><td><a href="/admin/queues/queue/${encodeURIComponent(q.name)}">${q.name}</a></td>${Object.values(q.counts).map((n) => html`<td>${n}</td>`)}</tr>`,
  )}</table></section>`;
  return layout('Overview', body, csrfToken);
}

export interface ListView {
  uploads: UploadSummary[];
  next: string | undefined;
  status: UploadStatus | undefined;
  query: string;
  user: UserAvatar | undefined;
  message?: string;
}

function listLink(view: ListView, after: string): string {
  const params = new URLSearchParams();
  if (view.status) params.set('status', view.status);
  if (view.query) params.set('q', view.query);
  params.set('after', after);
  return `/admin/uploads?${params.toString()}`;
}

export function uploadListPage(view: ListView, csrfToken: string): SafeHtml {
  const body = html`<form method="get" action="/admin/uploads" class="search">
<label>User id or upload id <input name="q" value="${view.query}"></label>
<label>Status <select name="status"><option value="">any</option>${uploadStatuses.map((s) => html`<option value="${s}"${s === view.status ? html` selected` : ''}>${s}</option>`)}</select></label>
<button type="submit">Search</button></form>
${view.message ? html`<p class="error" role="alert">${view.message}</p>` : ''}
${view.user ? userPanel(view.user, csrfToken) : ''}
<table class="list"><tr><th>accepted</th><th>upload</th><th>user</th><th>status</th><th>type</th><th>size</th><th>error</th></tr>
${view.uploads.map(
  (u) => html`<tr><td>${u.createdAt.toISOString()}</td><td><a href="/admin/uploads/${u.id}">${u.id}</a></td><td><a href="/admin/uploads?q=${u.userId}">${u.userId}</a></td><td class="status-${u.status}">${u.status}</td><td>${u.detectedType}</td><td>${u.sizeBytes}</td><td>${u.errorCode ?? ''}</td></tr>`,
)}</table>
${view.uploads.length === 0 ? html`<p>No uploads.</p>` : ''}
${view.next ? html`<p><a rel="next" href="${listLink(view, view.next)}">Next page</a></p>` : ''}`;
  return layout('Uploads', body, csrfToken);
}

function userPanel(user: UserAvatar, csrfToken: string): SafeHtml {
  return html`<section class="user"><h2>User ${user.userId}</h2>${
    user.avatar
      ? html`<p>Avatar from upload <a href="/admin/uploads/${user.avatarUploadId ?? ''}">${user.avatarUploadId ?? '?'}</a></p>
<p>${user.variants.map((v) => html`<img src="${safeUrl(v.url)}" alt="${v.size} px" width="${Math.min(v.size, 128)}" height="${Math.min(v.size, 128)}"> `)}</p>
<form method="post" action="/admin/users/${user.userId}/avatar/remove"><input type="hidden" name="_csrf" value="${csrfToken}"><button type="submit" class="danger">Remove avatar</button></form>`
      : html`<p>No avatar.</p>`
  }</section>`;
}

export interface DetailView {
  upload: Upload;
  events: UploadEvent[];
  queueName: string;
  isCurrentAvatar: boolean;
  message?: string;
}

export function uploadDetailPage(view: DetailView, csrfToken: string): SafeHtml {
  const u = view.upload;
  const body = html`${view.message ? html`<p class="notice" role="status">${view.message}</p>` : ''}
<dl class="facts">
<dt>status</dt><dd class="status-${u.status}" id="status">${u.status}</dd>
<dt>user</dt><dd><a href="/admin/uploads?q=${u.userId}">${u.userId}</a>${view.isCurrentAvatar ? ' (the current avatar)' : ''}</dd>
<dt>declared type</dt><dd>${u.declaredType ?? '(none)'}</dd>
<dt>detected type</dt><dd>${u.detectedType}</dd>
<dt>size</dt><dd>${u.sizeBytes} bytes</dd>
<dt>dimensions</dt><dd>${u.width} × ${u.height}</dd>
<dt>attempts</dt><dd>${u.attempts}</dd>
<dt>accepted</dt><dd>${u.createdAt.toISOString()}</dd>
<dt>updated</dt><dd>${u.updatedAt.toISOString()}</dd>
<dt>error</dt><dd id="error">${u.errorCode ? html`<code>${u.errorCode}</code> ${u.errorMessage ?? ''}` : 'none'}</dd>
<dt>job</dt><dd><a href="${bullBoardJobUrl(view.queueName, u.id)}">${view.queueName} / ${u.id}</a></dd>
</dl>
${u.status === 'failed' ? html`<form method="post" action="/admin/uploads/${u.id}/retry"><input type="hidden" name="_csrf" value="${csrfToken}"><button type="submit" id="retry">Retry</button></form>` : ''}
<section><h2>Variants</h2>${
    u.variants && u.variants.length > 0
      ? html`<div class="variants">${u.variants.map((v) => html`<figure><img src="${safeUrl(v.url)}" alt="${v.size} px variant" width="${Math.min(v.size, 256)}" height="${Math.min(v.size, 256)}"><figcaption><a href="${safeUrl(v.url)}">${v.size} px</a></figcaption></figure>`)}</div>`
      : html`<p>None stored.</p>`
  }</section>
<section><h2>Events</h2><table class="events"><tr><th>#</th><th>time</th><th>type</th><th>data</th></tr>${view.events.map(
    (e) => html`<tr><td>${e.seq}</td><td>${e.createdAt.toISOString()}</td><td class="event-${e.type}">${e.type}</td><td><code>${JSON.stringify(e.data)}</code></td></tr>`,
  )}</table></section>`;
  return layout(`Upload ${u.id}`, body, csrfToken);
}

import type { Response } from "express";
import { pageCsp } from "../pages/page-headers";

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small standalone page (no script, no framing) — the login form and the signed-in home. */
export function sendPage(res: Response, baseUrl: string, status: number, title: string, bodyHtml: string): void {
  res
    .status(status)
    .set({ "Content-Security-Policy": pageCsp(null), "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer" })
    .type("html")
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><link rel="stylesheet" href="${esc(baseUrl.replace(/\/+$/, ""))}/static/pipelines.css"></head><body><main class="page">${bodyHtml}</main></body></html>`);
}

/** The login form of a Server connection; `message` says why the last try was refused. */
export function loginForm(baseUrl: string, connection: string, username: string, message: string | null): string {
  const action = `${baseUrl.replace(/\/+$/, "")}/server/login`;
  return [
    `<h1>Sign in with Bitbucket Server</h1>`,
    message ? `<p class="message error" data-testid="message">${esc(message)}</p>` : "",
    `<form method="post" action="${esc(action)}" data-testid="server-login">`,
    `<input type="hidden" name="connection" value="${esc(connection)}">`,
    `<label>Username <input name="username" autocomplete="username" required value="${esc(username)}"></label>`,
    `<label>Password or personal access token <input type="password" name="secret" autocomplete="current-password" required></label>`,
    `<label><input type="checkbox" name="token" value="1"> It is a personal access token</label>`,
    `<button type="submit">Sign in</button>`,
    `</form>`,
    `<p>Your password is checked with the Bitbucket Server and never stored: Pipelines keeps the list of repositories you can read, until the session ends.</p>`,
  ].join("\n");
}

/** A "Sign out" button for a signed-in page (POST, so no link or prefetch signs anyone out). */
export function signOutForm(baseUrl: string): string {
  return `<form method="post" action="${esc(baseUrl.replace(/\/+$/, ""))}/session/logout" data-testid="sign-out"><button type="submit">Sign out</button></form>`;
}

export { esc };

/** A tiny browser for the OAuth dance: a cookie jar per instance, redirects followed by hand. */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie line received, for attribute checks. */
  readonly setCookies: string[] = [];

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("Cookie", this.cookieHeader());
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** GET, following redirects (at most 5), returning every response on the way. */
  async follow(url: string): Promise<Response[]> {
    const seen: Response[] = [];
    let next: string | null = url;
    for (let i = 0; next && i < 5; i++) {
      const res = await this.fetch(next);
      seen.push(res);
      const loc = res.headers.get("location");
      next = res.status >= 300 && res.status < 400 && loc ? new URL(loc, next).toString() : null;
    }
    return seen;
  }
}

import type http from "node:http";
import type net from "node:net";
import { sendJson } from "./http-util";
import type { FailureMode, FailureRule, ServerName } from "./types";

/** Failure injection: the next matching requests fail with a 5xx/429, or hang until stop(). */

interface ActiveRule {
  method?: string;
  pathMatch?: RegExp;
  server?: ServerName;
  remaining: number;
  mode: FailureMode;
}

export interface FailureHandle {
  /** How many matching requests this rule will still fail. */
  readonly remaining: number;
}

export class FailureInjector {
  private readonly rules: ActiveRule[] = [];
  private readonly hung = new Set<net.Socket>();

  add(rule: FailureRule): FailureHandle {
    const active: ActiveRule = {
      method: rule.method?.toUpperCase(),
      pathMatch: rule.pathMatch,
      server: rule.server,
      remaining: rule.times ?? 1,
      mode: rule.mode,
    };
    this.rules.push(active);
    return {
      get remaining() {
        return active.remaining;
      },
    };
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** The failure this request must suffer, if any (consumes one of the rule's `times`). */
  take(server: ServerName, method: string, path: string): FailureMode | null {
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.server && rule.server !== server) continue;
      if (rule.method && rule.method !== method.toUpperCase()) continue;
      if (rule.pathMatch) {
        rule.pathMatch.lastIndex = 0;
        if (!rule.pathMatch.test(path)) continue;
      }
      rule.remaining--;
      return rule.mode;
    }
    return null;
  }

  /** Answers (or deliberately does not answer) a request with the failure; returns the status written (0 for a hang). */
  apply(mode: FailureMode, req: http.IncomingMessage, res: http.ServerResponse): number {
    if (mode === "hang") {
      const socket = req.socket;
      this.hung.add(socket);
      socket.once("close", () => this.hung.delete(socket));
      req.resume();
      return 0;
    }
    req.resume();
    if (mode.status === 429) {
      sendJson(res, 429, { type: "error", error: { message: "Rate limit for this resource has been exceeded" } }, { "Retry-After": String(mode.retryAfterSeconds) });
      return 429;
    }
    sendJson(res, 500, { type: "error", error: { message: "Something went wrong" } });
    return 500;
  }

  /** Closes every hanging socket (stop()). */
  releaseHung(): void {
    for (const s of this.hung) s.destroy();
    this.hung.clear();
  }
}

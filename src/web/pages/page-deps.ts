import type { EngineContext } from "../../builds/engine-context";
import type { Logger } from "../../log/logger";

/** What the pages need: the app's public base URL (for links and assets), the engine's context and a log. */
export interface PageDeps {
  baseUrl: string;
  ctx: EngineContext;
  log: Logger;
}

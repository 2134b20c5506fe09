import type { Application, Environment, Models } from "../../db/models";
import { findEnvironment } from "../../deployments/environments";
import { notFound } from "../../http/http-error";

/** The application's environment named by `:name` (case-insensitively), or a 404 naming it. */
export async function environmentParam(models: Models, app: Application, name: string): Promise<Environment> {
  const env = name.length <= 255 ? await findEnvironment(models, app.id, name) : null;
  if (!env) throw notFound(`${app.repository} has no environment named ${name}`);
  return env;
}

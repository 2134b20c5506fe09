export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A step's complete environment: exactly `env` (never anything of the runner's own `process.env`), plus PATH,
 * HOME and LANG when `env` does not set them.
 */
export function buildStepEnv(env: Readonly<Record<string, string>>, home: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!NAME.test(name)) throw new TypeError(`step environment: "${name}" is not a valid variable name`);
    if (typeof value !== "string" || value.includes("\0")) {
      throw new TypeError(`step environment: the value of ${name} must be a string without NUL characters`);
    }
    out[name] = value;
  }
  out.PATH ??= DEFAULT_PATH;
  out.HOME ??= home;
  out.LANG ??= "C.UTF-8";
  return out;
}

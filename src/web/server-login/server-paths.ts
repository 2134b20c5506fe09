/** The addresses of a Bitbucket Server connection's standalone pages (relative to the service's base URL). */
export function serverHomePath(tenantId: number): string {
  return `/server/${tenantId}`;
}

/** The builds page of a Server repository (`PROJECT/slug`); the Server forge links statuses to it (buildPageUrl). */
export function serverBuildsPath(tenantId: number, repository: string): string {
  const [key, slug] = repository.split("/");
  return `/server/${tenantId}/${encodeURIComponent(key)}/${encodeURIComponent(slug)}/builds`;
}

export function serverLoginPath(tenantId: number | string): string {
  return `/server/login?connection=${encodeURIComponent(String(tenantId))}`;
}

/**
 * A person starting a deployment by hand (Run on a deployment step, Promote, Redeploy): a name for the history, and a
 * way to ask Bitbucket — through that person's credentials — whether they administer the repository.
 */
export interface Actor {
  /** The account id, uuid or Server username the door knows the person by; null when it names nobody. */
  name: string | null;
  /** Bitbucket's answer for this person and repository; throws when Bitbucket cannot or will not say. */
  isAdmin(): Promise<boolean>;
}

/** Why a person may not deploy to an admins-only environment (Bitbucket said no, or could not say). */
export async function adminRefusal(actor: Actor, environment: string, repository: string): Promise<string | null> {
  let admin: boolean;
  try {
    admin = await actor.isAdmin();
  } catch (err) {
    return `${environment} takes deployments from repository admins only, and Pipelines could not check that you are one: ${(err as Error).message}`;
  }
  return admin ? null : `${environment} takes deployments from repository admins only, and Bitbucket says ${actor.name ? "you are" : "this request is"} not an admin of ${repository}`;
}

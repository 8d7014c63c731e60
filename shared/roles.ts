/** Roles in ascending order of privilege (spec 000). */
export const ROLES = ['guest', 'user', 'verified_user', 'host', 'admin'] as const;

export type Role = (typeof ROLES)[number];

/** True when `role` is at least `minimum` in the progression guest < user < verified_user < host < admin. */
export function hasRole(role: Role, minimum: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(minimum);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

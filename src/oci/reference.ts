// Repository names and tags, as the distribution-spec grammar defines them.
import { RegistryError } from './errors.js';

const nameComponent = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const nameGrammar = new RegExp(`^${nameComponent}(?:/${nameComponent})*$`);
const tagGrammar = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Distribution's limit; the spec lets registries impose one. */
export const maxNameLength = 255;

export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= maxNameLength && nameGrammar.test(name);
}

export function isValidTag(tag: string): boolean {
  return tagGrammar.test(tag);
}

/** Throws NAME_INVALID for anything outside the grammar: path traversal, encoded slashes, NUL and upper case never pass. */
export function checkName(name: string): string {
  if (!isValidName(name)) {
    const shown = JSON.stringify(name.length > 300 ? name.slice(0, 300) + '…' : name);
    const why = name.length > maxNameLength ? `longer than ${maxNameLength} characters` : 'must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*)*';
    throw new RegistryError('NAME_INVALID', `invalid repository name ${shown}: ${why}`);
  }
  return name;
}

export function checkTag(tag: string): string {
  if (!isValidTag(tag)) {
    throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(tag.slice(0, 200))}: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
  return tag;
}

// Component IDs as the Collector parses them: `type` or `type/name`, with the
// Collector's own rules and error wording so its users recognise the messages.

export interface ComponentId {
  type: string;
  /** Empty when the ID has no `/name` part. */
  name: string;
  /** The normalised ID ("type" or "type/name", surrounding spaces trimmed). */
  id: string;
}

const TYPE_RE = /^[a-zA-Z][0-9a-zA-Z_]{0,62}$/;
// The Collector allows any name without whitespace, control characters or symbols.
const NAME_RE = /^[^\p{Z}\p{C}\p{S}]+$/u;
const MAX_NAME = 1024;

/** Parses an ID; returns the parsed ID or the reason it is invalid. */
export function parseComponentId(text: string): ComponentId | { error: string } {
  const slash = text.indexOf('/');
  const type = (slash < 0 ? text : text.slice(0, slash)).trim();
  if (type === '') return { error: 'id must not be empty' };
  if (!TYPE_RE.test(type)) return { error: `invalid character(s) in type "${type}"` };
  if (slash < 0) return { type, name: '', id: type };
  const name = text.slice(slash + 1).trim();
  if (name === '') return { error: 'name part must be specified after / in type/name' };
  if (name.length > MAX_NAME) return { error: `name "${name.slice(0, 40)}…" is longer than ${MAX_NAME} characters` };
  if (!NAME_RE.test(name)) return { error: `invalid character(s) in name "${name}"` };
  return { type, name, id: `${type}/${name}` };
}

export function isIdError(r: ComponentId | { error: string }): r is { error: string } {
  return 'error' in r;
}

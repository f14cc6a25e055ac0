import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { MAX_TAGS, NOTE_MAX_CHARS, tagProblem, type NotesEdit } from '../services/notes.js';

/** One issue as a ValidationError: `path: message`, the path naming the field. */
const invalid = (path: string, message: string) => new ValidationError(`${path}: ${message}`, [{ path, message }]);

const notesSchema = z
  .object({
    note: z.string({ error: 'expected text' }).optional(),
    tags: z
      .union([z.string(), z.array(z.string({ error: 'expected a tag (text)' }))], {
        error: 'expected a list of tags or comma-separated text',
      })
      .optional(),
  })
  .strict();

/**
 * A notes edit from the API (`{note?, tags?: [...]}`) or the page's form (`note`, `tags` as
 * comma- or space-separated text). The note's line ends become \n and it is trimmed; tags are
 * trimmed and kept once each, in order. Empty `note` and empty `tags` clear them.
 * @throws {ValidationError} naming the field: a wrong type, neither field, a note over
 * NOTE_MAX_CHARS, more than MAX_TAGS tags, a tag that breaks the tag rule (`tags.i`).
 */
export function parseNotesBody(body: unknown): NotesEdit {
  const parsed = notesSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(issue.path.map(String).join('.') || '(body)', issue.message);
  }
  const { note, tags } = parsed.data;
  if (note === undefined && tags === undefined) throw invalid('(body)', 'expected note or tags');
  const edit: { note?: string; tags?: string[] } = {};
  if (note !== undefined) {
    const text = note.replace(/\r\n?/g, '\n').trim();
    if (text.length > NOTE_MAX_CHARS) throw invalid('note', `at most ${NOTE_MAX_CHARS} characters, got ${text.length}`);
    edit.note = text;
  }
  if (tags !== undefined) {
    const given = (typeof tags === 'string' ? tags.split(/[\s,]+/) : tags).map((tag) => tag.trim());
    const kept = [...new Set(given.filter((tag) => tag !== ''))];
    if (kept.length > MAX_TAGS) throw invalid('tags', `at most ${MAX_TAGS} tags, got ${kept.length}`);
    for (const tag of kept) {
      const problem = tagProblem(tag);
      if (problem) throw invalid(typeof tags === 'string' ? 'tags' : `tags.${given.indexOf(tag)}`, problem);
    }
    edit.tags = kept;
  }
  return edit;
}

/** `?tag=` of a leaderboard: absent or empty → null (no filter). @throws {ValidationError} when it is not a tag. */
export function parseTagQuery(value: unknown): string | null {
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string') throw invalid('tag', 'expected one tag');
  const problem = tagProblem(value.trim());
  if (problem) throw invalid('tag', problem);
  return value.trim();
}

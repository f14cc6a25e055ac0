/**
 * Notes and tags on experiments and runs, as the dashboard edits them and the leaderboard filters
 * by them. The limits and the tag rule live here, for the HTTP parser, the pages and `show` alike.
 */
import { NotFoundError } from '../errors.js';
import type { Notes } from '../storage/note-store.js';
import type { Storage } from '../storage/storage.js';

export type { Notes } from '../storage/note-store.js';

/** A note is a paragraph or a few, not a document. */
export const NOTE_MAX_CHARS = 4000;
export const MAX_TAGS = 12;
export const TAG_MAX_CHARS = 32;
/** A tag: a letter or digit, then letters, digits and - _ . : / (no spaces or commas, which separate tags in the form; safe in a URL). */
export const TAG_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}\-_.:/]*$/u;
export const TAG_RULE = `letters, digits and - _ . : / (starting with a letter or digit, at most ${TAG_MAX_CHARS})`;

/** Why `tag` is not a tag, or null when it is one. */
export function tagProblem(tag: string): string | null {
  if (tag.length > TAG_MAX_CHARS) return `"${tag.slice(0, 40)}…" is longer than ${TAG_MAX_CHARS} characters`;
  return TAG_PATTERN.test(tag) ? null : `"${tag.slice(0, 40)}" is not a tag: use ${TAG_RULE}`;
}

/** A change to some notes: the fields given replace the stored ones, the others stay. */
export type NotesEdit = { readonly note?: string; readonly tags?: readonly string[] };

const merge = (stored: Notes, edit: NotesEdit) => ({ note: edit.note ?? stored.note, tags: edit.tags ?? stored.tags });

export class NoteService {
  readonly #storage: Pick<Storage, 'experiments' | 'runs' | 'notes'>;

  constructor(storage: Pick<Storage, 'experiments' | 'runs' | 'notes'>) {
    this.#storage = storage;
  }

  /** @throws {NotFoundError} */
  #checkRun(experimentId: number, runId: number): void {
    this.#storage.experiments.get(experimentId);
    if (this.#storage.runs.get(runId).experimentId !== experimentId)
      throw new NotFoundError(`no run ${runId} in experiment ${experimentId}`);
  }

  /** @throws {NotFoundError} */
  ofExperiment(experimentId: number): Notes {
    this.#storage.experiments.get(experimentId);
    return this.#storage.notes.ofExperiment(experimentId);
  }

  /** @throws {NotFoundError} also when the run is not in this experiment. */
  ofRun(experimentId: number, runId: number): Notes {
    this.#checkRun(experimentId, runId);
    return this.#storage.notes.ofRun(runId);
  }

  /** Run id → notes, for the runs of an experiment that have any. */
  ofRuns(experimentId: number): Map<number, Notes> {
    return this.#storage.notes.ofRuns(experimentId);
  }

  /** @throws {NotFoundError} */
  editExperiment(experimentId: number, edit: NotesEdit): Notes {
    const stored = this.ofExperiment(experimentId);
    return this.#storage.notes.setExperiment(experimentId, merge(stored, edit));
  }

  /** @throws {NotFoundError} */
  editRun(experimentId: number, runId: number, edit: NotesEdit): Notes {
    const stored = this.ofRun(experimentId, runId);
    return this.#storage.notes.setRun(runId, merge(stored, edit));
  }

  /** The tags on an experiment's runs with how many runs carry each, most used first. */
  runTags(experimentId: number): { readonly tag: string; readonly runs: number }[] {
    const counts = new Map<string, number>();
    for (const notes of this.ofRuns(experimentId).values()) for (const tag of notes.tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
    return [...counts].map(([tag, runs]) => ({ tag, runs })).sort((a, b) => b.runs - a.runs || a.tag.localeCompare(b.tag));
  }

  /** The runs of an experiment that carry `tag` (the leaderboard's tag filter). */
  runsTagged(experimentId: number, tag: string): Set<number> {
    const tagged = new Set<number>();
    for (const [runId, notes] of this.ofRuns(experimentId)) if (notes.tags.includes(tag)) tagged.add(runId);
    return tagged;
  }
}

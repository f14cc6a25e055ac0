/**
 * The notes and tags written in the dashboard, as `foldwise show` prints them: a line for the
 * experiment's under its header, and one per annotated run under the leaderboard.
 */
import type { Notes } from '../storage/note-store.js';
import type { Run } from '../storage/run-store.js';
import type { Storage } from '../storage/storage.js';

/** A note on one line: its line breaks as " / ", at most `max` characters. */
function oneLine(note: string, max = 200): string {
  const flat = note.replace(/\s*\n\s*/g, ' / ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function describe(notes: Notes): string {
  const tags = notes.tags.length > 0 ? `[${notes.tags.join(', ')}]` : '';
  return [tags, oneLine(notes.note)].filter((part) => part !== '').join(' ');
}

/** `Notes: [tag, …] text` for the experiment, or nothing. */
export function experimentNoteLines(storage: Pick<Storage, 'notes'>, experimentId: number): string[] {
  const notes = storage.notes.ofExperiment(experimentId);
  return notes.updatedAt === null ? [] : [`Notes: ${describe(notes)}`];
}

/** `Notes on runs:` and `  #N [tag, …] text` per run with notes, by run number. */
export function runNoteLines(storage: Pick<Storage, 'notes'>, experimentId: number, runs: readonly Run[]): string[] {
  const notes = storage.notes.ofRuns(experimentId);
  const annotated = runs.filter((run) => notes.has(run.runId)).sort((a, b) => a.number - b.number);
  if (annotated.length === 0) return [];
  return ['Notes on runs:', ...annotated.map((run) => `  #${run.number} ${describe(notes.get(run.runId)!)}`)];
}

import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { MOVIELENS_FILES } from '../../worker/contract/queue.js';
import { ValidationError } from '../errors.js';
import { isInside } from './spec-files.js';

/** The data directory's subfolder that CSVs uploaded from the dashboard are stored in. */
const UPLOADS_FOLDER = 'uploads';

/** The real path of `path`, or the path itself when it does not exist (yet): the worker reports missing files. */
function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The dashboard's rule for dataset paths in a spec: a relative path is resolved against the
 * experiments folder, and the result (after symlinks) must lie inside the experiments folder or
 * the data directory (which holds the uploads), and so must the files a MovieLens folder's loader
 * reads. The web never makes foldwise read elsewhere; the refusal says which folders those are and
 * what a relative path was resolved to, so the person can fix the spec without guessing. The CLI has
 * no such rule (it reads what its user names).
 */
export class DataPaths {
  readonly experimentsDir: string;
  readonly dataDir: string;
  /** Inside the data directory, so a spec started from the dashboard may read what was uploaded. */
  readonly uploadsDir: string;

  constructor(dirs: { readonly experimentsDir: string; readonly dataDir: string }) {
    this.experimentsDir = resolve(dirs.experimentsDir);
    this.dataDir = resolve(dirs.dataDir);
    this.uploadsDir = join(this.dataDir, UPLOADS_FOLDER);
  }

  /** The folders a dataset may lie in, for `prepare`'s own check. */
  get roots(): readonly string[] {
    return [this.experimentsDir, this.dataDir];
  }

  /**
   * The absolute path `specPath` names, when the dashboard may read it.
   * @throws {ValidationError} at `dataset.path`, naming the folders it may read and how a relative path resolves.
   */
  check(specPath: string): string {
    const path = isAbsolute(specPath) ? resolve(specPath) : resolve(this.experimentsDir, specPath);
    const real = realOrSelf(path);
    const realRoots = this.roots.map(realOrSelf);
    const insideSome = (p: string, roots: readonly string[]) => roots.some((root) => p !== root && isInside(root, p));
    const notes = [isAbsolute(specPath) ? null : `relative to the experiments folder, so ${path}`];
    if (!insideSome(path, this.roots) || !insideSome(real, realRoots)) {
      notes.push(real !== path ? `a link to ${real}` : null);
      throw this.#outside(specPath, notes);
    }
    // A folder (MovieLens): the files its loader reads must not lead out either.
    for (const name of isDirectory(real) ? MOVIELENS_FILES : []) {
      const file = realOrSelf(join(real, name));
      if (!insideSome(file, realRoots)) throw this.#outside(specPath, [...notes, `whose ${name} is a link to ${file}`]);
    }
    return path;
  }

  #outside(specPath: string, notes: readonly (string | null)[]): ValidationError {
    const shown = notes.filter((note) => note !== null);
    const what = `"${specPath}"${shown.length > 0 ? ` (${shown.join(', ')})` : ''}`;
    const folders = `the experiments folder ${this.experimentsDir} and the data directory ${this.dataDir}`;
    return new ValidationError(
      `dataset.path: ${what} is outside the folders the dashboard may read: ${folders} (uploads are kept in ${this.uploadsDir}); ` +
        'upload the file on the New experiment page, or copy it into the experiments folder',
      [
        {
          path: 'dataset.path',
          message: `${what} is outside the folders the dashboard may read: ${folders}; upload the file, or copy it into one`,
        },
      ],
    );
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

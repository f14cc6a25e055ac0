import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { ValidationError } from '../errors.js';
import { MAX_UPLOAD_BYTES, MAX_UPLOAD_MB, type Uploads } from '../services/uploads.js';
import { HttpError } from './http-error.js';

/** The media types an upload may declare: a CSV file (the page sends `text/csv` whatever the browser calls the file). */
const CSV_TYPES = ['text/csv', 'application/csv'];

/** Refuses a body that does not say it is CSV before reading it. */
function requireCsv(req: Request, _res: Response, next: NextFunction): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!CSV_TYPES.includes(type)) {
    const got = type === '' ? 'none' : `"${type.slice(0, 100)}"`;
    return next(
      new ValidationError(`Content-Type: expected text/csv with the file's bytes as the body, got ${got}`, [
        { path: 'Content-Type', message: 'expected text/csv' },
      ]),
    );
  }
  next();
}

const readBody = express.raw({ type: () => true, limit: MAX_UPLOAD_BYTES });

/** Reads the body up to the limit; a bigger one is a 413 that names the limit (body-parser's own says bytes). */
function readLimitedBody(req: Request, res: Response, next: NextFunction): void {
  readBody(req, res, (error?: unknown) => {
    if ((error as { type?: string } | undefined)?.type === 'entity.too.large') {
      return next(
        new HttpError(
          413,
          'payload_too_large',
          `the file is larger than the upload limit of ${MAX_UPLOAD_MB} MB; copy it into the experiments folder and name it in the spec`,
        ),
      );
    }
    next(error);
  });
}

/**
 * `/api/uploads`: CSV files sent from the New experiment page (the file's bytes as the body,
 * its name in `?name=`), stored in the data directory under their hash, and listed for reuse.
 */
export function createUploadRouter(uploads: Uploads): Router {
  const router = Router();

  /** @route POST /api/uploads?name=customers.csv  body: the CSV (Content-Type text/csv); 201 stored, 200 already stored */
  router.post('/', requireCsv, readLimitedBody, (req, res) => {
    const name = typeof req.query.name === 'string' ? req.query.name : 'upload.csv';
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { upload, reused } = uploads.save(body, name);
    res.status(reused ? 200 : 201).json({ upload, reused });
  });

  /** @route GET /api/uploads  stored uploads, newest first, with the limit and the folder they are kept in */
  router.get('/', (_req, res) => {
    res.json({ uploads: uploads.list(), limitBytes: MAX_UPLOAD_BYTES, folder: uploads.dir });
  });

  return router;
}

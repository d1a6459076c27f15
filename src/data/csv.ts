/**
 * A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF) and writer. Kept here
 * instead of csv-parse because csv-parse/sync relies on Node's Buffer, and the dataset
 * loaders must also run in a browser bundle.
 */

export class CsvError extends Error {
  override name = 'CsvError';
}

/** Parses CSV text into rows of fields. Blank lines are skipped. */
export function parseCsv(text: string, what = 'csv'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let line = 1;
  const endField = (): void => {
    row.push(field);
    field = '';
    fieldStarted = false;
  };
  const endRow = (): void => {
    endField();
    if (!(row.length === 1 && row[0] === '')) rows.push(row);
    row = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (fieldStarted && field !== '') throw new CsvError(`${what}: line ${line}: quote inside an unquoted field`);
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      endField();
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) throw new CsvError(`${what}: line ${line}: unterminated quoted field`);
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

/** Rows of a CSV with a header line, as objects keyed by (trimmed) header names. */
export function parseCsvRecords(text: string, what = 'csv'): { header: string[]; records: Array<Record<string, string>> } {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''), what);
  if (rows.length === 0) throw new CsvError(`${what}: empty file (a header line is required)`);
  const header = rows[0]!.map((h) => h.trim());
  const records = rows.slice(1).map((row, index) => {
    if (row.length !== header.length) {
      throw new CsvError(`${what}: row ${index + 2} has ${row.length} fields, the header has ${header.length}`);
    }
    const record: Record<string, string> = Object.create(null) as Record<string, string>;
    header.forEach((name, i) => {
      record[name] = row[i]!.trim();
    });
    return record;
  });
  return { header, records };
}

function quote(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

export function formatCsv(rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>): string {
  return rows.map((row) => row.map((f) => quote(f === undefined ? '' : String(f))).join(',')).join('\n') + '\n';
}

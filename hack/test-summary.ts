// Prints vitest's JSON report as the one closing line CI reads: `N passed, N failed`.
// A run that executed no test is a failure, so it can never pass unnoticed.
import { readFileSync } from 'node:fs';

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; status: string; message?: string; assertionResults: { status: string }[] }[];
}

const path = process.argv[2] ?? 'test-results.json';
let report: Report;
try {
  report = JSON.parse(readFileSync(path, 'utf8')) as Report;
} catch (err) {
  console.log(`test summary: cannot read vitest's report ${path}: ${(err as Error).message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const skipped = report.numPendingTests + report.numTodoTests;
// A file that failed to load (syntax error, failing hook) has no failing test of its own.
const brokenFiles = report.testResults.filter((file) => file.status === 'failed' && !file.assertionResults.some((t) => t.status === 'failed'));
for (const file of brokenFiles) console.log(`test summary: ${file.name} failed outside any test: ${file.message ?? ''}`);
const failed = report.numFailedTests + brokenFiles.length;
console.log(`${report.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || report.numPassedTests === 0 ? 1 : 0);

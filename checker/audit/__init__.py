"""audit: the pre-audit self-check, a batch of incidents in, inspection-style figures out.

May import checker.check and everything below it (engine, rules, narrative, read, core); never
checker.serve or checker.cli. Modules: measures (what is counted), rows (one item's outcome),
tally (counts merged by addition), figures (rates and intervals), stream (reading, sampling,
worker processes, the run), report_rows (a chunk as report rows), report, report_html and
report_xlsx (the report directory), uktime (a report's times in UK time, as text and as a
workbook serial, worked out once per instant), partitions (audits beyond one machine), compare
(two audits), stats (intervals and tests), pseudonym (keyed ids).

The batch is streamed in three stages, so memory does not grow with it:

1. reading (one process): items come from `read_items` or the CSV mapping. With worker processes,
   JSON is only cut into items here (`read_items(parse=False)`) and each worker parses what it
   checks; the ids come back with the rows. A duplicate incident id is marked in input order (by
   `queue` for parsed items, by `checked_chunks` for the workers' ones, which checks a chunk again
   with its repeats marked), because "the second is rejected" depends on reading order. The only
   state per incident is 8 bytes (a hash of its id, see `SeenIds`);
2. checking (`check_chunk`): a pure function from a chunk of items to one `ItemResult` per item:
   its findings and decisions as report rows, or its problems, plus the few per-disclosure facts
   the figures need. Nothing in it depends on other chunks, so it runs in worker processes
   (`stream.checked_chunks`, a Checker built once per worker), each of which also renders its
   chunk (`report_rows.Renderer`): the CSV text and workbook rows of every file, and the chunk's
   `Tally`. Only text and counts come back to the parent;
3. merging (`Tally.merge`): adds up counts, never rates, so tallies of chunks merge in any
   grouping to the same totals; the bounded lists it keeps (the incidents to fix first, examples)
   are ordered by a total key, so they do not depend on the order either. The parent appends each
   chunk's rows in input order (`report.ReportWriter`), so the report is the same byte for byte
   whatever the number of workers.

Every item read ends up either checked or rejected; `Tally.balance` refuses a report where
checked + rejected differs from the number audited.
"""

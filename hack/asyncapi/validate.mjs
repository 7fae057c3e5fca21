// Validates an AsyncAPI document with @asyncapi/parser, as a platform
// vendor's tooling would read it. Fails on any diagnostic of severity error;
// warnings are printed. Run by hack/test.sh:
//
//	node hack/asyncapi/validate.mjs cloudlink/contract/asyncapi.json
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs ASYNCAPI.json");
  process.exit(2);
}
const text = await readFile(path, "utf8");
// The document has only local $refs; the parser would fetch a remote one,
// which the drift tests in cloudlink/contract refuse anyway.
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text, { source: path });
const names = ["error", "warning", "information", "hint"];
let errors = 0;
for (const d of diagnostics) {
  const where = d.path && d.path.length ? d.path.join(".") : "(document)";
  console.log(`${names[d.severity] ?? d.severity}: ${d.code}: ${where}: ${d.message}`);
  if (d.severity === DiagnosticSeverity.Error) errors++;
}
if (!document || errors > 0) {
  console.error(`${path}: ${errors} error(s); the AsyncAPI parser does not accept it`);
  process.exit(1);
}
console.log(`${path}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ${document.components().messages().length} messages, ${diagnostics.length} diagnostics below error`);

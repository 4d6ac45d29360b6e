// Text that reaches the runner's log without being ours: guest output (serial lines, command
// output in errors and check summaries), API error messages. The runner reads workflow commands
// from its log: `::command …::` at the start of a line (v2) and `##[command …]` (v1, the older
// form the runner still parses). A guest that prints `::add-mask::`, `::error::` or
// `::stop-commands::` would otherwise act on the job. Each is broken with a zero-width space: a
// reader sees the same text, the runner no command. (@actions/core escapes only a command's own
// data, never text given to core.info.)
const ZWSP = '\u200b';

export function neutraliseWorkflowCommands(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/^(\s*):(?=:)/, `$1:${ZWSP}`).replaceAll('##[', `##${ZWSP}[`))
    .join('\n');
}

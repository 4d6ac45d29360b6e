// The run's files as a workflow artifact: report.json, report.md, the serial logs and the
// asciinema recordings (.cast) of the serial console. Thin adapter over @actions/artifact.
// Outside GitHub Actions (no ACTIONS_RUNTIME_TOKEN) it says so and leaves the files where they are.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';

export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Artifact names may not hold some characters (@actions/artifact's validation): keep them plain. */
export function artifactName(host: string, layout: string): string {
  return `nixos-rehearse-${host}-${layout}`.replace(/[^\w.-]+/g, '-');
}

export async function uploadRunFiles(name: string, dir: string, env: NodeJS.ProcessEnv): Promise<{ uploaded: boolean; message: string }> {
  const files = filesUnder(dir);
  if (!env.ACTIONS_RUNTIME_TOKEN || !env.ACTIONS_RESULTS_URL) {
    return { uploaded: false, message: `not running inside GitHub Actions (no ACTIONS_RUNTIME_TOKEN): the ${files.length} files stay in ${dir}` };
  }
  try {
    const r = await new DefaultArtifactClient().uploadArtifact(name, files, dir, { retentionDays: 14 });
    return { uploaded: true, message: `uploaded ${files.length} files as artifact ${name} (${r.size ?? 0} bytes, id ${r.id})` };
  } catch (e) {
    return { uploaded: false, message: `artifact upload failed: ${(e as Error).message}; the files stay in ${dir}` };
  }
}

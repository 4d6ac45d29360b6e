// The sticky PR comment, driven through the real @actions/github client against a local HTTP
// server that answers like GitHub's REST API (test/helpers/github-server.ts).
import { getOctokit } from '@actions/github';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commentAuthor, commentMarker, fitComment, isForkPullRequest, parseMarker, upsertStickyComment, type StickyCommentOptions } from '../../src/github/comment.js';
import { pullRequestTarget } from '../../src/github/context.js';
import { type GitHubServer, startGitHubServer } from '../helpers/github-server.js';

const RW = 'ghs_readWriteToken0123456789abcdefABCDEF';
const RO = 'ghs_readOnlyToken0123456789abcdefABCDEF';
const PAT = 'ghp_personalToken0123456789abcdefABCDEF';
const BOT = 'github-actions[bot]';

let server: GitHubServer;
let logs: string[];
beforeEach(async () => {
  server = await startGitHubServer({ tokens: { [RW]: { login: BOT }, [RO]: { login: BOT, readOnly: true }, [PAT]: { login: 'alice', user: true } } });
  logs = [];
});
afterEach(async () => {
  await server.close();
});

const client = (token = RW) => getOctokit(token, { baseUrl: server.url });
const opts = (o: Partial<StickyCommentOptions> = {}): StickyCommentOptions => ({
  owner: 'acme',
  repo: 'nixos-config',
  issueNumber: 42,
  host: 'server',
  runId: 1000,
  sha: '0123456789abcdef0123456789abcdef01234567',
  body: '✅ **nixos-rehearse: PASS** for `server`\n',
  log: (l) => logs.push(l),
  ...o,
});
const onPr = (n = 42) => server.comments.filter((c) => c.owner === 'acme' && c.repo === 'nixos-config' && c.issue === n);

describe('commentAuthor (#15 item 10)', () => {
  it('a personal token keeps one sticky comment: its identity comes from GET /user', async () => {
    expect(await commentAuthor(client(PAT))).toBe('alice');
    expect(await commentAuthor(client(RW))).toBe(BOT); // an installation token: 403 on /user
    expect(await commentAuthor(client(PAT), 'my-app[bot]')).toBe('my-app[bot]');
    for (const runId of [1000, 1001]) await upsertStickyComment(client(PAT), opts({ runId, author: await commentAuthor(client(PAT)) }));
    expect(onPr()).toHaveLength(1);
    expect(onPr()[0]!.user.login).toBe('alice');
    expect(onPr()[0]!.body).toContain('run=1001');
  });

  it('a comment with our marker by someone else is never taken for ours', async () => {
    server.seed({ owner: 'acme', repo: 'nixos-config', issue: 42, login: 'mallory', body: `${commentMarker('server', 5000, 'f'.repeat(40))}\nfake PASS` });
    const r = await upsertStickyComment(client(PAT), opts({ runId: 1000, author: await commentAuthor(client(PAT)) }));
    expect(r.action).toBe('created'); // not "skipped: a newer run (5000)", not an edit of mallory's
    expect(onPr().map((c) => c.user.login).sort()).toEqual(['alice', 'mallory']);
  });
});

describe('upsertStickyComment', () => {
  it('creates the comment on the first run and edits the same one on the next', async () => {
    const first = await upsertStickyComment(client(), opts());
    expect(first).toEqual({ action: 'created', commentId: expect.any(Number), truncated: false });
    expect(onPr()).toHaveLength(1);
    expect(onPr()[0].body).toBe(`${commentMarker('server', 1000, opts().sha)}\n✅ **nixos-rehearse: PASS** for \`server\`\n`);
    expect(onPr()[0].user.login).toBe(BOT);

    const second = await upsertStickyComment(client(), opts({ runId: 1001, sha: 'f'.repeat(40), body: '❌ FAIL now\n' }));
    expect(second).toEqual({ action: 'updated', commentId: first.commentId, truncated: false });
    expect(onPr()).toHaveLength(1);
    expect(onPr()[0].body).toBe(`<!-- nixos-rehearse host=server run=1001 sha=${'f'.repeat(40)} -->\n❌ FAIL now\n`);

    // Over the wire: the token in the Authorization header, JSON bodies to GitHub's endpoints.
    const writes = server.requests.filter((r) => r.method !== 'GET');
    expect(writes.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /repos/acme/nixos-config/issues/42/comments', `PATCH /repos/acme/nixos-config/issues/comments/${first.commentId}`]);
    expect(server.requests.every((r) => r.headers.authorization === `token ${RW}`)).toBe(true);
    expect(logs).toEqual([`created the PR comment ${first.commentId} for server`, `updated the PR comment ${first.commentId} for server`]);
  });

  it('finds its comment past the first page (more than 100 comments)', async () => {
    for (let i = 0; i < 130; i++) server.seed({ owner: 'acme', repo: 'nixos-config', issue: 42, body: `review comment ${i}`, login: i % 2 ? 'alice' : 'renovate[bot]' });
    const ours = server.seed({ owner: 'acme', repo: 'nixos-config', issue: 42, body: `${commentMarker('server', 900, 'aaa')}\nold report`, login: BOT });
    for (let i = 0; i < 120; i++) server.seed({ owner: 'acme', repo: 'nixos-config', issue: 42, body: `later ${i}`, login: 'bob' });

    const r = await upsertStickyComment(client(), opts());
    expect(r).toMatchObject({ action: 'updated', commentId: ours.id });
    expect(onPr()).toHaveLength(251);
    expect(ours.body).toContain('PASS');
    // It followed GitHub's Link header: pages 1, 2 and 3 of 100.
    const gets = server.requests.filter((q) => q.method === 'GET').map((q) => new URL(q.url, server.url).searchParams);
    expect(gets.map((p) => [p.get('per_page'), p.get('page') ?? '1'])).toEqual([
      ['100', '1'],
      ['100', '2'],
      ['100', '3'],
    ]);
  });

  it('keeps one comment per host', async () => {
    const a = await upsertStickyComment(client(), opts({ host: 'server' }));
    const b = await upsertStickyComment(client(), opts({ host: 'laptop', body: 'laptop report' }));
    expect(a.action).toBe('created');
    expect(b.action).toBe('created');
    expect(b.commentId).not.toBe(a.commentId);
    const c = await upsertStickyComment(client(), opts({ host: 'laptop', runId: 1001, body: 'laptop again' }));
    expect(c).toMatchObject({ action: 'updated', commentId: b.commentId });
    expect(onPr().map((x) => x.body.split('\n')[1])).toEqual(['✅ **nixos-rehearse: PASS** for `server`', 'laptop again']);
  });

  it('does not overwrite the report of a newer run', async () => {
    const newer = await upsertStickyComment(client(), opts({ runId: 2000, body: 'from run 2000' }));
    const older = await upsertStickyComment(client(), opts({ runId: 1999, body: 'from run 1999' }));
    expect(older).toEqual({ action: 'skipped', reason: expect.stringMatching(/^a newer run \(2000\) already reported/), truncated: false });
    expect(onPr()).toHaveLength(1);
    expect(onPr()[0].body).toContain('from run 2000');
    expect(onPr()[0].id).toBe(newer.commentId);
    // The same run again (a re-run attempt keeps its run id) does update.
    expect(await upsertStickyComment(client(), opts({ runId: 2000, body: 'attempt 2' }))).toMatchObject({ action: 'updated' });
  });

  it('skips without throwing on a read-only token (a fork)', async () => {
    server.seed({ owner: 'acme', repo: 'nixos-config', issue: 42, body: 'LGTM', login: 'alice' });
    const r = await upsertStickyComment(client(RO), opts());
    expect(r).toEqual({ action: 'skipped', reason: expect.stringContaining('Resource not accessible by integration'), truncated: false });
    expect(onPr().map((c) => c.body)).toEqual(['LGTM']);
    const post = server.requests.find((q) => q.method === 'POST');
    expect(post?.headers.authorization).toBe(`token ${RO}`);

    // Updating an existing one with a read-only token is skipped the same way.
    const ours = server.seed({ owner: 'acme', repo: 'nixos-config', issue: 42, body: `${commentMarker('server', 1, 'x')}\nold`, login: BOT });
    expect(await upsertStickyComment(client(RO), opts())).toMatchObject({ action: 'skipped' });
    expect(ours.body).toBe(`${commentMarker('server', 1, 'x')}\nold`);
  });

  it('throws a plain error, without the token, on other failures', async () => {
    const err = await upsertStickyComment(getOctokit('ghs_unknownToken0123456789', { baseUrl: server.url }), opts()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^GitHub API: listing the comments of #42 failed \(HTTP 401\): Bad credentials/);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('ghs_unknownToken');
  });

  it('cuts a 70,000-character report at a line, closes its fences and points to the artifacts', async () => {
    const output = Array.from({ length: 2000 }, (_, i) => `line ${String(i).padStart(4, '0')} of the failing step's output`).join('\n');
    const body = `❌ FAIL\n\n<details><summary>Output of task-12-install</summary>\n\n\`\`\`\`text\n${output}\n\`\`\`\`\n\n</details>\n`;
    const big = body + 'x'.repeat(Math.max(0, 70_000 - body.length));
    expect(big.length).toBeGreaterThanOrEqual(70_000);

    const r = await upsertStickyComment(client(), opts({ body: big, runUrl: 'https://github.com/acme/nixos-config/actions/runs/1000' }));
    expect(r).toMatchObject({ action: 'created', truncated: true });
    const posted = onPr()[0].body;
    expect(posted.length).toBeLessThan(65_536);
    expect(posted.length).toBeGreaterThan(60_000);
    expect(posted.startsWith(`${commentMarker('server', 1000, opts().sha)}\n❌ FAIL\n`)).toBe(true);
    expect(posted).toMatch(/full report \(report\.md, report\.json, logs\) is in the artifacts of \[run 1000\]\(https:\/\/github\.com\/acme\/nixos-config\/actions\/runs\/1000\)/);
    // Cut at a line boundary inside the fence: the last output line is whole, then the fence and
    // the <details> are closed before the note.
    expect(posted).toMatch(/of the failing step's output\n````\n\n<\/details>\n\n---\n:scissors:/);
    expect(posted.match(/^````/gm)).toHaveLength(2);
    expect(logs[0]).toMatch(/^the report is longer than a GitHub comment allows: cut to \d+ characters$/);
    // Uncut, GitHub (and the stand-in) would have refused it.
    const refused = await client().rest.issues.createComment({ owner: 'acme', repo: 'nixos-config', issue_number: 42, body: big }).catch((e: { status: number; message: string }) => e);
    expect(refused).toMatchObject({ status: 422, message: expect.stringContaining('body is too long (maximum is 65536 characters)') });
  });

  it('leaves other people’s comments alone, even one carrying a forged marker', async () => {
    const forgedNewer = server.seed({ owner: 'acme', repo: 'nixos-config', issue: 42, body: `${commentMarker('server', 999_999_999, 'evil')}\nnothing to see`, login: 'mallory' });
    const review = server.seed({ owner: 'acme', repo: 'nixos-config', issue: 42, body: 'Please bump nixpkgs', login: 'alice' });
    const otherPr = server.seed({ owner: 'acme', repo: 'nixos-config', issue: 7, body: `${commentMarker('server', 1, 'x')}\nother PR`, login: BOT });
    const r = await upsertStickyComment(client(), opts());
    expect(r.action).toBe('created');
    await upsertStickyComment(client(), opts({ runId: 1001, body: 'second' }));
    expect(forgedNewer.body).toBe(`${commentMarker('server', 999_999_999, 'evil')}\nnothing to see`);
    expect(review.body).toBe('Please bump nixpkgs');
    expect(otherPr.body).toBe(`${commentMarker('server', 1, 'x')}\nother PR`);
    expect(server.requests.filter((q) => q.method === 'PATCH').map((q) => q.url)).toEqual([`/repos/acme/nixos-config/issues/comments/${r.commentId}`]);
  });

  it('matches comments of the configured author (a PAT)', async () => {
    const first = await upsertStickyComment(client(PAT), opts({ author: 'alice' }));
    expect(await upsertStickyComment(client(PAT), opts({ author: 'alice', runId: 1001 }))).toMatchObject({ action: 'updated', commentId: first.commentId });
  });

  it('never hands the token back or logs it', async () => {
    const printed: string[] = [];
    for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void printed.push(a.map(String).join(' ')));
    const results = [
      await upsertStickyComment(client(), opts()),
      await upsertStickyComment(client(), opts({ runId: 1 })),
      await upsertStickyComment(client(RO), opts({ host: 'laptop' })),
      await upsertStickyComment(client(), opts({ runId: 1001, body: 'y\n'.repeat(40_000) })),
    ];
    vi.restoreAllMocks();
    const seen = JSON.stringify(results) + logs.join('\n') + printed.join('\n') + server.comments.map((c) => c.body).join('\n');
    for (const t of [RW, RO]) expect(seen).not.toContain(t);
    expect(results.map((x) => x.action)).toEqual(['created', 'skipped', 'skipped', 'updated']);
  });
});

describe('the marker', () => {
  it('round-trips, and a host cannot end the HTML comment', () => {
    const m = commentMarker('evil --> <b>x</b> host', 12, 'abc');
    expect(m).toBe('<!-- nixos-rehearse host=evil%20--%3E%20%3Cb%3Ex%3C%2Fb%3E%20host run=12 sha=abc -->');
    expect(m.indexOf('-->')).toBe(m.length - 3);
    expect(parseMarker(`${m}\nbody`)).toEqual({ host: encodeURIComponent('evil --> <b>x</b> host'), runId: 12, sha: 'abc' });
    expect(parseMarker(`text first\n${m}`)).toBeUndefined();
  });
});

describe('fitComment', () => {
  it('leaves a short body alone and cuts at a line otherwise', () => {
    expect(fitComment('short', 100, '\nNOTE')).toEqual({ body: 'short', truncated: false });
    const r = fitComment('aaaa\nbbbb\ncccc\ndddd', 15, '\nNOTE');
    expect(r).toEqual({ body: 'aaaa\nbbbb\nNOTE', truncated: true });
  });

  it('closes a tilde fence or a longer backtick fence with the same run', () => {
    expect(fitComment('~~~~sh\none\ntwo\nthree\nfour', 21, '\nN').body).toBe('~~~~sh\none\ntwo\n~~~~\nN');
    // A ``` line inside a ```` fence does not close it.
    expect(fitComment('````\n```\nx\ny\nzzzzzzzzzz', 22, '\nN').body).toBe('````\n```\nx\ny\n````\nN');
    // After a closed fence, nothing to close.
    expect(fitComment('```\nx\n```\nafter\nmore text here', 20, '\nN').body).toBe('```\nx\n```\nafter\nN');
  });
});

describe('forks and the context', () => {
  const pr = (head: string | null, baseRepo = 'acme/nixos-config') => ({
    pull_request: { number: 42, head: { sha: 'abc', repo: head === null ? null : { full_name: head } }, base: { repo: { full_name: baseRepo } } },
  });

  it('isForkPullRequest compares the head and base repositories', () => {
    expect(isForkPullRequest(pr('acme/nixos-config'))).toBe(false);
    expect(isForkPullRequest(pr('mallory/nixos-config'))).toBe(true);
    expect(isForkPullRequest(pr(null))).toBe(true);
    expect(isForkPullRequest({})).toBe(false);
  });

  it('pullRequestTarget reads the PR, its head sha and the run page', () => {
    const ctx = { payload: pr('mallory/nixos-config'), repo: { owner: 'acme', repo: 'nixos-config' }, runId: 77, serverUrl: 'https://github.com' };
    expect(pullRequestTarget(ctx)).toEqual({ owner: 'acme', repo: 'nixos-config', issueNumber: 42, sha: 'abc', runId: 77, runUrl: 'https://github.com/acme/nixos-config/actions/runs/77', fork: true });
    expect(pullRequestTarget({ ...ctx, payload: {} })).toBeUndefined();
  });
});

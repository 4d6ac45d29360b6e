// A real HTTP server (node:http, a free port) that answers the few GitHub REST endpoints the PR
// comment uses, shaped like GitHub's, so tests drive the real @actions/github client over the
// wire: authentication, pagination by `Link` header, the 403 a read-only token gets, the 422 for a
// body over 65,536 characters. Every request is recorded for assertions.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenInfo {
  /** The login comments made with this token are attributed to. */
  login: string;
  /** A token without write access (a fork's GITHUB_TOKEN): POST and PATCH get 403. */
  readOnly?: boolean;
  /**
   * A user's token (a personal access token): `GET /user` answers with its login. Installation
   * tokens (GITHUB_TOKEN, a GitHub App's) get 403 "Resource not accessible by integration" there.
   */
  user?: boolean;
}

export interface StoredComment {
  id: number;
  node_id: string;
  owner: string;
  repo: string;
  issue: number;
  body: string;
  user: { login: string; id: number; type: 'User' | 'Bot' };
  created_at: string;
  updated_at: string;
}

export interface PullRequest {
  owner: string;
  repo: string;
  number: number;
  state: 'open' | 'closed';
  head: { ref: string; sha: string; repo: { full_name: string; owner: { login: string } } };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it was not JSON, or undefined. */
  body: unknown;
}

export interface GitHubServer {
  /** Base URL for `GITHUB_API_URL` / octokit's `baseUrl`, e.g. http://127.0.0.1:41234 */
  url: string;
  comments: StoredComment[];
  requests: RecordedRequest[];
  /** Files of the repository at a commit, for `GET /repos/:o/:r/contents/:path?ref=` (the base branch's flake.lock). */
  files: Map<string, string>;
  /** Pull requests for `GET /repos/:o/:r/pulls` (filtered by `state` and `head=<owner>:<branch>`, as GitHub does). */
  pulls: PullRequest[];
  /** Adds a comment as if `login` had written it (other users, bots, older runs). */
  seed(c: { owner: string; repo: string; issue: number; body: string; login: string }): StoredComment;
  close(): Promise<void>;
}

const FORBIDDEN = { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment', status: '403' };
const BAD_CREDENTIALS = { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' };
const NOT_FOUND = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' };
const MAX_BODY = 65_536;

/** GitHub's timestamps: ISO 8601 in UTC, whole seconds. */
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function startGitHubServer(opts: { tokens: Record<string, TokenInfo> }): Promise<GitHubServer> {
  const comments: StoredComment[] = [];
  const requests: RecordedRequest[] = [];
  /** Keyed `<owner>/<repo>@<ref>:<path>`. */
  const files = new Map<string, string>();
  const pulls: PullRequest[] = [];
  let nextId = 1_000_000_001;
  let url = '';

  const seed: GitHubServer['seed'] = ({ owner, repo, issue, body, login }) => {
    const id = nextId++;
    const t = now();
    const c: StoredComment = {
      id,
      node_id: `IC_kwDO${Buffer.from(`IssueComment${id}`).toString('base64url')}`,
      owner,
      repo,
      issue,
      body,
      user: { login, id: 40_000_000 + login.length, type: login.endsWith('[bot]') ? 'Bot' : 'User' },
      created_at: t,
      updated_at: t,
    };
    comments.push(c);
    return c;
  };

  const view = (c: StoredComment) => ({
    id: c.id,
    node_id: c.node_id,
    url: `${url}/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
    html_url: `https://github.com/${c.owner}/${c.repo}/pull/${c.issue}#issuecomment-${c.id}`,
    issue_url: `${url}/repos/${c.owner}/${c.repo}/issues/${c.issue}`,
    body: c.body,
    user: { login: c.user.login, id: c.user.id, type: c.user.type },
    created_at: c.created_at,
    updated_at: c.updated_at,
    author_association: c.user.type === 'Bot' ? 'NONE' : 'MEMBER',
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3; format=json', ...headers });
        res.end(JSON.stringify(data));
      };

      const auth = /^(?:token|Bearer) (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      const who = auth === undefined ? undefined : opts.tokens[auth];
      if (!who) return send(401, BAD_CREDENTIALS);

      const u = new URL(req.url ?? '/', url);
      const list = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(u.pathname);
      const one = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(u.pathname);
      const contents = /^\/repos\/([^/]+)\/([^/]+)\/contents\/(.+)$/.exec(u.pathname);

      const pullList = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(u.pathname);
      if (pullList && req.method === 'GET') {
        // GitHub's "List pull requests": `head` is `<user or org>:<branch>`.
        const [, owner, repo] = pullList;
        const state = u.searchParams.get('state') ?? 'open';
        const head = u.searchParams.get('head');
        const found = pulls.filter((p) => p.owner === owner && p.repo === repo && (state === 'all' || p.state === state) && (!head || `${p.head.repo.owner.login}:${p.head.ref}` === head));
        return send(200, found.map((p) => ({ number: p.number, state: p.state, head: { ...p.head, label: `${p.head.repo.owner.login}:${p.head.ref}` } })));
      }
      if (u.pathname === '/user' && req.method === 'GET') {
        if (!who.user) return send(403, { ...FORBIDDEN, documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user' });
        return send(200, { login: who.login, id: 40_000_000 + who.login.length, type: 'User' });
      }
      if (contents && req.method === 'GET') {
        // GitHub's "Get repository content" for a file: base64 content, encoding "base64".
        const [, owner, repo, p] = contents;
        const file = decodeURIComponent(p!);
        const text = files.get(`${owner}/${repo}@${u.searchParams.get('ref') ?? 'main'}:${file}`);
        if (text === undefined) return send(404, { ...NOT_FOUND, documentation_url: 'https://docs.github.com/rest/repos/contents#get-repository-content' });
        return send(200, { type: 'file', encoding: 'base64', size: Buffer.byteLength(text), name: file.split('/').pop(), path: file, content: Buffer.from(text).toString('base64').replace(/.{60}/g, '$&\n'), sha: 'f'.repeat(40) });
      }

      if (list && req.method === 'GET') {
        const [, owner, repo, n] = list;
        const perPage = Math.min(100, Math.max(1, Number(u.searchParams.get('per_page') ?? 30) || 30));
        const page = Math.max(1, Number(u.searchParams.get('page') ?? 1) || 1);
        const all = comments.filter((c) => c.owner === owner && c.repo === repo && c.issue === Number(n));
        const last = Math.max(1, Math.ceil(all.length / perPage));
        // GitHub's Link header: next/last while there is a next page, prev/first after page 1.
        const link = (p: number, rel: string) => {
          const l = new URL(u.pathname, url);
          l.searchParams.set('per_page', String(perPage));
          l.searchParams.set('page', String(p));
          return `<${l.href}>; rel="${rel}"`;
        };
        const links = [...(page > 1 ? [link(page - 1, 'prev')] : []), ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []), ...(page > 1 ? [link(1, 'first')] : [])];
        return send(200, all.slice((page - 1) * perPage, page * perPage).map(view), links.length ? { link: links.join(', ') } : {});
      }
      if (list && req.method === 'POST') {
        if (who.readOnly) return send(403, FORBIDDEN);
        const text = (body as { body?: unknown } | undefined)?.body;
        if (typeof text !== 'string') return send(422, { message: 'Invalid request.\n\n"body" wasn\'t supplied.', documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment', status: '422' });
        if (text.length > MAX_BODY) return send(422, tooLong('create-an-issue-comment'));
        const [, owner, repo, n] = list;
        return send(201, view(seed({ owner, repo, issue: Number(n), body: text, login: who.login })));
      }
      if (one && req.method === 'PATCH') {
        if (who.readOnly) return send(403, { ...FORBIDDEN, documentation_url: 'https://docs.github.com/rest/issues/comments#update-an-issue-comment' });
        const [, owner, repo, id] = one;
        const c = comments.find((x) => x.id === Number(id) && x.owner === owner && x.repo === repo);
        if (!c) return send(404, NOT_FOUND);
        const text = (body as { body?: unknown } | undefined)?.body;
        if (typeof text !== 'string') return send(422, { message: 'Invalid request.\n\n"body" wasn\'t supplied.', status: '422' });
        if (text.length > MAX_BODY) return send(422, tooLong('update-an-issue-comment'));
        c.body = text;
        c.updated_at = now();
        return send(200, view(c));
      }
      return send(404, NOT_FOUND);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    comments,
    requests,
    files,
    pulls,
    seed,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

function tooLong(anchor: string) {
  return {
    message: 'Validation Failed',
    errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: `body is too long (maximum is ${MAX_BODY} characters)` }],
    documentation_url: `https://docs.github.com/rest/issues/comments#${anchor}`,
    status: '422',
  };
}

import { useEffect, useRef } from 'preact/hooks';
import { useWho } from '../lib/auth-context';
import { href, useRoute } from '../lib/router';
import { can } from '../lib/session';
import { useLive } from '../lib/store';
import { Access } from '../pages/Access';
import { Deploy } from '../pages/Deploy';
import { ModelDetail } from '../pages/ModelDetail';
import { Models } from '../pages/Models';
import { Rollout } from '../pages/Rollout';
import { Server } from '../pages/Server';
import { TryIt } from '../pages/TryIt';

/** Header, navigation (only the pages the principal may use) and the routed page. */
export function Shell({ onSignOut }: { onSignOut: () => void }) {
  const who = useWho();
  const route = useRoute();
  const { connection } = useLive();
  const main = useRef<HTMLElement>(null);
  const links: Array<[string, string, boolean]> = [
    ['models', 'Models', true],
    ['deploy', 'Deploy', can(who, 'deploy')],
    ['try', 'Try it', can(who, 'infer')],
    ['server', 'Server', can(who, 'admin')],
    ['access', 'Access', can(who, 'admin')],
  ];
  // Move focus to the new page so keyboard and screen-reader users land on it.
  useEffect(() => main.current?.focus({ preventScroll: true }), [route.page, route.params.join('/')]);
  const [ns = '', name = ''] = route.params;
  const allowed = links.find(([p]) => p === route.page)?.[2] ?? true;
  let page;
  if (!allowed) page = <p role="alert">Your role cannot use this page. Ask an admin for a key with more rights.</p>;
  else if (route.page === 'models' && ns && name) page = <ModelDetail namespace={ns} name={name} />;
  else if (route.page === 'rollout' && can(who, 'deploy')) page = <Rollout namespace={ns} name={name} />;
  else if (route.page === 'deploy') page = <Deploy />;
  else if (route.page === 'try') page = <TryIt namespace={ns} name={name} />;
  else if (route.page === 'server') page = <Server />;
  else if (route.page === 'access') page = <Access />;
  else page = <Models />;
  return (
    <>
      {/* A button, not href="#main": the hash is the router's. */}
      <button type="button" class="skip" onClick={() => main.current?.focus()}>Skip to content</button>
      <header class="top">
        <a class="brand" href={href('models')}>inferd</a>
        <nav aria-label="Main">
          <ul>
            {links.filter(([, , ok]) => ok).map(([p, label]) => (
              <li key={p}>
                <a href={href(p)} aria-current={route.page === p ? 'page' : undefined} data-testid={`nav-${p}`}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class={`conn conn-${connection}`} role="status" title="Live updates">{connection === 'live' ? 'live' : connection === 'polling' ? 'polling' : connection === 'error' ? 'offline' : 'connecting…'}</span>
          <span data-testid="whoami">{who.subject} · {who.roles.join(', ') || 'no role'} · {who.namespaces === '*' ? 'all namespaces' : who.namespaces.join(', ')}</span>
          <button type="button" onClick={onSignOut} data-testid="signout">Sign out</button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>{page}</main>
    </>
  );
}

import { lostFin } from '../../harness/faults/packet';
import type { Scenario } from '../../harness/scenario/types';
import { profileUnderFault } from '../../scenarios/lost-fin';
import { hangsUntilFixed } from '../../harness/scenario/variants';

/**
 * A service of your own under a packet fault: `quotes` (a Perl line server built from ./quotes,
 * not an image faultline bundles) sits behind a Toxiproxy proxy named after it. The web app
 * learns its proxied address from the env mapping; `lostFin('quotes')` targets it by name, and
 * the diagnoser names it as the culprit's service.
 */
export const quotesLostFin: Scenario = {
  name: 'quotes-lost-fin',
  summary: "your own `quotes` service's FIN lost while a worker reads it; the user reloads",
  shows: 'withService: any container behind a named proxy, with the whole fault catalogue and the diagnoser on top',
  variants: hangsUntilFixed({ service: 'quotes', kind: 'silent-peer' }),
  topology: (t) =>
    t
      .withoutDemoServices() // no profile/storage demo backends: the app and your service only
      .withService('quotes', `${__dirname}/quotes`, {
        port: 7000,
        // The bundled web app reads its profile upstream from FL_PROFILE_ADDR: point it at quotes.
        appEnv: { FL_PROFILE_ADDR: '{addr}' },
      }),
  // The bundled lost-fin schedule (runSchedule: steady, inject, observe, heal, recover) against quotes.
  run: (ctx) => profileUnderFault(ctx, lostFin('quotes'), { recoveryLimitMs: 30_000 }),
};

/// <reference lib="dom" />
/** The report's one script: draws the page its data describes (`data-page` on <body>). */
import type { IndexView } from '../index-view';
import type { RunView } from '../view';
import { pageData } from './data';
import { renderIndexPage } from './index-page';
import { renderRunPage } from './run-page';

function draw(): void {
  const root = document.getElementById('report');
  if (!root) throw new Error('faultline report: no #report element');
  if (document.body.dataset.page === 'index') renderIndexPage(root, pageData<IndexView>());
  else renderRunPage(root, pageData<RunView>());
  // The browser test and the bench wait for this: the page is fully drawn, this long after the
  // navigation started (the browser's own clock, free of the test driver's overhead).
  document.body.dataset.drawnMs = String(Math.round(performance.now()));
  document.body.dataset.drawn = 'true';
}

draw();

<?php
// Liveness only: no session, no upstream. If this does not answer, every worker is busy.
header('Content-Type: text/plain');
echo "ok\n";

<?php
// POST|PUT /upload.php?key=K[&node=i][&replicas=N][&variant=incident|fixed][&timeout_ms=T][&deadline_ms=D]
// The raw request body is the object. Answer: JSON {ok, key, sha256, acks, error?, ...}.
declare(strict_types=1);
require '/var/www/lib/faultline.php';
require '/var/www/lib/storage_client.php';

$variant = fl_variant();
$addrs = fl_storage_addrs();
$key = $_GET['key'] ?? null;
if (!is_string($key) || !preg_match(FL_KEY_PATTERN, $key)) {
    fl_bad_request('key must match ' . FL_KEY_PATTERN);
}
$replicas = fl_int_param('replicas', 1, 1, count($addrs));
$node = fl_int_param('node', 1, 1, count($addrs));
// Replicated writes go to nodes 1..N; a single write to the chosen node.
$targets = $replicas > 1 ? array_slice($addrs, 0, $replicas, true) : [$node => $addrs[$node]];
$quorum = intdiv(count($targets), 2) + 1;

$answer = function (string $sha, array $results) use ($variant, $key, $targets, $quorum): never {
    $acks = array_keys(array_filter($results, fn ($r) => $r['acked']));
    sort($acks);
    $ok = count($acks) >= $quorum;
    $body = ['ok' => $ok, 'variant' => $variant, 'key' => $key, 'sha256' => $sha, 'acks' => $acks,
        'nodes' => array_keys($targets), 'quorum' => $quorum, 'results' => (object) $results];
    if (!$ok) {
        $reasons = [];
        foreach ($results as $n => $r) {
            if (!$r['acked']) {
                $reasons[] = "node $n: " . $r['error'];
            }
        }
        $body['error'] = 'upload failed: ' . implode('; ', $reasons);
    }
    fl_json($ok ? 200 : 502, $body);
};

if ($variant === 'incident') {
    set_time_limit(0);
    session_start(); // held (flock) through the body read and every storage write
    $body = file_get_contents('php://input');
    $_SESSION['uploads'] = ($_SESSION['uploads'] ?? 0) + 1;
    $sha = hash('sha256', $body);
    // One node after another. A single write has no timeout at all; replicated writes got a
    // per-operation timeout (FL_INCIDENT_OP_TIMEOUT_MS, 10 s) that a trickle never trips.
    $opTimeoutMs = $replicas > 1 ? fl_ms('op_timeout_ms', 'FL_INCIDENT_OP_TIMEOUT_MS', 10000) : 0;
    $results = [];
    foreach ($targets as $n => $addr) {
        $results[$n] = fl_put_incident($addr, $key, $body, $opTimeoutMs);
    }
    $answer($sha, $results);
}

// fixed: read the body, touch the session and release its lock before any storage I/O.
$timeoutMs = fl_ms('timeout_ms', 'FL_TIMEOUT_MS', 2000);
$deadlineMs = fl_ms('deadline_ms', 'FL_DEADLINE_MS', 3000);
$body = file_get_contents('php://input');
session_start();
$_SESSION['uploads'] = ($_SESSION['uploads'] ?? 0) + 1;
session_write_close();
$sha = hash('sha256', $body);
$answer($sha, fl_put_fixed($targets, $key, $body, $quorum, $FL_T0 + $deadlineMs, $timeoutMs));

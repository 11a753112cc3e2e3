<?php
// GET /api.php?user=U[&variant=incident|fixed][&kb=K][&timeout_ms=T][&deadline_ms=D]
// Fetches the user's record from the internal HTTP API (GET /v1/users/<user>?kb=K on
// FL_API_ADDR) with ext/curl, inside the user's Redis session. kb (1..65536, default 256) is
// the size of the API's answer: large, so a stall lands mid-body.
declare(strict_types=1);
require '/var/www/lib/faultline.php';
require '/var/www/lib/session.php';

$variant = fl_variant();
$addr = fl_env('FL_API_ADDR', 'api:8080');
fl_split_addr($addr);
$kb = $_GET['kb'] ?? '256';
if (!is_string($kb) || !preg_match('/^[0-9]{1,5}$/', $kb) || (int) $kb < 1 || (int) $kb > 65536) {
    fl_bad_request('kb must be an integer between 1 and 65536');
}

/** Runs the request; returns [curl errno, error, HTTP status, body, bytes received]. */
function fl_fetch(CurlHandle $ch): array
{
    $body = curl_exec($ch);
    return [curl_errno($ch), curl_error($ch), (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE),
        is_string($body) ? $body : '', (int) curl_getinfo($ch, CURLINFO_SIZE_DOWNLOAD)];
}

/** The API's JSON record, trimmed to what the page shows. */
function fl_record(string $body): ?array
{
    $doc = json_decode($body, true);
    if (!is_array($doc) || !isset($doc['name'])) {
        return null;
    }
    return ['name' => $doc['name'], 'plan' => $doc['plan'] ?? null, 'bytes' => strlen($body)];
}

if ($variant === 'incident') {
    // The code as it was: curl with its defaults — CURLOPT_TIMEOUT 0 (no limit on the
    // transfer) and a 300 s connect timeout — while the session lock is held. An API that
    // sends its headers and then stalls keeps this worker, and the user's lock, for ever.
    fl_incident_session_start();
    $user = fl_user();
    $_SESSION['user'] = $user;
    $_SESSION['api_views'] = ($_SESSION['api_views'] ?? 0) + 1;
    $ch = curl_init("http://$addr/v1/users/" . rawurlencode($user) . "?kb=$kb");
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    [$errno, $error, $status, $body] = fl_fetch($ch);
    if ($errno !== 0) {
        fl_json(502, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => "api: curl error $errno: $error"]);
    }
    $record = fl_record($body);
    if ($status !== 200 || $record === null) {
        fl_json(502, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => "api: HTTP $status"]);
    }
    fl_json(200, ['ok' => true, 'variant' => $variant, 'user' => $user, 'record' => $record]);
}

// fixed: the session is read and released first; curl gets a connect timeout and a total
// timeout (the deadline's remainder), so a stalled body ends in 504 however the bytes trickle.
$budget = FlBudget::fromRequest(['variant' => $variant]);
fl_fixed_session_start($budget);
$user = fl_user();
$_SESSION['user'] = $user;
$_SESSION['api_views'] = ($_SESSION['api_views'] ?? 0) + 1;
session_write_close();
$ch = curl_init("http://$addr/v1/users/" . rawurlencode($user) . "?kb=$kb");
curl_setopt_array($ch, [
    CURLOPT_RETURNTRANSFER => true,
    // Sub-second timeouts need NOSIGNAL with the synchronous resolver (curl's docs).
    CURLOPT_NOSIGNAL => true,
    CURLOPT_CONNECTTIMEOUT_MS => $budget->opMs(),
    CURLOPT_TIMEOUT_MS => max(1, (int) floor($budget->deadlineAt - fl_now_ms())),
]);
[$errno, $error, $status, $body, $received] = fl_fetch($ch);
if ($errno === CURLE_OPERATION_TIMEDOUT) {
    $budget->fail(504, "api: $error (received $received bytes)");
}
if ($errno !== 0) {
    $budget->fail(502, "api: curl error $errno: $error");
}
$record = fl_record($body);
if ($status !== 200 || $record === null) {
    $budget->fail(502, "api: HTTP $status");
}
fl_json(200, ['ok' => true, 'variant' => $variant, 'user' => $user, 'record' => $record]);

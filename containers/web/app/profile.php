<?php
// GET /profile.php?user=U[&variant=incident|fixed][&timeout_ms=T][&deadline_ms=D]
// Reads `profile:<user>` from the profile upstream (a storage node; GET is close-delimited).
declare(strict_types=1);
require '/var/www/lib/faultline.php';

$variant = fl_variant();
$addr = fl_env('FL_PROFILE_ADDR', 'profile:9000');

// The session lock: flock(LOCK_EX) on /var/lib/php/sessions/sess_<id>, held until the
// session is written (script end, or session_write_close()).
session_start();
$user = $_GET['user'] ?? ($_SESSION['user'] ?? 'alice');
if (!is_string($user) || !preg_match(FL_USER_PATTERN, $user)) {
    fl_bad_request('user must match ' . FL_USER_PATTERN);
}
$_SESSION['user'] = $user;
$_SESSION['profile_views'] = ($_SESSION['profile_views'] ?? 0) + 1;
$request = "GET profile:$user\n";

if ($variant === 'incident') {
    // The code as it was: no timeouts anywhere. default_socket_timeout=-1 makes the connect
    // and every read wait without limit (poll(..., -1)); a lost FIN means feof() never turns
    // true and this worker, and the session lock it holds, are gone for good.
    ini_set('default_socket_timeout', '-1');
    set_time_limit(0);
    $fp = @stream_socket_client("tcp://$addr", $errno, $errstr);
    if ($fp === false) {
        fl_json(502, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => "connect $addr: $errstr ($errno)"]);
    }
    fwrite($fp, $request);
    $buf = '';
    while (!feof($fp)) {
        $buf .= fread($fp, 8192);
    }
    fclose($fp);
    if ($buf === '') {
        fl_json(404, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => 'profile not found']);
    }
    fl_json(200, ['ok' => true, 'variant' => $variant, 'user' => $user, 'profile' => $buf]);
}

// fixed: release the session lock before any network I/O, bound every operation and the
// whole request, and check timed_out after each read (feof() alone never reports a timeout).
$timeoutMs = fl_ms('timeout_ms', 'FL_TIMEOUT_MS', 2000);
$deadlineMs = fl_ms('deadline_ms', 'FL_DEADLINE_MS', 3000);
session_write_close();
$deadlineAt = $FL_T0 + $deadlineMs;

$fail = function (int $status, string $error) use ($variant, $user, $timeoutMs, $deadlineMs): never {
    fl_json($status, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => $error,
        'timeout_ms' => $timeoutMs, 'deadline_ms' => $deadlineMs]);
};
// The time one operation may take: the per-operation timeout, cut to what the deadline leaves.
$opSeconds = function () use ($timeoutMs, $deadlineAt, $fail): float {
    $left = $deadlineAt - fl_now_ms();
    if ($left <= 0) {
        $fail(504, 'deadline exceeded');
    }
    return min($timeoutMs, $left) / 1000;
};
$setTimeout = function ($fp) use ($opSeconds): void {
    $s = $opSeconds();
    stream_set_timeout($fp, (int) floor($s), (int) round(($s - floor($s)) * 1e6));
};
$timedOut = function () use ($deadlineAt, $deadlineMs, $timeoutMs, $fail): never {
    $fail(504, fl_now_ms() >= $deadlineAt
        ? "deadline exceeded ($deadlineMs ms)"
        : "upstream sent nothing for $timeoutMs ms");
};

$connectSeconds = $opSeconds();
$fp = @stream_socket_client("tcp://$addr", $errno, $errstr, $connectSeconds);
if ($fp === false) {
    // 110 = ETIMEDOUT: PHP's own connect timeout (poll expired) or the kernel's.
    $fail($errno === 110 ? 504 : 502, "connect $addr: $errstr ($errno) [limit " . round($connectSeconds * 1000) . " ms]");
}
$setTimeout($fp);
$written = @fwrite($fp, $request);
if ($written !== strlen($request)) {
    if (stream_get_meta_data($fp)['timed_out']) {
        $timedOut();
    }
    $fail(502, 'sending the request failed');
}
$buf = '';
while (!feof($fp)) {
    $setTimeout($fp);
    $chunk = fread($fp, 8192);
    if (stream_get_meta_data($fp)['timed_out']) {
        $timedOut();
    }
    if ($chunk === false) {
        $fail(502, 'upstream read failed');
    }
    $buf .= $chunk;
    if (strlen($buf) > 1048576) {
        $fail(502, 'profile larger than 1 MiB');
    }
}
fclose($fp);
if ($buf === '') {
    fl_json(404, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => 'profile not found']);
}
fl_json(200, ['ok' => true, 'variant' => $variant, 'user' => $user, 'profile' => $buf]);

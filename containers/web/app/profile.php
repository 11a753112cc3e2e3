<?php
// GET /profile.php?user=U[&variant=incident|fixed][&timeout_ms=T][&deadline_ms=D]
//     [&read_timeout_ms=R][&connect_timeout_ms=C][&lock_across_io=0|1][&keepalive=0|1]
// Reads `profile:<user>` from the profile upstream (a storage node; GET is close-delimited).
//
// The variant only picks the defaults of five settings (faultline sweep varies them one by one):
//   incident (the code as it was): lock held across the upstream call, no connect/read timeout,
//     no deadline: a lost FIN leaves the worker in poll(..., -1) for good, holding the lock.
//   fixed: lock released before any I/O, connect and read timeouts = timeout_ms (FL_TIMEOUT_MS,
//     2000), deadline_ms (FL_DEADLINE_MS, 3000) over the whole request.
// A timeout or deadline of 0 means "no limit". keepalive=1 (or FL_KEEPALIVE=1) turns SO_KEEPALIVE
// on for the upstream socket; the probe timing is the kernel's (net.ipv4.tcp_keepalive_* of the
// web's network namespace): PHP streams never turn it on by themselves.
declare(strict_types=1);
require '/var/www/lib/faultline.php';

$variant = fl_variant();
$addr = fl_env('FL_PROFILE_ADDR', 'profile:9000');
$incident = $variant === 'incident';
$opTimeoutMs = $incident ? 0 : fl_ms('timeout_ms', 'FL_TIMEOUT_MS', 2000);
$readTimeoutMs = fl_ms_or_none('read_timeout_ms', $opTimeoutMs);
$connectTimeoutMs = fl_ms_or_none('connect_timeout_ms', $opTimeoutMs);
$deadlineMs = fl_ms_or_none('deadline_ms', $incident ? 0 : (int) fl_env('FL_DEADLINE_MS', '3000'));
$lockHeld = fl_choice('lock_across_io', $incident ? '1' : '0', ['0', '1']) === '1';
$keepalive = fl_choice('keepalive', fl_env('FL_KEEPALIVE', '0'), ['0', '1']) === '1';

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
if (!$lockHeld) {
    // Release the session lock before any network I/O: a slow upstream then holds one worker,
    // not every request of this session.
    session_write_close();
}
// No limit means what the incident code did: default_socket_timeout=-1 makes the connect and
// every read wait without limit (poll(..., -1)), and feof() never turns true on a lost FIN.
ini_set('default_socket_timeout', '-1');
set_time_limit(0);
$deadlineAt = $deadlineMs > 0 ? $FL_T0 + $deadlineMs : INF;

$fail = function (int $status, string $error) use ($variant, $user, $readTimeoutMs, $deadlineMs): never {
    fl_json($status, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => $error,
        'timeout_ms' => $readTimeoutMs, 'deadline_ms' => $deadlineMs]);
};
// The time one operation may take: its own timeout, cut to what the deadline leaves; null when
// neither limits it.
$opSeconds = function (int $limitMs) use ($deadlineAt, $fail): ?float {
    $left = $deadlineAt - fl_now_ms();
    if ($left <= 0) {
        $fail(504, 'deadline exceeded');
    }
    $ms = min($limitMs > 0 ? $limitMs : INF, $left);
    return is_infinite($ms) ? null : $ms / 1000;
};
$setTimeout = function ($fp) use ($opSeconds, $readTimeoutMs): void {
    $s = $opSeconds($readTimeoutMs);
    if ($s !== null) {
        stream_set_timeout($fp, (int) floor($s), (int) round(($s - floor($s)) * 1e6));
    }
};
$timedOut = function () use ($deadlineAt, $deadlineMs, $readTimeoutMs, $fail): never {
    $fail(504, fl_now_ms() >= $deadlineAt
        ? "deadline exceeded ($deadlineMs ms)"
        : "upstream sent nothing for $readTimeoutMs ms");
};

$connectSeconds = $opSeconds($connectTimeoutMs);
$fp = $connectSeconds === null
    ? @stream_socket_client("tcp://$addr", $errno, $errstr)
    : @stream_socket_client("tcp://$addr", $errno, $errstr, $connectSeconds);
if ($fp === false) {
    // 110 = ETIMEDOUT: PHP's own connect timeout (poll expired) or the kernel's.
    $limit = $connectSeconds === null ? 'none' : round($connectSeconds * 1000) . ' ms';
    $fail($errno === 110 ? 504 : 502, "connect $addr: $errstr ($errno) [limit $limit]");
}
if ($keepalive) {
    fl_keepalive($fp);
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
// Check timed_out after each read: feof() alone never reports a timeout.
while (!feof($fp)) {
    $setTimeout($fp);
    $chunk = fread($fp, 8192);
    if (stream_get_meta_data($fp)['timed_out']) {
        $timedOut();
    }
    if ($chunk === false) {
        // A reset or a keepalive timeout (the kernel gave up on a silent peer).
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

<?php
// Starting the Redis-backed PHP session in each variant. session_start() takes the session's
// lock: phpredis sends `SET PHPREDIS_SESSION:<id>_LOCK <host|pid> NX PX <lock_expire ms>` and
// retries every redis.session.lock_wait_time us while another worker holds it.
declare(strict_types=1);

/**
 * The incident code as it is commonly written: the php.ini save_path (no timeouts) and
 * default_socket_timeout = -1, the usual copy-pasted cure for phpredis' "read error on
 * connection" — which also makes every phpredis read, and connect, wait without limit.
 */
function fl_incident_session_start(): void
{
    ini_set('default_socket_timeout', '-1');
    set_time_limit(0);
    if (!@session_start()) {
        fl_json(500, ['ok' => false, 'variant' => 'incident', 'error' => 'session_start failed: ' . (error_get_last()['message'] ?? 'unknown')]);
    }
}

/**
 * The fixed code: connect and read timeouts on the session's Redis connection, a bounded wait
 * for the session lock, all within the request's budget. Answers 503 when the session store
 * does not answer in time. The caller releases the lock (session_write_close) before any I/O.
 */
function fl_fixed_session_start(FlBudget $budget): void
{
    $addr = fl_env('FL_REDIS_ADDR', 'redis:6379');
    $seconds = sprintf('%.3f', $budget->opMs() / 1000);
    ini_set('session.save_path', "tcp://$addr?timeout=$seconds&read_timeout=$seconds");
    // Wait for another request's lock for at most one operation timeout (20 ms per retry).
    $waitUs = (int) ini_get('redis.session.lock_wait_time') ?: 20000;
    ini_set('redis.session.lock_retries', (string) max(1, intdiv($budget->opMs() * 1000, $waitUs)));
    try {
        $started = @session_start();
    } catch (Throwable $e) {
        $budget->fail(503, 'session store: ' . $e->getMessage());
    }
    if (!$started) {
        $budget->fail(503, 'session store: ' . (error_get_last()['message'] ?? 'session_start failed'));
    }
}

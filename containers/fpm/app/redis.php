<?php
// GET /redis.php?user=U[&variant=incident|fixed][&timeout_ms=T][&deadline_ms=D]
// A page whose only upstream is Redis: the session (and its lock), then a cache-aside GET of
// the user's greeting (SETEX 60 on a miss) on a second phpredis connection.
declare(strict_types=1);
require '/var/www/lib/faultline.php';
require '/var/www/lib/session.php';

$variant = fl_variant();
[$host, $port] = fl_split_addr(fl_env('FL_REDIS_ADDR', 'redis:6379'));

/** The cache-aside read: GET, and on a miss compute the value and SETEX it. */
function fl_greeting(Redis $redis, string $user): array
{
    $key = "greeting:$user";
    $cached = $redis->get($key);
    if (is_string($cached)) {
        return [$cached, true];
    }
    $value = "hello, $user";
    $redis->setex($key, 60, $value);
    return [$value, false];
}

if ($variant === 'incident') {
    // The code as it was: no timeout on either connection (default_socket_timeout = -1), the
    // session lock held until the script ends. A frozen Redis blocks this worker in its first
    // read for ever, and every later request of the session waits for the lock (or for its
    // own read, once Redis is frozen).
    fl_incident_session_start();
    $user = fl_user();
    $_SESSION['user'] = $user;
    $_SESSION['redis_views'] = ($_SESSION['redis_views'] ?? 0) + 1;
    try {
        $redis = new Redis();
        $redis->connect($host, $port);
        [$greeting, $hit] = fl_greeting($redis, $user);
    } catch (RedisException $e) {
        fl_json(502, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => 'redis: ' . $e->getMessage()]);
    }
    fl_json(200, ['ok' => true, 'variant' => $variant, 'user' => $user, 'greeting' => $greeting, 'cached' => $hit,
        'views' => $_SESSION['redis_views']]);
}

// fixed: bounded session start (connect/read timeouts, bounded lock wait), lock released at
// once, then the cache read with its own connect and read timeouts. 503 when Redis is slow.
$budget = FlBudget::fromRequest(['variant' => $variant]);
fl_fixed_session_start($budget);
$user = fl_user();
$_SESSION['user'] = $user;
$_SESSION['redis_views'] = ($_SESSION['redis_views'] ?? 0) + 1;
$views = $_SESSION['redis_views'];
session_write_close();
try {
    $redis = new Redis();
    $redis->connect($host, $port, $budget->opMs() / 1000);
    $redis->setOption(Redis::OPT_READ_TIMEOUT, $budget->opMs() / 1000);
    [$greeting, $hit] = fl_greeting($redis, $user);
} catch (RedisException $e) {
    $budget->fail(503, 'redis: ' . $e->getMessage());
}
fl_json(200, ['ok' => true, 'variant' => $variant, 'user' => $user, 'greeting' => $greeting, 'cached' => $hit,
    'views' => $views]);

<?php
// GET /db.php?user=U[&variant=incident|fixed][&query_ms=Q][&timeout_ms=T][&deadline_ms=D]
// Loads the user's profile row from MariaDB (PDO, mysqlnd) inside the user's Redis session.
// query_ms (0..600000, default 0) makes the query itself take that long (SLEEP), so a fault
// can land while the query is in flight.
declare(strict_types=1);
require '/var/www/lib/faultline.php';
require '/var/www/lib/session.php';

$variant = fl_variant();
$addr = fl_env('FL_MARIADB_ADDR', 'mariadb:3306');
[$host, $port] = fl_split_addr($addr);
$queryMs = $_GET['query_ms'] ?? '0';
if (!is_string($queryMs) || !preg_match('/^[0-9]{1,6}$/', $queryMs) || (int) $queryMs > 600000) {
    fl_bad_request('query_ms must be an integer between 0 and 600000');
}
$dsn = "mysql:host=$host;port=$port;dbname=faultline;charset=utf8mb4";
$sql = 'SELECT id, name, email, bio, SLEEP(:sleep) AS slept FROM users WHERE name = :name';
$params = ['sleep' => ((int) $queryMs) / 1000, 'name' => null];

if ($variant === 'incident') {
    // The code as it was: the session (and its Redis lock) stays open across the query, and
    // nothing bounds the query: PDO::ATTR_TIMEOUT is unset (it would only bound the connect
    // anyway) and mysqlnd.net_read_timeout is at its default, 86400 s. A reply that never
    // comes keeps this worker, and the user's session lock, for a day.
    fl_incident_session_start();
    $user = fl_user();
    $_SESSION['user'] = $user;
    $_SESSION['db_views'] = ($_SESSION['db_views'] ?? 0) + 1;
    try {
        $pdo = new PDO($dsn, 'app', 'app', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
        $stmt = $pdo->prepare($sql);
        $stmt->execute(['name' => $user] + $params);
        $row = $stmt->fetch(PDO::FETCH_ASSOC);
    } catch (PDOException $e) {
        fl_json(502, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => 'mariadb: ' . $e->getMessage()]);
    }
    if ($row === false) {
        fl_json(404, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => 'user not found']);
    }
    unset($row['slept']);
    fl_json(200, ['ok' => true, 'variant' => $variant, 'user' => $user, 'profile' => $row]);
}

// fixed: session read and released before any I/O; connect and read timeouts on MariaDB,
// both cut to what the request's deadline leaves.
$budget = FlBudget::fromRequest(['variant' => $variant]);
fl_fixed_session_start($budget);
$user = fl_user();
$_SESSION['user'] = $user;
$_SESSION['db_views'] = ($_SESSION['db_views'] ?? 0) + 1;
session_write_close();

// Both are whole seconds in mysqlnd: a 2500 ms budget becomes 3 s. net_read_timeout is read
// when the connection is created, so it is set before `new PDO`; it bounds each read of the
// reply (poll() on the socket), which is what a lost reply blocks in.
$seconds = (int) ceil($budget->opMs() / 1000);
ini_set('mysqlnd.net_read_timeout', (string) $seconds);
$started = fl_now_ms();
try {
    $pdo = new PDO($dsn, 'app', 'app', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_TIMEOUT => $seconds]);
    $stmt = $pdo->prepare($sql);
    $stmt->execute(['name' => $user] + $params);
    $row = $stmt->fetch(PDO::FETCH_ASSOC);
} catch (PDOException $e) {
    // mysqlnd reports a read timeout as 2006 "MySQL server has gone away" and a connect
    // timeout as 2002 "Connection timed out": tell them from refusals by the time spent.
    $timedOut = $budget->expired() || fl_now_ms() - $started >= $seconds * 1000 - 50;
    $budget->fail($timedOut ? 504 : 502, "mariadb: {$e->getMessage()} [limit {$seconds} s]");
}
if ($row === false) {
    fl_json(404, ['ok' => false, 'variant' => $variant, 'user' => $user, 'error' => 'user not found']);
}
unset($row['slept']);
fl_json(200, ['ok' => true, 'variant' => $variant, 'user' => $user, 'profile' => $row]);
